"""Runs before every handler: flood control (group -3) and the user's locale (group -1).

A redelivered update never reaches the handlers: the inbox recognises its id before it
is queued (``bot/telegram/processing.py``, ``bot/services/updates.py``).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.context import BotContext

log = logging.getLogger(__name__)


async def flood_control(update: Update, context: BotContext) -> None:
    """A user sending too much gets one polite warning and is ignored for a while."""
    user = update.effective_user
    if user is None:
        return
    verdict = context.bot_data.flood.check(user.id)
    if verdict == "ok":
        return
    if verdict == "warn":
        log.info("flood control user muted update_id=%s", update.update_id)
        services = context.services
        t = services.i18n.get(services.i18n.negotiate(None, user.language_code))
        if update.effective_chat is not None and update.effective_chat.type == "private":
            await context.bot.send_message(
                update.effective_chat.id,
                t.gettext(
                    "🐢 That was a lot of messages at once. I'll pause for a moment; please try "
                    "again in half a minute."
                ),
            )
    raise ApplicationHandlerStop


async def bind_locale(update: Update, context: BotContext) -> None:
    """Bind the user's language to the context: stored choice, Telegram's, or Indonesian."""
    services = context.services
    user = update.effective_user
    if user is None:
        context.locale = services.i18n.default
        return
    try:
        context.locale = await services.users.locale_for(user.id, user.language_code)
    except Exception as exc:
        if not services.health.unavailable(exc):
            raise
        # The database is away: answer in Telegram's language; the handler will report it.
        context.locale = services.i18n.negotiate(None, user.language_code)


FLOOD = TypeHandler(Update, flood_control)
LOCALE = TypeHandler(Update, bind_locale)
