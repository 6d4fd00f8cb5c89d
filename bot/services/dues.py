"""What a member owes: simpanan pokok once, simpanan wajib every month, from the ledger.

The bot never handles money: it shows what the board recorded. The rules (UU 25/1992 and
the cooperative's AD/ART; amounts from its profile):

- **Simpanan pokok** is paid once; what is still open is ``pokok - paid pokok``.
- **Simpanan wajib** is due every month from the month of approval (in the cooperative's
  time zone) up to and including this month, on the board's due day. Payments count in
  order: with Rp10.000 a month, Rp25.000 pays two months and leaves Rp5.000 toward the
  third. "Paid through" is the last fully paid month.
- **Simpanan sukarela** is voluntary: never owed, shown as saved.
- Void entries count for nothing; a correction is a void plus a new entry.

:func:`dues_of` is pure (tested across month ends, mid-month joins, voids and
corrections); :class:`DuesService` reads the memberships and the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.services.timezones import coop_zone, local_date
from storage.base import Applications, Cooperatives, Ledger
from storage.models import LEDGER_KINDS, Application, Cooperative, LedgerEntry

ACTIVE = ("active",)  # what is owed is shown for active memberships (suspended: the board)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add_months(month: str, n: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + (mon - 1) + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, last: str) -> int:
    """How many months from ``first`` to ``last``, both included (0 if last < first)."""
    a = int(first[:4]) * 12 + int(first[5:7])
    b = int(last[:4]) * 12 + int(last[5:7])
    return max(0, b - a + 1)


@dataclass(frozen=True, slots=True)
class Dues:
    """One membership's money at ``today``."""

    coop: Cooperative
    application: Application
    today: date
    pokok: int  # the amount due once (0 when the cooperative set none)
    pokok_paid: int
    wajib: int  # per month (0 when none)
    first_month: str | None  # the month wajib starts (approval), "YYYY-MM"
    wajib_paid: int
    sukarela_paid: int
    paid_through: str | None  # the last fully paid wajib month, None when none
    due_day: int
    last_payment: LedgerEntry | None

    @property
    def pokok_open(self) -> int:
        return max(0, self.pokok - self.pokok_paid)

    @property
    def months_due(self) -> int:
        """Wajib months from approval through this month."""
        if not self.wajib or self.first_month is None:
            return 0
        return months_between(self.first_month, month_of(self.today))

    @property
    def wajib_open(self) -> int:
        """Wajib owed up to and including this month."""
        return max(0, self.months_due * self.wajib - self.wajib_paid)

    @property
    def this_month(self) -> int:
        """This month's wajib still open (the rest of :attr:`wajib_open` is arrears)."""
        return min(self.wajib, self.wajib_open)

    @property
    def arrears(self) -> int:
        """What is owed for earlier months, pokok included."""
        return self.wajib_open - self.this_month + self.pokok_open

    @property
    def arrears_months(self) -> int:
        """Earlier wajib months not fully paid."""
        if not self.wajib:
            return 0
        return -(-(self.wajib_open - self.this_month) // self.wajib)

    @property
    def total(self) -> int:
        return self.pokok_open + self.wajib_open

    @property
    def due_date(self) -> date:
        """This month's due day."""
        return self.today.replace(day=min(self.due_day, 28))

    @property
    def settled(self) -> bool:
        return self.total == 0


def dues_of(
    coop: Cooperative,
    application: Application,
    entries: list[LedgerEntry],
    today: date,
) -> Dues:
    """One membership's dues at ``today`` from its ledger entries (any order; voids
    ignored)."""
    valid = [e for e in entries if e.status == "valid" and e.application_id == application.id]
    paid = {kind: sum(e.amount for e in valid if e.kind == kind) for kind in LEDGER_KINDS}
    first = None
    if application.decided_at is not None:
        first = month_of(local_date(application.decided_at, coop_zone(coop)))
    wajib = coop.simpanan_wajib or 0
    through = None
    if wajib and first is not None and paid["wajib"] >= wajib:
        through = add_months(first, paid["wajib"] // wajib - 1)
    last = max(valid, key=lambda e: (e.paid_on, e.created_at), default=None)
    return Dues(
        coop=coop,
        application=application,
        today=today,
        pokok=coop.simpanan_pokok or 0,
        pokok_paid=paid["pokok"],
        wajib=wajib,
        first_month=first,
        wajib_paid=paid["wajib"],
        sukarela_paid=paid["sukarela"],
        paid_through=through,
        due_day=coop.payment.due_day if coop.payment else 10,
        last_payment=last,
    )


@dataclass(frozen=True, slots=True)
class Statement:
    """Everything a member owes across their memberships (``/tagihan``)."""

    dues: list[Dues]

    @property
    def total(self) -> int:
        return sum(d.total for d in self.dues)


class DuesService:
    """Reads memberships and ledgers; computes with :func:`dues_of`."""

    def __init__(self, apps: Applications, coops: Cooperatives, ledger: Ledger) -> None:
        self.apps = apps
        self.coops = coops
        self.ledger = ledger

    async def statement(self, user_id: int, now: datetime) -> Statement:
        """The member's dues in every active membership, at ``now``."""
        memberships = [a for a in await self.apps.for_user(user_id) if a.status in ACTIVE]
        if not memberships:
            return Statement([])
        coops = {c.id: c for c in await self.coops.get_many({a.coop_id for a in memberships})}
        entries = await self.ledger.for_memberships(a.id for a in memberships)
        out = []
        for application in memberships:
            coop = coops.get(application.coop_id)
            if coop is None:
                continue
            today = local_date(now, coop_zone(coop))
            out.append(dues_of(coop, application, entries, today))
        return Statement(out)

    async def of_membership(self, application: Application, now: datetime) -> Dues | None:
        coop = await self.coops.get(application.coop_id)
        if coop is None:
            return None
        entries = await self.ledger.for_memberships([application.id])
        return dues_of(coop, application, entries, local_date(now, coop_zone(coop)))
