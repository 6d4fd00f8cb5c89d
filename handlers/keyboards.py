"""Keyboards and links several features share. Buttons carry data, never translated text.

Callback data is built in :mod:`handlers.callbacks`; a feature's own keyboards live in its
package (``handlers/search/keyboards.py`` …).
"""

from __future__ import annotations

from telegram import (
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.constants import ChatType

from bot.i18n import Translator
from handlers.callbacks import LANGUAGE


def main_keyboard(t: Translator) -> ReplyKeyboardMarkup:
    """The reply keyboard: share location; typing a place or name needs no button."""
    _ = t.gettext
    return ReplyKeyboardMarkup(
        [[KeyboardButton(_("📍 Share my location"), request_location=True)]],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=_("Type a place or cooperative name"),
    )


def main_keyboard_in(chat: Chat | None, t: Translator) -> ReplyKeyboardMarkup | None:
    """The reply keyboard in a private chat; none in a group, where Telegram refuses a
    location request (and the keyboard would sit under every member's input field)."""
    return main_keyboard(t) if chat is not None and chat.type == ChatType.PRIVATE else None


def deep_link(bot_username: str, payload: str) -> str:
    """A t.me link that opens the bot with ``/start <payload>``."""
    return f"https://t.me/{bot_username}?start={payload}"


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    # Language names are written in their own language, so they are not translated.
    options = (("id", "🇮🇩 Bahasa Indonesia"), ("en", "🇬🇧 English"))
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    ("✔ " if code == current else "") + label, callback_data=LANGUAGE(code)
                )
            ]
            for code, label in options
        ]
    )
