"""How updates flow: kept in the inbox, in parallel across users and in order per user,
marked done; flood control.

python-telegram-bot's ConversationHandler expects one conversation's updates in order.
:class:`PerUserProcessor` runs different users' updates concurrently and each user's
strictly one after another, so one slow user never blocks the others.

Live delivery (webhook, polling) goes through :class:`InboxQueue`: an update is written to
the inbox (``bot/services/updates.py``) before Telegram is told it arrived, marked done by
the processor once its handlers ran, and replayed at the next start if a crash came
between (a new update's handlers start while it is being written, :class:`Keeping`).
What may enter at all is decided first (``bot/telegram/screen.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from telegram import Bot, Update
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TelegramError
from telegram.ext import BaseUpdateProcessor
from telegram.request import BaseRequest, RequestData

from bot.telegram.screen import ignored

log = logging.getLogger(__name__)


def update_key(update: object) -> int | None:
    """Whose update this is: the user, else the chat (channel posts), else nobody."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


# -- handled while being kept ------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Keeping:
    """An update whose handlers run while the inbox is still writing it.

    ``stored`` is the inbox's answer (True: kept; False: it was there already; an
    exception: not kept). ``active`` while the update's handlers run: a task they leave
    behind (a job, a timer) is not held to it afterwards.
    """

    stored: asyncio.Future[bool]
    active: bool = True

    def kept(self) -> bool:
        """The inbox has it, written by this delivery (only call once ``stored`` is done)."""
        return (
            not self.stored.cancelled()
            and self.stored.exception() is None
            and self.stored.result() is True
        )


KEEPING: ContextVar[Keeping | None] = ContextVar("keeping", default=None)


class NotKept(TelegramError):
    """Nothing is sent for an update the inbox did not keep.

    Its handlers started while it was being written (:meth:`InboxQueue.accept`); the
    write failed (the webhook answered 503, Telegram delivers it again) or found it there
    already (another process has it). The error handler stays silent about it.
    """

    def __init__(self) -> None:
        super().__init__("the update was not kept: nothing is sent for it")


async def wait_kept() -> None:
    """Before anything goes to Telegram for the update being handled: wait until the inbox
    has it; :class:`NotKept` if it will not."""
    keeping = KEEPING.get()
    if keeping is None or not keeping.active:
        return
    if not keeping.stored.done():
        with contextlib.suppress(Exception):
            await asyncio.shield(keeping.stored)
    if not keeping.kept():
        raise NotKept


class KeptFirst(BaseRequest):
    """The Bot API client of live delivery: each call waits for its update to be kept.

    An update's handlers run while the inbox writes it; what they send waits here for the
    write, so a reply never leaves for an update Telegram may deliver again (the 503 of a
    failed write). Calls outside an update's handlers (polling, broadcasts, jobs) pass.
    """

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See :meth:`BaseRequest.do_request`."""
        await wait_kept()
        return await self.inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )


class PerUserProcessor(BaseUpdateProcessor):
    """Concurrent across users (up to ``max_concurrent_updates``), sequential per user.

    ``on_done`` runs after an update's handlers, still in the user's turn: the inbox
    queues its done mark there (written in the background, see :meth:`InboxQueue.done`).
    ``keeping`` gives the inbox's write of an update its handlers start before the write
    is done (:class:`Keeping`); they run with it in :data:`KEEPING`.
    """

    def __init__(
        self,
        max_concurrent_updates: int = 256,
        on_done: Callable[[object], Awaitable[None]] | None = None,
        keeping: Callable[[object], Keeping | None] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.on_done = on_done
        self.keeping = keeping
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = defaultdict(int)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = update_key(update)
        if key is None:
            await self._handle(update, coroutine)
            await self._done(update)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                await self._handle(update, coroutine)  # errors went to the error handler
                await self._done(update)
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # nobody else waits: forget the lock
                del self._users[key]
                self._locks.pop(key, None)

    async def _handle(self, update: object, coroutine: Awaitable[Any]) -> None:
        keeping = self.keeping(update) if self.keeping is not None else None
        if keeping is None:
            await coroutine
            return
        token = KEEPING.set(keeping)  # this update's own task: its handlers see it
        try:
            await coroutine
        finally:
            keeping.active = False
            KEEPING.reset(token)

    async def _done(self, update: object) -> None:
        if self.on_done is not None:
            await self.on_done(update)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class PendingUpdate(Protocol):
    @property
    def update_id(self) -> int: ...
    @property
    def body(self) -> str: ...


class Inbox(Protocol):
    """What :class:`InboxQueue` needs of ``bot.services.updates.UpdateService``."""

    async def receive(self, update_id: int, key: int | None, body: str) -> bool: ...
    async def keep(self, update_id: int, key: int | None, body: str) -> asyncio.Future[bool]: ...
    async def done(self, *update_ids: int) -> None: ...
    async def pending(self) -> Sequence[PendingUpdate]: ...
    async def newest(self) -> int | None: ...


class InboxUnavailable(NetworkError):
    """The inbox could not be written: the update must not be acknowledged.

    A :class:`~telegram.error.NetworkError`, so python-telegram-bot's polling loop retries
    the same offset later instead of confirming it.
    """


UNMARKED_LIMIT = 10_000
RETRY_S = 2.0  # between tries of a done mark while the database is away
RETRY_TRIES = 30
FLUSH_S = 5.0  # at most, at stop, to write the last marks
MARK_BATCH = 1000  # done marks in one write at most
# A mark waits this long for others to go with it: one write per 20 ms instead of one per
# update or two at ten users (each write is a journaled database command and a round of
# socket calls on both sides: ~7 % of the bot's CPU per location search). Longer made each
# write big enough to hold the embedded engine's other commands back, the inbox's inserts
# among them, which replies wait for: /start at ten users 0.88–0.90 of the echo bot with
# 50 ms against 0.93–1.06 with 20 ms (bench/README.md §1e; 250 ms: p95 35 → 100 ms, §1c).
MARK_DELAY_S = 0.02
# Update ids this process took, to know a possible redelivery without the database (written
# before it is handled); forgotten ones and what the inbox held at start count as such.
SEEN_LIMIT = 100_000


class InboxQueue(asyncio.Queue[object]):
    """The Application's update queue for live delivery, with the inbox in front of it.

    The webhook calls :meth:`accept` before it answers 200; python-telegram-bot's updater
    (polling) calls :meth:`put` for each fetched update before it confirms the offset, so
    polling goes through the inbox as well. :func:`bot.app.running` attaches the inbox and
    replays what a crash left (:meth:`open`) before new updates flow.

    A new update's handlers start while the inbox writes it; it is acknowledged once the
    write is done, and what its handlers send waits for that too (:class:`KeptFirst`).
    An update that may be a redelivery (its id taken by this process already, or no
    higher than the inbox's newest at start) is written first and handled only if new.
    """

    def __init__(self) -> None:
        super().__init__()
        self.inbox: Inbox | None = None
        self._seen: dict[int, None] = {}  # ids taken by this process, oldest first
        self._floor = -1  # ids up to this one may be redeliveries of what the inbox has
        self._keeping: dict[int, Keeping] = {}  # being written, handlers started
        self._writing: set[asyncio.Future[bool]] = set()
        self._unmarked: set[int] = set()  # handled, the done mark not written yet
        self._marker: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()  # flush: write now, without waiting for others
        self.retry_s = RETRY_S
        self.mark_delay_s = MARK_DELAY_S
        # Writes an update's handlers left running in the background (the saved searches
        # behind a result list): each is awaited before marks are written, so an update is
        # never marked done before what it wrote is (a crash replays it instead).
        self.before_marks: list[Callable[[], Awaitable[None]]] = []

    async def open(self, inbox: Inbox, bot: Bot) -> int:
        """Attach ``inbox`` and queue its pending updates in update-id order (each user's
        in order): the number replayed."""
        self.inbox = inbox
        newest = await inbox.newest()
        self._floor = max(self._floor, -1 if newest is None else newest)
        replayed = 0
        for entry in await inbox.pending():
            try:
                update = Update.de_json(json.loads(entry.body), bot)
            except Exception as exc:  # kept by an older version, or damaged
                log.warning(
                    "inbox: update unreadable, skipped update_id=%s error=%s",
                    entry.update_id,
                    type(exc).__name__,
                )
                await inbox.done(entry.update_id)
                continue
            self.put_nowait(update)
            replayed += 1
        if replayed:
            log.info("inbox: replaying %s updates left by the last run", replayed)
        return replayed

    async def accept(self, update: Update, body: str) -> bool:
        """Keep ``update`` (its JSON: ``body``) and queue it; False for a redelivery.
        Raises what the database raised: then do not acknowledge it.

        A new update is queued while it is being written (what its handlers send waits
        for the write, :class:`KeptFirst`), one that may be a redelivery only once the
        write found it new (else it is not queued)."""
        if self.inbox is None:
            self.put_nowait(update)
            return True
        update_id, key = update.update_id, update_key(update)
        if update_id <= self._floor or update_id in self._seen:
            if not await self.inbox.receive(update_id, key, body):
                return False
            self.put_nowait(update)
            return True
        self._take(update_id)
        try:
            stored = await self.inbox.keep(update_id, key, body)
        except Exception:
            self._seen.pop(update_id, None)
            raise
        self._writing.add(stored)
        stored.add_done_callback(self._writing.discard)
        self._keeping[update_id] = Keeping(stored)
        self.put_nowait(update)
        try:
            return await asyncio.shield(stored)
        except Exception:
            self._seen.pop(update_id, None)  # its redelivery is new: handled then
            raise

    def _take(self, update_id: int) -> None:
        self._seen[update_id] = None
        while len(self._seen) > SEEN_LIMIT:
            oldest = next(iter(self._seen))
            del self._seen[oldest]
            self._floor = max(self._floor, oldest)

    def keeping(self, update: object) -> Keeping | None:
        """The write of ``update`` if its handlers start before the write is done."""
        if not isinstance(update, Update):
            return None
        return self._keeping.get(update.update_id)

    async def put(self, item: object) -> None:
        """Polling: python-telegram-bot confirms the offset only after this returns."""
        if not isinstance(item, Update) or self.inbox is None:
            await super().put(item)
            return
        reason = ignored(item)
        if reason is not None:
            log.info("update ignored update_id=%s reason=%s", item.update_id, reason)
            return
        try:
            fresh = await self.accept(item, json.dumps(item.to_dict()))
        except Exception as exc:
            log.warning(
                "inbox unavailable, update not confirmed update_id=%s error=%s",
                item.update_id,
                type(exc).__name__,
            )
            raise InboxUnavailable("the inbox could not be written") from exc
        if not fresh:
            log.info("redelivered update dropped update_id=%s", item.update_id)

    async def done(self, update: object) -> None:
        """The update's handlers ran: queue its done mark.

        Marks are written by one background task, one journaled write at a time, each
        carrying every update that finished in the ``mark_delay_s`` before it: the user's
        next update does not wait for the database, and one write marks many updates. A
        crash before the mark is written replays the update at the next start (as a crash
        between the reply and the mark always did). If the database is away, the marks
        are retried every ``retry_s`` seconds; what is still unmarked when the bot stops
        is replayed at the next start.
        """
        if self.inbox is None or not isinstance(update, Update):
            return
        keeping = self._keeping.pop(update.update_id, None)
        if keeping is not None:  # handled while being written: marked once written
            update_id = update.update_id

            def mark_if_kept(_: object) -> None:
                # Not kept: nothing to mark (its redelivery is handled and marked then).
                if keeping.kept():
                    self._queue_mark(update_id)

            if keeping.stored.done():
                mark_if_kept(None)
            else:
                keeping.stored.add_done_callback(mark_if_kept)
            return
        self._queue_mark(update.update_id)

    def _queue_mark(self, update_id: int) -> None:
        self._unmarked.add(update_id)
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._mark(), name="inbox-marks")

    async def flush(self) -> bool:
        """Wait (``FLUSH_S`` at most) for the queued marks to be written: True if none is
        left."""
        self._hurry.set()
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_S):
                    while self._unmarked and self._marker is not None and not self._marker.done():
                        await asyncio.shield(self._marker)
        finally:
            self._hurry.clear()
        return not self._unmarked

    async def close(self) -> None:
        """Write the marks still queued (a few seconds at most), then stop; what is still
        unmarked is replayed at the next start."""
        if self._writing:  # updates handled while being written: their marks follow
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_S):
                    await asyncio.gather(*self._writing, return_exceptions=True)
        if self._unmarked and self.inbox is not None:
            await self.flush()
        if self._marker is not None:
            self._marker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._marker
            self._marker = None

    async def _mark(self) -> None:
        assert self.inbox is not None
        failures = 0
        while self._unmarked:
            if self.mark_delay_s > 0 and len(self._unmarked) < MARK_BATCH:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.mark_delay_s):
                        await self._hurry.wait()
            batch = sorted(self._unmarked)[:MARK_BATCH]
            for settle in self.before_marks:
                await settle()
            try:
                await self.inbox.done(*batch)
            except Exception as exc:
                failures += 1
                log.warning(
                    "inbox: could not mark done, will retry updates=%s first_update_id=%s "
                    "error=%s",
                    len(batch),
                    batch[0],
                    type(exc).__name__,
                )
                if len(self._unmarked) > UNMARKED_LIMIT:  # a long outage: leave them to replay
                    self._unmarked.clear()
                if failures >= RETRY_TRIES:
                    return  # the next update's mark starts again
                await asyncio.sleep(self.retry_s)
            else:
                failures = 0
                self._unmarked.difference_update(batch)


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
