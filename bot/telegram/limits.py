"""What Telegram refuses: text lengths and HTML, keyboards and button data.

The local Bot API stand-in checks every call against these rules, so a test or a console
chat fails where Telegram would answer 400 in production.
"""

from __future__ import annotations

import re
from typing import Any

from bot.telegram.html import TelegramLimitError, utf16_len, visible_text

SEND_METHODS = {
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendVenue",
    "sendLocation",
    "sendAnimation",
    "sendVideo",
    "sendAudio",
    "sendVoice",
    "sendSticker",
    "sendContact",
    "copyMessage",
    "forwardMessage",
}


def check_text(
    text: str | None, parse_mode: str | None, *, limit: int, what: str, allow_empty: bool = False
) -> str:
    plain = visible_text(text or "", parse_mode)
    if not plain.strip() and not allow_empty:
        raise TelegramLimitError(f"Bad Request: {what} must be non-empty")
    if utf16_len(plain) > limit:
        raise TelegramLimitError(f"Bad Request: {what} is too long")
    return plain


def check_markup(markup: dict[str, Any] | None) -> None:
    if not markup:
        return
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        count = 0
        for row in rows:
            if len(row) > 8:
                raise TelegramLimitError("Bad Request: too many buttons in a row")
            for button in row:
                count += 1
                text = button.get("text", "")
                if not text.strip():
                    raise TelegramLimitError("Bad Request: button text must be non-empty")
                actions = [
                    k
                    for k in (
                        "callback_data",
                        "url",
                        "switch_inline_query",
                        "switch_inline_query_current_chat",
                        "copy_text",
                        "login_url",
                        "web_app",
                        "pay",
                        "switch_inline_query_chosen_chat",
                    )
                    if k in button
                ]
                if len(actions) != 1:
                    raise TelegramLimitError("Bad Request: a button needs exactly one action")
                if "callback_data" in button:
                    size = len(button["callback_data"].encode("utf-8"))
                    if not 1 <= size <= 64:
                        raise TelegramLimitError("Bad Request: BUTTON_DATA_INVALID")
                if "url" in button and not re.match(r"^(https?|tg)://\S+$", button["url"]):
                    raise TelegramLimitError("Bad Request: BUTTON_URL_INVALID")
                if "copy_text" in button and not 1 <= len(button["copy_text"]["text"]) <= 256:
                    raise TelegramLimitError("Bad Request: copy_text must be 1-256 characters")
        if count > 100:
            raise TelegramLimitError("Bad Request: too many inline buttons")
    elif "keyboard" in markup:
        for row in markup["keyboard"]:
            for button in row:
                label = button["text"] if isinstance(button, dict) else button
                if not str(label).strip():
                    raise TelegramLimitError("Bad Request: keyboard button text is empty")
        placeholder = markup.get("input_field_placeholder")
        if placeholder is not None and not 1 <= len(placeholder) <= 64:
            raise TelegramLimitError("Bad Request: input_field_placeholder must be 1-64 chars")
