"""The announcement feature's buttons, built with the kinds in ``handlers/callbacks.py``.

The mute button goes under every announcement (``header.py`` puts it there, in each
reader's language, for the senders in ``bot/telegram/sender.py``) and the
pause/resume/cancel buttons under the progress message (``handlers/broadcast/progress.py``
edits it): both come from here so that a button and the
handler that answers it (``handlers/broadcast/controls.py``) cannot drift apart.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.services.broadcast import PLATFORM
from bot.services.catalog import TYPES
from handlers.callbacks import (
    AUDIENCE,
    AUDIENCE_TYPE,
    JOB_CANCEL,
    JOB_PAUSE,
    JOB_RESUME,
    MUTE,
    PLATFORM_AUDIENCE,
    SEND,
    UNMUTE,
)
from storage.models import Broadcast


def mute_key(job: Broadcast) -> str:
    """What muting this announcement silences: its cooperative, or the platform."""
    return job.coop_id if job.kind == "coop" and job.coop_id else PLATFORM


# A button label shows this much of a sender's name; the callback data carries only the
# key (a cooperative's id or "platform"), well within Telegram's 64 bytes.
BUTTON_NAME = 32
# How names are shortened on a button, as Indonesians write them. Tens of thousands of
# names begin "Koperasi Desa/Kelurahan Merah Putih": cutting the end would leave only that.
_ABBREVIATIONS = (
    ("Koperasi Desa Merah Putih ", "KDMP "),
    ("Koperasi Kelurahan Merah Putih ", "KKMP "),
    ("Koperasi Simpan Pinjam ", "KSP "),
    ("Koperasi ", "Kop. "),
)


def _short(name: str) -> str:
    """``name`` in at most ``BUTTON_NAME`` characters, its distinguishing end kept."""
    name = " ".join(name.split())
    if len(name) <= BUTTON_NAME:
        return name
    for long, short in _ABBREVIATIONS:
        if name.startswith(long):
            name = short + name[len(long) :]
            break
    if len(name) <= BUTTON_NAME:
        return name
    head = BUTTON_NAME // 3
    return name[:head].rstrip() + "…" + name[-(BUTTON_NAME - head - 1) :].lstrip()


def muting_markup(t: Translator, key: str, name: str) -> InlineKeyboardMarkup:
    """Mute announcements from ``key`` (a cooperative's id or the platform), named ``name``,
    in the reader's language (each recipient's, kept on the recipient record)."""
    label = (
        t.gettext("🔕 Mute {sender}").format(sender=_short(name))
        if name
        else t.gettext("🔕 Mute this cooperative")
    )
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=MUTE(key))]])


def unmuting_markup(t: Translator, key: str, name: str) -> InlineKeyboardMarkup:
    """Take back a mute of ``key``."""
    label = (
        t.gettext("🔔 Unmute {sender}").format(sender=_short(name))
        if name
        else t.gettext("🔔 Unmute this cooperative")
    )
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=UNMUTE(key))]])


def control_markup(t: Translator, job: Broadcast) -> InlineKeyboardMarkup:
    """Pause (or resume) and cancel, under the progress message."""
    _ = t.gettext
    pause = (
        InlineKeyboardButton(_("▶ Resume"), callback_data=JOB_RESUME(job.id))
        if job.status == "paused"
        else InlineKeyboardButton(_("⏸ Pause"), callback_data=JOB_PAUSE(job.id))
    )
    return InlineKeyboardMarkup(
        [[pause, InlineKeyboardButton(_("✖ Cancel"), callback_data=JOB_CANCEL(job.id))]]
    )


def coop_audience_markup(t: Translator) -> InlineKeyboardMarkup:
    """Who receives a cooperative's announcement."""
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("👥 Active members"), callback_data=AUDIENCE("m"))],
            [
                InlineKeyboardButton(
                    _("👥 Members and pending applicants"), callback_data=AUDIENCE("p")
                )
            ],
        ]
    )


def platform_audience_markup(t: Translator) -> InlineKeyboardMarkup:
    """Who receives a platform announcement."""
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("👥 All users"), callback_data=PLATFORM_AUDIENCE("all"))],
            [
                InlineKeyboardButton(
                    _("🗺 A province or regency/city"), callback_data=PLATFORM_AUDIENCE("place")
                )
            ],
            [
                InlineKeyboardButton(
                    _("🏷 Members of one cooperative type"),
                    callback_data=PLATFORM_AUDIENCE("type"),
                )
            ],
        ]
    )


def type_markup(t: Translator) -> InlineKeyboardMarkup:
    """The cooperative types, two to a row."""
    buttons = [
        InlineKeyboardButton(
            f"{term.emoji} {t.gettext(term.label)}", callback_data=AUDIENCE_TYPE(code)
        )
        for code, term in TYPES.items()
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def send_markup(t: Translator, *, platform: bool, paid: bool) -> InlineKeyboardMarkup:
    """The preview's buttons: send now, schedule, (operators) paid mode, cancel."""
    _ = t.gettext
    rows = [
        [
            InlineKeyboardButton(_("✅ Send now"), callback_data=SEND("now")),
            InlineKeyboardButton(_("🕒 Schedule"), callback_data=SEND("later")),
        ]
    ]
    if platform:
        rows.append(
            [
                InlineKeyboardButton(
                    _("💸 Paid broadcast: on") if paid else _("💸 Paid broadcast: off"),
                    callback_data=SEND("paid"),
                )
            ]
        )
    rows.append([InlineKeyboardButton(_("✖ Cancel"), callback_data=SEND("cancel"))])
    return InlineKeyboardMarkup(rows)
