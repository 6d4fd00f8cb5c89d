"""A cooperative's statistics: members over time and applications by status."""

from __future__ import annotations

from datetime import date
from html import escape

from telegram import InputFile, Update
from telegram.constants import ParseMode

from bot.context import BotContext
from bot.services.catalog import N_
from bot.services.charts import members_chart
from handlers.callbacks import STATS
from handlers.guard import guarded

STATUS_LABELS = {
    "pending": N_("waiting"),
    "active": N_("active"),
    "suspended": N_("suspended"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
    "left": N_("left"),
}


@guarded(STATS)
async def on_stats(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Send members over time and applications by status, as text and as a chart."""
    coop = await context.services.admin.coop_for_admin(user_id, coop_id)
    stats = await context.services.admin.coop_stats(user_id, coop_id)
    assert update.callback_query is not None
    await update.callback_query.answer()
    t = context.t
    _ = t.gettext
    statuses = {t.gettext(STATUS_LABELS.get(k, k)): v for k, v in sorted(stats.by_status.items())}
    lines = [
        _("📊 <b>{coop}</b>").format(coop=escape(coop.name)),
        _("Members now: {n}").format(n=t.number(stats.members)),
        "",
        _("<b>Applications by status</b>"),
    ]
    lines += [f"• {escape(k)}: {t.number(v)}" for k, v in statuses.items()] or ["–"]
    lines += ["", _("<b>New members per month</b>")]
    firsts = [date(int(m[:4]), int(m[5:7]), 1) for m in stats.months]
    lines += [
        _("• {month}: +{joined} → {total}").format(
            month=t.date(first, "MMMM y"), joined=t.number(j), total=t.number(total)
        )
        for first, j, total in zip(firsts, stats.joined, stats.total, strict=True)
        if j or total
    ]
    chart = members_chart(
        stats.months,
        stats.total,
        stats.joined,
        title=_("Members of the last 12 months"),
        total_label=_("members"),
        joined_label=_("new members"),
        status_counts=statuses,
        month_labels=[t.date(first, "MMM yy") for first in firsts],
        status_title=_("Applications by status"),
    )
    await context.bot.send_message(user_id, "\n".join(lines), parse_mode=ParseMode.HTML)
    await context.bot.send_photo(
        user_id,
        InputFile(chart, filename="statistik.png"),
        caption=_("Members and applications of {coop}").format(coop=escape(coop.name)),
        parse_mode=ParseMode.HTML,
    )
