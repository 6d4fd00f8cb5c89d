"""Search: a shared location or a typed query, the result list, a cooperative's page, inline.

``handlers.py`` the location, text and /search handlers and the list's buttons ·
``detail.py`` a cooperative's page (``send_detail`` also answers the ``c_<id>`` deep link) ·
``inline.py`` inline mode · ``keyboards.py`` and ``texts.py`` what they send.
"""

from __future__ import annotations

from telegram.ext import BaseHandler

from handlers.search import detail, handlers, inline
from handlers.search.detail import send_detail

__all__ = ["HANDLERS", "send_detail"]

HANDLERS: list[BaseHandler] = [*handlers.HANDLERS, *detail.HANDLERS, *inline.HANDLERS]
