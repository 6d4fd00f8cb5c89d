"""The buttons of the membership form: one keyboard per question (data from callbacks.py)."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.i18n import Translator
from bot.services.membership import OCCUPATIONS
from handlers.callbacks import (
    CONSENT_AGREE,
    CONSENT_DECLINE,
    DOMICILE_DECLARE,
    FORM_BACK,
    FORM_CANCEL,
    FORM_DISCARD,
    FORM_EDIT,
    FORM_FRESH,
    FORM_KEEP,
    FORM_REUSE,
    FORM_SUBMIT,
    JOIN,
    NIK_CONFIRM,
    NIK_RETYPE,
    OCCUPATION,
    TERMS_ACCEPT,
    TERMS_QUIT,
)
from handlers.membership.steps import Step

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def question_keyboard(t: Translator, step: Step, village: str) -> Markup:
    """The buttons of the question at ``step``; typed answers clear the reply keyboard."""
    _ = t.gettext
    match step:
        case Step.TERMS:
            return InlineKeyboardMarkup(
                [[_button(_("✅ Continue"), TERMS_ACCEPT()), _button(_("✖ Cancel"), TERMS_QUIT())]]
            )
        case Step.REUSE:
            return InlineKeyboardMarkup(
                [
                    [_button(_("✅ Use these answers"), FORM_REUSE())],
                    [_button(_("✏️ Answer again"), FORM_FRESH())],
                ]
            )
        case Step.CONSENT:
            return InlineKeyboardMarkup(
                [
                    [
                        _button(_("✅ I agree"), CONSENT_AGREE()),
                        _button(_("✖ I do not agree"), CONSENT_DECLINE()),
                    ]
                ]
            )
        case Step.NIK_CONFIRM:
            return InlineKeyboardMarkup(
                [
                    [
                        _button(_("✅ Yes"), NIK_CONFIRM()),
                        _button(_("✏️ No, retype the NIK"), NIK_RETYPE()),
                    ]
                ]
            )
        case Step.ADDRESS:
            return ReplyKeyboardMarkup(
                [[KeyboardButton(_("📍 Share my location"), request_location=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
                input_field_placeholder=_("Street, RT/RW, village"),
            )
        case Step.DOMICILE:
            return InlineKeyboardMarkup(
                [
                    [
                        _button(
                            _("🏠 I live in {village} now").format(village=village),
                            DOMICILE_DECLARE(),
                        )
                    ],
                    [_button(_("✏️ Change my address"), FORM_EDIT("address"))],
                    [_button(_("✖ Cancel"), FORM_CANCEL())],
                ]
            )
        case Step.PHONE:
            return ReplyKeyboardMarkup(
                [[KeyboardButton(_("📱 Share my phone number"), request_contact=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
                input_field_placeholder="08…",
            )
        case Step.OCCUPATION:
            buttons = [
                _button(t.gettext(label), OCCUPATION(code)) for code, label in OCCUPATIONS.items()
            ]
            rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
            rows.append([_button(_("Other…"), OCCUPATION("other"))])
            return InlineKeyboardMarkup(rows)
        case Step.REVIEW:
            return InlineKeyboardMarkup(
                [
                    [
                        _button(_("✏️ Name"), FORM_EDIT("name")),
                        _button(_("✏️ NIK"), FORM_EDIT("nik")),
                    ],
                    [
                        _button(_("✏️ Place of birth"), FORM_EDIT("birth_place")),
                        _button(_("✏️ Address"), FORM_EDIT("address")),
                    ],
                    [
                        _button(_("✏️ Phone"), FORM_EDIT("phone")),
                        _button(_("✏️ Occupation"), FORM_EDIT("occupation")),
                    ],
                    [_button(_("◀ Back"), FORM_BACK()), _button(_("✖ Cancel"), FORM_CANCEL())],
                    [_button(_("✅ Submit application"), FORM_SUBMIT())],
                ]
            )
        case Step.CANCEL_CONFIRM:
            return InlineKeyboardMarkup(
                [
                    [
                        _button(_("🗑 Yes, delete my answers"), FORM_DISCARD()),
                        _button(_("↩ No, continue"), FORM_KEEP()),
                    ]
                ]
            )
        case _:  # NAME, NIK, BIRTH_PLACE, OCCUPATION_OTHER: typed answers
            return ReplyKeyboardRemove()


def continue_keyboard(t: Translator, coop_id: str) -> InlineKeyboardMarkup:
    """The button under the pause notice: resume the form where it stopped."""
    return InlineKeyboardMarkup([[_button(t.gettext("▶ Continue the form"), JOIN(coop_id))]])
