"""Texts several features show (HTML parse mode): a cooperative's type, services, members.

A feature's own texts live in its package (``handlers/search/texts.py`` …). Every value from
users or the directory is escaped."""

from __future__ import annotations

from html import escape

from bot.i18n import Translator
from bot.services.catalog import SERVICES, TYPES, service_label, type_label
from storage.models import Cooperative

MAX_SERVICES_SHOWN = 4


def type_text(code: str, t: Translator) -> str:
    term = TYPES.get(code)
    return f"{term.emoji} {escape(t.gettext(term.label))}" if term else escape(type_label(code))


def services_text(codes: list[str], t: Translator, limit: int | None = MAX_SERVICES_SHOWN) -> str:
    shown = codes if limit is None else codes[:limit]
    parts = []
    for code in shown:
        term = SERVICES.get(code)
        parts.append(
            f"{term.emoji} {escape(t.gettext(term.label))}"
            if term
            else escape(service_label(code))
        )
    text = ", ".join(parts)
    if limit is not None and len(codes) > limit:
        text += " " + t.gettext("+{count} more").format(count=len(codes) - limit)
    return text


def members_text(t: Translator, coop: Cooperative) -> str:
    """How many members, saying where each number comes from: those registered through the
    bot (what the board's panel counts) and, when the directory states one, its number."""
    registered = t.ngettext(
        "{count} member registered in Gerbang Koperasi",
        "{count} members registered in Gerbang Koperasi",
        coop.member_count,
    ).format(count=t.number(coop.member_count))
    if coop.members_declared is None:
        return registered
    declared = t.ngettext("{count} member", "{count} members", coop.members_declared).format(
        count=t.number(coop.members_declared)
    )
    source = t.gettext("(according to the cooperative directory)")
    also = t.ngettext(
        "{count} registered in Gerbang Koperasi",
        "{count} registered in Gerbang Koperasi",
        coop.member_count,
    ).format(count=t.number(coop.member_count))
    return f"{declared} {source} · {also}"
