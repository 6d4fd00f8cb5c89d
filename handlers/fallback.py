"""Everything no other handler took: unknown commands, stickers, photos, stale buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from handlers.keyboards import main_keyboard, main_keyboard_in


async def cancel_idle(update: Update, context: BotContext) -> None:
    """Say there is nothing to cancel (/cancel outside of a form)."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        context.gettext("There is nothing to cancel."),
        reply_markup=main_keyboard_in(message.chat, context.t),
    )


async def unknown_command(update: Update, context: BotContext) -> None:
    """Say the command is unknown and point at /help."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        context.gettext("I don't know that command. /help lists what I can do.")
    )


async def unsupported_message(update: Update, context: BotContext) -> None:
    """Say what the bot understands (stickers, photos, voice notes…)."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        context.gettext(
            "I can't read that kind of message. Type a place or a cooperative "
            "name, or share your location."
        ),
        reply_markup=main_keyboard(context.t),
    )


async def stale_button(update: Update, context: BotContext) -> None:
    """Answer a button this version does not know (old message, forged data)."""
    query = update.callback_query
    assert query is not None
    await query.answer(
        context.gettext("This button no longer works. Please search again."), show_alert=True
    )


PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
HANDLERS: list[BaseHandler] = [
    CommandHandler(["cancel", "batal"], cancel_idle),
    MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, unknown_command),
    MessageHandler(PRIVATE, unsupported_message),
    CallbackQueryHandler(stale_button),
]
