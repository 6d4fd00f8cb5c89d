"""Proofs of payment: a member says "I have paid", the cooperative's board confirms or rejects.

The bot never handles money: a member who transferred their simpanan sends which kind, how
much and a photo (or PDF) of the transfer receipt, for one of their own active
memberships; the cooperative's admins decide. Only that cooperative's admins decide (every
check through :meth:`AdminService.authorize`, refusals audited). A confirmation becomes a
ledger entry (``source="proof"``, reference ``proof:<id>``: the same proof can never be
recorded twice, whoever taps and however often); a rejection carries a reason the member
reads. A membership has at most one open proof.

Privacy: /mydata exports the member's proofs (:meth:`ProofService.export`); /deletedata
withdraws the open ones and unlinks every proof from the person — the amounts and dates
stay with the cooperative, the user id and the image go (:meth:`ProofService.erase`); the
images of decided proofs are erased after the retention period (:meth:`purge`).

The unfinished form is a :class:`ProofDraft` in ``user_data`` (persisted after every
update, so a restart loses nothing).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.services.admin import AdminService, Forbidden
from bot.services.dues import DuesService
from bot.services.text import clean_line
from bot.services.timezones import coop_zone, local_date
from storage.base import Applications, AuditLog, Cooperatives, Ledger, Proofs
from storage.ledger import DuplicateReference
from storage.models import (
    LEDGER_KINDS,
    Application,
    Cooperative,
    LedgerEntry,
    PaymentProof,
    ProofFile,
)
from storage.proofs import OpenProofExists

__all__ = ["Forbidden", "ProofDecision", "ProofDraft", "ProofError", "ProofService"]

MAX_AMOUNT = 1_000_000_000  # Rp1 miliar: more is a typo, not a simpanan
MAX_FILE_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
MAX_REASON = 300
REFERENCE = "proof:{id}"

_MULTIPLIERS = {"rb": 1_000, "ribu": 1_000, "k": 1_000, "jt": 1_000_000, "juta": 1_000_000}
_AMOUNT = re.compile(r"(\d+(?:[.,]\d+)*)(rb|ribu|k|jt|juta)?")
_GROUPED = re.compile(r"\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*")


class ProofError(ValueError):
    """Something a proof refuses: ``code`` says why (``proof``: the open one, if any)."""

    def __init__(self, code: str, proof: PaymentProof | None = None, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.proof = proof
        self.params = params


def parse_amount(raw: str) -> int:
    """Whole rupiah from what a member types: ``50000``, ``50.000``, ``Rp50.000``,
    ``Rp 50.000,-``, ``50rb``, ``1,5jt``; :class:`ProofError` otherwise."""
    text = raw.strip().lower().replace(" ", "")
    text = text.removeprefix("rp").removeprefix(".")
    for tail in (",-", ".-", ",00", "-"):
        text = text.removesuffix(tail)
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise ProofError("amount_format")
    number, unit = match.groups()
    if unit:
        # "1,5jt", "2.5rb": a decimal comma or point before the unit.
        try:
            value = Decimal(number.replace(",", ".")) * _MULTIPLIERS[unit]
        except InvalidOperation as exc:
            raise ProofError("amount_format") from exc
    elif number.isdigit():
        value = Decimal(number)
    elif _GROUPED.fullmatch(number):
        value = Decimal(re.sub(r"[.,]", "", number))  # thousands separators
    else:
        raise ProofError("amount_format")  # "50.5": rupiah have no cents
    if value != value.to_integral_value():
        raise ProofError("amount_format")
    amount = int(value)
    if amount <= 0:
        raise ProofError("amount_positive")
    if amount > MAX_AMOUNT:
        raise ProofError("amount_large", max=MAX_AMOUNT)
    return amount


def check_file(kind: str, mime: str | None, size: int | None, filename: str | None) -> str:
    """The MIME type of an acceptable receipt (a photo, a PDF, a JPEG or PNG document)."""
    if size is not None and size > MAX_FILE_BYTES:
        raise ProofError("file_size", max=MAX_FILE_BYTES // (1024 * 1024))
    if kind == "photo":
        return "image/jpeg"
    if not mime and (filename or "").lower().endswith(".pdf"):
        mime = "application/pdf"
    if mime not in DOCUMENT_TYPES:
        raise ProofError("file_type")
    return mime


def check_reason(raw: str) -> str:
    text = clean_line(raw, 10_000)
    if len(text) < 3:
        raise ProofError("reason_short")
    if len(text) > MAX_REASON:
        raise ProofError("reason_long", max=MAX_REASON)
    return text


@dataclass(slots=True)
class ProofDraft:
    """An unfinished proof as ``user_data["proof"]`` keeps it."""

    application_id: str
    step: int | None = None
    kind: str | None = None
    amount: int | None = None
    file: ProofFile | None = None

    KEY = "proof"

    def to_dict(self) -> dict[str, Any]:
        return {
            "application_id": self.application_id,
            "step": self.step,
            "kind": self.kind,
            "amount": self.amount,
            "file": (
                {"file_id": self.file.file_id, "kind": self.file.kind, "mime": self.file.mime}
                if self.file
                else None
            ),
        }

    @classmethod
    def of(cls, user_data: Mapping[Any, Any]) -> ProofDraft | None:
        data = user_data.get(cls.KEY)
        if not isinstance(data, Mapping) or not isinstance(data.get("application_id"), str):
            return None
        file = data.get("file")
        step, kind, amount = data.get("step"), data.get("kind"), data.get("amount")
        return cls(
            application_id=data["application_id"],
            step=step if isinstance(step, int) else None,
            kind=kind if kind in LEDGER_KINDS else None,
            amount=amount if isinstance(amount, int) and amount > 0 else None,
            file=(
                ProofFile(str(file["file_id"]), str(file.get("kind")), file.get("mime"))
                if isinstance(file, Mapping) and file.get("file_id")
                else None
            ),
        )

    def save(self, user_data: MutableMapping[Any, Any]) -> None:
        user_data[self.KEY] = self.to_dict()

    @staticmethod
    def drop(user_data: MutableMapping[Any, Any]) -> None:
        user_data.pop(ProofDraft.KEY, None)


@dataclass(slots=True)
class ProofDecision:
    """What a decision changed: the proof, its cooperative and (confirmed) the entry."""

    proof: PaymentProof
    coop: Cooperative | None
    entry: LedgerEntry | None = None


class ProofService:
    """Proofs from the member's form to the board's decision; no Telegram here."""

    def __init__(
        self,
        repo: Proofs,
        apps: Applications,
        coops: Cooperatives,
        ledger: Ledger,
        admin: AdminService,
        dues: DuesService,
        audit: AuditLog,
        retention_days: int,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.repo = repo
        self.apps = apps
        self.coops = coops
        self.ledger = ledger
        self.admin = admin
        self.dues = dues
        self.audit = audit
        self.retention_days = retention_days
        self.clock = clock or (lambda: datetime.now(UTC))

    # --- the member's form --------------------------------------------------------------

    async def membership(
        self, user_id: int, application_id: str
    ) -> tuple[Application, Cooperative]:
        """The user's own active membership and its cooperative. Someone else's (a forged
        button) is refused and audited (:class:`Forbidden`); :class:`ProofError` when it is
        not active, or already has an open proof (``error.proof``)."""
        application = await self.apps.get(application_id)
        if application is None or application.user_id != user_id:
            raise await self.admin.refuse(user_id, "proof_start", target=application_id)
        coop = await self.coops.get(application.coop_id)
        if coop is None or application.status != "active":
            raise ProofError("inactive")
        existing = await self.repo.open_for(application.id)
        if existing is not None:
            raise ProofError("open", existing)
        return application, coop

    async def suggestions(self, application: Application) -> dict[str, int]:
        """What is open per kind (pokok, wajib through this month), to suggest amounts."""
        dues = await self.dues.of_membership(application, self.clock())
        if dues is None:
            return {}
        open_ = {"pokok": dues.pokok_open, "wajib": dues.wajib_open}
        return {kind: amount for kind, amount in open_.items() if amount > 0}

    def today(self, coop: Cooperative) -> date:
        """Today in the cooperative's time zone (the day a proof is sent)."""
        return local_date(self.clock(), coop_zone(coop))

    async def submit(self, user_id: int, draft: ProofDraft) -> tuple[PaymentProof, Cooperative]:
        """Store the proof (re-checked as at the start); :class:`ProofError` when it cannot."""
        application, coop = await self.membership(user_id, draft.application_id)
        if draft.kind not in LEDGER_KINDS or draft.amount is None or draft.file is None:
            raise ProofError("incomplete")
        now = self.clock()
        try:
            proof = await self.repo.create(
                {
                    "coop_id": coop.id,
                    "application_id": application.id,
                    "user_id": user_id,
                    "member_number": application.member_number,
                    "kind": draft.kind,
                    "amount": draft.amount,
                    "paid_on": self.today(coop),
                    "file": draft.file,
                },
                now,
            )
        except OpenProofExists as exc:
            raise ProofError("open", await self.repo.open_for(application.id)) from exc
        return proof, coop

    async def member_name(self, proof: PaymentProof) -> str | None:
        """The member's name, for their board's eyes only."""
        application = await self.apps.get(proof.application_id)
        return application.full_name if application is not None else None

    async def admins_of(self, coop_id: str) -> list[int]:
        return await self.admin.admins_of(coop_id)

    async def remember_notices(self, proof_id: str, notices: list[dict[str, Any]]) -> None:
        """The messages the board got, so a decision updates every one of them."""
        await self.repo.set_fields(proof_id, {"notices": notices})

    # --- the board's decision -----------------------------------------------------------

    async def _authorized(self, actor: int, proof_id: str, action: str) -> PaymentProof:
        proof = await self.repo.get(proof_id)
        if proof is None:
            raise await self.admin.refuse(actor, action, target=proof_id)
        await self.admin.authorize(actor, action, coop_id=proof.coop_id, target=proof_id)
        return proof

    async def may_reject(self, actor: int, proof_id: str) -> PaymentProof | None:
        """The open proof ``actor`` may reject; None when it was decided already."""
        proof = await self._authorized(actor, proof_id, "proof_reject")
        return proof if proof.status == "open" else None

    async def confirm(self, actor: int, proof_id: str) -> ProofDecision | None:
        """Confirm: the proof becomes a ledger entry. None when it was decided already."""
        proof = await self._authorized(actor, proof_id, "proof_confirm")
        decided = await self.repo.decide(
            proof_id, "confirmed", {"decided_by": actor}, self.clock()
        )
        if decided is None:
            # Decided already, unless a confirmation stopped before its entry: finish it.
            if proof.status != "confirmed" or proof.ledger_entry_id is not None:
                return None
            decided = proof
        entry = await self._record(decided, actor)
        if not await self.repo.link_entry(decided.id, entry.id):
            # Another confirmation at the same moment (or one finishing what a crash left)
            # linked the same entry first (one entry per proof: its reference): it tells.
            return None
        decided.ledger_entry_id = entry.id
        await self.audit.record(
            actor=actor,
            action="proof_confirm",
            outcome="ok",
            coop_id=decided.coop_id,
            target=decided.id,
            details={"kind": decided.kind, "amount": decided.amount},
        )
        return ProofDecision(decided, await self.coops.get(decided.coop_id), entry)

    async def _record(self, proof: PaymentProof, actor: int) -> LedgerEntry:
        reference = REFERENCE.format(id=proof.id)
        try:
            return await self.ledger.add(
                {
                    "coop_id": proof.coop_id,
                    "application_id": proof.application_id,
                    "member_number": proof.member_number,
                    "user_id": proof.user_id,
                    "kind": proof.kind,
                    "amount": proof.amount,
                    "paid_on": proof.paid_on,
                    "reference": reference,
                    "source": "proof",
                    "created_by": actor,
                },
                self.clock(),
            )
        except DuplicateReference:
            entries = await self.ledger.for_memberships([proof.application_id])
            return next(e for e in entries if e.reference == reference)

    async def reject(self, actor: int, proof_id: str, reason: str) -> ProofDecision | None:
        """Reject with a reason the member reads. None when it was decided already."""
        await self._authorized(actor, proof_id, "proof_reject")
        text = check_reason(reason)
        decided = await self.repo.decide(
            proof_id, "rejected", {"decided_by": actor, "reason": text}, self.clock()
        )
        if decided is None:
            return None
        await self.audit.record(
            actor=actor,
            action="proof_reject",
            outcome="ok",
            coop_id=decided.coop_id,
            target=decided.id,
        )
        return ProofDecision(decided, await self.coops.get(decided.coop_id))

    async def open_for_coop(self, actor: int, coop_id: str) -> list[PaymentProof]:
        """The proofs waiting for a cooperative's board."""
        await self.admin.authorize(actor, "proof_list", coop_id=coop_id)
        return await self.repo.open_for_coop(coop_id)

    # --- privacy ------------------------------------------------------------------------

    async def export(self, user_id: int) -> list[dict[str, Any]]:
        """The user's proofs for /mydata (the images stay with Telegram: named, not sent)."""
        proofs = await self.repo.for_user(user_id)
        coops = {c.id: c for c in await self.coops.get_many({p.coop_id for p in proofs})}
        return [
            {
                "cooperative_id": p.coop_id,
                "cooperative": coops[p.coop_id].name if p.coop_id in coops else None,
                "member_number": p.member_number,
                "kind": p.kind,
                "amount": p.amount,
                "sent_on": p.paid_on.isoformat(),
                "status": p.status,
                "reason": p.reason,
                "decided_at": p.decided_at.isoformat() if p.decided_at else None,
                "receipt_file": {"kind": p.file.kind, "type": p.file.mime} if p.file else None,
            }
            for p in proofs
        ]

    async def erase(self, user_id: int) -> int:
        """Withdraw open proofs; keep amounts and dates, drop the user id and the images."""
        return await self.repo.unlink_user(user_id, self.clock())

    async def purge(self, now: datetime | None = None) -> int:
        """Erase the images of proofs decided more than the retention period ago."""
        now = now or self.clock()
        return await self.repo.purge_decided(now - timedelta(days=self.retention_days), now)
