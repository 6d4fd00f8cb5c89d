"""Scheduled work. JobQueue jobs live in memory, so they are scheduled anew at every
start; what they act on is in the database, so a restart loses nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from telegram.ext import Application

from bot.context import BotContext
from bot.services.registry import Services

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 6 * 3600
SLA_EVERY_S = 3600  # reminders are due in days: an hour late is on time
DUES_EVERY_S = 3600  # a reminder day starts at midnight where the cooperative is


async def _run(
    context: BotContext, what: str, work: Callable[[Services], Awaitable[None]]
) -> None:
    """Run one job's ``work``; skip this turn (one log line) while the database is away."""
    services = context.bot_data.services
    if services is None:
        return
    try:
        await work(services)
    except Exception as exc:
        if services.health.unavailable(exc):
            log.warning("%s skipped: database unavailable", what)
            return
        raise


async def purge_expired(context: BotContext) -> None:
    """Erase personal data of rejected and withdrawn applications past retention."""

    async def purge(services: Services) -> None:
        purged = await services.privacy.purge_expired()
        claims = await services.claims.purge_expired()  # evidence past decision + retention
        proofs = await services.proofs.purge()  # receipts' images past decision + retention
        log.info("retention purge applications=%s claims=%s proofs=%s", purged, claims, proofs)

    await _run(context, "retention purge", purge)


async def waiting_times(context: BotContext) -> None:
    """Remind boards of applications waiting 3 days; tell operators and applicants at 7."""

    async def remind(services: Services) -> None:
        await services.sla.run(datetime.now(UTC))

    await _run(context, "waiting-time reminders", remind)


async def dues_reminders(context: BotContext) -> None:
    """Remind members of what they owe: once a month, all their cooperatives together."""

    async def remind(services: Services) -> None:
        await services.reminders.run(datetime.now(UTC))

    await _run(context, "dues reminders", remind)


def schedule(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            purge_expired, interval=RETENTION_EVERY_S, first=60, name="retention"
        )
        # At start too (soon after): the markers on the applications say what was sent.
        app.job_queue.run_repeating(
            waiting_times, interval=SLA_EVERY_S, first=30, name="waiting_times"
        )
        # At start too: the marks in the database say who was reminded this month.
        app.job_queue.run_repeating(
            dues_reminders, interval=DUES_EVERY_S, first=45, name="dues_reminders"
        )
