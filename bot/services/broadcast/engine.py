"""The engine that sends announcements at Telegram's limits.

The engine paces itself (a sliding one-second window: never more than the configured
rate in any second, default 25/s; paid broadcasts up to 1,000/s; at most one message per
chat per second) instead of relying on a rate limiter's defaults. Jobs and one state per
recipient live in MongoDB: after a crash the engine finds running jobs and resumes; only
recipients that were in flight may get the message a second time (at most
``max_in_flight`` + ``flush_every`` × rate of them). Several jobs share the rate fairly
(round robin). A 429 pauses all sending for ``retry_after`` and retries that recipient;
a user who blocked the bot is marked unreachable; a missing or deactivated chat fails;
network errors are retried with bounded backoff. Every wait and timestamp goes through
one injectable :class:`~bot.services.broadcast.clock.Clock` (tests run on virtual time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from bot.services.broadcast.clock import Clock, SystemClock, wait_event
from storage.broadcasts import BroadcastRepository
from storage.models import Broadcast, Recipient

log = logging.getLogger(__name__)

PLATFORM = "platform"  # the mute key of the platform's own announcements


class Outcome(Enum):
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"
    RETRY_AFTER = "retry_after"
    TRANSIENT = "transient"


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    retry_after: float = 0.0
    error: str = ""


@dataclass(frozen=True, slots=True)
class ProgressInfo:
    total: int
    sent: int
    blocked: int
    failed: int
    remaining: int
    rate: float  # messages per second over the last seconds
    eta_s: float | None
    final: bool
    status: str


# The sender gets the whole recipient: a notice's recipient carries its own text and buttons.
Sender = Callable[[Broadcast, Recipient], Awaitable[SendResult]]
ProgressCallback = Callable[[Broadcast, ProgressInfo], Awaitable[None]]


class RateWindow:
    """Evenly spaced sends (one every 1/rate s), never more than ``rate`` in any
    ``window`` seconds, and a pause for 429s. Even spacing matters: Telegram (and the
    test server) see arrival times, and bursts plus network jitter would overflow a
    second."""

    def __init__(self, rate: float, window: float = 1.0, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.rate = max(1, int(rate))
        self.window = window
        self.spacing = window / self.rate
        # At high rates the event loop cannot wake every millisecond: allow catching up by
        # a few sends (20 ms worth); at Telegram's free 30/s this is one, i.e. no burst.
        self.burst = max(1, int(self.rate * 0.02))
        self._times: deque[float] = deque()
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.clock.monotonic() + seconds)

    async def acquire(self) -> None:
        async with self._lock:  # waiters are served in order
            while True:
                now = self.clock.monotonic()
                if now < self._paused_until:
                    await self.clock.sleep(self._paused_until - now)
                    continue
                if now < self._next:
                    await self.clock.sleep(self._next - now)
                    continue
                while self._times and self._times[0] <= now - self.window:
                    self._times.popleft()
                if len(self._times) < self.rate:
                    self._times.append(now)
                    # After a slow moment catch up by at most `burst` sends: a larger burst
                    # plus network jitter is what overflows a second.
                    self._next = max(
                        self._next + self.spacing, now - (self.burst - 1) * self.spacing
                    )
                    return
                await self.clock.sleep(self._times[0] + self.window - now + 0.0005)


class BroadcastEngine:
    """Sends every running announcement; one per process."""

    def __init__(
        self,
        repo: BroadcastRepository,
        sender: Sender,
        progress: ProgressCallback | None = None,
        *,
        rate: float = 25.0,
        paid_rate: float = 1000.0,
        per_chat_interval: float = 1.0,
        max_in_flight: int | None = None,
        progress_every: float = 3.0,
        claim_size: int = 200,
        flush_every: float = 0.1,
        max_attempts: int = 5,
        window_margin: float = 1.02,
        clock: Clock | None = None,
    ) -> None:
        self.repo = repo
        self.clock = clock or SystemClock()
        self.sender = sender
        self.progress = progress
        # A slightly longer window than Telegram's absorbs network jitter: the server must
        # never see more than the rate in any second.
        self.free = RateWindow(rate, window_margin, self.clock)
        self.paid = RateWindow(paid_rate, window_margin, self.clock)
        self.per_chat_interval = per_chat_interval
        self.max_in_flight = max_in_flight or max(8, min(64, int(paid_rate // 10)))
        self.progress_every = progress_every
        # Keep about three seconds of sends queued: claiming is a database round trip.
        self.claim_size = max(claim_size, int(3 * max(rate, paid_rate)))
        self.flush_every = flush_every
        self.max_attempts = max_attempts
        self.too_many = 0  # 429 answers received
        self._queues: dict[str, deque[Recipient]] = {}
        self._jobs: dict[str, Broadcast] = {}
        self._in_flight: dict[str, int] = {}
        self._results: list[tuple[str, str, dict[str, Any]]] = []
        self._unreachable: list[int] = []
        self._last_chat: dict[int, float] = {}
        self._sent_times: dict[str, deque[float]] = {}
        self._last_progress: dict[str, float] = {}
        self._semaphore = asyncio.Semaphore(self.max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._wake = asyncio.Event()
        self._queued = asyncio.Event()

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._running = True
            self._task = asyncio.create_task(self._run(), name="broadcast-engine")

    async def stop(self) -> None:
        """Stop taking recipients, finish the messages in flight, write their outcome.
        Running jobs stay running in the database and resume at the next start."""
        self._running = False
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """A job was created, resumed or cancelled: look now rather than at the next tick."""
        self._wake.set()

    # The timeout is on the engine's clock, which asyncio.timeout would not follow.
    async def idle(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until no job is running (the console's end of input); False on timeout."""
        deadline = self.clock.monotonic() + timeout
        while self.clock.monotonic() < deadline:
            if not await self.repo.runnable(self.clock.now()) and not self._tasks:
                return True
            await self.clock.sleep(0.2)
        return False

    # --- the loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        requeued = await self.repo.reset_inflight()
        if requeued:
            log.warning("broadcast resumed after a stop; %s recipients were in flight", requeued)
        # The dispatcher only sends (paced); the feeder does the database work meanwhile,
        # so sending never stalls while queues are refilled or outcomes written.
        dispatcher = asyncio.create_task(self._dispatcher(), name="broadcast-dispatcher")
        try:
            while self._running:
                # Cleared before the work, not after: a wake-up (a new job, or stop())
                # that arrives while the feeder works must not be lost.
                self._wake.clear()
                try:
                    await self._feed()
                except Exception as exc:  # keep going; the database may be away a moment
                    log.warning("broadcast feeder failed error=%s", type(exc).__name__)
                    await self.clock.sleep(1.0)
                if not self._running:
                    break
                # Busy: every flush interval. Idle: look every 2 s (jobs created here wake
                # the engine at once; due scheduled jobs and other processes' jobs can wait).
                idle = not self._jobs and not self._tasks
                await wait_event(self._wake, 2.0 if idle else self.flush_every, self.clock)
        finally:
            self._running = False
            self._queued.set()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatcher
            # Graceful stop: finish in-flight sends, write outcomes, hand back the queue.
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._flush()
            await self._release_all()

    async def _feed(self) -> None:
        now = self.clock.now()
        jobs = await self.repo.runnable(now)
        running = {job.id: job for job in jobs}
        for job_id in [j for j in self._queues if j not in running]:
            await self._release(job_id)  # paused or cancelled meanwhile
        for job in jobs:
            queue = self._queues.setdefault(job.id, deque())
            if job.started_at is None:
                await self.repo.set(job.id, {"started_at": now})
                job.started_at = now
            if len(queue) < self.claim_size * 2 // 3:
                queue.extend(await self.repo.claim(job.id, self.claim_size - len(queue), now))
        self._jobs = running
        self._queued.set()
        await self._flush()
        for job in jobs:
            await self._report(job)

    async def _dispatcher(self) -> None:
        while self._running:
            if not await self._dispatch(list(self._jobs.values()), budget_s=0.5):
                self._queued.clear()
                await wait_event(self._queued, 0.2, self.clock)

    async def _dispatch(self, jobs: list[Broadcast], budget_s: float) -> int:
        """Send round robin across jobs (fair shares of the rate) for about ``budget_s``."""
        deadline = self.clock.monotonic() + budget_s
        sent = 0
        while self.clock.monotonic() < deadline and self._running:
            progressed = False
            for job in jobs:
                if job.id not in self._jobs:
                    continue  # paused or cancelled since this round began
                queue = self._queues.get(job.id)
                if not queue:
                    continue
                recipient = queue.popleft()
                chat_id = recipient.chat_id
                last = self._last_chat.get(chat_id)
                if last is not None and self.clock.monotonic() - last < self.per_chat_interval:
                    queue.append(recipient)  # this chat got a message less than 1 s ago
                    continue
                await (self.paid if job.paid else self.free).acquire()
                await self._semaphore.acquire()
                self._last_chat[chat_id] = self.clock.monotonic()
                self._in_flight[job.id] = self._in_flight.get(job.id, 0) + 1
                task = asyncio.create_task(self._send(job, recipient))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                sent += 1
                progressed = True
            if not progressed:
                break
        if len(self._last_chat) > 100_000:
            cutoff = self.clock.monotonic() - self.per_chat_interval
            self._last_chat = {k: v for k, v in self._last_chat.items() if v > cutoff}
        return sent

    async def _send(self, job: Broadcast, recipient: Recipient) -> None:
        recipient_id, chat_id = recipient.id, recipient.chat_id
        attempts = recipient.attempts + 1
        try:
            result = await self.sender(job, recipient)
        except Exception as exc:  # the sender maps Telegram's errors; anything else retries
            log.warning("broadcast send raised error=%s", type(exc).__name__)
            result = SendResult(Outcome.TRANSIENT, error=type(exc).__name__)
        finally:
            self._semaphore.release()
            self._in_flight[job.id] = self._in_flight.get(job.id, 1) - 1
        now = self.clock.now()
        if result.outcome is Outcome.SENT:
            self._results.append((recipient_id, "sent", {"sent_at": now, "attempts": attempts}))
            self._sent_times.setdefault(job.id, deque(maxlen=5000)).append(self.clock.monotonic())
        elif result.outcome is Outcome.BLOCKED:
            self._results.append((recipient_id, "blocked", {"attempts": attempts}))
            self._unreachable.append(chat_id)
        elif result.outcome is Outcome.FAILED:
            self._results.append(
                (recipient_id, "failed", {"error": result.error[:200], "attempts": attempts})
            )
        elif result.outcome is Outcome.RETRY_AFTER:
            self.too_many += 1
            wait = max(result.retry_after, 0.5)
            (self.paid if job.paid else self.free).pause(wait)
            self._results.append(
                (
                    recipient_id,
                    "pending",
                    {"next_at": now + timedelta(seconds=wait), "attempts": attempts - 1},
                )
            )
        elif attempts >= self.max_attempts:
            self._results.append(
                (recipient_id, "failed", {"error": result.error[:200], "attempts": attempts})
            )
        else:
            backoff = min(30.0, 2.0**attempts)
            self._results.append(
                (
                    recipient_id,
                    "pending",
                    {"next_at": now + timedelta(seconds=backoff), "attempts": attempts},
                )
            )

    async def _flush(self) -> None:
        results, self._results = self._results, []
        unreachable, self._unreachable = self._unreachable, []
        try:
            await self.repo.record(results)
            await self.repo.mark_unreachable(unreachable)
        except Exception:
            self._results = results + self._results  # try again at the next flush
            self._unreachable = unreachable + self._unreachable
            raise

    async def _release(self, job_id: str) -> None:
        queue = self._queues.pop(job_id, deque())
        await self.repo.record((r.id, "pending", {}) for r in queue)
        job = await self.repo.get(job_id)
        if job is not None and job.status == "cancelled":
            await self.repo.cancel_pending(job_id)
            await self._report(job, force=True)

    async def _release_all(self) -> None:
        for job_id in list(self._queues):
            queue = self._queues.pop(job_id)
            with contextlib.suppress(Exception):
                await self.repo.record((r.id, "pending", {}) for r in queue)

    # --- progress -----------------------------------------------------------------------

    async def _report(self, job: Broadcast, force: bool = False) -> None:
        now = self.clock.monotonic()
        idle = not self._queues.get(job.id) and not self._in_flight.get(job.id)
        # The first report waits a full interval: the creator has just been told that
        # sending starts, and a 0 % bar on top of that says nothing.
        last = self._last_progress.setdefault(job.id, now)
        due = now - last >= self.progress_every
        if not (due or force or idle):
            return
        counts = await self.repo.counts(job.id)
        remaining = counts.get("pending", 0) + counts.get("sending", 0)
        final = job.status == "cancelled" or (remaining == 0 and idle)
        if final and job.status == "running":
            updated = await self.repo.set(
                job.id, {"status": "done", "finished_at": self.clock.now()}, only_if=("running",)
            )
            if updated is None:
                return  # already finished (another pass reported it)
            job = updated
            self._queues.pop(job.id, None)
        elif not (due or force):
            return
        self._last_progress[job.id] = now
        times = self._sent_times.get(job.id, deque())
        recent = [t for t in times if t > now - 10]
        # Over at least a second: two sends a millisecond apart are not 2,000 a second.
        rate = len(recent) / min(10.0, max(1.0, now - recent[0])) if len(recent) > 1 else 0.0
        info = ProgressInfo(
            total=job.total,
            sent=counts.get("sent", 0),
            blocked=counts.get("blocked", 0),
            failed=counts.get("failed", 0),
            remaining=remaining,
            rate=rate,
            eta_s=remaining / rate if rate > 0 and remaining else None,
            final=final,
            status=job.status,
        )
        if self.progress is not None:
            try:
                await self.progress(job, info)
            except Exception as exc:  # a progress message that cannot be edited is no reason
                log.info("progress update failed error=%s", type(exc).__name__)
