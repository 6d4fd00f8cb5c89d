"""Runs before every handler (group -1): records the user and binds their locale."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, TypeHandler

from bot.context import BotContext


async def bind_locale(update: Update, context: BotContext) -> None:
    """Bind the user's language to the context: stored choice, Telegram's, or Indonesian."""
    user = update.effective_user
    if user is None:
        context.locale = context.services.i18n.default
        return
    context.locale = await context.services.users.locale_for(user.id, user.language_code)


HANDLERS: list[BaseHandler] = [TypeHandler(Update, bind_locale)]
