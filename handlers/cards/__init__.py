"""Member cards: the wallet (/cards), card images, leaving, and verifying a scanned card.

``handlers.py`` the wallet's handlers and ``verify_card`` (the ``v_<token>`` deep link) ·
``keyboards.py`` and ``texts.py`` what they send.
"""

from __future__ import annotations

from handlers.cards.handlers import HANDLERS, verify_card

__all__ = ["HANDLERS", "verify_card"]
