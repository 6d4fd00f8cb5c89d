"""The wallet's texts (HTML parse mode) and what a card image shows."""

from __future__ import annotations

from html import escape

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.cardimage import CardData
from bot.services.cards import WalletEntry
from bot.services.catalog import type_label
from handlers.keyboards import deep_link
from handlers.notify import reason_text
from handlers.render import type_text


def status_text(t: Translator, entry: WalletEntry) -> str:
    _ = t.gettext
    application = entry.application
    status = application.status
    if status == "active":
        return _("✅ Active")
    if status == "suspended":
        return _("⛔ Suspended")
    if status == "pending":
        return _("⏳ Waiting for the board since {date}").format(
            date=t.date(application.created_at)
        )
    if status == "rejected":
        return _("❌ Rejected: {reason}").format(reason=escape(reason_text(t, application.reason)))
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


def caption(t: Translator, entries: list[WalletEntry], index: int) -> str:
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
    if application.member_number:
        lines.append(
            _("Member number: {number}").format(
                number=f"<code>{escape(application.member_number)}</code>"
            )
        )
    else:
        lines.append(_("Application: {number}").format(number=escape(application.number)))
    lines.append(_("Name: {value}").format(value=escape(application.full_name or "–")))
    if application.decided_at and application.status in ("active", "suspended", "left"):
        lines.append(_("Member since: {date}").format(date=t.date(application.decided_at)))
    lines.append(_("Status: {status}").format(status=status_text(t, entry)))
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
    return "\n".join(lines)


def card_data(context: BotContext, entry: WalletEntry) -> CardData:
    """What the card image shows, in the viewer's language."""
    t = context.t
    _ = t.gettext
    application, coop = entry.application, entry.coop
    link = ""
    if application.status == "active" and context.bot.username:
        token = context.services.cards.token(application.id)
        link = deep_link(context.bot.username, f"v_{token}")
    since = t.date(application.decided_at or application.created_at)
    return CardData(
        coop_name=coop.name if coop else "–",
        coop_type=t.gettext(type_label(coop.type)) if coop else "",
        member_name=application.full_name or "–",
        member_number=application.member_number or application.number,
        since=since,
        link=link,
        labels={
            "member": _("Member name"),
            "number": _("Member number"),
            "since": _("Member since"),
            "scan": _("Scan to verify"),
        },
        status=status_text(t, entry).split(" ", 1)[-1]
        if application.status != "active"
        else _("Active"),
        demo=bool(coop and coop.demo),
    )
