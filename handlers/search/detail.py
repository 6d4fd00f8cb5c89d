"""One cooperative: its detail card, its place on the map, and a link to share it."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from handlers.callbacks import MAP, OPEN, OPEN_FROM, any_of, which
from handlers.search.keyboards import detail_keyboard
from handlers.search.texts import detail_text


def _is_operator(update: Update, context: BotContext) -> bool:
    user = update.effective_user
    return user is not None and context.services.admin.is_operator(user.id)


def _private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


async def send_detail(update: Update, context: BotContext, coop_id: str) -> None:
    """Send a cooperative's detail as a new message (deep link ``c_<id>``)."""
    message = update.effective_message
    assert message is not None
    coop = await context.services.directory.get(coop_id)
    if coop is None:
        await message.reply_text(
            context.gettext(
                "I can't find that cooperative. It may have been removed from the directory."
            )
        )
        return
    await message.reply_text(
        detail_text(coop, context.t, context.services.directory),
        parse_mode=ParseMode.HTML,
        reply_markup=detail_keyboard(
            coop.id,
            coop.name,
            context.bot.username,
            context.t,
            None,
            operator=_is_operator(update, context),
            verified=coop.verified,
            private=_private(update),
        ),
    )


async def open_from_results(update: Update, context: BotContext) -> None:
    """Show a cooperative in place of the result list, with a way back."""
    query = update.callback_query
    assert query is not None and query.data is not None
    back = None
    origin = None
    if which(query.data, OPEN, OPEN_FROM) is OPEN_FROM:
        coop_id, sid, page = OPEN_FROM.parse(query.data)
        back = (sid, page)
        search = await context.services.search.get_saved(sid)
        origin = search.point if search else None
    else:
        (coop_id,) = OPEN.parse(query.data)
    coop = await context.services.directory.get(coop_id, origin=origin)
    if coop is None:
        await query.answer(
            context.gettext("This cooperative is no longer in the directory."), show_alert=True
        )
        return
    await query.answer()
    markup = detail_keyboard(
        coop.id,
        coop.name,
        context.bot.username,
        context.t,
        back,
        operator=_is_operator(update, context),
        verified=coop.verified,
        private=_private(update),
    )
    text = detail_text(coop, context.t, context.services.directory)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def show_on_map(update: Update, context: BotContext) -> None:
    """Send the cooperative as a venue: a tappable place on the map."""
    query = update.callback_query
    assert query is not None and query.data is not None
    (coop_id,) = MAP.parse(query.data)
    coop = await context.services.directory.get(coop_id)
    if coop is None or query.message is None:
        await query.answer(
            context.gettext("This cooperative is no longer in the directory."), show_alert=True
        )
        return
    await query.answer()
    address = coop.address or context.services.directory.place(coop, depth=2) or coop.name
    await context.bot.send_venue(
        chat_id=query.message.chat.id,
        latitude=coop.location.lat,
        longitude=coop.location.lon,
        title=coop.name[:256],
        address=address[:256],
    )


HANDLERS: list[BaseHandler] = [
    CallbackQueryHandler(open_from_results, pattern=any_of(OPEN, OPEN_FROM)),
    CallbackQueryHandler(show_on_map, pattern=MAP.pattern),
]
