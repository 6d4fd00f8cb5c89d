"""/admin: the cooperative admin panel — applications, members, profile, statistics.

Every button re-checks the role in the service (``AdminService``) through
:func:`handlers.guard.guarded`: a forged callback pointing at another cooperative's
application gets the same answer as a missing one.

``panel.py`` /admin and the panel · ``applications.py`` the queue and decisions ·
``members.py`` the register · ``profile.py`` the profile · ``stats.py`` statistics ·
``board.py`` the board's admins (invite, remove, leave) ·
``input.py`` what admins type when a button asks (reasons, a member search, profile fields),
through the shared awaited-input conversation (:mod:`handlers.awaited`) · ``reply.py`` how
the panel answers. Messages to applicants and admins are :mod:`handlers.notify`.
"""

from __future__ import annotations

from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from handlers.admin.applications import (
    on_approve,
    on_approve_yes,
    on_queue,
    on_reject_menu,
    on_reject_preset,
    on_reveal,
)
from handlers.admin.board import (
    on_board,
    on_invite,
    on_leave,
    on_leave_ask,
    on_remove,
    on_remove_ask,
)
from handlers.admin.input import ENTRY_POINTS as INPUT_ENTRY_POINTS
from handlers.admin.input import on_location as on_input_location
from handlers.admin.input import on_text as on_input_text
from handlers.admin.members import on_export, on_export_csv, on_member, on_members
from handlers.admin.panel import admin_command, on_panel
from handlers.admin.profile import on_loop, on_profile, on_service_toggle, on_services
from handlers.admin.stats import on_stats
from handlers.callbacks import (
    APPROVE,
    APPROVE_YES,
    BOARD,
    BOARD_INVITE,
    BOARD_LEAVE,
    BOARD_LEAVE_ASK,
    BOARD_REMOVE,
    BOARD_REMOVE_ASK,
    EXPORT,
    EXPORT_CSV,
    LOOP,
    MEMBER,
    MEMBERS,
    PANEL,
    PROFILE,
    PROFILE_SERVICES,
    QUEUE,
    REJECT_MENU,
    REJECT_PRESET,
    REVEAL,
    SERVICE_TOGGLE,
    STATS,
)

__all__ = ["HANDLERS", "INPUT_ENTRY_POINTS", "on_input_location", "on_input_text"]

HANDLERS: list[BaseHandler] = [
    CommandHandler("admin", admin_command),
    CallbackQueryHandler(on_panel, pattern=PANEL.pattern),
    CallbackQueryHandler(on_queue, pattern=QUEUE.pattern),
    CallbackQueryHandler(on_approve, pattern=APPROVE.pattern),
    CallbackQueryHandler(on_approve_yes, pattern=APPROVE_YES.pattern),
    CallbackQueryHandler(on_reject_menu, pattern=REJECT_MENU.pattern),
    CallbackQueryHandler(on_reject_preset, pattern=REJECT_PRESET.pattern),
    CallbackQueryHandler(on_reveal, pattern=REVEAL.pattern),
    CallbackQueryHandler(on_members, pattern=MEMBERS.pattern),
    CallbackQueryHandler(on_member, pattern=MEMBER.pattern),
    CallbackQueryHandler(on_export, pattern=EXPORT.pattern),
    CallbackQueryHandler(on_export_csv, pattern=EXPORT_CSV.pattern),
    CallbackQueryHandler(on_profile, pattern=PROFILE.pattern),
    CallbackQueryHandler(on_loop, pattern=LOOP.pattern),
    CallbackQueryHandler(on_services, pattern=PROFILE_SERVICES.pattern),
    CallbackQueryHandler(on_service_toggle, pattern=SERVICE_TOGGLE.pattern),
    CallbackQueryHandler(on_stats, pattern=STATS.pattern),
    CallbackQueryHandler(on_board, pattern=BOARD.pattern),
    CallbackQueryHandler(on_invite, pattern=BOARD_INVITE.pattern),
    CallbackQueryHandler(on_remove_ask, pattern=BOARD_REMOVE_ASK.pattern),
    CallbackQueryHandler(on_remove, pattern=BOARD_REMOVE.pattern),
    CallbackQueryHandler(on_leave_ask, pattern=BOARD_LEAVE_ASK.pattern),
    CallbackQueryHandler(on_leave, pattern=BOARD_LEAVE.pattern),
]
