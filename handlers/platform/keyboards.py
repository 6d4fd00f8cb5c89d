"""The buttons of a cooperative's contact card and of the notify-me list.

Callback data (:mod:`handlers.callbacks`): ``MAP`` its place on the map · ``NOTIFY_ME`` /
``NOTIFY_CANCEL`` wait (or not) for it to come aboard · ``CLAIM_START`` a board member's
claim · ``NOTIFY_LIST`` the list · ``NOTIFY_UNLIST`` stop waiting for one from the list.
"""

from __future__ import annotations

from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.services.platform import Contact
from handlers.callbacks import (
    CLAIM_START,
    MAP,
    NOTIFY_CANCEL,
    NOTIFY_LIST,
    NOTIFY_ME,
    NOTIFY_UNLIST,
)
from storage.models import Cooperative, Subscription


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def contact_keyboard(contact: Contact, t: Translator) -> InlineKeyboardMarkup:
    """Copy the phone, WhatsApp (a mobile only), the map; notify me; I run it."""
    _ = t.gettext
    coop_id = contact.coop.id
    rows: list[list[InlineKeyboardButton]] = []
    reach: list[InlineKeyboardButton] = []
    if contact.phone:
        reach.append(
            InlineKeyboardButton(_("📋 Copy phone"), copy_text=CopyTextButton(contact.phone))
        )
    if contact.whatsapp:
        reach.append(
            InlineKeyboardButton(_("💬 WhatsApp"), url=f"https://wa.me/{contact.whatsapp}")
        )
    if reach:
        rows.append(reach)
    rows.append([InlineKeyboardButton(_("🗺 Show on map"), callback_data=MAP(coop_id))])
    if contact.subscribed:
        stop = _("🔕 Stop notifying me")
        rows.append(
            [
                InlineKeyboardButton(stop, callback_data=NOTIFY_CANCEL(coop_id)),
                InlineKeyboardButton(_("🔔 My list"), callback_data=NOTIFY_LIST()),
            ]
        )
    else:
        rows.append([InlineKeyboardButton(_("🔔 Notify me"), callback_data=NOTIFY_ME(coop_id))])
    rows.append(
        [InlineKeyboardButton(_("I run this cooperative"), callback_data=CLAIM_START(coop_id))]
    )
    return InlineKeyboardMarkup(rows)


def waiting_keyboard(
    entries: list[tuple[Subscription, Cooperative | None]], t: Translator
) -> InlineKeyboardMarkup | None:
    """One "stop" button per cooperative waited for."""
    if not entries:
        return None
    rows = []
    for n, (sub, coop) in enumerate(entries, start=1):
        name = _short(coop.name) if coop else "–"
        rows.append(
            [InlineKeyboardButton(f"🔕 {n}. {name}", callback_data=NOTIFY_UNLIST(sub.coop_id))]
        )
    return InlineKeyboardMarkup(rows)


def list_button(t: Translator) -> InlineKeyboardMarkup:
    """A button that opens the notify-me list (under /mydata, for instance)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t.gettext("🔔 Notify-me list"), callback_data=NOTIFY_LIST())]]
    )
