"""Scheduled jobs: a turn while the database is away is skipped with one line, any other
error is raised (the application's error handler logs it)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from handlers.jobs import dues_reminders, waiting_times
from storage.mongo import is_unavailable


def context_with(run: Any) -> Any:
    services = SimpleNamespace(
        health=SimpleNamespace(unavailable=is_unavailable),
        sla=SimpleNamespace(run=run),
        reminders=SimpleNamespace(run=run),
    )
    return SimpleNamespace(bot_data=SimpleNamespace(services=services))


async def test_a_job_skips_its_turn_while_the_database_is_away(caplog) -> None:
    async def away(now: Any) -> None:
        raise AutoReconnect("database away")

    await waiting_times(context_with(away))
    await dues_reminders(context_with(away))
    assert "waiting-time reminders skipped: database unavailable" in caplog.text
    assert "dues reminders skipped: database unavailable" in caplog.text


async def test_other_errors_are_raised_and_no_services_is_nothing_to_do() -> None:
    ran: list[Any] = []

    async def broken(now: Any) -> None:
        ran.append(now)
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        await waiting_times(context_with(broken))
    assert len(ran) == 1
    await dues_reminders(SimpleNamespace(bot_data=SimpleNamespace(services=None)))  # type: ignore[arg-type]
