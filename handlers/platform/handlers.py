"""A cooperative not on the platform: its contact card instead of the form, notify-me,
and the list of cooperatives the user waits for.

Every button acts for the person who taps it (``update.effective_user``), never for the
one the message was first sent to.
"""

from __future__ import annotations

import logging
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from handlers.callbacks import JOIN, NOTIFY_CANCEL, NOTIFY_LIST, NOTIFY_ME, NOTIFY_UNLIST
from handlers.platform.keyboards import contact_keyboard, waiting_keyboard
from handlers.platform.texts import contact_text, waiting_text
from storage.models import Cooperative

log = logging.getLogger(__name__)


async def send_contact_card(
    update: Update, context: BotContext, coop: Cooperative, prefix: str = ""
) -> None:
    """Instead of the form: this cooperative takes no applications here yet; how to reach
    it; notify me; I run it. Counts as a join attempt (the operators' demand list)."""
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    contact = await context.services.platform.turned_away(user.id, coop)
    await context.bot.send_message(
        chat.id,
        contact_text(contact, context.t, context.services.directory, prefix),
        parse_mode=ParseMode.HTML,
        reply_markup=contact_keyboard(contact, context.t),
    )


async def _refresh_card(update: Update, context: BotContext, coop: Cooperative) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    contact = await context.services.platform.contact(user.id, coop)
    try:
        await query.edit_message_text(
            contact_text(contact, context.t, context.services.directory),
            parse_mode=ParseMode.HTML,
            reply_markup=contact_keyboard(contact, context.t),
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def on_notify_me(update: Update, context: BotContext) -> None:
    """Tell the tapping user when this cooperative comes aboard."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    _ = context.gettext
    (coop_id,) = NOTIFY_ME.parse(query.data)
    outcome = await context.services.platform.subscribe(user.id, coop_id)
    if outcome.coop is None:
        await query.answer(_("This cooperative is no longer in the directory."), show_alert=True)
        return
    coop = outcome.coop
    if outcome.status == "on_platform":
        await query.answer()
        assert query.message is not None
        join = InlineKeyboardButton(_("📝 Join this cooperative"), callback_data=JOIN(coop.id))
        await context.bot.send_message(
            query.message.chat.id,
            _("🟢 <b>{coop}</b> takes applications here now.").format(coop=escape(coop.name)),
            parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup([[join]]),
        )
        return
    await query.answer(_("🔔 I will tell you here when it joins."))
    await _refresh_card(update, context, coop)


async def on_notify_cancel(update: Update, context: BotContext) -> None:
    """Stop waiting for this cooperative (from its card)."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    (coop_id,) = NOTIFY_CANCEL.parse(query.data)
    await context.services.platform.cancel(user.id, coop_id)
    await query.answer(context.gettext("🔕 You will not be told."))
    coop = await context.services.directory.get(coop_id)
    if coop is not None and not coop.on_platform:
        await _refresh_card(update, context, coop)


async def on_notify_list(update: Update, context: BotContext) -> None:
    """Show the cooperatives the tapping user waits for, each with a stop button."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None and query.message is not None
    await query.answer()
    entries = await context.services.platform.waiting_list(user.id)
    await context.bot.send_message(
        query.message.chat.id,
        waiting_text(entries, context.t),
        parse_mode=ParseMode.HTML,
        reply_markup=waiting_keyboard(entries, context.t),
    )


async def on_notify_unlist(update: Update, context: BotContext) -> None:
    """Stop waiting for one cooperative, from the list; show the list again."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    (coop_id,) = NOTIFY_UNLIST.parse(query.data)
    await context.services.platform.cancel(user.id, coop_id)
    await query.answer(context.gettext("🔕 You will not be told."))
    entries = await context.services.platform.waiting_list(user.id)
    try:
        await query.edit_message_text(
            waiting_text(entries, context.t),
            parse_mode=ParseMode.HTML,
            reply_markup=waiting_keyboard(entries, context.t),
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


HANDLERS: list[BaseHandler] = [
    CallbackQueryHandler(on_notify_me, pattern=NOTIFY_ME.pattern),
    CallbackQueryHandler(on_notify_cancel, pattern=NOTIFY_CANCEL.pattern),
    CallbackQueryHandler(on_notify_list, pattern=NOTIFY_LIST.pattern),
    CallbackQueryHandler(on_notify_unlist, pattern=NOTIFY_UNLIST.pattern),
]
