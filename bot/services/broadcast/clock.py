"""The broadcast engine's sense of time, injectable so that tests need not wait for it.

Everything the engine times (pacing, 429 pauses, retry backoff, scheduled jobs, progress
intervals, its idle polling) goes through one :class:`Clock`. Production uses
:class:`SystemClock`; a test can pass a virtual clock whose ``sleep`` returns as soon as
virtual time reaches the deadline.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A time source and a way to wait on it."""

    def now(self) -> datetime:
        """The wall-clock time (aware, UTC): what is stored and compared in the database."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: for intervals and pacing."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds`` on this clock."""
        ...


class SystemClock:
    """The real time, and asyncio's sleep."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def wait_event(event: asyncio.Event, seconds: float, clock: Clock) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass on ``clock``; True if it is set.

    ``asyncio.wait_for`` would time out on the event loop's clock, not on ``clock``.
    """
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait((waiter, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        timer.cancel()
    return event.is_set()
