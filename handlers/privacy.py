"""/privacy (/privasi): what is stored, why, who sees it, how long, and the user's rights."""

from __future__ import annotations

import json
import logging
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.context import BotContext
from handlers.callbacks import DELETE_DATA
from handlers.keyboards import main_keyboard
from handlers.notify import notify_admins_left
from handlers.platform.keyboards import list_button

log = logging.getLogger(__name__)


async def privacy(update: Update, context: BotContext) -> None:
    """Explain how personal data is handled (UU 27/2022)."""
    message = update.effective_message
    assert message is not None
    _ = context.gettext
    settings = context.settings
    text = "\n".join(
        [
            _("<b>Privacy at Gerbang Koperasi</b> (UU 27/2022 on Personal Data Protection)"),
            "",
            _(
                "<b>Searching</b> needs no personal data. A location you share is used for that "
                "search only; typed searches are kept for a week so their buttons keep working."
            ),
            _(
                "<b>Joining a cooperative</b> asks, after your explicit consent: full name, NIK, "
                "sex and date of birth (from the NIK), place of birth, address, phone number and "
                "occupation. The purpose is your membership application and, once approved, your "
                "membership."
            ),
            _(
                "<b>Who sees it:</b> each cooperative's board sees only its own applicants and "
                "members; the platform's operators see what they need to run it. Nobody else, and "
                "nothing is sold or shared."
            ),
            _(
                "<b>Security:</b> everything you enter in a form is stored encrypted with a key "
                "of your own, and your NIK is shown only masked (3171********0001); none of it "
                "appears in logs or announcements. /deletedata destroys your key, so every copy, "
                "backups included, becomes unreadable."
            ),
            _(
                "<b>How long:</b> while you are a member. Rejected or withdrawn applications are "
                "deleted after {days} days."
            ).format(days=settings.retention_days),
            _(
                "<b>Your rights:</b> see and download your data with /mydata, have it corrected, "
                "delete it with /deletedata, and withdraw consent at any time."
            ),
            "",
            _("Data controller: Gerbang Koperasi — {contact}").format(
                contact=escape(settings.privacy_contact)
            ),
        ]
    )
    await message.reply_text(text, parse_mode=ParseMode.HTML)


async def my_data(update: Update, context: BotContext) -> None:
    """Send everything stored about the user as a JSON document (/mydata)."""
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    data = await context.services.privacy.export(user.id)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    log.info("data export sent")
    await context.bot.send_document(
        chat.id,
        InputFile(body, filename="data-saya.json"),
        caption=context.gettext(
            "🔐 Everything Gerbang Koperasi stores about you, including "
            "your NIK. Keep this file private."
        ),
        reply_markup=_notify_me_button(context, data),
    )


def _notify_me_button(context: BotContext, data: dict[str, Any]) -> InlineKeyboardMarkup | None:
    """The notify-me list, for someone waiting for a cooperative to join (to cancel)."""
    waiting = [s for s in data.get("notify_me", []) if s.get("notified_at") is None]
    return list_button(context.t) if waiting else None


async def delete_data(update: Update, context: BotContext) -> None:
    """Say what /deletedata will do and ask for confirmation."""
    message = update.effective_message
    assert message is not None
    _ = context.gettext
    await message.reply_text(
        "\n".join(
            [
                _("<b>Delete all your data?</b>"),
                "",
                _("• Pending applications are withdrawn."),
                _("• Memberships end, and the cooperatives are told that you left."),
                _(
                    "• Your name, NIK, phone number, address, birth data and unfinished forms are "
                    "erased everywhere; your cards stop being valid."
                ),
                _(
                    "• Only anonymous counts remain (for example, that a cooperative had one more "
                    "application)."
                ),
                "",
                _("This cannot be undone. Ask the cooperatives about deposits you paid."),
            ]
        ),
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _("🗑 Yes, delete everything"), callback_data=DELETE_DATA("yes")
                    ),
                    InlineKeyboardButton(_("↩ No, keep it"), callback_data=DELETE_DATA("no")),
                ]
            ]
        ),
    )


async def on_delete_choice(update: Update, context: BotContext) -> None:
    """Erase (or not) after the confirmation."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    _ = context.gettext
    (choice,) = DELETE_DATA.parse(query.data)
    await query.answer()
    if choice == "no":
        await query.edit_message_text(_("Nothing was deleted."))
        return
    services = context.services
    before = await services.membership.of_user(user.id)
    erasure = await services.privacy.erase(user.id)
    services.cards.forget(a.id for a in before)
    services.users.forget(user.id)
    # The in-memory state of the Telegram layer goes too (the persisted copy is gone).
    application = context.application
    application.drop_user_data(user.id)
    for handler in application.handlers.get(0, []):
        if isinstance(handler, ConversationHandler) and handler.name:
            for key in [k for k in handler._conversations if user.id in k]:
                handler._conversations.pop(key, None)
    for coop_id in erasure.coops_notified:
        left = next((a for a in before if a.coop_id == coop_id), None)
        if left is not None:
            await notify_admins_left(context, left, await services.directory.get(coop_id))
    log.info("personal data erased applications=%s", erasure.applications)
    await query.edit_message_text(
        _(
            "✅ Your data was deleted: {withdrawn} applications "
            "withdrawn, {ended} memberships ended."
        ).format(withdrawn=erasure.withdrawn, ended=erasure.ended)
    )
    if update.effective_chat is not None:
        await context.bot.send_message(
            update.effective_chat.id,
            _(
                "You can keep searching for cooperatives; nothing about you is stored until you "
                "join one again."
            ),
            reply_markup=main_keyboard(context.t),
        )


HANDLERS: list[BaseHandler] = [
    CommandHandler(["privacy", "privasi"], privacy),
    CommandHandler(["mydata", "dataku"], my_data),
    CommandHandler(["deletedata", "hapusdata"], delete_data),
    CallbackQueryHandler(on_delete_choice, pattern=DELETE_DATA.pattern),
]
