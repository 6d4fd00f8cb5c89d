"""No silent waits (issue 15, item 5): a pending application is brought to its board after
3 days and to the operators and the applicant after 7 — once each, whatever runs again,
restarts or runs at the same time. The clock is a parameter: ``SlaService.run(now)``."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import Backend, Services, build_services
from bot.config import Settings
from handlers.callbacks import QUEUE, WITHDRAW_ASK
from tests.conftest import Chat
from tests.factories import import_rows
from tests.test_cards import apply
from tests.test_membership import ROWS

ADMIN = 7001  # admin of KK-2 (on the platform); KSP-3 has none
OPERATOR = 900  # ADMIN_IDS in the test settings
ON, OFF = 1001, 1004  # applicants to KK-2 and to KSP-3
DAY = timedelta(days=1)


@pytest.fixture
async def world(services: Services) -> dict[str, Any]:
    ids: dict[str, Any] = await import_rows(services, ROWS)
    await services.board.grant(ids["KK-2"], ADMIN, actor=0, how="cli")
    ids["on"] = await apply(services, ON, ids["KK-2"], "1271055708900001", language="en")
    # KSP-3 took the application while it had a board, which then left it.
    await services.board.grant(ids["KSP-3"], ADMIN + 1, actor=0, how="cli")
    ids["off"] = await apply(services, OFF, ids["KSP-3"], "1271055708900004", language="id")
    await services.board.revoke(ids["KSP-3"], ADMIN + 1, actor=0, how="cli")
    ids["t0"] = datetime.now(UTC)
    return ids


async def queued(backend: Backend, kind: str) -> dict[int, list[dict[str, Any]]]:
    """The notices of ``kind`` queued so far: chat id → the messages (text, buttons)."""
    jobs = [str(j["_id"]) async for j in backend.store["broadcasts"].find({"kind": kind})]
    found: dict[int, list[dict[str, Any]]] = {}
    async for r in backend.store["broadcast_recipients"].find({"broadcast_id": {"$in": jobs}}):
        found.setdefault(int(r["chat_id"]), []).append(r)
    return found


def data(notice: dict[str, Any]) -> list[str]:
    return [b.get("callback_data", "") for row in notice["buttons"] for b in row]


class TestReminders:
    async def test_day_two_nothing_day_three_once(
        self, services: Services, backend: Backend, world: dict[str, Any]
    ) -> None:
        t0 = world["t0"]
        report = await services.sla.run(t0 + 2 * DAY)
        assert (report.reminded, report.escalated) == (0, 0)
        assert await queued(backend, "notice:sla_reminder") == {}

        report = await services.sla.run(t0 + 3 * DAY)
        # Only the cooperative on the platform: KSP-3 has no admins to remind.
        assert (report.reminded, report.escalated) == (1, 0)
        reminders = await queued(backend, "notice:sla_reminder")
        assert list(reminders) == [ADMIN]
        (notice,) = reminders[ADMIN]
        assert "Koperasi Konsumen Sejahtera" in notice["text"] and "3 hari" in notice["text"]
        assert data(notice) == [QUEUE(world["KK-2"], 0)]

        report = await services.sla.run(t0 + 3 * DAY + timedelta(hours=1))
        assert (report.reminded, report.escalated) == (0, 0)
        assert len((await queued(backend, "notice:sla_reminder"))[ADMIN]) == 1

    async def test_day_seven_operators_and_applicants(
        self, services: Services, backend: Backend, world: dict[str, Any]
    ) -> None:
        t0 = world["t0"]
        await services.sla.run(t0 + 3 * DAY)
        report = await services.sla.run(t0 + 7 * DAY)
        assert (report.reminded, report.escalated) == (0, 2)
        (summary,) = (await queued(backend, "notice:sla_escalation"))[OPERATOR]
        text = summary["text"]
        assert "2 permohonan" in text
        assert "Koperasi Konsumen Sejahtera" in text and "KSP Maju Bersama" in text
        assert text.count("belum ada admin") == 1  # KSP-3 is off the platform
        statuses = await queued(backend, "notice:sla_status")
        assert set(statuses) == {ON, OFF}
        (on,) = statuses[ON]  # applied in English, never seen by the bot since
        assert "is still waiting for the board's decision" in on["text"]
        assert data(on) == [WITHDRAW_ASK(world["on"])]
        (off,) = statuses[OFF]
        assert "belum memiliki admin" in off["text"]
        assert data(off) == [WITHDRAW_ASK(world["off"])]
        # Nobody is told twice.
        report = await services.sla.run(t0 + 8 * DAY)
        assert (report.reminded, report.escalated) == (0, 0)
        assert len((await queued(backend, "notice:sla_status"))[ON]) == 1
        assert len((await queued(backend, "notice:sla_escalation"))[OPERATOR]) == 1

    async def test_a_cooperative_that_comes_aboard_hears_of_its_waiting_applicants(
        self, services: Services, backend: Backend, world: dict[str, Any]
    ) -> None:
        t0 = world["t0"]
        await services.sla.run(t0 + 4 * DAY)
        assert list(await queued(backend, "notice:sla_reminder")) == [ADMIN]
        await services.board.grant(world["KSP-3"], 7002, actor=0, how="cli")
        report = await services.sla.run(t0 + 5 * DAY)
        assert report.reminded == 1
        assert set(await queued(backend, "notice:sla_reminder")) == {ADMIN, 7002}

    async def test_decided_applications_are_never_reminded(
        self, services: Services, backend: Backend, world: dict[str, Any]
    ) -> None:
        await services.membership.approve(world["on"])
        await services.membership.withdraw(OFF, world["off"])
        report = await services.sla.run(world["t0"] + 30 * DAY)
        assert (report.reminded, report.escalated) == (0, 0)
        assert not await backend.store["broadcasts"].count_documents({"kind": {"$regex": "sla"}})

    async def test_a_restart_or_a_second_process_does_not_resend(
        self, services: Services, backend: Backend, settings: Settings, world: dict[str, Any]
    ) -> None:
        t0 = world["t0"]
        # Two processes at once over the same database: each application is told once.
        first, second = build_services(backend, settings), build_services(backend, settings)
        reports = await asyncio.gather(first.sla.run(t0 + 7 * DAY), second.sla.run(t0 + 7 * DAY))
        assert sum(r.reminded for r in reports) == 1
        assert sum(r.escalated for r in reports) == 2
        # After a restart (new objects, same database) nothing is sent again.
        restarted = build_services(backend, replace(settings, admin_ids=frozenset({900, 901})))
        report = await restarted.sla.run(t0 + 9 * DAY)
        assert (report.reminded, report.escalated) == (0, 0)
        assert len((await queued(backend, "notice:sla_reminder"))[ADMIN]) == 1
        assert len((await queued(backend, "notice:sla_status"))[ON]) == 1
        assert len((await queued(backend, "notice:sla_status"))[OFF]) == 1


async def delivered(chat: Chat, user_id: int, within: float = 30, *, saying: str = "") -> str:
    """The text of the first message the broadcast engine sends ``user_id`` (that contains
    ``saying``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        for call in chat.api.calls:
            if (
                call.method == "sendMessage"
                and call.params["chat_id"] == user_id
                and saying in str(call.params["text"])
            ):
                return str(call.params["text"])
        assert loop.time() < deadline, "not delivered"
        await asyncio.sleep(0.05)  # the engine runs in the background


async def test_withdraw_from_the_status_message(
    chat: Chat, services: Services, world: dict[str, Any]
) -> None:
    await services.sla.run(world["t0"] + 7 * DAY)
    # (The first message OFF got said its cooperative's board had left.)
    text = await delivered(chat, OFF, saying="masih menunggu")
    assert "masih menunggu" in text
    calls = await chat.tap("Batalkan permohonan", user_id=OFF, language="id")
    assert any("Batalkan permohonan Anda ke" in c.params.get("text", "") for c in calls)
    await chat.tap("Ya, batalkan", user_id=OFF, language="id")
    application = await services.membership.apps.get(world["off"])
    assert application is not None and application.status == "withdrawn"
    # The admin's reminder opens the queue.
    reminder = await delivered(chat, ADMIN)
    assert "3 hari" in reminder
    calls = await chat.tap("Buka permohonan", user_id=ADMIN, language="id")
    assert any("Permohonan" in c.params.get("text", "") for c in calls)
