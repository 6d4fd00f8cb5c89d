"""The inbox (finding 2): no update Telegram was told arrived is lost.

Storage and service; the replay at start, in each user's order; polling through the inbox
(fetched updates kept before python-telegram-bot confirms their offset); and ``kill -9``
of a real ``python -m bot webhook`` (and ``python -m bot run``) process right after the
last acknowledgement, then a restart: every acknowledged update is answered, and the few
answered twice are counted (``KILL_UPDATES`` sets how many are sent; default 400).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pymongo.errors import AutoReconnect
from telegram import Update

from bot.app import Backend, Services, build_application, build_services, running
from bot.config import Settings
from bot.services.updates import UpdateService
from bot.telegram.localapi import Call, LocalBotApi
from bot.telegram.processing import RETRY_TRIES, InboxQueue
from handlers.callbacks import PAGE
from storage.mongo import Store
from storage.updates import UpdateLog
from tests.factories import csv_bytes, directory
from tests.test_geocells import SOLO
from tests.test_web import (
    HEADERS,
    BotProcess,
    bot_environment,
    free_port,
    replies,
    settled,
    update,
    wait_healthy,
)

KILL_UPDATES = int(os.environ.get("KILL_UPDATES", "200"))  # SECURITY.md: 400 and 1,000


def command(api: LocalBotApi, user_id: int, text: str) -> dict[str, Any]:
    return update(api, user_id, text)


class TestStorage:
    async def test_receive_once_sealed_done_forgotten(self, services: Services, store) -> None:
        inbox = services.updates
        api = LocalBotApi()
        body = json.dumps(command(api, 5, "/start 3171234567890001"))
        assert await inbox.receive(7, 5, body)
        assert not await inbox.receive(7, 5, body)  # a redelivery
        doc = await store["inbox"].find_one({"_id": 7})
        assert doc["pending"] is True and doc["key"] == 5
        assert "3171234567890001" not in json.dumps(doc, default=str)  # sealed
        await inbox.done(7)
        doc = await store["inbox"].find_one({"_id": 7})
        assert set(doc) == {"_id", "received_at", "attempts", "done_at"}  # no body, no user
        assert not await inbox.receive(7, 5, body)  # still recognised after it was handled
        assert await inbox.pending() == []

    async def test_pending_in_update_order(self, services: Services) -> None:
        for update_id in (30, 10, 20):
            await services.updates.receive(update_id, 1, json.dumps({"update_id": update_id}))
        await services.updates.done(20)
        pending = await services.updates.pending()
        assert [p.update_id for p in pending] == [10, 30]
        assert json.loads(pending[0].body) == {"update_id": 10}

    async def test_given_up_after_three_replays(self, services: Services, store, caplog) -> None:
        await services.updates.receive(1, 1, "{}")
        for _ in range(3):
            assert [p.update_id for p in await services.updates.pending()] == [1]
        assert await services.updates.pending() == []  # a fourth start: it may be a crash loop
        assert "given up after 3 attempts update_id=1" in caplog.text
        assert (await store["inbox"].find_one({"_id": 1})).get("pending") is None

    async def test_unreadable_entry_skipped(self, backend: Backend, store, caplog) -> None:
        service = UpdateService(backend.updates, backend.vault)
        await backend.updates.receive(2, 1, "not-a-sealed-value")
        assert await service.pending() == []
        assert "unreadable" in caplog.text

    async def test_updates_arriving_together_are_kept_in_one_write(
        self, backend: Backend, store
    ) -> None:
        """40 updates posted at once: each caller learns whether its own update is new
        (a redelivery in the same batch or of an earlier one is not), in a few journaled
        writes instead of 40."""
        writes: list[int] = []
        inner = backend.updates.receive_many

        async def counted(entries: Any) -> list[bool | Exception]:
            writes.append(len(entries))
            return await inner(entries)

        backend.updates.receive_many = counted  # type: ignore[method-assign]
        service = UpdateService(backend.updates, backend.vault)
        assert await service.receive(100, 1, "{}")
        ids = [100, *range(101, 140), 120]  # 100: already kept; 120: twice at once
        results = await asyncio.gather(*(service.receive(n, n, "{}") for n in ids))
        assert results[0] is False and results[-1] is False and all(results[1:-1])
        assert sum(writes) == 1 + len(ids) and len(writes) <= 4, writes
        pending = await service.log.pending()
        assert [e.update_id for e in pending] == list(range(100, 140))

    async def test_one_refused_entry_fails_only_its_own_caller(self, backend: Backend) -> None:
        log = backend.updates
        results = await log.receive_many([(201, 1, "{}"), (202, 1, "x" * 17_000_000)])
        assert results[0] is True and isinstance(results[1], Exception)
        assert [e.update_id for e in await log.pending()] == [201]

    async def test_done_entries_expire_after_a_day(self, store) -> None:
        indexes = {ix["name"]: ix async for ix in await store["inbox"].list_indexes()}
        assert indexes["ttl"]["key"] == {"done_at": 1}
        assert indexes["ttl"]["expireAfterSeconds"] == 24 * 3600
        assert indexes["pending"].get("sparse") is True


def live_app(settings: Settings, backend: Backend, services: Services, api: LocalBotApi) -> Any:
    settings = replace(settings, telegram_bot_token="123:abc")
    return build_application(settings, backend, services=services, request=api, live=True)


class TestReplay:
    async def test_pending_updates_replayed_at_start_in_each_users_order(
        self, settings: Settings, backend: Backend, services: Services, store
    ) -> None:
        api = LocalBotApi()
        # What a crash left: acknowledged, never handled. And one handled before it.
        left = [
            command(api, 81, "/help"),
            command(api, 82, "/start"),
            command(api, 81, "/start"),
            command(api, 81, "/privacy"),
        ]
        handled = command(api, 83, "/start")
        for data in [*left, handled]:
            user = data["message"]["from"]["id"]
            assert await services.updates.receive(data["update_id"], user, json.dumps(data))
        await services.updates.done(handled["update_id"])
        app = live_app(settings, backend, services, api)
        async with running(app):
            queue = app.update_queue
            assert isinstance(queue, InboxQueue)
            # A new update from user 81 arrives as soon as the bot runs: it comes after.
            fresh = command(api, 81, "/help")
            assert await queue.accept(Update.de_json(fresh, app.bot), json.dumps(fresh))
            # A redelivery of an update being replayed is not handled a second time.
            again = Update.de_json(left[0], app.bot)
            assert not await queue.accept(again, json.dumps(left[0]))
            first = await replies(api, 81, 4)
            starts = ("<b>How to use", "👋 Welcome", "<b>Privacy", "<b>How to use")
            assert [t.startswith(s) for t, s in zip(first, starts, strict=True)] == [True] * 4
            assert len(await replies(api, 82, 1)) == 1
            await settled(store)
        assert not await replies(api, 83, 1, timeout=0)
        await asyncio.sleep(0.2)
        assert len(await replies(api, 81, 5, timeout=0)) == 4

    async def test_console_and_tests_without_inbox(self, settings, backend, services) -> None:
        """Not live (console, in-process tests): no inbox, nothing replayed."""
        await services.updates.receive(1, 1, json.dumps(command(LocalBotApi(), 1, "/start")))
        app = build_application(settings, backend, services=services, request=LocalBotApi())
        assert not isinstance(app.update_queue, InboxQueue)


class PollingApi(LocalBotApi):
    """Telegram's side of ``getUpdates``: a queue of updates, dropped once confirmed (a
    later call's offset is above them), ``limit`` at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[dict[str, Any]] = []
        self.confirmed = 0  # the highest update id confirmed
        self.offsets: list[int] = []

    def handle(
        self, method: str, params: dict[str, Any], files: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        if method != "getUpdates":
            return super().handle(method, params, files)
        offset = int(params.get("offset") or 0)
        self.offsets.append(offset)
        if offset:
            self.confirmed = max(self.confirmed, offset - 1)
            self.waiting = [u for u in self.waiting if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        self.calls.append(Call(method, params, {}))
        return 200, json.dumps({"ok": True, "result": self.waiting[:limit]}).encode()


class InProcessPolling(PollingApi):
    """Checks, at each confirmation, that the inbox holds every update confirmed."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.unkept: list[int] = []
        self.sent_ids: list[int] = []

    async def do_request(  # type: ignore[override]
        self, url: str, method: str, request_data: Any = None, **kw: Any
    ) -> tuple[int, bytes]:
        if url.endswith("/getUpdates"):
            offset = int((request_data.parameters if request_data else {}).get("offset") or 0)
            kept = {d["_id"] async for d in self.store["inbox"].find({}, {"_id": 1})}
            self.unkept += [u for u in self.sent_ids if u < offset and u not in kept]
            if not self.waiting:
                await asyncio.sleep(0.02)  # long polling, briefly
        return await super().do_request(url, method, request_data, **kw)


def kept_at_once() -> asyncio.Future[bool]:
    future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    future.set_result(True)
    return future


class WrappedInbox:
    """The inbox, wrapped: what a test does not change goes to ``inner``."""

    def __init__(self, inner: UpdateService) -> None:
        self.inner = inner

    async def done(self, *update_ids: int) -> None:
        await self.inner.done(*update_ids)

    async def pending(self) -> Any:
        return await self.inner.pending()

    async def newest(self) -> int | None:
        return await self.inner.newest()


class FlakyInbox(WrappedInbox):
    """The inbox, with the database away for the first ``failures`` writes."""

    def __init__(self, inner: UpdateService, failures: int) -> None:
        super().__init__(inner)
        self.failures = failures

    async def receive(self, update_id: int, key: int | None, body: str) -> bool:
        if self.failures:
            self.failures -= 1
            raise AutoReconnect("database away")
        return await self.inner.receive(update_id, key, body)

    async def keep(self, update_id: int, key: int | None, body: str) -> asyncio.Future[bool]:
        if self.failures:  # the write fails after the handlers started
            self.failures -= 1
            failed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            failed.set_exception(AutoReconnect("database away"))
            return failed
        return await self.inner.keep(update_id, key, body)


class RefusingInbox:
    """An inbox whose database refuses the next ``refusals`` done marks."""

    def __init__(self, refusals: int = 0) -> None:
        self.refusals = refusals
        self.marked: list[int] = []
        self.writes = 0

    async def receive(self, update_id: int, key: int | None, body: str) -> bool:
        return True

    async def keep(self, update_id: int, key: int | None, body: str) -> asyncio.Future[bool]:
        return kept_at_once()

    async def newest(self) -> int | None:
        return None

    async def done(self, *update_ids: int) -> None:
        if self.refusals:
            self.refusals -= 1
            raise AutoReconnect("database away")
        self.writes += 1
        self.marked.extend(update_ids)

    async def pending(self) -> list[Any]:
        return []


class TestDoneMarks:
    async def test_a_failed_done_mark_is_retried_with_the_next(self, caplog) -> None:
        inbox = RefusingInbox(refusals=RETRY_TRIES)
        queue = InboxQueue()
        queue.inbox = inbox
        queue.retry_s = 0.01
        await queue.done(Update(1))
        assert not await queue.flush()  # gave up for now: the next update's mark retries
        assert inbox.marked == [] and "could not mark done, will retry updates=1" in caplog.text
        await queue.done(Update(2))
        assert await queue.flush()
        assert inbox.marked == [1, 2]
        await queue.done(Update(3))
        await queue.close()  # stopping writes what is queued
        assert inbox.marked == [1, 2, 3]

    async def test_marks_are_retried_in_the_background_while_the_database_is_away(
        self,
    ) -> None:
        inbox = RefusingInbox(refusals=3)
        queue = InboxQueue()
        queue.inbox = inbox
        queue.retry_s = 0.01
        await queue.done(Update(1))
        await queue.done(Update(2))
        assert await queue.flush()  # by itself, without a next update
        assert inbox.marked == [1, 2]

    async def test_marks_of_updates_finishing_together_are_written_once_in_few_writes(
        self,
    ) -> None:
        """50 users' updates finish while marks are being written: each id is written
        once, and the ids that finished during a write go together in the next one (it
        used to be one write per id per waiting update: ~40 writes per update at 50
        users)."""
        writes: list[tuple[int, ...]] = []

        class Inbox:
            async def receive(self, update_id: int, key: int | None, body: str) -> bool:
                return True

            async def keep(
                self, update_id: int, key: int | None, body: str
            ) -> asyncio.Future[bool]:
                return kept_at_once()

            async def newest(self) -> int | None:
                return None

            async def done(self, *update_ids: int) -> None:
                writes.append(update_ids)
                for _ in range(3):  # a write takes a few turns of the event loop
                    await asyncio.sleep(0)

            async def pending(self) -> list[Any]:
                return []

        queue = InboxQueue()
        queue.inbox = Inbox()
        await asyncio.gather(*(queue.done(Update(n)) for n in range(1, 51)))
        assert await queue.flush()
        written = [n for batch in writes for n in batch]
        assert sorted(written) == list(range(1, 51))  # each once
        assert len(writes) <= 3, writes
        assert queue._unmarked == set()

    async def test_an_update_handled_before_its_write_is_marked_after_it(self) -> None:
        """Its handlers may finish first (nothing to send): the mark waits for the write
        (a mark before it would find nothing, and the write would then leave the update
        pending, to be replayed); a write that failed is not marked at all."""
        inbox = RefusingInbox()
        writes: dict[int, asyncio.Future[bool]] = {}

        async def keep(update_id: int, key: int | None, body: str) -> asyncio.Future[bool]:
            writes[update_id] = asyncio.get_running_loop().create_future()
            return writes[update_id]

        inbox.keep = keep  # type: ignore[method-assign]
        queue = InboxQueue()
        queue.inbox = inbox
        queue.mark_delay_s = 0
        api = LocalBotApi()
        updates = [Update.de_json(command(api, 600 + n, "/help"), None) for n in range(2)]
        accepted = [asyncio.create_task(queue.accept(u, "{}")) for u in updates]
        await asyncio.sleep(0)
        for u in updates:
            assert queue.keeping(u) is not None
            await queue.done(u)  # handled, not written yet
        assert await queue.flush() and inbox.marked == []
        writes[updates[0].update_id].set_result(True)
        writes[updates[1].update_id].set_exception(AutoReconnect("database away"))
        assert await accepted[0] is True
        with pytest.raises(AutoReconnect):
            await accepted[1]
        assert await queue.flush()
        assert inbox.marked == [updates[0].update_id]
        await queue.close()

    async def test_a_mark_waits_for_the_next_ones_and_a_flush_does_not_wait(self) -> None:
        """Updates finishing one by one (ten users, not fifty at once) still share a write:
        a mark waits ``mark_delay_s`` for others; stopping writes at once."""
        inbox = RefusingInbox()
        queue = InboxQueue()
        queue.inbox = inbox
        queue.mark_delay_s = 3600.0  # would time the test out if a flush waited for it
        for n in range(1, 6):
            await queue.done(Update(n))
            for _ in range(5):
                await asyncio.sleep(0)  # the marker runs: it waits, and writes nothing yet
            assert inbox.marked == []
        assert await queue.flush()
        assert inbox.marked == [1, 2, 3, 4, 5] and inbox.writes == 1
        await queue.done(Update(6))
        await queue.close()
        assert inbox.marked == [1, 2, 3, 4, 5, 6]

    async def test_background_writes_settle_before_marks(self) -> None:
        """A saved search written behind its list lands before its update is marked done:
        a crash in between replays the update rather than leave dead buttons."""
        events: list[str] = []

        class Inbox(RefusingInbox):
            async def done(self, *update_ids: int) -> None:
                events.append(f"marked {list(update_ids)}")

        async def settle() -> None:
            await asyncio.sleep(0)
            events.append("settled")

        queue = InboxQueue()
        queue.inbox = Inbox()
        queue.before_marks.append(settle)
        await queue.done(Update(1))
        assert await queue.flush()
        assert events == ["settled", "marked [1]"]

    async def test_marks_written_together_reach_the_database(self, store) -> None:
        log = UpdateLog(store)
        for n in (31, 32, 33):
            assert await log.receive(n, 5, "{}")
        await log.done(31, 33)
        assert [e.update_id for e in await log.pending()] == [32]


class TestPolling:
    async def test_kept_before_confirmed_and_each_handled_once(
        self, settings: Settings, backend: Backend, services: Services, store, caplog
    ) -> None:
        api = InProcessPolling(store)
        users = range(9100, 9250)
        api.waiting = [command(api, user, "/help") for user in users]
        api.sent_ids = [u["update_id"] for u in api.waiting]
        settings = replace(settings, telegram_bot_token="123:abc")
        app = build_application(
            settings, backend, services=services, request=api, with_updater=True, live=True
        )
        async with running(app):
            queue = app.update_queue
            assert isinstance(queue, InboxQueue) and queue.inbox is services.updates
            queue.inbox = FlakyInbox(services.updates, failures=2)  # two refused writes
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=timedelta(0))
            deadline = time.monotonic() + 30
            while api.confirmed < api.sent_ids[-1]:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            await settled(store)
            await app.updater.stop()
        assert api.unkept == []  # nothing confirmed to Telegram before it was kept
        for user in users:
            assert len(await replies(api, user, 2, timeout=0)) == 1, user
        assert "inbox unavailable, update not confirmed" in caplog.text


class HeldInbox(WrappedInbox):
    """The inbox, each new update's write held until the test lets it go or fails it."""

    def __init__(self, inner: UpdateService) -> None:
        super().__init__(inner)
        self.gates: dict[int, asyncio.Future[None]] = {}

    def gate(self, update_id: int) -> asyncio.Future[None]:
        return self.gates.setdefault(update_id, asyncio.get_running_loop().create_future())

    async def receive(self, update_id: int, key: int | None, body: str) -> bool:
        return await (await self.keep(update_id, key, body))

    async def keep(self, update_id: int, key: int | None, body: str) -> asyncio.Future[bool]:
        gate = self.gate(update_id)

        async def write() -> bool:
            await gate
            return await self.inner.receive(update_id, key, body)

        return asyncio.ensure_future(write())


async def handling(app: Any, user_id: int, within: float = 5.0) -> None:
    """Wait until ``user_id``'s update is in its handlers."""
    deadline = time.monotonic() + within
    while user_id not in app.update_processor._locks:
        assert time.monotonic() < deadline, "the update was not handled"
        await asyncio.sleep(0.01)


async def handled(app: Any, within: float = 5.0) -> None:
    """Wait until no update is in its handlers."""
    deadline = time.monotonic() + within
    while app.update_processor._locks:
        assert time.monotonic() < deadline, "an update is still being handled"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def held(
    settings: Settings, backend: Backend, services: Services
) -> AsyncIterator[tuple[Any, InboxQueue, HeldInbox, LocalBotApi]]:
    """A live application whose inbox holds each new update's write."""
    api = LocalBotApi()
    app = live_app(settings, backend, services, api)
    async with running(app):
        queue = app.update_queue
        assert isinstance(queue, InboxQueue)
        inbox = HeldInbox(services.updates)
        queue.inbox = inbox
        yield app, queue, inbox, api


def accepting(app: Any, queue: InboxQueue, data: dict[str, Any]) -> asyncio.Task[bool]:
    """The webhook's acceptance of ``data``, under way."""
    return asyncio.create_task(queue.accept(Update.de_json(data, app.bot), json.dumps(data)))


class TestHandledWhileKept:
    """A new update's handlers start while the inbox writes it (the write is off the
    reply's path); nothing they send leaves before the write, and the update is
    acknowledged, and later marked done, only once it is kept."""

    async def test_handlers_start_before_the_write_and_send_after_it(
        self, settings: Settings, backend: Backend, services: Services, store
    ) -> None:
        async with held(settings, backend, services) as (app, queue, inbox, api):
            data = command(api, 501, "/start")
            accepted = accepting(app, queue, data)
            await handling(app, 501)  # its handlers run ...
            await asyncio.sleep(0.1)
            assert not api.calls_of("sendMessage")  # ... and wait to send
            assert not accepted.done()  # not acknowledged
            assert await store["inbox"].find_one({"_id": data["update_id"]}) is None
            inbox.gate(data["update_id"]).set_result(None)
            assert await accepted is True
            assert (await replies(api, 501, 1))[0].startswith("👋 Welcome")
            await settled(store)  # marked done once written
            entry = await store["inbox"].find_one({"_id": data["update_id"]})
            assert entry is not None and "done_at" in entry

    async def test_a_failed_write_sends_nothing_and_its_redelivery_is_answered_once(
        self, settings: Settings, backend: Backend, services: Services, store, caplog
    ) -> None:
        caplog.set_level(logging.INFO)
        async with held(settings, backend, services) as (app, queue, inbox, api):
            data = command(api, 502, "/help")
            accepted = accepting(app, queue, data)
            await handling(app, 502)
            inbox.gate(data["update_id"]).set_exception(AutoReconnect("database away"))
            with pytest.raises(AutoReconnect):  # not acknowledged
                await accepted
            await handled(app)
            await asyncio.sleep(0.1)
            assert not await replies(api, 502, 1, timeout=0)  # not even an apology
            assert await store["inbox"].find_one({"_id": data["update_id"]}) is None
            # Telegram delivers it again: written first this time, then answered.
            inbox.gates[data["update_id"]] = opened = asyncio.get_running_loop().create_future()
            opened.set_result(None)
            assert await queue.accept(Update.de_json(data, app.bot), json.dumps(data))
            assert len(await replies(api, 502, 1)) == 1
            await settled(store)
            await handled(app)
        assert len(await replies(api, 502, 2, timeout=0)) == 1
        assert "update not kept, nothing sent" in caplog.text
        assert "Traceback" not in caplog.text

    async def test_redelivery_while_the_first_write_is_held_is_dropped(
        self, settings: Settings, backend: Backend, services: Services, store
    ) -> None:
        async with held(settings, backend, services) as (app, queue, inbox, api):
            data = command(api, 503, "/help")
            first = accepting(app, queue, data)
            await handling(app, 503)
            again = accepting(app, queue, data)  # Telegram gave up waiting: sent again
            await asyncio.sleep(0.05)
            inbox.gate(data["update_id"]).set_result(None)
            # One of the two writes keeps it (either may land first), and only that one's
            # handling may send: one answer.
            assert sorted([await first, await again]) == [False, True]
            await settled(store)
            await handled(app)
        assert len(await replies(api, 503, 2, timeout=0.3)) == 1


# -- kill -9 ---------------------------------------------------------------------------------


async def until_all_answered(
    api: LocalBotApi, store: Store, chats: list[int], within: float = 180
) -> Counter[int]:
    """Wait until the inbox has nothing pending and every chat had an answer."""
    deadline = time.monotonic() + within
    wanted = set(chats)
    while True:
        sent: Counter[int] = Counter(
            c.params["chat_id"]
            for c in api.calls
            if c.method == "sendMessage" and c.params.get("chat_id") in wanted
        )
        pending = await store["inbox"].count_documents({"pending": True})
        if (not pending and len(sent) == len(wanted)) or time.monotonic() > deadline:
            return sent
        await asyncio.sleep(0.2)


def report(mode: str, acknowledged: int, before: int, sent: Counter[int], chats: list[int]) -> str:
    lost = sum(1 for chat in chats if sent[chat] == 0)
    twice = sum(1 for chat in chats if sent[chat] > 1)
    line = (
        f"{mode}: {acknowledged} acknowledged, {before} answered before kill -9, "
        f"{acknowledged - lost} answered in all, {lost} lost, {twice} answered twice "
        f"({datetime.now(UTC):%Y-%m-%d})"
    )
    print(line)
    return line


class TestKill:
    async def test_webhook_kill_9_after_last_200_loses_nothing(
        self, mongo_uri: str, tmp_path: Path
    ) -> None:
        port = free_port()
        async with bot_environment(mongo_uri, tmp_path, PORT=str(port)) as (env, fake, store):
            bot = BotProcess("webhook", env, tmp_path / "webhook.log")
            chats = list(range(200_000, 200_000 + KILL_UPDATES))
            bodies = [command(fake.api, chat, "/help") for chat in chats]
            with bot.started() as proc:
                await wait_healthy(port, proc)
                url = f"http://127.0.0.1:{port}/telegram"
                connector = aiohttp.TCPConnector(limit=40)  # Telegram's max_connections
                async with aiohttp.ClientSession(connector=connector) as session:

                    async def post(body: dict[str, Any]) -> int:
                        async with session.post(url, json=body, headers=HEADERS) as r:
                            return r.status

                    statuses = await asyncio.gather(*(post(b) for b in bodies))
                proc.send_signal(signal.SIGKILL)  # right after the last 200
                proc.wait(10)
            assert statuses.count(200) == KILL_UPDATES, Counter(statuses)
            before = len({c.params.get("chat_id") for c in fake.api.calls_of("sendMessage")})
            assert before < KILL_UPDATES  # the kill did catch updates unanswered
            with bot.started() as proc:
                sent = await until_all_answered(fake.api, store, chats)
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(proc.wait, 30) == 0
            line = report("webhook", KILL_UPDATES, before, sent, chats)
            assert all(sent[chat] >= 1 for chat in chats), line  # 0 lost
            assert sum(1 for chat in chats if sent[chat] > 1) <= 256, line  # the bound
            assert "Traceback" not in bot.output()
            assert "replaying" in bot.output()

    async def test_webhook_kill_9_during_searches_leaves_no_dead_buttons(
        self, mongo_uri: str, tmp_path: Path, settings: Settings
    ) -> None:
        """Result lists are sent before their search is written: after a kill -9 right
        after the last 200 and a restart, every user has a list, and the newest list each
        user got has a search behind its buttons (an update whose search was not written
        was not marked done, so it was answered again; that order itself is checked in
        ``TestDoneMarks``, the window being too short for a kill to hit reliably)."""
        port = free_port()
        async with bot_environment(mongo_uri, tmp_path, PORT=str(port)) as (env, fake, store):
            services = build_services(Backend.over(store, settings), settings)
            rows = directory(services.gazetteer, region="33.72", n=200)
            assert (await services.importer.import_bytes(csv_bytes(rows))).errors == []
            bot = BotProcess("webhook", env, tmp_path / "webhook.log")
            chats = list(range(300_000, 300_000 + KILL_UPDATES))
            bodies = [
                fake.api.message_update(
                    fake.api.user(chat, "id"),
                    location={"latitude": SOLO.lat + (chat % 50) / 1000, "longitude": SOLO.lon},
                )
                for chat in chats
            ]
            with bot.started() as proc:
                await wait_healthy(port, proc)
                url = f"http://127.0.0.1:{port}/telegram"
                connector = aiohttp.TCPConnector(limit=40)
                async with aiohttp.ClientSession(connector=connector) as session:

                    async def post(body: dict[str, Any]) -> int:
                        async with session.post(url, json=body, headers=HEADERS) as r:
                            return r.status

                    statuses = await asyncio.gather(*(post(b) for b in bodies))
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            assert statuses.count(200) == KILL_UPDATES, Counter(statuses)
            with bot.started() as proc:
                sent = await until_all_answered(fake.api, store, chats)
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(proc.wait, 30) == 0
            assert all(sent[chat] >= 1 for chat in chats)  # 0 lost
            newest: dict[int, str] = {}
            for call in fake.api.calls_of("sendMessage"):
                data = [
                    b.get("callback_data", "")
                    for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
                    for b in row
                ]
                pages = [PAGE.parse(d)[0] for d in data if PAGE.matches(d)]
                if call.params.get("chat_id") in sent and pages:
                    newest[call.params["chat_id"]] = pages[0]
            assert len(newest) == KILL_UPDATES  # every list has pages (200 nearby)
            written = {d["_id"] async for d in store["searches"].find({}, {"_id": 1})}
            assert set(newest.values()) <= written
            assert "Traceback" not in bot.output()

    async def test_polling_kill_9_after_last_confirmation_loses_nothing(
        self, mongo_uri: str, tmp_path: Path
    ) -> None:
        api = PollingApi()
        async with bot_environment(mongo_uri, tmp_path, api) as (env, _, store):
            bot = BotProcess("run", env, tmp_path / "polling.log")
            chats = list(range(300_000, 300_000 + KILL_UPDATES))
            api.waiting = [command(api, chat, "/help") for chat in chats]
            last = api.waiting[-1]["update_id"]
            with bot.started() as proc:
                deadline = time.monotonic() + 90
                while api.confirmed < last:  # Telegram was told: all fetched
                    assert time.monotonic() < deadline and proc.poll() is None, bot.output()
                    await asyncio.sleep(0.005)
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            before = len({c.params.get("chat_id") for c in api.calls_of("sendMessage")})
            assert not api.waiting  # Telegram will never send them again
            with bot.started() as proc:
                sent = await until_all_answered(api, store, chats)
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(proc.wait, 30) == 0
            line = report("polling", KILL_UPDATES, before, sent, chats)
            assert all(sent[chat] >= 1 for chat in chats), line
            assert sum(1 for chat in chats if sent[chat] > 1) <= 256, line
            assert "Traceback" not in bot.output()
