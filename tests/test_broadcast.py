"""Announcements: pacing against a rate-limited Bot API server, blocked users, retries,
pause/resume/cancel, fairness, a crash mid-broadcast, and the admin's compose flow.

The engine tests run on virtual time (``tests/clock.py``) shared with the stand-in server:
pacing is checked exactly and costs no wall time. The crash and compose tests run real
processes and the real Application on the wall clock.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.app import Backend, Services
from bot.i18n import I18n
from bot.services.broadcast import BroadcastEngine, BroadcastService, ProgressInfo
from bot.telegram.localserver import LocalBotApiServer
from bot.telegram.sender import make_sender
from handlers.broadcast import parse_when
from handlers.broadcast.draft import Draft
from handlers.broadcast.header import Dresser
from handlers.callbacks import COMPOSE, MUTE
from storage.broadcasts import BroadcastRepository
from storage.models import Broadcast
from storage.mongo import Store
from tests.clock import VirtualClock, held
from tests.conftest import Chat, texts
from tests.factories import csv_bytes
from tests.test_cards import apply
from tests.test_membership import ROWS

ROOT = Path(__file__).resolve().parent.parent


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most sends the server saw in any window of ``window`` seconds."""
    times = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


class Harness:
    def __init__(
        self, store: Store, server: LocalBotApiServer, bot: Bot, clock: VirtualClock
    ) -> None:
        self.clock = clock
        self.repo = held(BroadcastRepository(store), clock)
        self.server = server
        self.bot = bot
        self.progress: list[ProgressInfo] = []

    async def record(self, job: Broadcast, info: ProgressInfo) -> None:
        self.progress.append(info)

    def engine(self, **kwargs: Any) -> BroadcastEngine:
        kwargs.setdefault("progress_every", 0.5)
        sender = self.clock.holding(make_sender(self.bot, Dresser(I18n(ROOT / "locales"))))
        return BroadcastEngine(self.repo, sender, self.record, clock=self.clock, **kwargs)

    async def job(self, recipients: list[int], *, paid: bool = False) -> Broadcast:
        return await self.repo.create(
            kind="platform",
            coop_id=None,
            text="<b>Rapat</b> &amp; info",
            photo=None,
            created_by=900,
            recipients=recipients,
            paid=paid,
            scheduled_at=None,
            language="en",
            audience={},
        )

    async def wait_done(self, job_id: str, within: float = 60) -> Broadcast:
        """The job once it is done or cancelled, within ``within`` virtual seconds."""
        deadline = self.clock.monotonic() + within
        while True:
            job = await self.repo.get(job_id)
            assert job is not None
            if job.status in ("done", "cancelled"):
                return job
            assert self.clock.monotonic() < deadline, await self.repo.counts(job_id)
            await self.clock.sleep(0.1)

    async def control(self, service: BroadcastService, job_id: str, action: str) -> str | None:
        """The job's status after ``action`` (None when the action was not possible)."""
        job = await service.control(job_id, action)
        return job.status if job is not None else None

    def received(self) -> Counter[int]:
        return Counter(
            int(c.params["chat_id"])
            for c in self.server.api.calls
            if c.method in ("sendMessage", "sendPhoto") and not c.error
        )


@pytest.fixture
async def harness(store: Store) -> Any:
    # Storage stamps new recipients with the real time: the virtual day starts a minute
    # later, so that they are due at once.
    clock = VirtualClock(datetime.now(UTC) + timedelta(minutes=1))
    blocked = {5003, 5007, 5011}
    server = LocalBotApiServer(
        rate_per_s=20, blocked=blocked, retry_after=1, clock=clock.monotonic
    )
    url = await server.start()
    bot = Bot("123456:ABC", base_url=url, request=HTTPXRequest(connection_pool_size=64))
    await bot.initialize()
    try:
        yield Harness(store, server, bot, clock)
    finally:
        await clock.aclose()
        await bot.shutdown()
        await server.stop()


class TestEngine:
    async def test_paced_exactly_once_blocked_marked(self, harness: Harness, store: Store) -> None:
        users = list(range(5000, 5060))
        await store["users"].insert_many([{"_id": u} for u in users])
        job = await harness.job(users)
        # Configured below the server's 20/s as production is below Telegram's 30/s (25):
        # the engine paces departures, the server sees arrivals, and at a rate equal to
        # the limit any delay of one request in transit would overflow a second.
        engine = harness.engine(rate=17)
        await engine.start()
        try:
            await harness.wait_done(job.id)
        finally:
            await engine.stop()
        assert max_in_window(harness.server.sent_at) <= 20
        assert harness.server.too_many == 0 and engine.too_many == 0
        received = harness.received()
        reachable = [u for u in users if u not in harness.server.blocked]
        assert all(received[u] == 1 for u in reachable)
        assert not any(received[u] for u in harness.server.blocked)
        counts = await harness.repo.counts(job.id)
        assert counts == {"sent": 57, "blocked": 3}
        unreachable = {
            d["_id"] async for d in store["users"].find({"unreachable_at": {"$exists": True}})
        }
        assert unreachable == harness.server.blocked
        final = harness.progress[-1]
        assert final.final and (final.sent, final.blocked, final.failed) == (57, 3, 0)
        # The announcement carries its sender's header, the mute button and its formatting
        # (recipients the bot has no language of read the default, Indonesian).
        call = next(c for c in harness.server.api.calls if c.method == "sendMessage")
        assert call.params["text"] == (
            "📣 <b>Pengumuman dari Gerbang Koperasi</b>\n\n<b>Rapat</b> &amp; info"
        )
        assert (
            call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "mu:platform"
        )

    async def test_429_pauses_and_retries_without_duplicates(self, harness: Harness) -> None:
        harness.server.rate_per_s = 10  # the server allows less than the engine tries
        users = list(range(6000, 6040))
        job = await harness.job(users)
        engine = harness.engine(rate=30)
        await engine.start()
        try:
            await harness.wait_done(job.id, within=90)
        finally:
            await engine.stop()
        assert engine.too_many > 0
        received = harness.received()
        assert all(received[u] == 1 for u in users)
        assert (await harness.repo.counts(job.id)) == {"sent": 40}

    async def test_paid_mode_flag(self, harness: Harness) -> None:
        harness.server.rate_per_s = None
        job = await harness.job([7001, 7002], paid=True)
        engine = harness.engine(rate=20, paid_rate=500)
        await engine.start()
        try:
            await harness.wait_done(job.id)
        finally:
            await engine.stop()
        sends = [c for c in harness.server.api.calls if c.method == "sendMessage"]
        assert {c.params.get("allow_paid_broadcast") for c in sends} == {True}

    async def test_two_jobs_share_the_rate(self, harness: Harness) -> None:
        a = await harness.job(list(range(8000, 8040)))
        b = await harness.job(list(range(9000, 9040)))
        engine = harness.engine(rate=20)
        await engine.start()
        try:
            await harness.clock.sleep(2.0)
            got = harness.received()
            sent_a = sum(1 for u in got if 8000 <= u < 8040)
            sent_b = sum(1 for u in got if 9000 <= u < 9040)
            assert sent_a >= 10 and sent_b >= 10 and abs(sent_a - sent_b) <= 6
            await harness.wait_done(a.id)
            await harness.wait_done(b.id)
        finally:
            await engine.stop()
        assert max_in_window(harness.server.sent_at) <= 20

    async def test_pause_resume_cancel(self, harness: Harness, store: Store) -> None:
        service = BroadcastService(harness.repo, harness.clock)
        job = await harness.job(list(range(4000, 4060)))
        engine = harness.engine(rate=20)
        service.engine = engine
        await engine.start()
        try:
            await harness.clock.sleep(0.6)
            assert await harness.control(service, job.id, "pause") == "paused"
            await harness.clock.sleep(0.5)
            paused_at = sum(harness.received().values())
            await harness.clock.sleep(1.0)
            assert sum(harness.received().values()) == paused_at  # nothing while paused
            assert await harness.control(service, job.id, "resume") == "running"
            await harness.clock.sleep(0.8)
            assert sum(harness.received().values()) > paused_at
            assert await harness.control(service, job.id, "cancel") == "cancelled"
            done = await harness.wait_done(job.id)
            assert done.status == "cancelled"
            await harness.clock.sleep(0.5)
            after_cancel = sum(harness.received().values())
            await harness.clock.sleep(1.0)
            assert sum(harness.received().values()) == after_cancel
        finally:
            await engine.stop()
        counts = await harness.repo.counts(job.id)
        assert counts.get("sent", 0) == after_cancel and counts.get("cancelled", 0) > 0
        assert counts.get("pending", 0) == 0 and counts.get("sending", 0) == 0
        assert service.engine is engine
        assert await service.control(job.id, "resume") is None

    async def test_scheduled_job_waits(self, harness: Harness) -> None:
        harness.server.rate_per_s = None
        job = await harness.repo.create(
            kind="platform",
            coop_id=None,
            text="nanti",
            photo=None,
            created_by=900,
            recipients=[1, 2],
            paid=False,
            language="en",
            audience={},
            scheduled_at=harness.clock.now() + timedelta(seconds=1.5),
        )
        assert job.status == "scheduled"
        engine = harness.engine(rate=20)
        await engine.start()
        try:
            await harness.clock.sleep(0.8)
            assert not harness.received()
            await harness.wait_done(job.id)
        finally:
            await engine.stop()
        assert sum(harness.received().values()) == 2


def test_parse_when() -> None:
    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # 17:00 WIB
    assert parse_when("17:30", now) == datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    assert parse_when("08:00", now) == datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # tomorrow
    assert parse_when("2026-12-24 08:00", now) == datetime(2026, 12, 24, 1, 0, tzinfo=UTC)
    for bad in ("kemarin", "25:00", "2025-01-01 08:00", "2027-12-24 08:00", ""):
        assert parse_when(bad, now) is None


def test_draft_reads_and_writes_the_stored_shape() -> None:
    # What the conversation stored before the draft was typed, e.g. after a restart.
    stored = {"kind": "coop", "coop_id": "a" * 24, "photo": None, "text": "<b>Rapat</b>"}
    draft = Draft.from_dict({**stored, "include_pending": True})
    assert draft.audience().as_dict() == {"coop_id": "a" * 24, "include_pending": True}
    # Written back the same way, without the keys that hold nothing.
    assert draft.to_dict() == {
        **{k: v for k, v in stored.items() if v is not None},
        "include_pending": True,
        "paid": False,
    }
    assert Draft.from_dict(draft.to_dict()) == draft


async def test_virtual_clock_jumps_and_holds() -> None:
    clock = VirtualClock(datetime(2026, 1, 1, tzinfo=UTC))
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic() - 1000.0))

    release = asyncio.Event()

    async def io() -> None:
        with clock.hold():  # time stands still until the "I/O" is done
            await release.wait()

    started = time.monotonic()
    tasks = [asyncio.create_task(c) for c in (io(), sleeper("b", 2.0), sleeper("a", 0.5))]
    await asyncio.sleep(0.05)
    assert woke == []
    release.set()
    await asyncio.gather(*tasks)
    assert woke == [("a", 0.5), ("b", 2.0)]
    assert clock.now() == datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC)
    assert time.monotonic() - started < 1.0
    await clock.aclose()


class TestCrash:
    async def test_killed_mid_broadcast_resumes_exactly_once(
        self, mongo_uri: str, tmp_path: Path
    ) -> None:
        fake = LocalBotApiServer()
        fake.api.latency = 0.05
        url = await fake.start()
        db = f"crash_{uuid.uuid4().hex[:8]}"
        store = Store.connect(mongo_uri, db)
        await store.ensure_indexes()
        repo = BroadcastRepository(store)
        users = list(range(20_000, 20_200))
        job = await repo.create(
            kind="platform",
            coop_id=None,
            text="Pengumuman",
            photo=None,
            created_by=900,
            recipients=users,
            paid=False,
            scheduled_at=None,
            language="id",
            audience={},
        )
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": "123456:ABC",
            "TELEGRAM_API_BASE_URL": url,
            "MONGODB_URI": mongo_uri,
            "MONGODB_DB": db,
            "DATA_KEY": "crash-key-0123456789",
            "BROADCAST_RATE": "40",
            "DATA_DIR": str(tmp_path / "var"),
        }

        def start(port: int) -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "bot", "webhook"],
                env={**env, "PORT": str(port)},
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        def delivered() -> Counter[int]:
            return Counter(
                int(c.params["chat_id"]) for c in fake.api.calls if c.method == "sendMessage"
            )

        from tests.test_web import free_port

        first = start(free_port())
        try:
            deadline = time.monotonic() + 60
            while sum(delivered().values()) < 60:
                assert time.monotonic() < deadline and first.poll() is None
                await asyncio.sleep(0.05)
            first.send_signal(signal.SIGKILL)  # a crash: no cleanup at all
            first.wait(10)
            at_crash = sum(delivered().values())
            assert at_crash < len(users)
            second = start(free_port())
            try:
                deadline = time.monotonic() + 90
                while True:
                    current = await repo.get(job.id)
                    if current is not None and current.status == "done":
                        break
                    assert time.monotonic() < deadline and second.poll() is None
                    await asyncio.sleep(0.2)
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(30)
        finally:
            if first.poll() is None:
                first.kill()
            await fake.stop()
        got = delivered()
        assert set(got) == set(users)  # everybody got it
        duplicates = sum(n - 1 for n in got.values())
        # Only what was in flight at the crash may come twice: at most the engine's
        # concurrency plus one flush interval of sends (README).
        assert duplicates <= 64 + 4
        assert (await repo.counts(job.id)) == {"sent": len(users)}
        await store.drop_database()
        await store.close()


@pytest.fixture
async def members(services: Services, backend: Backend) -> dict[str, Any]:
    await services.importer.import_bytes(csv_bytes(ROWS))
    coop = await services.directory.coops.get_by_key("reg:kk2")
    assert coop is not None
    await backend.admins.add(coop.id, 7001)
    ids = []
    for i, user in enumerate((3001, 3002, 3003)):
        app_id = await apply(services, user, coop.id, f"127105170890{i + 1:04d}", language="en")
        await services.membership.approve(app_id)
        ids.append(app_id)
    pending = await apply(services, 3004, coop.id, "1271051708900009", language="en")
    return {
        "coop": coop.id,
        "members": [3001, 3002, 3003],
        "pending": 3004,
        "pending_app": pending,
    }


class TestCompose:
    async def test_admin_announces_with_photo_and_members_can_mute(
        self, chat: Chat, services: Services, members: dict[str, Any]
    ) -> None:
        await chat.send("/admin", user_id=7001, language="en")
        await chat.tap("Announcement", user_id=7001, language="en")
        file_id = chat.api.register_file("poster.png", b"\x89PNG fake")
        await chat.message(
            user_id=7001,
            language="en",
            photo=[{"file_id": file_id, "file_unique_id": "u", "width": 10, "height": 10}],
            caption="Rapat Anggota Tahunan, Sabtu 09.00 <di balai desa>",
        )
        calls = await chat.tap("pending applicants", user_id=7001, language="en")
        preview = next(c for c in calls if c.method == "sendPhoto")
        assert preview.params["caption"] == (
            "📣 <b>Announcement from Koperasi Konsumen Sejahtera</b>\n\n"
            "Rapat Anggota Tahunan, Sabtu 09.00 &lt;di balai desa&gt;"
        )
        assert "Recipients: <b>4</b>" in texts(calls)[-1]
        calls = await chat.tap("Send now", user_id=7001, language="en")
        assert "Sending to 4 recipients" in texts(calls)[-1]
        engine = services.broadcast.engine
        assert engine is not None and await engine.idle(30)
        await asyncio.sleep(0.3)
        photos = [
            c
            for c in chat.api.calls
            if c.method == "sendPhoto" and c.params["chat_id"] in (3001, 3002, 3003, 3004)
        ]
        assert sorted(c.params["chat_id"] for c in photos) == [3001, 3002, 3003, 3004]
        finished = [
            c
            for c in chat.api.calls
            if c.method == "editMessageText"
            and "Announcement finished" in c.params.get("text", "")
        ]
        assert finished and "Delivered: 4" in finished[-1].params["text"]
        # A member mutes; the next announcement skips them.
        message = chat.api.last_with_buttons(3002)
        assert message is not None
        from bot.telegram.localapi import LocalBotApi

        calls = await chat.feed(
            chat.api.callback_update(LocalBotApi.user(3002, "en"), message, MUTE(members["coop"]))
        )
        assert (
            "Muted" in next(c for c in calls if c.method == "answerCallbackQuery").params["text"]
        )
        await chat.send("/admin", user_id=7001, language="en")
        await chat.tap("Announcement", user_id=7001, language="en")
        await chat.send("Iuran bulan ini", user_id=7001, language="en")
        calls = await chat.tap("Active members", user_id=7001, language="en")
        assert "Recipients: <b>2</b>" in texts(calls)[-1]

    async def test_only_admins_and_operators(self, chat: Chat, members: dict[str, Any]) -> None:
        calls = await _start_then(chat, members)
        assert any("not allowed" in c.params.get("text", "") for c in calls)
        await chat.send("/broadcast", user_id=7001, language="en")
        calls = chat.api.calls[-1:]
        assert "not allowed" in calls[0].params.get("text", "")


async def _start_then(chat: Chat, members: dict[str, Any]) -> list:
    await chat.send("/start", user_id=3001, language="en")
    await chat.send("/help", user_id=3001, language="en")
    return await chat.callback(COMPOSE(members["coop"]), user_id=3001, language="en")
