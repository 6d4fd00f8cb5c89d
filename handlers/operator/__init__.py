"""Platform operators (ADMIN_IDS): statistics, verification, invitations, audit log, /import.

``handlers.py`` /stats, /invite, the operator menu, verification, the audit log, and
``accept_invite`` (the ``adm_<token>`` deep link) · ``importing.py`` /import, whose file
arrives through the shared awaited-input conversation (:mod:`handlers.awaited`).
"""

from __future__ import annotations

from handlers.operator.handlers import HANDLERS, accept_invite
from handlers.operator.importing import ENTRY_POINTS as IMPORT_ENTRY_POINTS
from handlers.operator.importing import on_document as on_import_document

__all__ = ["HANDLERS", "IMPORT_ENTRY_POINTS", "accept_invite", "on_import_document"]
