"""/language (/bahasa): choose Bahasa Indonesia or English; the choice is stored."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from handlers.callbacks import LANGUAGE
from handlers.commands import set_chat_commands
from handlers.keyboards import language_keyboard, main_keyboard


async def language(update: Update, context: BotContext) -> None:
    """Offer the languages."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        context.gettext("Choose your language:"),
        reply_markup=language_keyboard(context.locale or "id"),
    )


async def choose_language(update: Update, context: BotContext) -> None:
    """Store the chosen language and answer in it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    user = update.effective_user
    assert user is not None
    (chosen,) = LANGUAGE.parse(query.data)
    context.locale = await context.services.users.set_language(user.id, chosen)
    _ = context.gettext
    await query.answer()
    name = "English" if context.locale == "en" else "Bahasa Indonesia"
    await query.edit_message_text(
        _("✅ From now on I will speak {language} with you.").format(language=name)
    )
    if query.message is not None:
        await context.bot.send_message(
            query.message.chat.id,
            _("Share your location or type a place or cooperative name."),
            reply_markup=main_keyboard(context.t),
        )
        await set_chat_commands(context, query.message.chat.id)


HANDLERS: list[BaseHandler] = [
    CommandHandler(["language", "bahasa"], language),
    CallbackQueryHandler(choose_language, pattern=LANGUAGE.pattern),
]
