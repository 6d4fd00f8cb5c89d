"""How the panel answers: edit the message a button belongs to, or reply to typed input."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.context import BotContext


async def edit(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Replace the button's message; a photo (no text to edit) gets a new message instead."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        if "no text in the message" in str(exc).lower() and query.message is not None:
            await context.bot.send_message(
                query.message.chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
            return
        raise


async def respond(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup
) -> None:
    """Edit the message a button belongs to, or answer a typed input with a new one."""
    if update.callback_query is not None:
        await update.callback_query.answer()
        await edit(update, context, text, markup)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
