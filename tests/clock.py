"""Virtual time for the broadcast engine's tests (a ``bot.services.broadcast.Clock``).

The engine's waits (pacing, 429 pauses, backoff, schedules, polling) cost no wall time:
time stands still while anything *holds* the clock — a send to the Bot API stand-in, a
database call — and jumps to the earliest deadline as soon as every task only waits on
the clock. Pacing is then exact: give the stand-in server ``clock.monotonic`` and it stamps
each send at the moment the engine sent it, with no network jitter in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import itertools
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar, cast

P = ParamSpec("P")
T = TypeVar("T")

# Loop turns a woken task gets to reach its next hold (or sleep) before time moves on:
# a wake-up travels through a few futures (asyncio.wait, a cancelled timer) first.
SETTLE_TURNS = 20


class VirtualClock:
    """A clock whose ``sleep`` returns as soon as virtual time reaches the deadline."""

    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start or datetime.now(UTC)
        self._start = self._t = 1000.0  # like time.monotonic(): an arbitrary origin
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._holds = 0
        self._released = asyncio.Event()
        self._driver: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return self._wall + timedelta(seconds=self._t - self._start)

    def monotonic(self) -> float:
        return self._t

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        timer = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self._t + seconds, next(self._order), timer))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.create_task(self._drive(), name="virtual-clock")
        await timer

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Stop time while real work (I/O) runs."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            if not self._holds:
                self._released.set()

    def holding(self, call: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        """``call``, holding the clock while it runs."""

        async def held(*args: P.args, **kwargs: P.kwargs) -> T:
            with self.hold():
                return await call(*args, **kwargs)

        return held

    async def aclose(self) -> None:
        if self._driver is not None:
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver

    async def _drive(self) -> None:
        while self._timers:
            if self._holds:
                self._released.clear()
                await self._released.wait()
                continue
            for _ in range(SETTLE_TURNS):
                await asyncio.sleep(0)
                if self._holds:
                    break
            else:
                self._jump()

    def _jump(self) -> None:
        """Advance to the earliest pending deadline and wake everything due by then."""
        while self._timers and self._timers[0][2].done():  # cancelled sleeps
            heapq.heappop(self._timers)
        if not self._timers:
            return
        self._t = max(self._t, self._timers[0][0])
        while self._timers and self._timers[0][0] <= self._t:
            timer = heapq.heappop(self._timers)[2]
            if not timer.done():
                timer.set_result(None)


def held(target: T, clock: VirtualClock) -> T:
    """``target`` (a repository) whose coroutine methods hold ``clock`` while they run."""
    return cast(T, _Held(target, clock))


class _Held:
    def __init__(self, target: Any, clock: VirtualClock) -> None:
        self._target = target
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        return self._clock.holding(value) if inspect.iscoroutinefunction(value) else value
