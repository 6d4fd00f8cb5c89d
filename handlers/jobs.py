"""Scheduled work. JobQueue jobs live in memory, so they are scheduled anew at every
start; what they act on is in the database, so a restart loses nothing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from telegram.ext import Application

from bot.context import BotContext

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 6 * 3600
SLA_EVERY_S = 3600  # reminders are due in days: an hour late is on time
DUES_EVERY_S = 3600  # a reminder day starts at midnight where the cooperative is


async def purge_expired(context: BotContext) -> None:
    """Erase personal data of rejected and withdrawn applications past retention."""
    services = context.bot_data.services
    if services is None:
        return
    try:
        purged = await services.privacy.purge_expired()
        claims = await services.claims.purge_expired()  # evidence past decision + retention
        proofs = await services.proofs.purge()  # receipts' images past decision + retention
    except Exception as exc:
        if services.health.unavailable(exc):
            log.warning("retention purge skipped: database unavailable")
            return
        raise
    log.info("retention purge applications=%s claims=%s proofs=%s", purged, claims, proofs)


async def waiting_times(context: BotContext) -> None:
    """Remind boards of applications waiting 3 days; tell operators and applicants at 7."""
    services = context.bot_data.services
    if services is None:
        return
    try:
        await services.sla.run(datetime.now(UTC))
    except Exception as exc:
        if services.health.unavailable(exc):
            log.warning("waiting-time reminders skipped: database unavailable")
            return
        raise


async def dues_reminders(context: BotContext) -> None:
    """Remind members of what they owe: once a month, all their cooperatives together."""
    services = context.bot_data.services
    if services is None:
        return
    try:
        await services.reminders.run(datetime.now(UTC))
    except Exception as exc:
        if services.health.unavailable(exc):
            log.warning("dues reminders skipped: database unavailable")
            return
        raise


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
