"""The wallet's keyboards: browse, copy the member number, leave or withdraw, confirm."""

from __future__ import annotations

from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.services.cards import WalletEntry
from handlers.callbacks import CARD, CARD_LIST, LEAVE_ASK, NOOP, WITHDRAW_ASK


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
