"""The typed context handlers receive: services and the user's translator, no string keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Translator
from bot.telegram.processing import FloodGuard

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.registry import Services


class BotData:
    """Application-wide state, set once by the composition root (``bot.app``)."""

    def __init__(self) -> None:
        self.services: Services | None = None  # set at build (tests) or when running starts
        self.settings: Settings | None = None
        self.flood = FloodGuard()  # replaced at build by one configured from the settings
        self.error_notices: dict[int, float] = {}  # user id → when last told of an error
        self.operator_alerts: dict[str, float] = {}  # error kind → when operators were told


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]):
    """``context.services``, ``context.t`` (the user's :class:`Translator`), ``context._``."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.locale: str | None = None

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:  # pragma: no cover - the lifecycle opens them before updates
            raise RuntimeError("services are not ready")
        return services

    @property
    def settings(self) -> Settings:
        assert self.bot_data.settings is not None
        return self.bot_data.settings

    @property
    def t(self) -> Translator:
        return self.services.i18n.get(self.locale)

    def gettext(self, message: str) -> str:
        return self.t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.t.ngettext(singular, plural, n)
