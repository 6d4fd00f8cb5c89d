"""The search feature's keyboards: result lists, filters, place choices, a cooperative's page.

Callback data (:mod:`handlers.callbacks`, ≤ 64 bytes; ids are 24 hex characters, search ids
8): ``PAGE`` a page · ``TYPE_MENU`` / ``SERVICE_MENU`` filter menus · ``SET_TYPE`` /
``SET_SERVICE`` set a filter · ``PICK_PLACE`` pick a place · ``OPEN_FROM`` open a cooperative
from the list · ``MAP`` its place on the map · ``NOOP`` a label that does nothing.
"""

from __future__ import annotations

from urllib.parse import quote

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.services.catalog import SERVICES, TYPES
from bot.services.search import PlaceChoice, ResultPage
from handlers.callbacks import (
    INVITE,
    JOIN,
    MAP,
    NOOP,
    OPEN_FROM,
    PAGE,
    PICK_PLACE,
    SERVICE_MENU,
    SET_SERVICE,
    SET_TYPE,
    TYPE_MENU,
    VERIFY,
)
from handlers.keyboards import deep_link


def share_url(bot_username: str, payload: str, text: str) -> str:
    """Telegram's share dialog with a deep link to the bot and a text."""
    link = deep_link(bot_username, payload)
    return f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(text, safe='')}"


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def results_keyboard(page: ResultPage, t: Translator) -> InlineKeyboardMarkup:
    """One button per cooperative, the page buttons, and the two filter menus."""
    _ = t.gettext
    sid = page.search.id
    rows: list[list[InlineKeyboardButton]] = []
    start = page.page * 5
    for n, coop in enumerate(page.items, start=start + 1):
        label = f"{n}. {_short(coop.name)}"
        if page.search.point is not None and coop.distance_m is not None:
            label += f" · {t.distance(coop.distance_m)}"
        rows.append(
            [InlineKeyboardButton(label, callback_data=OPEN_FROM(coop.id, sid, page.page))]
        )
    nav: list[InlineKeyboardButton] = []
    if page.has_prev:
        nav.append(InlineKeyboardButton(_("◀ Previous"), callback_data=PAGE(sid, page.page - 1)))
    if page.pages > 1:
        nav.append(InlineKeyboardButton(f"{page.page + 1}/{page.pages}", callback_data=NOOP()))
    if page.has_next:
        nav.append(InlineKeyboardButton(_("Next ▶"), callback_data=PAGE(sid, page.page + 1)))
    if nav:
        rows.append(nav)
    type_label = _("Type")
    if page.search.type:
        type_label = (
            f"✔ {t.gettext(TYPES[page.search.type].label)}"
            if page.search.type in TYPES
            else type_label
        )
    # TRANSLATORS: the filter button "what the cooperatives offer" (a business unit), beside
    # the "Type" button; distinct from the type "Service cooperative" (koperasi jasa).
    service_label = _("Offers")
    if page.search.service:
        term = SERVICES.get(page.search.service)
        service_label = f"✔ {t.gettext(term.label)}" if term else service_label
    rows.append(
        [
            InlineKeyboardButton(f"🔎 {type_label}", callback_data=TYPE_MENU(sid)),
            InlineKeyboardButton(f"🏷 {service_label}", callback_data=SERVICE_MENU(sid)),
        ]
    )
    return InlineKeyboardMarkup(rows)


def filter_keyboard(
    sid: str, kind: str, current: str | None, t: Translator, back_page: int = 0
) -> InlineKeyboardMarkup:
    """Buttons to choose a type (``kind == "type"``) or a service filter."""
    _ = t.gettext
    terms = TYPES if kind == "type" else SERVICES
    choose = SET_TYPE if kind == "type" else SET_SERVICE
    buttons = []
    for code, term in terms.items():
        mark = "✔ " if code == current else ""
        buttons.append(
            InlineKeyboardButton(
                f"{mark}{term.emoji} {t.gettext(term.label)}", callback_data=choose(sid, code)
            )
        )
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    all_label = _("All types") if kind == "type" else _("All services")
    rows.append(
        [
            InlineKeyboardButton(
                ("✔ " if current is None else "") + all_label, callback_data=choose(sid, "-")
            ),
            InlineKeyboardButton(_("◀ Back"), callback_data=PAGE(sid, back_page)),
        ]
    )
    return InlineKeyboardMarkup(rows)


def place_choice_keyboard(
    choice: PlaceChoice, labels: list[str], t: Translator
) -> InlineKeyboardMarkup:
    """One button per same-named place, with how many cooperatives each holds."""
    rows = []
    for i, ((_region, count), label) in enumerate(zip(choice.options, labels, strict=True)):
        text = f"{_short(label, 52)} ({t.number(count)})"
        rows.append([InlineKeyboardButton(text, callback_data=PICK_PLACE(choice.search.id, i))])
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
    private: bool = True,
) -> InlineKeyboardMarkup:
    """Join, map, share; verify and invite for operators; back to the list it came from.

    Outside a private chat (``private`` False) "Join" opens the form in the private chat and
    the operators' buttons stay away: the form and admin work never happen in a group.
    """
    _ = t.gettext
    join = _("📝 Join this cooperative")
    if private or not bot_username:
        rows = [[InlineKeyboardButton(join, callback_data=JOIN(coop_id))]]
    else:
        rows = [[InlineKeyboardButton(join, url=deep_link(bot_username, f"join_{coop_id}"))]]
    row = [InlineKeyboardButton(_("🗺 Show on map"), callback_data=MAP(coop_id))]
    if bot_username:
        row.append(
            InlineKeyboardButton(_("📤 Share"), url=share_url(bot_username, f"c_{coop_id}", name))
        )
    rows.append(row)
    if operator and private:  # operators see them; the server checks the role again on tap
        rows.append(
            [
                InlineKeyboardButton(
                    _("✖ Remove verification") if verified else _("✅ Verify"),
                    callback_data=VERIFY(coop_id, 0 if verified else 1),
                ),
                InlineKeyboardButton(_("👤 Invite admin"), callback_data=INVITE(coop_id)),
            ]
        )
    if back is not None:
        rows.append(
            [InlineKeyboardButton(_("◀ Back to results"), callback_data=PAGE(back[0], back[1]))]
        )
    return InlineKeyboardMarkup(rows)
