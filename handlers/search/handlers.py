"""Finding cooperatives: a shared location, a typed query, and the result list's buttons."""

from __future__ import annotations

import math
from html import escape

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.services.search import NoResults, Outcome, PlaceChoice, ResultPage
from handlers.callbacks import (
    NOOP,
    PAGE,
    PICK_PLACE,
    SERVICE_MENU,
    SET_SERVICE,
    SET_TYPE,
    TYPE_MENU,
    any_of,
    which,
)
from handlers.keyboards import main_keyboard_in
from handlers.search.keyboards import filter_keyboard, place_choice_keyboard, results_keyboard
from handlers.search.texts import no_results_text, results_text
from storage.models import Point


def _render(outcome: Outcome, context: BotContext) -> tuple[str, InlineKeyboardMarkup | None]:
    t = context.t
    directory = context.services.directory
    if isinstance(outcome, ResultPage):
        where = None
        if (
            outcome.search.kind == "near"
            and outcome.search.point is not None
            and outcome.page == 0
        ):
            where = directory.where(outcome.search.point)
        return results_text(outcome, t, directory, where), results_keyboard(outcome, t)
    if isinstance(outcome, PlaceChoice):
        labels = [directory.gazetteer.label(region.code, depth=2) for region, _ in outcome.options]
        if outcome.corrected:
            text = context.gettext("I found no “{name}”. Did you mean one of these places?")
        else:
            text = context.gettext(
                "There are several places called “{name}”. Which one do you mean?"
            )
        if outcome.empty:
            text = context.gettext(
                "No cooperatives found in “{name}” for this search. Did you mean one of "
                "these places?"
            )
        text = text.format(name=escape(outcome.name.title()))
        return text, place_choice_keyboard(outcome, labels, t)
    return no_results_text(outcome, t, directory), None


async def _send(message: Message, outcome: Outcome, context: BotContext, user_id: int) -> None:
    if isinstance(outcome, NoResults) and outcome.reason == "need_location":
        await context.services.search.ask_where(user_id, outcome)  # kept for the answer
    text, markup = _render(outcome, context)
    if isinstance(outcome, NoResults) and outcome.reason in (
        "need_location",
        "none_near",
        "outside",
        "empty",
    ):
        await message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=main_keyboard_in(message.chat, context.t)
        )
        return
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def _edit(update: Update, context: BotContext, outcome: Outcome) -> None:
    query = update.callback_query
    assert query is not None
    if isinstance(outcome, NoResults) and outcome.reason == "expired":
        await query.answer(
            no_results_text(outcome, context.t, context.services.directory), show_alert=True
        )
        return
    await query.answer()
    text, markup = _render(outcome, context)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:  # tapping the filter that is already set
        if "not modified" not in str(exc).lower():
            raise


async def on_location(update: Update, context: BotContext) -> None:
    """List the cooperatives nearest to a shared (or live) location."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.location is not None and user is not None
    loc = message.location
    point = Point(loc.latitude, loc.longitude)
    if not (math.isfinite(point.lat) and math.isfinite(point.lon)):
        point = Point(1000.0, 1000.0)  # answered as "outside Indonesia"
    type_, service, terms = await context.services.search.answer_to_where(user.id)
    outcome = await context.services.search.near(
        user.id, point, type=type_, service=service, terms=terms
    )
    await _send(message, outcome, context, user.id)


async def on_text(update: Update, context: BotContext) -> None:
    """Run a typed query."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    type_, service, terms = await context.services.search.answer_to_where(user.id)
    outcome = await context.services.search.text(
        user.id, message.text or "", type=type_, service=service, terms=terms
    )
    await _send(message, outcome, context, user.id)


async def search_command(update: Update, context: BotContext) -> None:
    """Run /search's query, or explain how to search."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    if context.args:
        type_, service, terms = await context.services.search.answer_to_where(user.id)
        outcome = await context.services.search.text(
            user.id, " ".join(context.args), type=type_, service=service, terms=terms
        )
        await _send(message, outcome, context, user.id)
        return
    await message.reply_text(
        # TRANSLATORS: examples that work in the demo directory, in your language.
        context.gettext(
            "📍 Share your location, or type a place, a service or a cooperative "
            "name, for example “Sleman”, “pharmacy in Medan” or “Koperasi "
            "Sejahtera”."
        ),
        reply_markup=main_keyboard_in(message.chat, context.t),
    )


async def on_page(update: Update, context: BotContext) -> None:
    """Show another page of a result list."""
    query = update.callback_query
    assert query is not None and query.data is not None
    sid, page = PAGE.parse(query.data)
    await _edit(update, context, await context.services.search.page(sid, page))


async def on_filter_menu(update: Update, context: BotContext) -> None:
    """Show the type or service choices in place of the list."""
    query = update.callback_query
    assert query is not None and query.data is not None
    menu = which(query.data, TYPE_MENU, SERVICE_MENU)
    (sid,) = menu.parse(query.data)
    search = await context.services.search.get_saved(sid)
    if search is None:
        await _edit(update, context, NoResults("expired"))
        return
    kind = "type" if menu is TYPE_MENU else "service"
    current = search.type if kind == "type" else search.service
    await query.answer()
    prompt = (
        context.gettext("Show only cooperatives of this type:")
        if kind == "type"
        else context.gettext("Show only cooperatives offering:")
    )
    await query.edit_message_text(
        prompt, reply_markup=filter_keyboard(sid, kind, current, context.t)
    )


async def on_filter_set(update: Update, context: BotContext) -> None:
    """Re-run the same search with the chosen filter."""
    query = update.callback_query
    assert query is not None and query.data is not None
    chosen = which(query.data, SET_TYPE, SET_SERVICE)
    sid, value = chosen.parse(query.data)
    code = None if value == "-" else value
    search = context.services.search
    if chosen is SET_TYPE:
        outcome = await search.refine(sid, type=code)
    else:
        outcome = await search.refine(sid, service=code)
    if isinstance(outcome, NoResults) and outcome.reason != "expired":
        # Keep the list reachable: say nothing matched and offer the filters again.
        await query.answer(context.gettext("Nothing matches this filter here."), show_alert=True)
        return
    await _edit(update, context, outcome)


async def on_pick(update: Update, context: BotContext) -> None:
    """Search in the place the user picked among same-named ones."""
    query = update.callback_query
    assert query is not None and query.data is not None
    sid, index = PICK_PLACE.parse(query.data)
    await _edit(update, context, await context.services.search.pick(sid, index))


async def on_noop(update: Update, context: BotContext) -> None:
    """Acknowledge a label button (the page counter)."""
    assert update.callback_query is not None
    await update.callback_query.answer()


PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
HANDLERS: list[BaseHandler] = [
    CommandHandler(["search", "cari"], search_command),
    MessageHandler(PRIVATE & filters.LOCATION, on_location),
    MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, on_text),
    CallbackQueryHandler(on_page, pattern=PAGE.pattern),
    CallbackQueryHandler(on_filter_menu, pattern=any_of(TYPE_MENU, SERVICE_MENU)),
    CallbackQueryHandler(on_filter_set, pattern=SET_TYPE.pattern),
    CallbackQueryHandler(on_filter_set, pattern=SET_SERVICE.pattern),
    CallbackQueryHandler(on_pick, pattern=PICK_PLACE.pattern),
    # The page counters of every feature (results, wallet, queue) are label-only buttons.
    CallbackQueryHandler(on_noop, pattern=NOOP.pattern),
]
