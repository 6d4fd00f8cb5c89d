"""The words and buttons of waiting-time reminders (``bot/services/sla.py`` decides who is
owed one): to a cooperative's admins after 3 days, to the operators and the applicant after
7. Each is written in its reader's language, like every message the bot starts itself
(their choice, else their Telegram's, else the language they applied in)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from bot.i18n import I18n, Translator
from bot.services.sla import Overdue
from bot.services.users import UserService
from handlers.callbacks import OPEN, QUEUE, WITHDRAW_ASK
from storage.models import Application, Cooperative, Notice

# One summary message stays well under Telegram's 4096 characters.
MAX_LINES = 30


def _button(text: str, data: str) -> dict[str, Any]:
    return {"text": text, "callback_data": data}


class SlaMessages:
    """:class:`bot.services.sla.SlaTexts` for the running bot."""

    def __init__(self, i18n: I18n, users: UserService) -> None:
        self.i18n = i18n
        self.users = users

    async def _reader(self, user_id: int, fallback: str | None = None) -> Translator:
        return self.i18n.get(await self.users.recipient_locale(user_id, fallback))

    async def reminder(self, admin_id: int, coop: Cooperative, count: int) -> Notice:
        t = await self._reader(admin_id)
        _ = t.gettext
        text = "\n".join(
            [
                t.ngettext(
                    "⏰ <b>{coop}</b>: {count} application has been waiting more than 3 days "
                    "for the board's decision.",
                    "⏰ <b>{coop}</b>: {count} applications have been waiting more than 3 days "
                    "for the board's decision.",
                    count,
                ).format(coop=escape(coop.name), count=t.number(count)),
                _("The applicants hear nothing until the board decides."),
            ]
        )
        return Notice(admin_id, text, [[_button(_("📥 Open applications"), QUEUE(coop.id, 0))]])

    async def escalation(self, operator_id: int, overdue: Sequence[Overdue]) -> Notice:
        t = await self._reader(operator_id)
        _ = t.gettext
        total = sum(o.count for o in overdue)
        lines = [
            t.ngettext(
                "⏰ {count} application has now waited 7 days without a decision:",
                "⏰ {count} applications have now waited 7 days without a decision:",
                total,
            ).format(count=t.number(total)),
            "",
        ]
        for entry in overdue[:MAX_LINES]:
            name = entry.coop.name if entry.coop else "–"
            line = _("• <b>{coop}</b>: {count} · waiting since {date}").format(
                coop=escape(name[:80]), count=t.number(entry.count), date=t.date(entry.oldest)
            )
            if entry.coop is not None and entry.coop.registration_number:
                line += f" · {escape(entry.coop.registration_number[:40])}"
            if entry.coop is None or not entry.coop.on_platform:
                line += " · " + _("no admin")
            lines.append(line)
        if len(overdue) > MAX_LINES:
            lines.append(
                _("… and {count} more cooperatives.").format(
                    count=t.number(len(overdue) - MAX_LINES)
                )
            )
        buttons = [
            [_button(f"🏛 {o.coop.name[:40]}", OPEN(o.coop_id))]
            for o in overdue[:3]
            if o.coop is not None
        ]
        return Notice(operator_id, "\n".join(lines), buttons)

    async def status(self, application: Application, coop: Cooperative | None) -> Notice:
        t = await self._reader(application.user_id, application.language)
        _ = t.gettext
        name = escape(coop.name if coop else "–")
        sent = t.date(application.created_at)
        if coop is not None and coop.on_platform:
            lines = [
                _(
                    "⏳ Your application {number} to <b>{coop}</b> is still waiting for the "
                    "board's decision (sent {date})."
                ).format(number=application.number, coop=name, date=sent),
                _(
                    "The board has been reminded and the platform team told. You will get a "
                    "message here as soon as they decide."
                ),
            ]
        else:
            lines = [
                _(
                    "⏳ Your application {number} to <b>{coop}</b> is still waiting (sent "
                    "{date}): the cooperative has no admin on Gerbang Koperasi at the moment."
                ).format(number=application.number, coop=name, date=sent),
                _("Your application keeps its place, and the platform team has been told."),
            ]
        lines.append(_("If you no longer want to wait, you can withdraw it."))
        button = _button(_("↩ Withdraw application"), WITHDRAW_ASK(application.id))
        return Notice(application.user_id, "\n".join(lines), [[button]])
