"""One cooperative: its detail card, its place on the map, and a link to share it."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from handlers.keyboards import detail_keyboard
from handlers.render import detail_text


def _is_operator(update: Update, context: BotContext) -> bool:
    user = update.effective_user
    return user is not None and context.services.admin.is_operator(user.id)


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
        ),
    )


async def open_from_results(update: Update, context: BotContext) -> None:
    """Show a cooperative in place of the result list, with a way back."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    coop_id = parts[1]
    back = None
    origin = None
    if len(parts) == 4 and parts[3].isdigit():
        back = (parts[2], int(parts[3]))
        search = await context.services.search.get_saved(parts[2])
        origin = search.point if search else None
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
    coop = await context.services.directory.get(query.data.split(":")[1])
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
    CallbackQueryHandler(open_from_results, pattern=r"^co:[0-9a-f]{24}(:[\w-]{1,16}:\d{1,4})?$"),
    CallbackQueryHandler(show_on_map, pattern=r"^mp:[0-9a-f]{24}$"),
]
