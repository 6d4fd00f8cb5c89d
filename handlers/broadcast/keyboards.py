"""The announcement feature's buttons, built with the kinds in ``handlers/callbacks.py``.

The mute button goes under every announcement (the senders in ``bot/telegram/sender.py``
attach it) and the pause/resume/cancel buttons under the progress message
(``handlers/broadcast/progress.py`` edits it): both come from here so that a button and the
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


# The labels under an announcement are bilingual: recipients' languages vary.
def mute_markup(job: Broadcast) -> InlineKeyboardMarkup:
    """The button under every announcement."""
    return muting_markup(mute_key(job))


def muting_markup(key: str) -> InlineKeyboardMarkup:
    """Mute announcements from ``key`` (a cooperative's id or the platform)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("🔕 Bisukan pengumuman · Mute", callback_data=MUTE(key))]]
    )


def unmuting_markup(key: str) -> InlineKeyboardMarkup:
    """Take back a mute of ``key``."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("🔔 Aktifkan lagi · Unmute", callback_data=UNMUTE(key))]]
    )


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
