"""Telegram's HTML parse mode: what it accepts, and the text a reader sees.

The bot formats every message in HTML parse mode. Telegram refuses unknown tags, unmatched
tags and bare ``<``/``&``; :func:`html_to_text` applies the same rules, so production code
can measure a caption's visible length and the local Bot API stand-in can refuse what
Telegram would refuse.
"""

from __future__ import annotations

import html
import re

# Tags Telegram accepts in HTML parse mode.
_ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=\"[^\"<>]*\")?)*)\s*>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")


class TelegramLimitError(ValueError):
    """A call Telegram would refuse; ``description`` mimics Telegram's own text."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def html_to_text(markup: str) -> str:
    """The visible text of HTML parse-mode markup; raises like Telegram on bad markup."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(markup):
        ch = markup[i]
        if ch == "<":
            m = _TAG.match(markup, i)
            if not m:
                raise TelegramLimitError(
                    f"Bad Request: can't parse entities: unsupported start tag at byte offset {i}"
                )
            closing, tag = m.group(1) == "/", m.group(2).lower()
            if tag not in _ALLOWED_TAGS:
                raise TelegramLimitError(
                    f'Bad Request: can\'t parse entities: unsupported start tag "{tag}"'
                )
            if closing:
                if not stack or stack[-1] != tag:
                    raise TelegramLimitError(
                        f'Bad Request: can\'t parse entities: unmatched end tag "{tag}"'
                    )
                stack.pop()
            else:
                stack.append(tag)
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(markup, i)
            if not m:
                raise TelegramLimitError(
                    "Bad Request: can't parse entities: unsupported HTML entity at byte offset "
                    f"{i}"
                )
            out.append(html.unescape(m.group(0)))
            i = m.end()
        elif ch == ">":
            # Telegram tolerates a bare ">", but the bot should escape it like the rest.
            raise TelegramLimitError("Bad Request: can't parse entities: unescaped '>'")
        else:
            out.append(ch)
            i += 1
    if stack:
        raise TelegramLimitError(
            f"Bad Request: can't parse entities: can't find end tag corresponding to start "
            f'tag "{stack[-1]}"'
        )
    return "".join(out)


def visible_text(text: str, parse_mode: str | None) -> str:
    if parse_mode and parse_mode.upper() == "HTML":
        return html_to_text(text)
    if parse_mode:
        raise TelegramLimitError("the bot only uses HTML parse mode")
    return text
