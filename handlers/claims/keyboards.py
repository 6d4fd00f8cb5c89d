"""The claims feature's keyboards (buttons carry data from ``handlers/callbacks.py``)."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.i18n import Translator
from bot.services.claims import ROLES
from handlers.callbacks import (
    CLAIM_AGREE,
    CLAIM_APPROVE,
    CLAIM_ASK,
    CLAIM_REJECT,
    CLAIM_REPLY,
    CLAIM_RETURN,
    CLAIM_ROLE,
    CLAIM_SEND,
    CLAIM_SHOW,
    CLAIM_START,
    CLAIM_STOP,
)
from storage.models import Claim, Cooperative


def _stop(t: Translator) -> InlineKeyboardButton:
    return InlineKeyboardButton(t.gettext("✖ Cancel"), callback_data=CLAIM_STOP())


def consent_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t.gettext("✅ I agree"), callback_data=CLAIM_AGREE()), _stop(t)]]
    )


def role_keyboard(t: Translator) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(t.gettext(label), callback_data=CLAIM_ROLE(code))]
        for code, label in ROLES.items()
    ]
    return InlineKeyboardMarkup([*rows, [_stop(t)]])


def cancel_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_stop(t)]])


def contact_keyboard(t: Translator) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t.gettext("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def review_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t.gettext("📨 Send the claim"), callback_data=CLAIM_SEND())],
            [_stop(t)],
        ]
    )


def continue_keyboard(t: Translator, coop_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t.gettext("▶ Continue"), callback_data=CLAIM_START(coop_id))]]
    )


def reply_keyboard(t: Translator, claim_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t.gettext("✍️ Answer"), callback_data=CLAIM_REPLY(claim_id))]]
    )


def return_keyboard(t: Translator, claim_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t.gettext("📨 Send to the operators"), callback_data=CLAIM_RETURN(claim_id)
                )
            ]
        ]
    )


def decision_keyboard(t: Translator, claim: Claim) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("✅ Approve"), callback_data=CLAIM_APPROVE(claim.id)),
                InlineKeyboardButton(_("❌ Reject"), callback_data=CLAIM_REJECT(claim.id)),
            ],
            [InlineKeyboardButton(_("❓ Ask for more"), callback_data=CLAIM_ASK(claim.id))],
        ]
    )


def queue_keyboard(
    t: Translator, items: list[tuple[Claim, Cooperative | None]]
) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                (coop.name if coop else claim.coop_id)[:50], callback_data=CLAIM_SHOW(claim.id)
            )
        ]
        for claim, coop in items
    ]
    return InlineKeyboardMarkup(rows)
