"""The board's ledger: record, void and correct members' payments, import a spreadsheet,
and the board's view (who owes, totals per month and per kind, an .xlsx export).

Only a cooperative's admins see or change its ledger: every method takes the acting user's
id and passes :meth:`AdminService.authorize` (a refusal is audited there), and every change
is written to the audit log. Entries are never deleted (``storage/ledger.py``): a void keeps
the entry with its reason; a correction voids it and adds the corrected entry that
``replaces`` it. What a member owes is :func:`bot.services.dues.dues_of`, as in /tagihan.

Counting who is in arrears reads a cooperative's active members and its ledger: cheap for
one cooperative (its panel), linear in the platform's memberships for the operators'
/stats. The platform count is therefore cached per cooperative for ten minutes (this
service's own writes refresh it at once); at national scale it belongs in a counter kept
with each write (say so to whoever scales it).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from bot.i18n import Translator
from bot.services.admin import MEMBER_STATUSES, AdminService
from bot.services.catalog import N_
from bot.services.dues import ACTIVE, Dues, add_months, dues_of, month_of
from bot.services.importer import RowError
from bot.services.ledgerinput import (
    LedgerInputError,
    cell_text,
    parse_day,
    parse_kind,
    parse_money,
    read_file,
)
from bot.services.spreadsheet import xlsx
from bot.services.text import clean_line
from bot.services.timezones import coop_zone, local_date
from storage.base import Applications, Cooperatives, Ledger
from storage.ledger import DuplicateReference
from storage.models import LEDGER_KINDS, Application, Cooperative, LedgerEntry

KIND_LABELS = {
    "pokok": N_("Simpanan pokok"),
    "wajib": N_("Simpanan wajib"),
    "sukarela": N_("Simpanan sukarela"),
}
STATUS_LABELS = {"valid": N_("valid"), "void": N_("void")}
MAX_NOTE = 200
CACHE_SECONDS = 600
ALL = 1_000_000


@dataclass(frozen=True, slots=True)
class Owing:
    """A member who owes something, for the arrears list."""

    member: Application
    dues: Dues


@dataclass(slots=True)
class Totals:
    months: list[str]  # the last 12, "YYYY-MM", oldest first
    per_month: list[int]  # valid payments in each
    per_kind: dict[str, int]  # every valid payment, by kind
    total: int


@dataclass(slots=True)
class ImportResult:
    rows: int = 0
    added: list[LedgerEntry] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # references already in the ledger
    errors: list[RowError] = field(default_factory=list)


def describe_row_error(error: RowError, _: Any) -> str:
    """One translated sentence for a rejected ledger row."""
    messages = {
        "columns": _("the row has more columns than the header"),
        "member_missing": _("the member number is empty"),
        "member_unknown": _("no member has the number “{value}”"),
        "date_invalid": _("“{value}” is not a date (use dd/mm/yyyy)"),
        "date_future": _("the date {value} is in the future"),
        "date_too_old": _("the date {value} is too long ago"),
        "kind_unknown": _("unknown kind “{value}” (use pokok, wajib or sukarela)"),
        "amount_invalid": _("“{value}” is not an amount in rupiah"),
        "amount_fraction": _("“{value}” is not a whole rupiah amount"),
        "amount_zero": _("the amount “{value}” is not more than zero"),
        "amount_too_large": _("the amount “{value}” is more than Rp1,000,000,000"),
        "reference_missing": _("the reference is empty (every payment needs its own)"),
        "reference_duplicate": _("the same reference as line {value}"),
    }
    return messages.get(error.code, error.code).format(value=error.value or "")


class LedgerService:
    def __init__(
        self, admin: AdminService, apps: Applications, coops: Cooperatives, ledger: Ledger
    ) -> None:
        self.admin = admin
        self.apps = apps
        self.coops = coops
        self.ledger = ledger
        self._owing: dict[str, tuple[float, int]] = {}  # coop id → (when, members owing)

    # --- reading -----------------------------------------------------------------------

    async def coop(self, actor: int, coop_id: str, action: str = "ledger_view") -> Cooperative:
        return await self.admin.require_coop(actor, coop_id, action)

    async def find_members(
        self, actor: int, coop_id: str, query: str, limit: int = 10
    ) -> tuple[list[Application], int]:
        """Members by number or name (a search of the register)."""
        await self.coop(actor, coop_id)
        return await self.admin.members(actor, coop_id, query=query.strip()[:100], limit=limit)

    async def membership(
        self, actor: int, application_id: str, action: str = "ledger_view"
    ) -> tuple[Application, Cooperative]:
        """A member (active, suspended or gone) of a cooperative ``actor`` runs."""
        application, coop = await self.admin.require_application(actor, application_id, action)
        if application.status not in (*MEMBER_STATUSES, "left"):
            raise await self.admin.refuse(actor, action, coop_id=coop.id, target=application_id)
        return application, coop

    async def history(
        self, actor: int, application_id: str, now: datetime | None = None
    ) -> tuple[Application, Cooperative, list[LedgerEntry], Dues]:
        """A member's ledger (newest first, voids included) and what they owe."""
        application, coop = await self.membership(actor, application_id)
        entries = await self.ledger.for_memberships([application.id])
        today = local_date(now or datetime.now(UTC), coop_zone(coop))
        dues = dues_of(coop, application, entries, today)
        return application, coop, entries[::-1], dues

    async def entry(
        self, actor: int, entry_id: str, action: str = "ledger_view"
    ) -> tuple[LedgerEntry, Cooperative]:
        entry = await self.ledger.get(entry_id)
        if entry is None:
            raise await self.admin.refuse(actor, action, target=entry_id)
        coop = await self.coop(actor, entry.coop_id, action)
        return entry, coop

    def today(self, coop: Cooperative, now: datetime | None = None) -> date:
        return local_date(now or datetime.now(UTC), coop_zone(coop))

    # --- changing ------------------------------------------------------------------------

    async def record(
        self,
        actor: int,
        application_id: str,
        *,
        kind: str,
        amount: int,
        paid_on: date,
        note: str | None = None,
        now: datetime | None = None,
    ) -> tuple[LedgerEntry, Cooperative]:
        """Record a payment the board received; raises :class:`LedgerInputError`."""
        application, coop = await self.membership(actor, application_id, "ledger_record")
        values = self._values(coop, application, kind, amount, paid_on, note, now)
        entry = await self.ledger.add({**values, "created_by": actor, "source": "board"})
        self._owing.pop(coop.id, None)
        await self.admin.record(
            actor, "ledger_record", coop_id=coop.id, target=entry.id, kind=kind, amount=amount
        )
        return entry, coop

    async def void(
        self, actor: int, entry_id: str, reason: str, now: datetime | None = None
    ) -> tuple[LedgerEntry | None, Cooperative]:
        """Void an entry with a reason; None when it was void already (another admin)."""
        entry, coop = await self.entry(actor, entry_id, "ledger_void")
        reason = _reason(reason)
        voided = await self.ledger.void(entry.id, reason, actor, now)
        self._owing.pop(coop.id, None)
        await self.admin.record(
            actor,
            "ledger_void",
            coop_id=coop.id,
            target=entry.id,
            outcome="ok" if voided else "already_void",
        )
        return voided, coop

    async def correct(
        self,
        actor: int,
        entry_id: str,
        reason: str,
        *,
        kind: str,
        amount: int,
        paid_on: date,
        note: str | None = None,
        now: datetime | None = None,
    ) -> tuple[LedgerEntry | None, Cooperative]:
        """Void ``entry_id`` and add the corrected payment that replaces it (keeping its
        reference); None when the entry was void already."""
        old, coop = await self.entry(actor, entry_id, "ledger_correct")
        application, _ = await self.membership(actor, old.application_id, "ledger_correct")
        reason = _reason(reason)
        values = self._values(coop, application, kind, amount, paid_on, note, now)
        if await self.ledger.void(old.id, reason, actor, now) is None:
            await self.admin.record(
                actor, "ledger_correct", coop_id=coop.id, target=old.id, outcome="already_void"
            )
            return None, coop
        values.update(created_by=actor, source=old.source, replaces=old.id)
        values["reference"] = old.reference
        try:
            new = await self.ledger.add(values)
        except DuplicateReference:  # the freed reference was taken meanwhile: keep it off
            values["reference"] = None
            new = await self.ledger.add(values)
        self._owing.pop(coop.id, None)
        await self.admin.record(
            actor,
            "ledger_correct",
            coop_id=coop.id,
            target=old.id,
            new=new.id,
            kind=kind,
            amount=amount,
        )
        return new, coop

    def _values(
        self,
        coop: Cooperative,
        application: Application,
        kind: str,
        amount: int,
        paid_on: date,
        note: str | None,
        now: datetime | None,
    ) -> dict[str, Any]:
        if kind not in LEDGER_KINDS:
            raise LedgerInputError("kind_unknown")
        amount = parse_money(amount)
        paid_on = parse_day(paid_on, self.today(coop, now))
        return {
            "coop_id": coop.id,
            "application_id": application.id,
            "member_number": application.member_number,
            "user_id": application.user_id,
            "kind": kind,
            "amount": amount,
            "paid_on": paid_on,
            "note": clean_line(note, MAX_NOTE) or None if note else None,
        }

    # --- import --------------------------------------------------------------------------

    async def import_file(
        self, actor: int, coop_id: str, data: bytes, filename: str, now: datetime | None = None
    ) -> ImportResult:
        """Validate every row, add the valid ones; a reference already in the ledger is
        skipped (a re-import adds nothing). Raises ``ImportFileError`` for the whole file."""
        coop = await self.coop(actor, coop_id, "ledger_import")
        rows = read_file(data, filename)
        members, _ = await self.apps.members(coop.id, (*MEMBER_STATUSES, "left"), limit=ALL)
        by_number = {m.member_number.upper(): m for m in members if m.member_number}
        today = self.today(coop, now)
        result = ImportResult(rows=len(rows))
        valid: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for row in rows:
            values, error = _row(row.line, row.values, by_number, today, seen)
            if error is not None:
                result.errors.append(error)
            elif values is not None:
                valid.append({**values, "coop_id": coop.id, "created_by": actor})
        added, result.already = await self.ledger.add_many(valid, now)
        if added:
            self._owing.pop(coop.id, None)
            fresh = {v["reference"] for v in valid} - set(result.already)
            entries = await self.ledger.for_memberships({v["application_id"] for v in valid})
            result.added = [
                e
                for e in entries
                if e.reference in fresh and e.status == "valid" and e.source == "import"
            ]
        await self.admin.record(
            actor,
            "ledger_import",
            coop_id=coop.id,
            rows=result.rows,
            added=added,
            already=len(result.already),
            rejected=len(result.errors),
        )
        return result

    # --- the board's view ----------------------------------------------------------------

    async def owing(self, actor: int, coop_id: str, now: datetime | None = None) -> list[Owing]:
        """Active members who owe something, the largest amount first."""
        coop = await self.coop(actor, coop_id)
        found = await self._owing_in(coop, now)
        return sorted(found, key=lambda o: (-o.dues.total, o.member.member_number or ""))

    async def arrears_count(self, actor: int, coop_id: str, now: datetime | None = None) -> int:
        """How many active members owe for earlier months (the panel's line)."""
        coop = await self.coop(actor, coop_id)
        return sum(1 for o in await self._owing_in(coop, now) if o.dues.arrears > 0)

    async def _owing_in(self, coop: Cooperative, now: datetime | None) -> list[Owing]:
        if not (coop.simpanan_pokok or coop.simpanan_wajib):
            return []
        members, _ = await self.apps.members(coop.id, ACTIVE, limit=ALL)
        entries = await self.ledger.for_coop(coop.id, valid_only=True)
        by_member: dict[str, list[LedgerEntry]] = defaultdict(list)
        for entry in entries:
            by_member[entry.application_id].append(entry)
        today = self.today(coop, now)
        found = [Owing(m, dues_of(coop, m, by_member[m.id], today)) for m in members]
        owing = [o for o in found if o.dues.total > 0]
        self._owing[coop.id] = (time.monotonic(), sum(1 for o in owing if o.dues.arrears > 0))
        return owing

    async def totals(self, actor: int, coop_id: str, now: datetime | None = None) -> Totals:
        """Valid payments in each of the last 12 months, and by kind."""
        coop = await self.coop(actor, coop_id)
        entries = await self.ledger.for_coop(coop.id, valid_only=True)
        this = month_of(self.today(coop, now))
        months = [add_months(this, -i) for i in range(11, -1, -1)]
        per_month: dict[str, int] = defaultdict(int)
        per_kind = dict.fromkeys(LEDGER_KINDS, 0)
        for entry in entries:
            per_month[month_of(entry.paid_on)] += entry.amount
            per_kind[entry.kind] = per_kind.get(entry.kind, 0) + entry.amount
        return Totals(
            months=months,
            per_month=[per_month[m] for m in months],
            per_kind=per_kind,
            total=sum(per_kind.values()),
        )

    async def export(self, actor: int, coop_id: str, t: Translator) -> bytes:
        """The whole ledger (voids included) as .xlsx, headers in ``t``'s language."""
        coop = await self.coop(actor, coop_id, "ledger_export")
        entries = await self.ledger.for_coop(coop.id)
        _ = t.gettext
        headers = [
            _("Member number"),
            _("Date"),
            _("Kind"),
            _("Amount (Rp)"),
            _("Reference"),
            _("Note"),
            _("Status"),
            _("Reason for the void"),
        ]
        rows = [
            [
                e.member_number or "",
                e.paid_on,
                _(KIND_LABELS.get(e.kind, e.kind)),
                e.amount,
                e.reference,
                e.note,
                _(STATUS_LABELS.get(e.status, e.status)),
                e.void_reason,
            ]
            for e in entries
        ]
        await self.admin.record(actor, "ledger_export", coop_id=coop.id, rows=len(rows))
        return xlsx(_("Ledger"), headers, rows, text_columns=(0, 4))

    async def platform_arrears(self, actor: int, now: datetime | None = None) -> int:
        """Members in arrears across the platform (operators' /stats): see the module's
        docstring for the cost and the cache."""
        await self.admin.require_operator(actor, "platform_stats")
        per_coop = await self.apps.count_by_coop_and_status()
        coop_ids = sorted({c for (c, status), n in per_coop.items() if status == "active" and n})
        count = 0
        stale: list[str] = []
        for coop_id in coop_ids:
            cached = self._owing.get(coop_id)
            if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
                count += cached[1]
            else:
                stale.append(coop_id)
        for coop in await self.coops.get_many(stale):
            count += sum(1 for o in await self._owing_in(coop, now) if o.dues.arrears > 0)
        return count


def _reason(reason: str) -> str:
    reason = clean_line(reason, 300)
    if len(reason) < 3:
        raise LedgerInputError("reason_short")
    return reason


def _row(
    line: int,
    values: dict[str, Any],
    members: dict[str, Application],
    today: date,
    seen: dict[str, int],
) -> tuple[dict[str, Any] | None, RowError | None]:
    """One file row as a ledger entry's values, or the first thing wrong with it."""
    if values.get("__columns__"):
        return None, RowError(line, "columns")
    number = cell_text(values.get("member_number")).upper()
    if not number:
        return None, RowError(line, "member_missing", "member_number")
    member = members.get(number)
    if member is None:
        return None, RowError(line, "member_unknown", "member_number", number[:40])
    raw_date = values.get("date")
    try:
        paid_on = parse_day(raw_date if isinstance(raw_date, date) else cell_text(raw_date), today)
    except LedgerInputError as error:
        shown = raw_date.date().isoformat() if isinstance(raw_date, datetime) else raw_date
        return None, RowError(line, error.code, "date", cell_text(shown)[:40])
    try:
        kind = parse_kind(cell_text(values.get("kind")))
    except LedgerInputError as error:
        return None, RowError(line, error.code, "kind", cell_text(values.get("kind"))[:40])
    raw_amount = values.get("amount")
    try:
        amount = parse_money(
            raw_amount if isinstance(raw_amount, int | float) else cell_text(raw_amount)
        )
    except LedgerInputError as error:
        return None, RowError(line, error.code, "amount", cell_text(raw_amount)[:40])
    reference = cell_text(values.get("reference"))[:100]
    if not reference:
        return None, RowError(line, "reference_missing", "reference")
    if reference in seen:
        return None, RowError(line, "reference_duplicate", "reference", str(seen[reference]))
    seen[reference] = line
    note = clean_line(cell_text(values.get("note")), MAX_NOTE) or None
    return {
        "application_id": member.id,
        "member_number": member.member_number,
        "user_id": member.user_id,
        "kind": kind,
        "amount": amount,
        "paid_on": paid_on,
        "reference": reference,
        "note": note,
        "source": "import",
    }, None
