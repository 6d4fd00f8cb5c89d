"""Monthly dues reminders (issue 18, item 6): one message per member and month gathering
every cooperative they owe, a few days before the earliest due day; none when all is paid,
none twice, none for a muted cooperative; queued through the broadcast engine, so they
survive a restart. Virtual time: ``ReminderService.run(now)``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId

from bot.app import Backend, Services, build_application, build_services, running
from bot.config import Settings
from bot.services.reminders import reminder_day
from bot.telegram.localapi import LocalBotApi
from handlers.callbacks import BILLS, DUES_MUTE, DUES_UNMUTE
from tests.conftest import Chat
from tests.factories import BOARD, import_rows
from tests.test_cards import apply
from tests.test_membership import ROWS

OWES, PAID, MUTED = 1001, 1002, 1003
APPROVED = datetime(2026, 9, 15, 5, tzinfo=UTC)  # wajib from September 2026


def wib(day: int, month: int = 12, hour: int = 10) -> datetime:
    """A moment in Western Indonesia (UTC+7) in 2026 (or January 2027 for month 13)."""
    year = 2026 if month <= 12 else 2027
    return datetime(year, (month - 1) % 12 + 1, day, hour - 7, tzinfo=UTC)


async def member(services: Services, backend: Backend, user_id: int, coop_id: str) -> str:
    application_id = await apply(services, user_id, coop_id, f"12710557089{user_id:05d}")
    await services.membership.approve(application_id)
    await backend.store["applications"].update_one(
        {"_id": ObjectId(application_id)}, {"$set": {"decided_at": APPROVED}}
    )
    return application_id


@pytest.fixture
async def world(services: Services, backend: Backend) -> dict[str, Any]:
    """KDMP-1 (wajib Rp10.000, due day 10: reminded on the 7th) and KK-2 (Rp15.000, due day
    20: the 17th); three members of both: one owes everything, one paid all through
    December, one owes everything but muted KDMP-1's reminders."""
    ids: dict[Any, Any] = dict(await import_rows(services, ROWS, on_platform=True))
    await services.payments.set_due_day(BOARD, ids["KDMP-1"], "10")
    await services.payments.set_due_day(BOARD, ids["KK-2"], "20")
    for user_id in (OWES, PAID, MUTED):
        for ref in ("KDMP-1", "KK-2"):
            ids[(user_id, ref)] = await member(services, backend, user_id, ids[ref])
    for ref, pokok, wajib in (("KDMP-1", 100_000, 40_000), ("KK-2", 50_000, 60_000)):
        for kind, amount in (("pokok", pokok), ("wajib", wajib)):
            await backend.ledger.add(
                {
                    "coop_id": ids[ref],
                    "application_id": ids[(PAID, ref)],
                    "user_id": PAID,
                    "kind": kind,
                    "amount": amount,
                    "paid_on": "2026-12-01",
                    "created_by": BOARD,
                }
            )
    await services.reminders.mute(MUTED, ids["KDMP-1"])
    return ids


async def queued(backend: Backend) -> dict[int, list[dict[str, Any]]]:
    """The dues reminders queued so far: chat id → its notices (text, buttons)."""
    jobs = [str(j["_id"]) async for j in backend.store["broadcasts"].find({"kind": "notice:dues"})]
    found: dict[int, list[dict[str, Any]]] = {}
    async for r in backend.store["broadcast_recipients"].find({"broadcast_id": {"$in": jobs}}):
        found.setdefault(int(r["chat_id"]), []).append(r)
    return found


def data(notice: dict[str, Any]) -> list[str]:
    return [b.get("callback_data", "") for row in notice["buttons"] for b in row]


class TestReminders:
    def test_reminder_day(self) -> None:
        assert (reminder_day(10), reminder_day(4), reminder_day(2)) == (7, 1, 1)

    async def test_one_message_gathers_every_cooperative_owed(
        self, services: Services, backend: Backend, world: dict[str, Any]
    ) -> None:
        report = await services.reminders.run(wib(6))
        assert report.reminded == 0 and await queued(backend) == {}
        report = await services.reminders.run(wib(7))
        assert report.reminded == 1
        sent = await queued(backend)
        assert list(sent) == [OWES]  # PAID paid everything; MUTED muted KDMP-1
        (notice,) = sent[OWES]
        text = notice["text"]
        assert "Pengingat tagihan" in text
        # KDMP-1: pokok Rp100.000 + 4 months × Rp10.000; KK-2: Rp50.000 + 4 × Rp15.000.
        assert "Koperasi Kelurahan Merah Putih Kesawan</b>: Rp140.000" in text
        assert "Koperasi Konsumen Sejahtera</b>: Rp110.000" in text
        assert "Total: Rp250.000" in text
        assert data(notice)[0] == BILLS()
        assert sorted(data(notice)[1:]) == sorted(
            [DUES_MUTE(world["KDMP-1"]), DUES_MUTE(world["KK-2"])]
        )

    async def test_never_twice_in_a_month_and_again_next_month(
        self, services: Services, backend: Backend, world: dict[str, Any]
    ) -> None:
        await services.reminders.run(wib(7))
        await services.reminders.run(wib(8))
        report = await services.reminders.run(wib(17))
        # KK-2's day: only MUTED, who muted KDMP-1 (the 7th), is reminded now, of KK-2 only.
        assert report.reminded == 1
        sent = await queued(backend)
        assert len(sent[OWES]) == 1
        (notice,) = sent[MUTED]
        assert "Koperasi Konsumen Sejahtera" in notice["text"]
        assert "Kesawan" not in notice["text"]
        assert data(notice) == [BILLS(), DUES_MUTE(world["KK-2"])]
        assert (await services.reminders.run(wib(28))).reminded == 0
        # January: OWES again, and PAID, whose December payments do not cover January.
        report = await services.reminders.run(wib(7, 13))
        assert report.reminded == 2
        sent = await queued(backend)
        assert (len(sent[OWES]), len(sent[PAID])) == (2, 1)
        assert "Rp25.000" in sent[PAID][0]["text"]  # Rp10.000 + Rp15.000

    async def test_none_when_all_paid_or_reminders_off(
        self, services: Services, backend: Backend, world: dict[str, Any]
    ) -> None:
        await services.payments.set_reminders(BOARD, world["KDMP-1"], False)
        await services.payments.set_reminders(BOARD, world["KK-2"], False)
        assert (await services.reminders.run(wib(20))).reminded == 0
        await services.payments.set_reminders(BOARD, world["KK-2"], True)
        await services.reminders.run(wib(20))
        sent = await queued(backend)
        assert set(sent) == {OWES, MUTED}  # never PAID
        assert all("Kesawan" not in n["text"] for notices in sent.values() for n in notices)

    async def test_two_processes_and_a_restart_remind_once(
        self, services: Services, backend: Backend, settings: Settings, world: dict[str, Any]
    ) -> None:
        first, second = build_services(backend, settings), build_services(backend, settings)
        reports = await asyncio.gather(first.reminders.run(wib(7)), second.reminders.run(wib(7)))
        assert sum(r.reminded for r in reports) == 1
        restarted = build_services(backend, settings)
        assert (await restarted.reminders.run(wib(7, hour=11))).reminded == 0
        assert len((await queued(backend))[OWES]) == 1


async def delivered(api: LocalBotApi, user_id: int, within: float = 30) -> str:
    """The text of the first message sent to ``user_id`` (the engine runs in the
    background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        for call in api.calls:
            if call.method == "sendMessage" and call.params["chat_id"] == user_id:
                return str(call.params["text"])
        assert loop.time() < deadline, "not delivered"
        await asyncio.sleep(0.05)


async def test_a_reminder_queued_before_a_restart_is_delivered_after_it(
    services: Services, backend: Backend, settings: Settings, world: dict[str, Any]
) -> None:
    # The process that queued it stops before sending (no engine ran); a new one starts.
    assert (await services.reminders.run(wib(7))).reminded == 1
    api = LocalBotApi()
    fresh = build_services(backend, settings)
    app = build_application(settings, backend, services=fresh, request=api)
    async with running(app):
        text = await delivered(api, OWES)
        assert "Pengingat tagihan" in text and "Total: Rp250.000" in text
        chat = Chat(app, api)
        # The 🔕 button mutes that cooperative and becomes "remind me again".
        calls = await chat.tap("Jangan ingatkan untuk Koperasi Kelurahan", user_id=OWES)
        assert any(c.method == "answerCallbackQuery" for c in calls)
        assert await fresh.reminders.muted(OWES) == {world["KDMP-1"]}
        assert DUES_UNMUTE(world["KDMP-1"]) in [b.get("callback_data") for b in chat.buttons(OWES)]
        # January 17th (KK-2's day): all three owe January now, OWES no longer of KDMP-1.
        assert (await fresh.reminders.run(wib(17, 13))).reminded == 3
        january = (await queued(backend))[OWES][-1]["text"]
        assert "Kesawan" not in january and "Koperasi Konsumen Sejahtera" in january
    assert not api.errors
