"""What enters the flow: :func:`screen` keeps out what python-telegram-bot, MongoDB or the
handlers would choke on (the webhook answers 400), :func:`ignored` what is well-formed but
has nobody to answer (accepted, one log line)."""

from __future__ import annotations

import math
from typing import Any

from telegram import Update

MAX_DEPTH = 32  # Telegram's updates nest about ten levels deep
INT_LIMIT = 2**63  # MongoDB's integers are 64-bit; Telegram's ids fit in 52 bits
UPDATE_ID_LIMIT = 2**53

Spec = Any  # a type, a dict of fields ("?name": optional), or a one-element list

NUMBER = (int, float)
USER: dict[str, Spec] = {
    "id": int,
    "is_bot": bool,
    "first_name": str,
    "?last_name": str,
    "?username": str,
    "?language_code": str,
}
CHAT: dict[str, Spec] = {
    "id": int,
    "type": str,
    "?title": str,
    "?username": str,
    "?first_name": str,
    "?last_name": str,
}
ENTITY: dict[str, Spec] = {
    "type": str,
    "offset": int,
    "length": int,
    "?url": str,
    "?user": USER,
    "?language": str,
    "?custom_emoji_id": str,
}
LOCATION: dict[str, Spec] = {"latitude": NUMBER, "longitude": NUMBER}
FILE: dict[str, Spec] = {"file_id": str, "file_unique_id": str, "?file_size": int}
MESSAGE_FIELDS: dict[str, Spec] = {
    "message_id": int,
    "date": int,
    "chat": CHAT,
    "?from": USER,
    "?sender_chat": CHAT,
    "?via_bot": USER,
    "?message_thread_id": int,
    "?edit_date": int,
    "?media_group_id": str,
    "?text": str,
    "?caption": str,
    "?entities": [ENTITY],
    "?caption_entities": [ENTITY],
    "?location": LOCATION,
    "?venue": {"location": LOCATION, "title": str, "address": str},
    "?contact": {"phone_number": str, "first_name": str, "?user_id": int, "?vcard": str},
    "?document": {**FILE, "?file_name": str, "?mime_type": str},
    "?photo": [{**FILE, "width": int, "height": int}],
}
MESSAGE: dict[str, Spec] = {
    **MESSAGE_FIELDS,
    "?reply_to_message": MESSAGE_FIELDS,
    "?pinned_message": MESSAGE_FIELDS,
}
KINDS: dict[str, dict[str, Spec]] = {
    "message": MESSAGE,
    "edited_message": MESSAGE,
    "callback_query": {
        "id": str,
        "from": USER,
        "chat_instance": str,
        "?message": MESSAGE,  # or an inaccessible one: chat, message_id and date 0
        "?inline_message_id": str,
        "?data": str,
        "?game_short_name": str,
    },
    "inline_query": {
        "id": str,
        "from": USER,
        "query": str,
        "offset": str,
        "?chat_type": str,
        "?location": LOCATION,
    },
}


class Malformed(ValueError):
    """Not an update the bot can take (the webhook answers 400)."""


def screen(data: object) -> None:
    """Refuse what python-telegram-bot, MongoDB or the handlers would choke on.

    Values anywhere: nesting at most ``MAX_DEPTH``, integers that fit MongoDB's 64 bits,
    finite numbers, text that is valid Unicode (no lone surrogates). The update: an object
    with an ``update_id`` in Telegram's range, and for the kinds the bot handles, the
    fields it reads with the types the Bot API documents (extra fields are fine).
    Raises :class:`Malformed` with a short reason that names no value.
    """
    _check_values(data)
    if not isinstance(data, dict):
        raise Malformed("not an object")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise Malformed("update_id")
    if not 0 <= update_id < UPDATE_ID_LIMIT:
        raise Malformed("update_id out of range")
    for kind, spec in KINDS.items():
        if kind in data:
            _check(data[kind], spec, kind)


def _check_values(data: object) -> None:
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                raise Malformed("nested too deeply")
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                raise Malformed("nested too deeply")
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_text(value)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not -INT_LIMIT <= value < INT_LIMIT:
                raise Malformed("integer out of range")
        elif isinstance(value, float) and not math.isfinite(value):
            raise Malformed("number out of range")


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Malformed("invalid text") from None


def _check(value: object, spec: Spec, where: str) -> None:
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise Malformed(f"{where}: not an object")
        for name, field_spec in spec.items():
            optional = name.startswith("?")
            name = name.lstrip("?")
            if name not in value or (optional and value[name] is None):
                if optional:
                    continue
                raise Malformed(f"{where}.{name} missing")
            _check(value[name], field_spec, f"{where}.{name}")
    elif isinstance(spec, list):
        if not isinstance(value, list):
            raise Malformed(f"{where}: not a list")
        for item in value:
            _check(item, spec[0], where)
    elif spec is bool:
        if not isinstance(value, bool):
            raise Malformed(f"{where}: not a boolean")
    elif isinstance(value, bool) or not isinstance(value, spec):
        raise Malformed(f"{where}: wrong type")


def ignored(update: Update) -> str | None:
    """Why a well-formed update is accepted but not handled, or None to handle it.

    Every feature answers a person: an update without one (a message with no sender, as
    in a channel; an update of no kind the bot knows) is dropped here, with one log line,
    instead of failing in a handler.
    """
    if update.effective_user is None:
        return "no sender"
    return None
