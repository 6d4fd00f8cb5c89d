"""The wallet's texts (HTML parse mode) and what a card image shows.

Text is kept plain until the medium is known: ``status_text`` returns plain text, the HTML
captions and lists escape it once, the card image draws it as it is. Dates are calendar
dates where the cooperative is (its WIB/WITA/WIT zone).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from html import escape

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.cardimage import CardData
from bot.services.cards import WalletEntry
from bot.services.catalog import type_label
from bot.services.dues import Dues
from bot.services.timezones import Zone, coop_zone, local_date
from handlers.keyboards import deep_link
from handlers.money.bills import status_lines
from handlers.notify import reason_text
from handlers.render import type_text

# What each status is drawn as: a member card, or a slip (an application, an ended one).
MEMBER_STATUSES = ("active", "suspended")


def entry_zone(context: BotContext, entry: WalletEntry) -> Zone:
    return coop_zone(entry.coop, context.services.gazetteer)


def _date(t: Translator, value: datetime | None, zone: Zone | None) -> str:
    if value is None:
        return "–"
    return t.date(local_date(value, zone)) if zone is not None else t.date(value)


def status_text(t: Translator, entry: WalletEntry, zone: Zone | None = None) -> str:
    """The status as one line of plain text (escape it for HTML)."""
    _ = t.gettext
    application = entry.application
    status = application.status
    if status == "active":
        return _("✅ Active")
    if status == "suspended":
        return _("⛔ Suspended")
    if status == "pending":
        return _("⏳ Waiting for the board since {date}").format(
            date=_date(t, application.created_at, zone)
        )
    if status == "rejected":
        return _("❌ Rejected: {reason}").format(reason=reason_text(t, application.reason))
    if status == "withdrawn":
        return _("↩ Application withdrawn")
    return _("🚪 Left the cooperative")


def summary(t: Translator, entries: list[WalletEntry]) -> str:
    active = sum(1 for e in entries if e.application.status == "active")
    pending = sum(1 for e in entries if e.application.status == "pending")
    parts = [t.ngettext("{n} active card", "{n} active cards", active).format(n=active)]
    if pending:
        parts.append(t.ngettext("{n} waiting", "{n} waiting", pending).format(n=pending))
    return ", ".join(parts)


def number_line(t: Translator, entry: WalletEntry) -> str:
    """ "Member number: <code>KKS-000001</code>" for a membership, else the application's."""
    application = entry.application
    if application.member_number and application.status in (*MEMBER_STATUSES, "left"):
        return t.gettext("Member number: {number}").format(
            number=f"<code>{escape(application.member_number)}</code>"
        )
    return t.gettext("Application: {number}").format(number=escape(application.number))


async def entry_dues(context: BotContext, entry: WalletEntry) -> Dues | None:
    """An active membership's dues now (its card's status line), else None."""
    if entry.application.status != "active" or entry.coop is None:
        return None
    return await context.services.dues.of_membership(entry.application, datetime.now(UTC))


def caption(
    t: Translator,
    entries: list[WalletEntry],
    index: int,
    zone: Zone | None = None,
    dues: Dues | None = None,
) -> str:
    _ = t.gettext
    entry = entries[index]
    application, coop = entry.application, entry.coop
    coop_name = coop.name if coop else _("(cooperative removed)")
    lines = [
        _("💳 {position} of {total} · {summary}").format(
            position=index + 1, total=len(entries), summary=summary(t, entries)
        ),
        "",
        f"<b>{escape(coop_name)}</b>",
    ]
    if coop is not None:
        lines.append(type_text(coop.type, t))
    lines.append(number_line(t, entry))
    lines.append(_("Name: {value}").format(value=escape(application.full_name or "–")))
    if application.decided_at and application.status in (*MEMBER_STATUSES, "left"):
        lines.append(_("Member since: {date}").format(date=_date(t, application.decided_at, zone)))
    lines.append(_("Status: {status}").format(status=escape(status_text(t, entry, zone))))
    if coop is not None and application.status in ("active", "suspended", "pending"):
        if coop.simpanan_pokok is not None:
            lines.append(
                _("💵 Simpanan pokok (one-time): {amount}").format(
                    amount=t.money(coop.simpanan_pokok)
                )
            )
        if coop.simpanan_wajib is not None:
            lines.append(
                _("💵 Simpanan wajib (monthly): {amount}").format(
                    amount=t.money(coop.simpanan_wajib)
                )
            )
    if dues is not None:  # what is paid: pokok or not, wajib through which month
        lines += ["💳 " + escape(line) for line in status_lines(t, dues)]
    return "\n".join(lines)


def _slip_words(t: Translator, entry: WalletEntry, zone: Zone) -> tuple[str, str, str]:
    """(the slip's title, its status heading, the status's whole sentence), plain text."""
    _ = t.gettext
    application = entry.application
    status = application.status
    changed = _date(t, application.decided_at or application.updated_at, zone)
    if status == "pending":
        return (
            _("Membership application"),
            _("Waiting for approval"),
            _(
                "Submitted on {date}. You will get a message when the board of the "
                "cooperative decides."
            ).format(date=_date(t, application.created_at, zone)),
        )
    if status == "rejected":
        return (
            _("Membership application"),
            _("Application rejected"),
            _("Reason: {reason}").format(reason=reason_text(t, application.reason)),
        )
    if status == "withdrawn":
        return (
            _("Membership application"),
            _("Application withdrawn"),
            _("You withdrew this application on {date}.").format(date=changed),
        )
    return (
        _("Membership record"),
        _("Membership ended"),
        _("You left the cooperative on {date}. This card is no longer valid.").format(
            date=_date(t, application.updated_at, zone)
        ),
    )


def card_data(context: BotContext, entry: WalletEntry) -> CardData:
    """What the card image shows, in the viewer's language (plain text, never HTML)."""
    t = context.t
    _ = t.gettext
    application, coop = entry.application, entry.coop
    zone = entry_zone(context, entry)
    common = CardData(
        coop_name=coop.name if coop else "–",
        coop_type=t.gettext(type_label(coop.type)) if coop else "",
        member_name=application.full_name or "–",
        member_number=application.number,
        since="",
        link="",
        labels={},
        demo=bool(coop and coop.demo),
        tone=application.status,
    )
    if application.status in MEMBER_STATUSES:
        link = ""
        if application.status == "active" and context.bot.username:
            token = context.services.cards.token(application.id)
            link = deep_link(context.bot.username, f"v_{token}")
        return replace(
            common,
            member_number=application.member_number or application.number,
            since=_date(t, application.decided_at or application.created_at, zone),
            link=link,
            labels={
                "member": _("Member name"),
                "number": _("Member number"),
                "since": _("Member since"),
                "scan": _("Scan to verify"),
            },
            status=_("Active") if application.status == "active" else _("Suspended"),
            note=""
            if application.status == "active"
            else _("This card is not valid while the membership is suspended."),
        )
    title, heading, note = _slip_words(t, entry, zone)
    member = application.member_number if application.status == "left" else None
    return replace(
        common,
        kind="slip",
        member_number=member or application.number,
        since=_date(t, application.decided_at if member else application.created_at, zone),
        link="",
        labels={
            "title": title,
            "member": _("Member name") if member else _("Applicant"),
            "number": _("Member number") if member else _("Application number"),
            "since": _("Member since") if member else _("Submitted on"),
        },
        status=heading,
        note=note,
    )
