"""The creator's progress message: the broadcast engine reports, this renders and edits.

The text is in the creator's language (the job keeps it), with the pause/resume/cancel
buttons. The composition root hands :func:`make_progress` to the engine, which knows no
Telegram.
"""

from __future__ import annotations

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.i18n import I18n, Translator
from bot.services.broadcast import ProgressCallback, ProgressInfo
from handlers.broadcast.keyboards import control_markup
from storage.models import Broadcast


def progress_text(t: Translator, job: Broadcast, info: ProgressInfo) -> str:
    """A bar, the counts and the rate while sending; the totals once finished."""
    _ = t.gettext
    done = info.sent + info.blocked + info.failed
    percent = int(done * 100 / info.total) if info.total else 100
    bar = "█" * (percent // 10) + "░" * (10 - percent // 10)
    if info.final:
        head = (
            _("📣 <b>Announcement finished</b>")
            if job.status != "cancelled"
            else _("📣 <b>Announcement cancelled</b>")
        )
        return "\n".join(
            [
                head,
                "",
                _("Delivered: {n}").format(n=t.number(info.sent)),
                _("Blocked the bot: {n}").format(n=t.number(info.blocked)),
                _("Failed: {n}").format(n=t.number(info.failed)),
                _("Not sent: {n}").format(
                    n=t.number(info.remaining + max(0, info.total - done - info.remaining))
                )
                if job.status == "cancelled"
                else "",
            ]
        ).rstrip()
    state = _("⏸ Paused") if job.status == "paused" else _("📣 Sending")
    eta = (
        t.gettext("about {minutes} min").format(minutes=max(1, round(info.eta_s / 60)))
        if info.eta_s
        else "–"
    )
    return "\n".join(
        [
            f"{state} · {bar} {percent}%",
            _("Sent {sent} · failed {failed} · remaining {remaining}").format(
                sent=t.number(info.sent),
                failed=t.number(info.failed + info.blocked),
                remaining=t.number(info.remaining),
            ),
            _("Rate: {rate}/s · ETA: {eta}").format(rate=t.number(round(info.rate, 1)), eta=eta),
        ]
    )


def make_progress(bot: Bot, i18n: I18n) -> ProgressCallback:
    """Edit the creator's progress message (the engine calls this at most every 3 s)."""

    async def progress(job: Broadcast, info: ProgressInfo) -> None:
        if job.progress_chat is None or job.progress_message is None:
            return
        t = i18n.get(job.language)
        markup = None if info.final else control_markup(t, job)
        try:
            await bot.edit_message_text(
                progress_text(t, job, info),
                job.progress_chat,
                job.progress_message,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise

    return progress
