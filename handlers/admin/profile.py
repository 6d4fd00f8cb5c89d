"""The cooperative's profile as search shows it, with an edit button per field."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.catalog import N_, SERVICES
from handlers.admin.reply import respond
from handlers.callbacks import (
    LOOP,
    PANEL,
    PAY_SETTINGS,
    PROFILE,
    PROFILE_EDIT,
    PROFILE_SERVICES,
    SERVICE_TOGGLE,
)
from handlers.guard import guarded
from handlers.render import services_text
from storage.models import Cooperative

PROFILE_BUTTONS: list[tuple[str, str]] = [
    ("desc", N_("Description")),
    ("svc", N_("Services offered")),  # not "Services": that is also a type ("Jasa")
    ("phone", N_("Phone")),
    ("hours", N_("Opening hours")),
    ("pokok", N_("Simpanan pokok")),
    ("wajib", N_("Simpanan wajib")),
    ("rat", N_("Last RAT year")),
    ("loc", N_("Location")),
]
# The closed-loop buttons' codes and the values they store.
LOOP_VALUES: dict[str, bool | None] = {"c": True, "o": False, "x": None}


def profile_text(t: Translator, coop: Cooperative) -> str:
    _ = t.gettext
    loop = {True: _("closed-loop (members only)"), False: _("open-loop (OJK licence)"), None: "–"}[
        coop.closed_loop
    ]
    lines = [
        _("✏️ <b>Profile of {coop}</b>").format(coop=escape(coop.name)),
        "",
        _("Description: {value}").format(value=escape(coop.description or "–")),
        _("Services: {services}").format(
            services=services_text(coop.services, t, None) if coop.services else "–"
        ),
        _("Phone: {value}").format(value=escape(coop.phone or "–")),
        _("Opening hours: {value}").format(value=escape(coop.opening_hours or "–")),
        _("Simpanan pokok: {value}").format(
            value=t.money(coop.simpanan_pokok) if coop.simpanan_pokok is not None else "–"
        ),
        _("Simpanan wajib: {value}").format(
            value=t.money(coop.simpanan_wajib) if coop.simpanan_wajib is not None else "–"
        ),
        _("Savings and loan: {value}").format(value=loop),
        _("Last RAT: {value}").format(value=coop.rat_year or "–"),
        _("Location: {lat}, {lon}").format(
            lat=f"{coop.location.lat:.5f}", lon=f"{coop.location.lon:.5f}"
        ),
        "",
        _("Changes show in search at once."),
    ]
    return "\n".join(lines)


def profile_keyboard(t: Translator, coop: Cooperative) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            "✏️ " + t.gettext(label),
            # Services are chosen from the vocabulary (toggles), never typed.
            callback_data=PROFILE_SERVICES(coop.id)
            if key == "svc"
            else PROFILE_EDIT(coop.id, key),
        )
        for key, label in PROFILE_BUTTONS
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(t.gettext("🔒 Closed-loop"), callback_data=LOOP(coop.id, "c")),
            InlineKeyboardButton(t.gettext("🔓 Open-loop"), callback_data=LOOP(coop.id, "o")),
            InlineKeyboardButton(t.gettext("– Not set"), callback_data=LOOP(coop.id, "x")),
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(
                t.gettext("💳 How members pay"), callback_data=PAY_SETTINGS(coop.id)
            )
        ]
    )
    rows.append([InlineKeyboardButton(t.gettext("⬅ Panel"), callback_data=PANEL(coop.id))])
    return InlineKeyboardMarkup(rows)


async def show_profile(update: Update, context: BotContext, coop: Cooperative) -> None:
    await respond(
        update, context, profile_text(context.t, coop), profile_keyboard(context.t, coop)
    )


@guarded(PROFILE)
async def on_profile(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Show the cooperative's profile with an edit button per field."""
    coop = await context.services.admin.coop_for_admin(user_id, coop_id)
    await show_profile(update, context, coop)


@guarded(LOOP)
async def on_loop(
    update: Update, context: BotContext, user_id: int, coop_id: str, value: str
) -> None:
    """Set closed-loop / open-loop status."""
    coop = await context.services.admin.update_profile(
        user_id, coop_id, "closed_loop", LOOP_VALUES[value]
    )
    await show_profile(update, context, coop)


def services_keyboard(t: Translator, coop: Cooperative) -> InlineKeyboardMarkup:
    """Every service of the vocabulary, ✅ when offered; a tap switches it."""
    buttons = [
        InlineKeyboardButton(
            ("✅ " if code in coop.services else "▫️ ") + f"{term.emoji} {t.gettext(term.label)}",
            callback_data=SERVICE_TOGGLE(coop.id, code),
        )
        for code, term in SERVICES.items()
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton(t.gettext("✔ Done"), callback_data=PROFILE(coop.id))])
    return InlineKeyboardMarkup(rows)


def services_screen(t: Translator, coop: Cooperative) -> str:
    _ = t.gettext
    lines = [
        _("🏷 <b>Services offered by {coop}</b>").format(coop=escape(coop.name)),
        _("Tap a service to switch it on or off. Search shows the change at once."),
    ]
    unknown = [code for code in coop.services if code not in SERVICES]
    if unknown:
        lines += [
            "",
            _("Also listed, but not a known service (dropped at your next change): {tags}").format(
                tags=escape(", ".join(unknown))
            ),
        ]
    return "\n".join(lines)


@guarded(PROFILE_SERVICES)
async def on_services(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Show the services as toggles."""
    coop = await context.services.admin.coop_for_admin(user_id, coop_id)
    await respond(
        update, context, services_screen(context.t, coop), services_keyboard(context.t, coop)
    )


@guarded(SERVICE_TOGGLE)
async def on_service_toggle(
    update: Update, context: BotContext, user_id: int, coop_id: str, code: str
) -> None:
    """Switch one service on or off, and show the toggles again."""
    admin = context.services.admin
    coop = await admin.coop_for_admin(user_id, coop_id)
    offered = [c for c in coop.services if c in SERVICES]
    offered = [c for c in offered if c != code] if code in offered else [*offered, code]
    coop = await admin.update_profile(user_id, coop_id, "services", offered)
    await respond(
        update, context, services_screen(context.t, coop), services_keyboard(context.t, coop)
    )
