"""The one error handler: log with the update id (never personal data), apologise."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut

from bot.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log the error and tell the user, in their language, that something went wrong."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.info("user blocked the bot update_id=%s", update_id)
        return
    log.error("error while handling update_id=%s: %s", update_id, type(error).__name__,
              exc_info=error)
    if not isinstance(update, Update) or context.bot_data.services is None:
        return
    user = update.effective_user
    services = context.bot_data.services
    locale = services.i18n.default
    if user is not None:
        try:
            locale = await services.users.locale_for(user.id, user.language_code)
        except Exception:  # the database may be what failed
            locale = services.i18n.negotiate(None, user.language_code)
    _ = services.i18n.get(locale).gettext
    if isinstance(error, (NetworkError, TimedOut)) and not isinstance(error, BadRequest):
        text = _("⚠️ Telegram did not answer in time. Please try again.")
    else:
        text = _("⚠️ Sorry, something went wrong on our side. Please try again in a moment.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_chat is not None and update.effective_chat.type == "private":
            await context.bot.send_message(update.effective_chat.id, text)
    except Exception:  # never let the error handler raise
        log.warning("could not tell the user about the error update_id=%s", update_id)
