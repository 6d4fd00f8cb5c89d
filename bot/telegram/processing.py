"""How updates flow: in parallel across users, in order per user; flood control; dedupe.

python-telegram-bot's ConversationHandler expects one conversation's updates in order.
:class:`PerUserProcessor` runs different users' updates concurrently and each user's
strictly one after another, so one slow user never blocks the others.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def update_key(update: object) -> int | None:
    """Whose update this is: the user, else the chat (channel posts), else nobody."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


class PerUserProcessor(BaseUpdateProcessor):
    """Concurrent across users (up to ``max_concurrent_updates``), sequential per user."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = defaultdict(int)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = update_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # nobody else waits: forget the lock
                del self._users[key]
                self._locks.pop(key, None)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class FloodGuard:
    """More than ``limit`` updates in ``window`` seconds: one warning, then ignored for
    ``pause`` seconds. Per user and in memory: other users are never affected.

    It lives here, at the Telegram edge, and not among the services: it counts updates as
    Telegram delivers them (live delivery only, like :class:`PerUserProcessor`), keeps no
    data and has no domain rule; the CLI and the services never need it. One per
    Application, in ``BotData.flood``, configured from the settings by ``bot.app``.
    """

    def __init__(self, limit: int = 20, window: float = 10.0, pause: float = 30.0) -> None:
        self.limit = limit
        self.window = window
        self.pause = pause
        self._seen: dict[int, deque[float]] = {}
        self._muted_until: dict[int, float] = {}

    def check(self, user_id: int, now: float | None = None) -> str:
        """``ok``, ``warn`` (the first update over the limit) or ``drop``."""
        now = time.monotonic() if now is None else now
        until = self._muted_until.get(user_id)
        if until is not None:
            if now < until:
                return "drop"
            del self._muted_until[user_id]
            self._seen.pop(user_id, None)
        seen = self._seen.setdefault(user_id, deque())
        seen.append(now)
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) > self.limit:
            self._muted_until[user_id] = now + self.pause
            return "warn"
        if len(self._seen) > 100_000:  # forget idle users now and then
            for key in [k for k, v in self._seen.items() if not v or v[-1] < now - self.window]:
                del self._seen[key]
        return "ok"
