"""What a cooperative on the platform or not yet looks like: badges, its contact card, the
notify-me list (HTML; every value from the directory is escaped)."""

from __future__ import annotations

from html import escape

from bot.i18n import Translator
from bot.services.directory import DirectoryService
from bot.services.platform import Contact
from storage.models import Cooperative, Subscription


def platform_badge(coop: Cooperative, t: Translator) -> str:
    """The line on a cooperative's page: whether it takes applications here."""
    if coop.on_platform:
        return t.gettext("🟢 On Gerbang Koperasi: apply here, the board answers in this chat")
    return t.gettext("⚪ Not on Gerbang Koperasi yet: it takes no applications here for now")


def result_badge(coop: Cooperative, t: Translator) -> list[str]:
    """The mark in a search result row (only for one on the platform: most are not)."""
    return [t.gettext("🟢 apply online")] if coop.on_platform else []


def contact_text(
    contact: Contact, t: Translator, directory: DirectoryService, prefix: str = ""
) -> str:
    """A cooperative that takes no applications here yet: say so, and how to reach it."""
    _ = t.gettext
    coop = contact.coop
    lines = [prefix, ""] if prefix else []
    lines += [
        f"<b>{escape(coop.name)}</b>",
        _("ℹ️ This cooperative does not take applications in Gerbang Koperasi yet."),
        "",
        _("You can reach it directly:"),
    ]
    if contact.phone:
        lines.append("📞 " + escape(contact.phone))
    place = directory.place(coop, depth=3)
    address = ", ".join(p for p in (coop.address, place) if p)
    if address:
        lines.append("📍 " + escape(address))
    lines.append("")
    if contact.subscribed:
        lines.append(_("🔔 I will tell you here when it joins Gerbang Koperasi."))
    else:
        lines.append(_("Tap “Notify me” and I will tell you here when it joins."))
    return "\n".join(lines)


def waiting_text(entries: list[tuple[Subscription, Cooperative | None]], t: Translator) -> str:
    """The cooperatives the user waits for."""
    _ = t.gettext
    if not entries:
        return _("🔕 You are not waiting for any cooperative to join.")
    lines = [_("🔔 I will tell you here when these cooperatives join Gerbang Koperasi:"), ""]
    for n, (sub, coop) in enumerate(entries, start=1):
        name = escape(coop.name) if coop else _("(no longer in the directory)")
        since = _("since {date}").format(date=t.date(sub.created_at))
        lines.append(f"{n}. {name} · {since}")
    lines += ["", _("Tap one to stop waiting for it.")]
    return "\n".join(lines)
