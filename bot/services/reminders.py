"""Monthly dues reminders: one message per member and month, gathering every cooperative
they owe.

**When.** Each cooperative's board sets its due day (1–28, ``PaymentInfo.due_day``); its
reminder day is :data:`DAYS_BEFORE` (3) days earlier, in the cooperative's own time zone,
and never before the 1st of the month (due days 1–3 are reminded on the 1st: a reminder
in the previous month would be about a month not yet due). A member of several
cooperatives is reminded once, on the earliest reminder day among the cooperatives where
they owe something: that message lists every cooperative they owe at that moment (this
month's simpanan wajib, arrears, an unpaid simpanan pokok), also those whose own reminder
day is later. Nothing more that month, whatever else comes due.

**Who.** Active members of cooperatives on the platform with a monthly simpanan wajib and
reminders on (the board can switch them off), who owe something there, have not muted
that cooperative's reminders (the 🔕 button in the reminder: ``mutes``, key
``dues:<coop_id>``), and were not approved in the last :data:`RECENT` days (they were just
told how to pay). A cooperative whose reminders are off or that the member muted is left
out of the gathered message too.

**Once, durably.** Before a member's notice is created, the mark ``"<user_id>:<YYYY-MM>"``
is inserted with a unique id (``storage/reminders.py``): a repeated run, a restart or a
second process finds it and skips the member. A crash between the mark and the queued
notice loses that member's reminder for the month rather than sending it twice. Once
queued, the broadcast engine (``BroadcastService.notify``, kind ``notice:dues``) paces
the messages and resumes them after a crash. A cooperative whose members were all looked
at this month is marked too, so the hourly runs after it read nothing of it again.

**At scale.** Only cooperatives whose reminder day has come and that were not yet looked
at this month are read, their active memberships in batches of :data:`BATCH` (ids only);
each batch queues one notice job. :meth:`ReminderService.run` takes the time, so tests
use virtual time; ``handlers/jobs.py`` runs it every hour and soon after each start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.services.broadcast import BroadcastService
from bot.services.dues import Dues, DuesService, month_of
from bot.services.timezones import coop_zone, local_date
from storage.base import DuesReminders
from storage.models import Cooperative, DuesMember, Notice

log = logging.getLogger(__name__)

DAYS_BEFORE = 3
RECENT = timedelta(days=7)
BATCH = 500
KIND = "notice:dues"


def reminder_day(due_day: int) -> int:
    """The day of the month a cooperative's members are reminded (never before the 1st)."""
    return max(1, due_day - DAYS_BEFORE)


def reminds(coop: Cooperative) -> bool:
    """Whether the cooperative's board wants its members reminded."""
    return coop.on_platform and (coop.payment is None or coop.payment.reminders)


class ReminderTexts(Protocol):
    """The reminder's words and buttons in its reader's language (``handlers/money``)."""

    async def reminder(self, user_id: int, owed: Sequence[Dues]) -> Notice: ...


@dataclass(slots=True)
class ReminderReport:
    """What one run did."""

    coops: int = 0  # cooperatives whose members were looked at
    reminded: int = 0  # members reminded (one notice each)


class ReminderService:
    """Decides who is reminded, marks them, and queues the notices."""

    def __init__(
        self,
        repo: DuesReminders,
        dues: DuesService,
        broadcast: BroadcastService,
        texts: ReminderTexts | None = None,
    ) -> None:
        self.repo = repo
        self.dues = dues
        self.broadcast = broadcast
        self.texts = texts

    async def run(self, now: datetime) -> ReminderReport:
        """Remind every member whose reminder day has come by ``now``; safe to repeat."""
        report = ReminderReport()
        if self.texts is None:  # nobody to write the words: nothing is marked either
            return report
        for coop in await self.repo.reminding_coops():
            today = local_date(now, coop_zone(coop))
            due_day = coop.payment.due_day if coop.payment else 10
            if today.day < reminder_day(due_day):
                continue
            month = month_of(today)
            if await self.repo.scanned(coop.id, month):
                continue
            after = None
            while batch := await self.repo.members(coop.id, after, BATCH):
                after = batch[-1].id
                await self._batch(coop, batch, month, now, report)
            await self.repo.mark_scanned(coop.id, month, now)
            report.coops += 1
        if report.reminded:
            log.info("dues reminders coops=%s reminded=%s", report.coops, report.reminded)
        return report

    async def _batch(
        self,
        coop: Cooperative,
        batch: list[DuesMember],
        month: str,
        now: datetime,
        report: ReminderReport,
    ) -> None:
        assert self.texts is not None
        users = sorted(
            {m.user_id for m in batch if m.decided_at is None or now - m.decided_at >= RECENT}
        )
        if not users:
            return
        done = await self.repo.reminded(users, month)
        muted = await self.repo.muted(users)
        notices = []
        for user_id in users:
            if user_id in done or (user_id, coop.id) in muted:
                continue
            statement = await self.dues.statement(user_id, now)
            owed = [
                d
                for d in statement.dues
                if not d.settled and reminds(d.coop) and (user_id, d.coop.id) not in muted
            ]
            if not any(d.coop.id == coop.id for d in owed):
                continue  # paid up here: another cooperative's day may still remind them
            if not await self.repo.claim(user_id, month, now):
                continue  # another run or process got there first
            notices.append(await self.texts.reminder(user_id, owed))
            report.reminded += 1
        if notices:
            await self.broadcast.notify(KIND, notices)

    async def mute(self, user_id: int, coop_id: str) -> None:
        """No more dues reminders about this cooperative for this member."""
        await self.repo.mute(user_id, coop_id)

    async def unmute(self, user_id: int, coop_id: str) -> None:
        await self.repo.unmute(user_id, coop_id)

    async def muted(self, user_id: int) -> set[str]:
        """The cooperatives whose dues reminders the member muted."""
        return {coop for _, coop in await self.repo.muted([user_id])}


def next_reminder(coop: Cooperative, today: date) -> date:
    """The cooperative's reminder date in ``today``'s month (for the board's screen)."""
    due_day = coop.payment.due_day if coop.payment else 10
    return today.replace(day=reminder_day(due_day))
