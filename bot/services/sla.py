"""No silent waits: pending applications that wait too long are brought up, once each.

After :data:`REMIND_AFTER` (3 days) the cooperative's admins get a reminder (one message
per cooperative and run, however many of its applications came due); applications to a
cooperative that is not on the platform count for nobody here: it has no admins. After
:data:`ESCALATE_AFTER` (7 days) the platform's operators get one summary per run (every
cooperative with applications newly that old, on the platform or not) and each applicant
gets a status message in their language, with a Withdraw button.

Each step happens once per application: it is claimed by a conditional write of its marker
(``sla.reminded_at``, ``sla.escalated_at`` on the application) before anything is sent, so
a repeated run, a restart, or a second process running at the same time never tells anyone
twice. The messages go through the broadcast engine (``BroadcastService.notify``): paced,
and they survive a crash once queued. :meth:`SlaService.run` takes the time, so tests use a
fake clock; a repeating job (``handlers/jobs.py``) calls it with the real one.

The words and buttons are the Telegram layer's (:class:`SlaTexts`, ``handlers/sla.py``);
this module decides who is owed what.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot.services.broadcast import BroadcastService
from storage.base import Admins, Cooperatives, SlaQueue
from storage.models import Application, Cooperative, Notice

log = logging.getLogger(__name__)

REMIND_AFTER = timedelta(days=3)
ESCALATE_AFTER = timedelta(days=7)
BATCH = 500


@dataclass(slots=True)
class Overdue:
    """One cooperative's applications that came to 7 days of waiting in this run."""

    coop_id: str
    coop: Cooperative | None  # None: removed from the directory since
    count: int
    oldest: datetime


class SlaTexts(Protocol):
    """The messages, each in its reader's language (``handlers/sla.py``)."""

    async def reminder(self, admin_id: int, coop: Cooperative, count: int) -> Notice: ...
    async def escalation(self, operator_id: int, overdue: Sequence[Overdue]) -> Notice: ...
    async def status(self, application: Application, coop: Cooperative | None) -> Notice: ...


@dataclass(slots=True)
class SlaReport:
    """What one run did: applications reminded about and escalated, messages queued."""

    reminded: int = 0
    escalated: int = 0
    notices: dict[str, int] = field(default_factory=dict)  # kind → messages queued


class SlaService:
    """Reminders to boards and escalations to operators and applicants."""

    def __init__(
        self,
        apps: SlaQueue,
        coops: Cooperatives,
        admins: Admins,
        broadcast: BroadcastService,
        operators: frozenset[int],
        texts: SlaTexts | None = None,
    ) -> None:
        self.apps = apps
        self.coops = coops
        self.admins = admins
        self.broadcast = broadcast
        self.operators = operators
        self.texts = texts

    async def run(self, now: datetime) -> SlaReport:
        """Remind and escalate whatever came due by ``now``; safe to repeat."""
        report = SlaReport()
        if self.texts is None:  # nobody to render the words: nothing is claimed either
            return report
        run = uuid.uuid4().hex
        await self._remind(now, run, report)
        await self._escalate(now, run, report)
        if report.reminded or report.escalated:
            log.info(
                "sla run reminded=%s escalated=%s notices=%s",
                report.reminded,
                report.escalated,
                report.notices,
            )
        return report

    async def _due(self, stage: str, before: datetime) -> AsyncIterator[list[Application]]:
        """Every due application of ``stage``, in batches of at most :data:`BATCH`."""
        after = None
        while batch := await self.apps.sla_due(stage, before, after, BATCH):
            yield batch
            after = batch[-1].id

    async def _coops(self, ids: set[str]) -> dict[str, Cooperative]:
        return {c.id: c for c in await self.coops.get_many(ids)}

    async def _remind(self, now: datetime, run: str, report: SlaReport) -> None:
        assert self.texts is not None
        per_coop: dict[str, int] = defaultdict(int)
        coops: dict[str, Cooperative] = {}
        async for batch in self._due("reminded", now - REMIND_AFTER):
            known = await self._coops({a.coop_id for a in batch})
            # Off the platform: no admins to remind. Left unmarked, so the board is reminded
            # if it comes aboard while the application still waits.
            ids = [a.id for a in batch if a.coop_id in known and known[a.coop_id].on_platform]
            for application in await self.apps.sla_claim(ids, "reminded", now, run):
                per_coop[application.coop_id] += 1
                report.reminded += 1
            coops.update(known)
        notices = []
        for coop_id, count in per_coop.items():
            for admin_id in await self.admins.admins_of(coop_id):
                notices.append(await self.texts.reminder(admin_id, coops[coop_id], count))
        await self._notify("notice:sla_reminder", notices, report)

    async def _escalate(self, now: datetime, run: str, report: SlaReport) -> None:
        assert self.texts is not None
        overdue: dict[str, Overdue] = {}
        statuses = []
        async for batch in self._due("escalated", now - ESCALATE_AFTER):
            claimed = await self.apps.sla_claim([a.id for a in batch], "escalated", now, run)
            known = await self._coops({a.coop_id for a in claimed})
            for application in claimed:
                report.escalated += 1
                coop = known.get(application.coop_id)
                entry = overdue.setdefault(
                    application.coop_id,
                    Overdue(application.coop_id, coop, 0, application.created_at),
                )
                entry.count += 1
                entry.oldest = min(entry.oldest, application.created_at)
                statuses.append(await self.texts.status(application, coop))
        if overdue:
            listed = sorted(overdue.values(), key=lambda o: (-o.count, o.oldest))
            summaries = [await self.texts.escalation(op, listed) for op in sorted(self.operators)]
            await self._notify("notice:sla_escalation", summaries, report)
        await self._notify("notice:sla_status", statuses, report)

    async def _notify(self, kind: str, notices: list[Notice], report: SlaReport) -> None:
        if notices and await self.broadcast.notify(kind, notices) is not None:
            report.notices[kind] = len({n.chat_id for n in notices})
