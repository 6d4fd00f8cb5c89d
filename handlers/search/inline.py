"""Inline mode: ``@bot Sleman`` in any chat answers with cooperatives to share."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultsButton,
    InlineQueryResultVenue,
    Update,
)
from telegram.ext import BaseHandler, InlineQueryHandler

from bot.context import BotContext
from bot.services.catalog import type_label
from handlers.keyboards import deep_link
from storage.models import Point


async def inline_query(update: Update, context: BotContext) -> None:
    """Answer with up to 50 cooperatives as venues, near the user when Telegram says where."""
    query = update.inline_query
    assert query is not None
    _ = context.gettext
    point = Point(query.location.latitude, query.location.longitude) if query.location else None
    coops = await context.services.search.inline(query.query, point)
    username = context.bot.username
    results = []
    for coop in coops:
        address = coop.address or context.services.directory.place(coop, depth=2) or coop.name
        title = coop.name + (" ✅" if coop.verified else "")
        markup = None
        if username:
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            _("Open in Gerbang Koperasi"), url=deep_link(username, f"c_{coop.id}")
                        )
                    ]
                ]
            )
        results.append(
            InlineQueryResultVenue(
                id=coop.id,
                latitude=coop.location.lat,
                longitude=coop.location.lon,
                title=title[:256],
                address=f"{context.gettext(type_label(coop.type))} · {address}"[:256],
                reply_markup=markup,
            )
        )
    button = None
    typed = query.query.strip()
    if not results and typed:
        # Say that the search ran and found nothing (not only how to search); the button
        # opens the bot, where the search can be refined.
        shown = typed if len(typed) <= 24 else typed[:23] + "…"
        parsed = context.services.search.parser.parse(typed)
        if point is None and not (parsed.place or parsed.terms):
            # "apotek" alone, and Telegram did not say where the user is.
            text = _("Add a place: “{query} Sleman”").format(query=shown)
        else:
            text = _("Nothing found for “{query}”").format(query=shown)
        button = InlineQueryResultsButton(text=text, start_parameter="inline")
    elif not results:
        button = InlineQueryResultsButton(
            text=_("Type a place or a cooperative name"), start_parameter="inline"
        )
    await query.answer(
        results,
        cache_time=30 if point is None else 5,
        is_personal=point is not None,
        button=button,
    )


HANDLERS: list[BaseHandler] = [InlineQueryHandler(inline_query)]
