"""The wallet's keyboards: browse, copy the member number, leave or withdraw, apply again,
confirm."""

from __future__ import annotations

from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.services.cards import WalletEntry
from handlers.callbacks import CARD, CARD_LIST, HOW_TO_PAY, JOIN, LEAVE_ASK, NOOP, WITHDRAW_ASK

# An entry in one of these means the cooperative already has the user's membership or
# application: no "apply again" beside an older, closed one.
OPEN_STATUSES = ("active", "suspended", "pending")
CLOSED_STATUSES = ("rejected", "withdrawn", "left")


def keyboard(t: Translator, entries: list[WalletEntry], index: int) -> InlineKeyboardMarkup:
    _ = t.gettext
    entry = entries[index]
    application = entry.application
    rows: list[list[InlineKeyboardButton]] = []
    if len(entries) > 1:
        prev_id = entries[(index - 1) % len(entries)].application.id
        next_id = entries[(index + 1) % len(entries)].application.id
        rows.append(
            [
                InlineKeyboardButton("◀", callback_data=CARD(prev_id)),
                InlineKeyboardButton(f"{index + 1}/{len(entries)}", callback_data=NOOP()),
                InlineKeyboardButton("▶", callback_data=CARD(next_id)),
            ]
        )
    if application.member_number and application.status == "active":
        rows.append(
            [
                InlineKeyboardButton(
                    _("📋 Copy member number"), copy_text=CopyTextButton(application.member_number)
                )
            ]
        )
    if application.status == "active":
        rows.append(
            [
                InlineKeyboardButton(
                    _("💳 How to pay"), callback_data=HOW_TO_PAY(application.coop_id)
                )
            ]
        )
    if application.status in ("active", "suspended"):
        rows.append(
            [
                InlineKeyboardButton(
                    _("🚪 Leave this cooperative"), callback_data=LEAVE_ASK(application.id)
                )
            ]
        )
    if application.status == "pending":
        rows.append(
            [
                InlineKeyboardButton(
                    _("↩ Withdraw application"), callback_data=WITHDRAW_ASK(application.id)
                )
            ]
        )
    if (
        application.status in CLOSED_STATUSES
        and entry.coop is not None
        and not any(
            e.application.coop_id == application.coop_id and e.application.status in OPEN_STATUSES
            for e in entries
        )
    ):
        # The cooperative's own join entry (the form decides whether a new application
        # may start); the button is the same one its page shows.
        rows.append(
            [InlineKeyboardButton(_("🔁 Apply again"), callback_data=JOIN(application.coop_id))]
        )
    rows.append([InlineKeyboardButton(_("🗒 List view"), callback_data=CARD_LIST())])
    return InlineKeyboardMarkup(rows)


def confirm_keyboard(yes: str, yes_data: str, no: str, no_data: str) -> InlineKeyboardMarkup:
    """Yes (the action) or No (back to the card)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(yes, callback_data=yes_data),
                InlineKeyboardButton(no, callback_data=no_data),
            ]
        ]
    )
