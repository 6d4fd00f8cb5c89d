"""What a member owes (bot/services/dues.py) and the ledger it is read from
(storage/ledger.py): month ends, joining mid-month, voids, corrections, arrears, and
references that make an import idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.app import Backend
from bot.services.dues import add_months, dues_of, months_between
from storage.ledger import DuplicateReference
from storage.models import Application, Cooperative, LedgerEntry, Point

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def coop(pokok: int | None = 100_000, wajib: int | None = 10_000, **kw: Any) -> Cooperative:
    return Cooperative(
        id="c1",
        name="Koperasi Uji",
        type="konsumen",
        location=Point(-6.2, 106.8),
        simpanan_pokok=pokok,
        simpanan_wajib=wajib,
        areas=kw.pop("areas", ["31"]),
        **kw,
    )


def member(decided_at: datetime) -> Application:
    return Application(
        id="a1",
        number="GK-1",
        coop_id="c1",
        user_id=1,
        status="active",
        created_at=decided_at,
        decided_at=decided_at,
    )


def paid(kind: str, amount: int, on: date, *, status: str = "valid", n: int = 0) -> LedgerEntry:
    return LedgerEntry(
        id=f"e{n}",
        coop_id="c1",
        application_id="a1",
        member_number="KU-0001",
        kind=kind,
        amount=amount,
        paid_on=on,
        created_by=9,
        created_at=datetime(on.year, on.month, on.day, tzinfo=UTC),
        status=status,
    )


class TestMonths:
    def test_month_arithmetic(self) -> None:
        assert add_months("2026-11", 1) == "2026-12"
        assert add_months("2026-12", 1) == "2027-01"
        assert add_months("2027-01", -1) == "2026-12"
        assert months_between("2026-11", "2027-02") == 4
        assert months_between("2027-02", "2026-11") == 0


class TestDues:
    def test_nothing_paid_joined_this_month(self) -> None:
        d = dues_of(coop(), member(datetime(2026, 11, 3, tzinfo=UTC)), [], date(2026, 11, 29))
        assert (d.pokok_open, d.this_month, d.arrears, d.total) == (
            100_000,
            10_000,
            100_000,
            110_000,
        )
        assert d.paid_through is None and d.months_due == 1

    def test_joining_mid_month_counts_from_the_month_of_approval(self) -> None:
        # Approved 30 Nov 23:30 in Jakarta is 30 Nov 16:30 UTC; 30 Nov 20:00 UTC is already
        # 1 December in Jakarta: wajib starts in December.
        late = dues_of(
            coop(), member(datetime(2026, 11, 30, 20, 0, tzinfo=UTC)), [], date(2026, 12, 1)
        )
        assert late.first_month == "2026-12" and late.months_due == 1
        early = dues_of(
            coop(), member(datetime(2026, 11, 30, 16, 30, tzinfo=UTC)), [], date(2026, 12, 1)
        )
        assert early.first_month == "2026-11" and early.months_due == 2

    def test_month_end_and_arrears(self) -> None:
        joined = member(datetime(2026, 9, 15, tzinfo=UTC))
        entries = [
            paid("pokok", 100_000, date(2026, 9, 15), n=1),
            paid("wajib", 25_000, date(2026, 10, 1), n=2),  # Sep, Oct, and half of Nov
        ]
        end_of_nov = dues_of(coop(), joined, entries, date(2026, 11, 30))
        assert end_of_nov.paid_through == "2026-10"
        assert (end_of_nov.this_month, end_of_nov.arrears, end_of_nov.total) == (5_000, 0, 5_000)
        first_of_dec = dues_of(coop(), joined, entries, date(2026, 12, 1))
        assert (first_of_dec.this_month, first_of_dec.arrears) == (10_000, 5_000)
        assert first_of_dec.arrears_months == 1 and first_of_dec.total == 15_000
        new_year = dues_of(coop(), joined, entries, date(2027, 1, 1))
        assert new_year.months_due == 5 and new_year.wajib_open == 25_000

    def test_void_and_correction(self) -> None:
        joined = member(datetime(2026, 11, 1, tzinfo=UTC))
        entries = [
            paid("pokok", 100_000, date(2026, 11, 2), n=1),
            paid("wajib", 100_000, date(2026, 11, 2), status="void", n=2),  # a typo, voided
            paid("wajib", 10_000, date(2026, 11, 2), n=3),  # the correction
        ]
        d = dues_of(coop(), joined, entries, date(2026, 11, 20))
        assert d.wajib_paid == 10_000 and d.total == 0 and d.settled
        assert d.paid_through == "2026-11"

    def test_sukarela_is_never_owed_and_overpaying_runs_ahead(self) -> None:
        joined = member(datetime(2026, 11, 1, tzinfo=UTC))
        entries = [
            paid("pokok", 100_000, date(2026, 11, 2), n=1),
            paid("wajib", 120_000, date(2026, 11, 2), n=2),  # a year ahead
            paid("sukarela", 50_000, date(2026, 11, 3), n=3),
        ]
        d = dues_of(coop(), joined, entries, date(2026, 11, 20))
        assert d.total == 0 and d.sukarela_paid == 50_000 and d.paid_through == "2027-10"
        assert d.last_payment is not None and d.last_payment.kind == "sukarela"

    def test_no_amounts_set_means_nothing_owed(self) -> None:
        d = dues_of(
            coop(None, None), member(datetime(2026, 1, 1, tzinfo=UTC)), [], date(2026, 11, 1)
        )
        assert d.total == 0 and d.months_due == 0

    def test_wita_cooperative_uses_its_own_month(self) -> None:
        bali = coop(areas=["51"])
        # 31 Oct 16:30 UTC is 1 Nov 00:30 in Bali (WITA) but still 31 Oct in Jakarta.
        d = dues_of(
            bali, member(datetime(2026, 10, 31, 16, 30, tzinfo=UTC)), [], date(2026, 11, 5)
        )
        assert d.first_month == "2026-11"


class TestLedger:
    async def test_references_are_unique_per_cooperative(self, backend: Backend) -> None:
        row = {
            "coop_id": "c1",
            "application_id": "a1",
            "kind": "wajib",
            "amount": 10_000,
            "paid_on": date(2026, 11, 2),
            "reference": "TRF-1",
            "created_by": 9,
        }
        first = await backend.ledger.add(row)
        with pytest.raises(DuplicateReference):
            await backend.ledger.add(row)
        await backend.ledger.add({**row, "coop_id": "c2"})  # another cooperative: fine
        added, duplicates = await backend.ledger.add_many(
            [row, {**row, "reference": "TRF-2"}, {**row, "reference": None}]
        )
        assert (added, duplicates) == (2, ["TRF-1"])
        # A void frees the reference for the corrected payment.
        voided = await backend.ledger.void(first.id, "salah nominal", actor=9)
        assert voided is not None and voided.status == "void" and voided.reference is None
        assert await backend.ledger.void(first.id, "lagi", actor=9) is None  # once
        fixed = await backend.ledger.add({**row, "amount": 15_000, "replaces": first.id})
        assert fixed.replaces == first.id and fixed.paid_on == date(2026, 11, 2)
        entries = await backend.ledger.for_memberships(["a1"])
        assert len(entries) == 5 and sum(e.status == "void" for e in entries) == 1

    async def test_erasure_keeps_the_bookkeeping_not_the_person(self, backend: Backend) -> None:
        row = {
            "coop_id": "c1",
            "application_id": "a1",
            "user_id": 42,
            "kind": "pokok",
            "amount": 100_000,
            "paid_on": date(2026, 11, 2),
            "note": "dibayar oleh Siti",
            "created_by": 9,
        }
        await backend.ledger.add(row)
        assert await backend.ledger.unlink_user(42) == 1
        assert await backend.ledger.for_user(42) == []
        (entry,) = await backend.ledger.for_coop("c1")
        assert entry.amount == 100_000 and entry.user_id is None and entry.note is None
