"""The notices of :class:`bot.services.platform.PlatformService`, as each reader sees them:
HTML text and Bot API buttons (dicts), for the broadcast engine to send."""

from __future__ import annotations

from html import escape
from typing import Any

from bot.i18n import Translator
from handlers.callbacks import CARD_OPEN, JOIN, OPEN, QUEUE
from storage.models import Application, Cooperative

Buttons = list[list[dict[str, Any]]]


def _application_button(t: Translator, application: Application) -> Buttons:
    """Opens the application in the wallet (where it can be withdrawn)."""
    return [[{"text": t.gettext("💳 My application"), "callback_data": CARD_OPEN(application.id)}]]


class TelegramNotices:
    """:class:`bot.services.platform.PlatformNotices` for Telegram."""

    def aboard(self, t: Translator, coop: Cooperative) -> tuple[str, Buttons]:
        _ = t.gettext
        text = _(
            "🎉 <b>{coop}</b> is now on Gerbang Koperasi and takes applications here. You "
            "asked to be told."
        ).format(coop=escape(coop.name))
        buttons = [
            [{"text": _("📝 Join this cooperative"), "callback_data": JOIN(coop.id)}],
            [{"text": _("ℹ Details"), "callback_data": OPEN(coop.id)}],
        ]
        return text, buttons

    def paused(
        self, t: Translator, coop: Cooperative, application: Application
    ) -> tuple[str, Buttons]:
        _ = t.gettext
        text = _(
            "⏸ The board of <b>{coop}</b> is not on Gerbang Koperasi for now. Your application "
            "{number} keeps its place: you will hear from me when the board is back."
        ).format(coop=escape(coop.name), number=escape(application.number))
        return text, _application_button(t, application)

    def resumed(
        self, t: Translator, coop: Cooperative, application: Application
    ) -> tuple[str, Buttons]:
        _ = t.gettext
        text = _(
            "▶ The board of <b>{coop}</b> is on Gerbang Koperasi and is reviewing your "
            "application {number}. You will get a message here when it is decided."
        ).format(coop=escape(coop.name), number=escape(application.number))
        return text, _application_button(t, application)

    def waiting(self, t: Translator, coop: Cooperative, count: int) -> tuple[str, Buttons]:
        text = t.ngettext(
            "📥 {count} application to <b>{coop}</b> is waiting for your decision.",
            "📥 {count} applications to <b>{coop}</b> are waiting for your decision.",
            count,
        ).format(count=t.number(count), coop=escape(coop.name))
        button = {"text": t.gettext("📥 Applications"), "callback_data": QUEUE(coop.id, 0)}
        return text, [[button]]
