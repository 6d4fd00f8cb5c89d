"""What an announcement looks like to one reader: its sender's header, the text, the button.

The header names who sends it (the cooperative, or Gerbang Koperasi for the operators'
announcements). The senders add it at send time, in the reader's language, above the
admin's text: it is not part of that text, so an admin can neither remove it nor change it.
It takes at most :data:`HEADER_ROOM` of Telegram's length limits (UTF-16 code units, as
Telegram counts), which the compose step leaves free. The mute button under it names the
same sender and mutes exactly that sender.

The composition root hands a :class:`Dresser` to the Bot API senders
(``bot/telegram/sender.py``): it keeps no state but a small cache, reads nothing from the
database, and costs one dictionary lookup per message once a job's first message in a
language is built.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup

from bot.i18n import I18n, Translator
from bot.services.broadcast import PLATFORM
from bot.telegram.html import html_to_text, utf16_len
from handlers.broadcast.keyboards import mute_key, muting_markup
from storage.models import Broadcast

PLATFORM_NAME = "Gerbang Koperasi"
# The header and the blank line below it never take more than this of a message's
# 4,096 or a caption's 1,024 characters (the compose step refuses longer texts).
HEADER_ROOM = 100
SEPARATOR = "\n\n"


def sender_name(job: Broadcast) -> str:
    """Who the reader is told the announcement is from."""
    if mute_key(job) == PLATFORM:
        return PLATFORM_NAME
    return job.sender or ""


def _fit(name: str, room: int) -> str:
    """``name`` cut (with an ellipsis) to ``room`` UTF-16 code units."""
    if utf16_len(name) <= room:
        return name
    while name and utf16_len(name) > room - 1:
        name = name[:-1]
    return name.rstrip() + "…"


def header(t: Translator, job: Broadcast) -> str:
    """The sender line above an announcement (HTML, escaped), within ``HEADER_ROOM``."""
    _ = t.gettext
    name = sender_name(job)
    if not name:  # a cooperative that left the directory before the job was created
        return _("📣 <b>Announcement from a cooperative</b>")
    # TRANSLATORS: above every announcement; {sender} is a cooperative's name or
    # "Gerbang Koperasi". Keep it short: the longer it is, the less room for the text.
    template = _("📣 <b>Announcement from {sender}</b>")
    fixed = utf16_len(html_to_text(template.format(sender=""))) + utf16_len(SEPARATOR)
    return template.format(sender=escape(_fit(name, HEADER_ROOM - fixed)))


def dress(t: Translator, job: Broadcast, text: str) -> tuple[str, InlineKeyboardMarkup]:
    """The announcement as one reader gets it: header, text, and the mute button."""
    top = header(t, job)
    body = f"{top}{SEPARATOR}{text}" if text else top
    return body, muting_markup(t, mute_key(job), sender_name(job))


class Dresser:
    """Dresses each announcement in its reader's language for the senders (no I/O)."""

    def __init__(self, i18n: I18n, cache_size: int = 256) -> None:
        self.i18n = i18n
        self.cache_size = cache_size
        self._cache: dict[tuple[str, str | None, str], tuple[str, InlineKeyboardMarkup]] = {}

    def __call__(self, job: Broadcast, language: str | None) -> tuple[str, InlineKeyboardMarkup]:
        """The text and buttons of ``job`` for a reader of ``language`` (None: default)."""
        t = self.i18n.get(language)
        key = (job.id, job.sender, t.locale)
        cached = self._cache.get(key)
        if cached is None:
            top, markup = dress(t, job, "")
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            cached = self._cache[key] = (top, markup)
        top, markup = cached
        return (f"{top}{SEPARATOR}{job.text}" if job.text else top), markup
