"""Keyboards and callback data. Buttons carry data, never translated text to match on.

Callback data (≤ 64 bytes; ids are 24 hex characters, search ids 8):
``pg:<search>:<page>`` page · ``ft:<search>`` / ``fs:<search>`` filter menus ·
``st:<search>:<type|->`` / ``ss:<search>:<service|->`` set a filter · ``pk:<search>:<i>``
pick a place · ``co:<coop>[:<search>:<page>]`` open a cooperative · ``mp:<coop>`` map ·
``lg:<lang>`` language · ``noop`` a label that does nothing.
"""

from __future__ import annotations

from urllib.parse import quote

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.i18n import Translator
from bot.services.catalog import SERVICES, TYPES
from bot.services.gazetteer import Region, display_name
from bot.services.search import PlaceChoice, ResultPage

NOOP = "noop"


def main_keyboard(t: Translator) -> ReplyKeyboardMarkup:
    """The reply keyboard: share location; typing a place or name needs no button."""
    _ = t.gettext
    return ReplyKeyboardMarkup(
        [[KeyboardButton(_("📍 Share my location"), request_location=True)]],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=_("Type a place or cooperative name"),
    )


def deep_link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


def share_url(bot_username: str, payload: str, text: str) -> str:
    link = deep_link(bot_username, payload)
    return f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(text, safe='')}"


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def results_keyboard(page: ResultPage, t: Translator) -> InlineKeyboardMarkup:
    _ = t.gettext
    sid = page.search.id
    rows: list[list[InlineKeyboardButton]] = []
    start = page.page * 5
    for n, coop in enumerate(page.items, start=start + 1):
        label = f"{n}. {_short(coop.name)}"
        if page.search.point is not None and coop.distance_m is not None:
            label += f" · {t.distance(coop.distance_m)}"
        rows.append([InlineKeyboardButton(label, callback_data=f"co:{coop.id}:{sid}:{page.page}")])
    nav: list[InlineKeyboardButton] = []
    if page.has_prev:
        nav.append(
            InlineKeyboardButton(_("◀ Previous"), callback_data=f"pg:{sid}:{page.page - 1}")
        )
    if page.pages > 1:
        nav.append(InlineKeyboardButton(f"{page.page + 1}/{page.pages}", callback_data=NOOP))
    if page.has_next:
        nav.append(InlineKeyboardButton(_("Next ▶"), callback_data=f"pg:{sid}:{page.page + 1}"))
    if nav:
        rows.append(nav)
    type_label = _("Type")
    if page.search.type:
        type_label = (
            f"✔ {t.gettext(TYPES[page.search.type].label)}"
            if page.search.type in TYPES
            else type_label
        )
    service_label = _("Service")
    if page.search.service:
        term = SERVICES.get(page.search.service)
        service_label = f"✔ {t.gettext(term.label)}" if term else service_label
    rows.append(
        [
            InlineKeyboardButton(f"🔎 {type_label}", callback_data=f"ft:{sid}"),
            InlineKeyboardButton(f"🏷 {service_label}", callback_data=f"fs:{sid}"),
        ]
    )
    return InlineKeyboardMarkup(rows)


def filter_keyboard(
    sid: str, kind: str, current: str | None, t: Translator, back_page: int = 0
) -> InlineKeyboardMarkup:
    """Buttons to choose a type (``kind == "type"``) or a service filter."""
    _ = t.gettext
    terms = TYPES if kind == "type" else SERVICES
    prefix = "st" if kind == "type" else "ss"
    buttons = []
    for code, term in terms.items():
        mark = "✔ " if code == current else ""
        buttons.append(
            InlineKeyboardButton(
                f"{mark}{term.emoji} {t.gettext(term.label)}",
                callback_data=f"{prefix}:{sid}:{code}",
            )
        )
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    all_label = _("All types") if kind == "type" else _("All services")
    rows.append(
        [
            InlineKeyboardButton(
                ("✔ " if current is None else "") + all_label, callback_data=f"{prefix}:{sid}:-"
            ),
            InlineKeyboardButton(_("◀ Back"), callback_data=f"pg:{sid}:{back_page}"),
        ]
    )
    return InlineKeyboardMarkup(rows)


def place_label(region: Region, gazetteer_label: str) -> str:
    return gazetteer_label or display_name(region)


def place_choice_keyboard(
    choice: PlaceChoice, labels: list[str], t: Translator
) -> InlineKeyboardMarkup:
    rows = []
    for i, ((_region, count), label) in enumerate(zip(choice.options, labels, strict=True)):
        text = f"{_short(label, 52)} ({t.number(count)})"
        rows.append([InlineKeyboardButton(text, callback_data=f"pk:{choice.search.id}:{i}")])
    return InlineKeyboardMarkup(rows)


def detail_keyboard(
    coop_id: str,
    name: str,
    bot_username: str | None,
    t: Translator,
    back: tuple[str, int] | None,
    *,
    operator: bool = False,
    verified: bool = False,
) -> InlineKeyboardMarkup:
    _ = t.gettext
    rows = [[InlineKeyboardButton(_("📝 Join this cooperative"), callback_data=f"jn:{coop_id}")]]
    row = [InlineKeyboardButton(_("🗺 Show on map"), callback_data=f"mp:{coop_id}")]
    if bot_username:
        row.append(
            InlineKeyboardButton(_("📤 Share"), url=share_url(bot_username, f"c_{coop_id}", name))
        )
    rows.append(row)
    if operator:  # shown to platform operators; the server checks the role again on tap
        rows.append(
            [
                InlineKeyboardButton(
                    _("✖ Remove verification") if verified else _("✅ Verify"),
                    callback_data=f"ov:{coop_id}:{0 if verified else 1}",
                ),
                InlineKeyboardButton(_("👤 Invite admin"), callback_data=f"oi:{coop_id}"),
            ]
        )
    if back is not None:
        rows.append(
            [InlineKeyboardButton(_("◀ Back to results"), callback_data=f"pg:{back[0]}:{back[1]}")]
        )
    return InlineKeyboardMarkup(rows)


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    # Language names are written in their own language, so they are not translated.
    options = (("id", "🇮🇩 Bahasa Indonesia"), ("en", "🇬🇧 English"))
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    ("✔ " if code == current else "") + label, callback_data=f"lg:{code}"
                )
            ]
            for code, label in options
        ]
    )
