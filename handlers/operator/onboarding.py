"""The onboarding part of operators' /stats: cooperatives on the platform (by province),
claims, how long decisions take, applications waiting too long, and the most wanted
cooperatives not on the platform yet — as text, as a chart, and (``DEMAND_EXPORT``) as a
spreadsheet of the whole demand list.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape
from typing import Literal

from babel.dates import format_timedelta
from babel.numbers import format_percent
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.i18n import JAKARTA, Translator
from bot.services.charts import onboarding_chart
from bot.services.onboarding import OnboardingStats
from handlers.callbacks import DEMAND_EXPORT
from handlers.guard import guarded

SHARE = "#,##0.##%"  # 0,01 % of 131.617 is 13 cooperatives: keep two decimals


def share(t: Translator, part: int, whole: int) -> str:
    return format_percent(part / whole if whole else 0, format=SHARE, locale=t.locale)


def duration(t: Translator, value: timedelta) -> str:
    """ "2 hari 3 jam" / "2 days 3 hours"; "5 jam 10 menit"; "45 menit"; "< 1 menit"."""

    def unit(amount: int, granularity: Literal["day", "hour", "minute"], seconds: int) -> str:
        return format_timedelta(
            timedelta(seconds=amount * seconds),
            granularity=granularity,
            threshold=10**9,  # never round up to a larger unit
            locale=t.locale,
        )

    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        parts = [unit(days, "day", 86_400)] + ([unit(hours, "hour", 3600)] if hours else [])
    elif hours:
        parts = [unit(hours, "hour", 3600)] + ([unit(minutes, "minute", 60)] if minutes else [])
    elif minutes:
        parts = [unit(minutes, "minute", 60)]
    else:
        return "< " + unit(1, "minute", 60)
    return " ".join(parts)


def render(stats: OnboardingStats, t: Translator, region: dict[str, str]) -> str:
    """The onboarding section's text (HTML); ``region`` names province codes."""
    _ = t.gettext
    lines = [
        _("🚪 <b>Onboarding</b>"),
        "",
        _("On the platform: {n} of {total} cooperatives ({share})").format(
            n=t.number(stats.on_platform),
            total=t.number(stats.cooperatives),
            share=share(t, stats.on_platform, stats.cooperatives),
        ),
        _("<b>On the platform by province</b> (on the platform · all · share)"),
    ]
    for code, on, everything in stats.by_province:
        lines.append(
            f"• {escape(region.get(code, code))}: {t.number(on)} · {t.number(everything)} · "
            f"{share(t, on, everything)}"
        )
    if not stats.by_province:
        lines.append("–")
    lines += [
        "",
        _("Open claims: {n}").format(n=t.number(stats.open_claims)),
        _("Median time to decide, over the last {days} days:").format(days=stats.window_days),
    ]
    for label, median in (
        (_("claims"), stats.claims),
        (_("applications"), stats.applications),
    ):
        value = (
            _("{time} ({n} decided)").format(
                time=escape(duration(t, median.value)), n=t.number(median.count)
            )
            if median.value is not None
            else _("none decided")
        )
        lines.append(f"• {label}: {value}")
    lines += [
        _("Applications waiting over {days} days: {n}").format(
            days=stats.waiting_days, n=t.number(stats.waiting)
        ),
        "",
        _("<b>Most wanted, not on the platform yet</b> (notify-me subscribers · tried to join)"),
    ]
    for i, row in enumerate(stats.demand, start=1):
        province = region.get(row.areas[0], row.areas[0]) if row.areas else "–"
        lines.append(
            f"{i}. {escape(row.name[:60])} ({escape(province)}): "
            f"{t.number(row.subscribers)} · {t.number(row.attempts)}"
        )
    if not stats.demand:
        lines.append("–")
    return "\n".join(lines)[:4000]


async def send_onboarding(update: Update, context: BotContext, user_id: int) -> None:
    """Send the onboarding section of /stats: text, the export button, and a chart."""
    chat = update.effective_chat
    assert chat is not None
    stats = await context.services.onboarding.stats(user_id)
    t = context.t
    _ = t.gettext
    codes = {code for code, _on, _all in stats.by_province}
    codes |= {row.areas[0] for row in stats.demand if row.areas}
    region = {code: context.services.onboarding.region_name(code) for code in codes}
    markup = None
    if stats.demand:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(_("📥 Demand list (.xlsx)"), callback_data=DEMAND_EXPORT())]]
        )
    await context.bot.send_message(
        chat.id, render(stats, t, region), parse_mode=ParseMode.HTML, reply_markup=markup
    )
    chart = onboarding_chart(
        [(region.get(code, code), on) for code, on, _all in stats.by_province[:10]],
        [(row.name, row.subscribers, row.attempts) for row in stats.demand],
        title=_("Onboarding"),
        provinces_title=_("Cooperatives on the platform by province"),
        demand_title=_("Most wanted, not on the platform yet"),
        subscribers_label=_("notify-me subscribers"),
        attempts_label=_("tried to join"),
    )
    await context.bot.send_photo(
        chat.id,
        InputFile(chart, filename="onboarding.png"),
        caption=_("On the platform by province, and the most wanted cooperatives not on it"),
    )


@guarded(DEMAND_EXPORT)
async def on_export(update: Update, context: BotContext, user_id: int) -> None:
    """Send the demand list: every cooperative not on the platform that people asked for."""
    _ = context.gettext
    data = await context.services.onboarding.demand_export(
        user_id,
        _("Demand"),
        [
            _("Name"),
            _("Registration number"),
            _("Province"),
            _("Regency/city"),
            _("Phone"),
            _("Address"),
            _("Notify-me subscribers"),
            _("Tried to join"),
            _("Last attempt"),
        ],
    )
    assert update.callback_query is not None
    await update.callback_query.answer()
    chat = update.effective_chat
    assert chat is not None
    today = datetime.now(UTC).astimezone(JAKARTA).date().isoformat()
    await context.bot.send_document(
        chat.id,
        InputFile(data, filename=f"onboarding-{today}.xlsx"),
        caption=_(
            "📄 Cooperatives not on the platform that people asked for, most wanted first: "
            "reach their boards first."
        ),
    )


HANDLERS: list[BaseHandler] = [
    CallbackQueryHandler(on_export, pattern=DEMAND_EXPORT.pattern),
]
