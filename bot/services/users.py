"""Users: activity and the language each one reads the bot in.

A reply is in the language of the update it answers (``locale_for``). A message the bot
starts itself (a notice to a cooperative's admins, a decision to an applicant) has no update
to read a language from: ``recipient_locale`` takes the reader's stored choice, else the
Telegram language stored when the bot last saw them, else Indonesian.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.i18n import I18n
from storage.base import Users
from storage.models import UserProfile

PROFILE_TTL_S = 600.0


@dataclass(slots=True)
class UserService:
    """Knows each user's language; caches profiles so an update costs no write."""

    users: Users
    i18n: I18n
    _cache: dict[int, tuple[float, UserProfile]] = field(default_factory=dict)

    async def touch(self, user_id: int, telegram_language: str | None) -> UserProfile:
        """The user's profile, recording activity at most every few minutes."""
        now = time.monotonic()
        cached = self._cache.get(user_id)
        if (
            cached
            and now - cached[0] < PROFILE_TTL_S
            and (cached[1].telegram_language == telegram_language or not telegram_language)
        ):
            return cached[1]
        profile = await self.users.seen(user_id, telegram_language)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[user_id] = (now, profile)
        return profile

    def locale_of(self, profile: UserProfile | None, telegram_language: str | None) -> str:
        chosen = profile.language if profile else None
        stored = profile.telegram_language if profile else None
        return self.i18n.negotiate(chosen, telegram_language or stored)

    async def locale_for(self, user_id: int, telegram_language: str | None) -> str:
        return self.locale_of(await self.touch(user_id, telegram_language), telegram_language)

    async def recipient_locale(self, user_id: int, fallback: str | None = None) -> str:
        """The language of a message the bot starts to ``user_id``.

        Their choice (/language), else their Telegram's language as last seen, else
        ``fallback`` (the language they applied in, for someone the bot has no profile of),
        else Indonesian. Reads only: being told something is not being seen.
        """
        cached = self._cache.get(user_id)
        profile = cached[1] if cached else await self.users.get(user_id)
        if profile is not None and (profile.language or profile.telegram_language):
            return self.i18n.negotiate(profile.language, profile.telegram_language)
        return self.i18n.negotiate(fallback, None)

    async def set_language(self, user_id: int, language: str) -> str:
        """Store the user's choice; returns the locale now in effect."""
        if language not in self.i18n.available:
            language = self.i18n.default
        await self.users.set_language(user_id, language)
        self._cache.pop(user_id, None)
        return language

    def forget(self, user_id: int) -> None:
        self._cache.pop(user_id, None)
