"""How updates flow: checked, kept in the inbox, in parallel across users and in order per
user, marked done; flood control.

python-telegram-bot's ConversationHandler expects one conversation's updates in order.
:class:`PerUserProcessor` runs different users' updates concurrently and each user's
strictly one after another, so one slow user never blocks the others.

Live delivery (webhook, polling) goes through :class:`InboxQueue`: an update is written to
the inbox (``bot/services/updates.py``) before Telegram is told it arrived, marked done by
the processor once its handlers ran, and replayed at the next start if a crash came
between. :func:`screen` and :func:`ignored` keep out what python-telegram-bot or the
handlers would choke on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from telegram import Bot, Update
from telegram.error import NetworkError
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)


def update_key(update: object) -> int | None:
    """Whose update this is: the user, else the chat (channel posts), else nobody."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


class PerUserProcessor(BaseUpdateProcessor):
    """Concurrent across users (up to ``max_concurrent_updates``), sequential per user.

    ``on_done`` runs after an update's handlers, still in the user's turn: the inbox
    queues its done mark there (written in the background, see :meth:`InboxQueue.done`).
    """

    def __init__(
        self,
        max_concurrent_updates: int = 256,
        on_done: Callable[[object], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.on_done = on_done
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = defaultdict(int)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = update_key(update)
        if key is None:
            await coroutine
            await self._done(update)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                await coroutine  # handler errors went to the error handler, not here
                await self._done(update)
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # nobody else waits: forget the lock
                del self._users[key]
                self._locks.pop(key, None)

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
    async def done(self, *update_ids: int) -> None: ...
    async def pending(self) -> Sequence[PendingUpdate]: ...


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
# A mark waits this long for others to go with it: one write per 50 ms instead of one per
# update or two at ten users (each write is a journaled database command and a round of
# socket calls on both sides: ~7 % of the bot's CPU per location search). Longer (0.25 s)
# made each write big enough to hold the embedded engine's other commands back: /start's
# p95 at ten users went from 35 to 100 ms (bench/README.md §1c). What a crash leaves
# unmarked is replayed at the next start.
MARK_DELAY_S = 0.05


class InboxQueue(asyncio.Queue[object]):
    """The Application's update queue for live delivery, with the inbox in front of it.

    The webhook calls :meth:`accept` before it answers 200; python-telegram-bot's updater
    (polling) calls :meth:`put` for each fetched update before it confirms the offset, so
    polling goes through the inbox as well. :func:`bot.app.running` attaches the inbox and
    replays what a crash left (:meth:`open`) before new updates flow.
    """

    def __init__(self) -> None:
        super().__init__()
        self.inbox: Inbox | None = None
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
        """Keep ``update`` (its JSON: ``body``) and queue it; False, and not queued, for a
        redelivery. Raises what the database raised: then do not acknowledge it."""
        if self.inbox is not None and not await self.inbox.receive(
            update.update_id, update_key(update), body
        ):
            return False
        self.put_nowait(update)
        return True

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
        self._unmarked.add(update.update_id)
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


# -- what enters the flow ----------------------------------------------------------------

MAX_DEPTH = 32  # Telegram's updates nest about ten levels deep
INT_LIMIT = 2**63  # MongoDB's integers are 64-bit; Telegram's ids fit in 52 bits
UPDATE_ID_LIMIT = 2**53

Spec = Any  # a type, a dict of fields ("?name": optional), or a one-element list

NUMBER = (int, float)
USER: dict[str, Spec] = {
    "id": int,
    "is_bot": bool,
    "first_name": str,
    "?last_name": str,
    "?username": str,
    "?language_code": str,
}
CHAT: dict[str, Spec] = {
    "id": int,
    "type": str,
    "?title": str,
    "?username": str,
    "?first_name": str,
    "?last_name": str,
}
ENTITY: dict[str, Spec] = {
    "type": str,
    "offset": int,
    "length": int,
    "?url": str,
    "?user": USER,
    "?language": str,
    "?custom_emoji_id": str,
}
LOCATION: dict[str, Spec] = {"latitude": NUMBER, "longitude": NUMBER}
FILE: dict[str, Spec] = {"file_id": str, "file_unique_id": str, "?file_size": int}
MESSAGE_FIELDS: dict[str, Spec] = {
    "message_id": int,
    "date": int,
    "chat": CHAT,
    "?from": USER,
    "?sender_chat": CHAT,
    "?via_bot": USER,
    "?message_thread_id": int,
    "?edit_date": int,
    "?media_group_id": str,
    "?text": str,
    "?caption": str,
    "?entities": [ENTITY],
    "?caption_entities": [ENTITY],
    "?location": LOCATION,
    "?venue": {"location": LOCATION, "title": str, "address": str},
    "?contact": {"phone_number": str, "first_name": str, "?user_id": int, "?vcard": str},
    "?document": {**FILE, "?file_name": str, "?mime_type": str},
    "?photo": [{**FILE, "width": int, "height": int}],
}
MESSAGE: dict[str, Spec] = {
    **MESSAGE_FIELDS,
    "?reply_to_message": MESSAGE_FIELDS,
    "?pinned_message": MESSAGE_FIELDS,
}
KINDS: dict[str, dict[str, Spec]] = {
    "message": MESSAGE,
    "edited_message": MESSAGE,
    "callback_query": {
        "id": str,
        "from": USER,
        "chat_instance": str,
        "?message": MESSAGE,  # or an inaccessible one: chat, message_id and date 0
        "?inline_message_id": str,
        "?data": str,
        "?game_short_name": str,
    },
    "inline_query": {
        "id": str,
        "from": USER,
        "query": str,
        "offset": str,
        "?chat_type": str,
        "?location": LOCATION,
    },
}


class Malformed(ValueError):
    """Not an update the bot can take (the webhook answers 400)."""


def screen(data: object) -> None:
    """Refuse what python-telegram-bot, MongoDB or the handlers would choke on.

    Values anywhere: nesting at most ``MAX_DEPTH``, integers that fit MongoDB's 64 bits,
    finite numbers, text that is valid Unicode (no lone surrogates). The update: an object
    with an ``update_id`` in Telegram's range, and for the kinds the bot handles, the
    fields it reads with the types the Bot API documents (extra fields are fine).
    Raises :class:`Malformed` with a short reason that names no value.
    """
    _check_values(data)
    if not isinstance(data, dict):
        raise Malformed("not an object")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise Malformed("update_id")
    if not 0 <= update_id < UPDATE_ID_LIMIT:
        raise Malformed("update_id out of range")
    for kind, spec in KINDS.items():
        if kind in data:
            _check(data[kind], spec, kind)


def _check_values(data: object) -> None:
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                raise Malformed("nested too deeply")
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                raise Malformed("nested too deeply")
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_text(value)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not -INT_LIMIT <= value < INT_LIMIT:
                raise Malformed("integer out of range")
        elif isinstance(value, float) and not math.isfinite(value):
            raise Malformed("number out of range")


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Malformed("invalid text") from None


def _check(value: object, spec: Spec, where: str) -> None:
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise Malformed(f"{where}: not an object")
        for name, field_spec in spec.items():
            optional = name.startswith("?")
            name = name.lstrip("?")
            if name not in value or (optional and value[name] is None):
                if optional:
                    continue
                raise Malformed(f"{where}.{name} missing")
            _check(value[name], field_spec, f"{where}.{name}")
    elif isinstance(spec, list):
        if not isinstance(value, list):
            raise Malformed(f"{where}: not a list")
        for item in value:
            _check(item, spec[0], where)
    elif spec is bool:
        if not isinstance(value, bool):
            raise Malformed(f"{where}: not a boolean")
    elif isinstance(value, bool) or not isinstance(value, spec):
        raise Malformed(f"{where}: wrong type")


def ignored(update: Update) -> str | None:
    """Why a well-formed update is accepted but not handled, or None to handle it.

    Every feature answers a person: an update without one (a message with no sender, as
    in a channel; an update of no kind the bot knows) is dropped here, with one log line,
    instead of failing in a handler.
    """
    if update.effective_user is None:
        return "no sender"
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
