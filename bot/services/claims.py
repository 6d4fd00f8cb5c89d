"""Claims: a board member asks to run their cooperative here, and an operator decides.

A claim carries the claimant's role on the board, full name and phone (sealed with the
claimant's own key, like an application), evidence (Telegram files: a photo or PDF of the
SK pengurus, the akta pendirian or the NIK certificate) and a versioned consent. Only
platform operators decide (:meth:`ClaimService.approve`, :meth:`reject`, :meth:`ask_more`),
never on their own claim; every refusal is audited through ``AdminService``. Approval makes
the claimant an admin through :meth:`BoardService.grant` (audited, and the cooperative comes
on the platform) and closes the competing claims as superseded.

A person has at most one open claim per cooperative. Evidence is kept until the decision
plus the retention period (:meth:`purge_expired`); /mydata exports claims, /deletedata
erases them (:meth:`export`, :meth:`erase`).

The unfinished form is a :class:`~bot.services.claimdraft.ClaimDraft` in ``user_data`` (so
it survives a restart like the membership form); its name and phone enter it sealed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.services.admin import AdminService, Forbidden
from bot.services.board import BoardService
from bot.services.catalog import N_
from bot.services.claimdraft import ClaimDraft
from bot.services.crypto import DataKeyError, Keyring
from bot.services.membership import FormError, check_person_name
from bot.services.phone import normalize_phone
from bot.services.search import SearchService
from bot.services.text import clean_line
from storage.base import AuditLog, Claims, Cooperatives
from storage.models import Claim, Cooperative, Evidence

log = logging.getLogger(__name__)

__all__ = ["ClaimDraft", "ClaimError", "ClaimService", "Decision", "Forbidden"]

CONSENT_VERSION = "claim-2026-11-30"
ROLES: dict[str, str] = {
    "ketua": N_("Chair (ketua)"),
    "sekretaris": N_("Secretary (sekretaris)"),
    "bendahara": N_("Treasurer (bendahara)"),
    "pengurus": N_("Other board member"),
    "pengawas": N_("Supervisor (pengawas)"),
}
MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
MAX_TEXT = 500


class ClaimError(ValueError):
    """Something the claim refuses: ``code`` names why (``claim`` the open one, if any)."""

    def __init__(self, code: str, claim: Claim | None = None, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.claim = claim
        self.params = params


@dataclass(slots=True)
class ClaimView:
    """A claim as operators see it: opened, with its cooperative and its competitors."""

    claim: Claim
    coop: Cooperative | None
    others: list[Claim]


@dataclass(slots=True)
class Decision:
    """What a decision changed: the claim, its cooperative, the claims it superseded."""

    claim: Claim
    coop: Cooperative | None
    superseded: list[Claim] = field(default_factory=list)


def check_evidence(kind: str, mime: str | None, size: int | None, filename: str | None) -> str:
    """The MIME type of an acceptable file; :class:`ClaimError` for another type or size."""
    if size is not None and size > MAX_FILE_BYTES:
        raise ClaimError("evidence_size", max=MAX_FILE_BYTES // (1024 * 1024))
    if kind == "photo":
        return "image/jpeg"
    if not mime and (filename or "").lower().endswith(".pdf"):
        mime = "application/pdf"
    if mime not in DOCUMENT_TYPES:
        raise ClaimError("evidence_type")
    return mime


def check_text(raw: str) -> str:
    """A reason, question or answer: one to 500 characters of plain text."""
    text = clean_line(raw, 10_000)
    if len(text) < 3:
        raise ClaimError("text_short")
    if len(text) > MAX_TEXT:
        raise ClaimError("text_long", max=MAX_TEXT)
    return text


class ClaimService:
    """Claims from the form to the decision; every decision checked and audited."""

    def __init__(
        self,
        repo: Claims,
        coops: Cooperatives,
        admin: AdminService,
        board: BoardService,
        search: SearchService,
        keyring: Keyring,
        audit: AuditLog,
        retention_days: int,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.audit = audit
        self.repo = repo
        self.coops = coops
        self.admin = admin
        self.board = board
        self.search = search
        self.keyring = keyring
        self.retention_days = retention_days
        self.clock = clock or (lambda: datetime.now(UTC))

    # --- finding the cooperative --------------------------------------------------------

    async def coop(self, coop_id: str) -> Cooperative | None:
        return await self.coops.get(coop_id)

    async def find(self, ref: str) -> list[Cooperative]:
        """The cooperative a reference names (id or registration number), else up to five
        whose names match."""
        ref = clean_line(ref, 200)
        if not ref:
            return []
        coop = await self.admin.resolve_coop(ref)
        if coop is not None:
            return [coop]
        return (await self.search.inline(ref, None))[:5]

    async def can_start(self, user_id: int, coop_id: str) -> Cooperative:
        """The cooperative to claim; :class:`ClaimError` when it is unknown, already run
        here, or the user has an open claim for it (``error.claim``)."""
        coop = await self.coops.get(coop_id)
        if coop is None:
            raise ClaimError("unknown")
        if await self.admin.is_admin(coop.id, user_id):
            raise ClaimError("already_admin")
        if coop.on_platform:
            raise ClaimError("on_platform")
        existing = await self.repo.open_for(user_id, coop.id)
        if existing is not None:
            raise ClaimError("open", await self._opened(existing))
        return coop

    # --- sealing ------------------------------------------------------------------------

    async def seal(self, user_id: int, name: str, value: str) -> str:
        cipher = await self.keyring.cipher(user_id, create=True)
        assert cipher is not None
        return cipher.seal("claim_" + name, value)

    async def unseal(self, user_id: int, name: str, stored: str | None) -> str | None:
        if not stored:
            return None
        cipher = await self.keyring.cipher(user_id)
        if cipher is None:
            return None
        try:
            value = cipher.open("claim_" + name, stored)
        except DataKeyError:
            log.warning("claim: sealed %s does not open", name)
            return None
        return value if isinstance(value, str) else None

    async def _opened(self, claim: Claim) -> Claim:
        if claim.user_id is None:
            return claim
        user_id = claim.user_id
        return replace(
            claim,
            name=await self.unseal(user_id, "name", claim.name),
            phone=await self.unseal(user_id, "phone", claim.phone),
            answer=await self.unseal(user_id, "answer", claim.answer),
        )

    # --- the form -----------------------------------------------------------------------

    @staticmethod
    def check_name(raw: str) -> str:
        return check_person_name(raw)  # FormError, as in the membership form

    @staticmethod
    def check_phone(raw: str) -> str:
        phone = normalize_phone(raw)
        if phone is None:
            raise FormError("phone_invalid")
        return phone

    async def submit(self, user_id: int, draft: ClaimDraft) -> ClaimView:
        """Store the finished form as an open claim."""
        coop = await self.can_start(user_id, draft.coop_id)
        phone = await self.unseal(user_id, "phone", draft.phone)
        if not (draft.role in ROLES and draft.name and phone and draft.evidence):
            raise ClaimError("incomplete")
        if draft.consent_version is None:
            raise ClaimError("consent")
        directory = normalize_phone(coop.phone or "")
        now = self.clock()
        claim = await self.repo.create(
            {
                "coop_id": coop.id,
                "user_id": user_id,
                "role": draft.role,
                "name": draft.name,
                "phone": draft.phone,
                "phone_matches": directory is not None and directory == phone,
                "evidence": [
                    {"file_id": e.file_id, "kind": e.kind, "mime": e.mime, "name": e.name}
                    for e in draft.evidence
                ],
                "consent": {
                    "version": draft.consent_version,
                    "at": draft.consent_at or now,
                },
                "created_at": now,
            }
        )
        await self.audit.record(
            actor=user_id, action="claim_submit", outcome="ok", coop_id=coop.id, target=claim.id
        )
        log.info("claim submitted coop=%s claim=%s", coop.id, claim.id)
        return await self.view(claim)

    # --- what operators see -------------------------------------------------------------

    def operators(self) -> list[int]:
        return sorted(self.admin.operators)

    async def view(self, claim: Claim) -> ClaimView:
        others = [c for c in await self.repo.open_for_coop(claim.coop_id) if c.id != claim.id]
        return ClaimView(
            await self._opened(claim),
            await self.coops.get(claim.coop_id),
            [await self._opened(c) for c in others],
        )

    async def for_operator(self, actor: int, claim_id: str) -> ClaimView:
        """One claim, for an operator."""
        await self.admin.require_operator(actor, "claim_view", target=claim_id)
        claim = await self.repo.get(claim_id)
        if claim is None:
            raise await self.admin.refuse(actor, "claim_view", target=claim_id)
        return await self.view(claim)

    async def queue(self, actor: int) -> tuple[list[ClaimView], int]:
        """The claims waiting for an operator (oldest first), and how many wait for
        their claimants."""
        await self.admin.require_operator(actor, "claim_queue")
        waiting = [await self.view(c) for c in await self.repo.queue("open")]
        return waiting, await self.repo.count(("more",))

    async def count_open(self) -> int:
        return await self.repo.count()

    # --- decisions ----------------------------------------------------------------------

    async def may_decide(self, actor: int, claim_id: str, action: str) -> Claim:
        """The open claim ``actor`` may decide: an operator, not its claimant (audited)."""
        await self.admin.require_operator(actor, action, target=claim_id)
        claim = await self.repo.get(claim_id)
        if claim is None:
            raise await self.admin.refuse(actor, action, target=claim_id)
        if claim.user_id == actor:
            raise await self.admin.refuse(
                actor, action + "_own", coop_id=claim.coop_id, target=claim_id
            )
        return claim

    async def _decided(self, actor: int, action: str, claim: Claim, outcome: str) -> None:
        await self.audit.record(
            actor=actor, action=action, outcome=outcome, coop_id=claim.coop_id, target=claim.id
        )

    async def approve(self, actor: int, claim_id: str) -> Decision | None:
        """Make the claimant an admin; close the competing claims. None if the claim was
        no longer open."""
        claim = await self.may_decide(actor, claim_id, "claim_approve")
        now = self.clock()
        done = await self.repo.transition(
            claim_id,
            ("open", "more"),
            "approved",
            {"decided_at": now, "decided_by": actor},
            now,
        )
        if done is None or done.user_id is None:
            await self._decided(actor, "claim_approve", claim, "already_decided")
            return None
        await self._decided(actor, "claim_approve", done, "ok")
        await self.board.grant(done.coop_id, done.user_id, actor=actor, how="claim")
        superseded = []
        for other in await self.repo.open_for_coop(done.coop_id):
            closed = await self.repo.transition(
                other.id,
                ("open", "more"),
                "superseded",
                {"decided_at": now, "decided_by": actor},
                now,
            )
            if closed is not None:
                await self._decided(actor, "claim_supersede", closed, "ok")
                superseded.append(closed)
        return Decision(await self._opened(done), await self.coops.get(done.coop_id), superseded)

    async def reject(self, actor: int, claim_id: str, reason: str) -> Decision | None:
        """Reject with the operator's reason (the claimant reads it)."""
        claim = await self.may_decide(actor, claim_id, "claim_reject")
        reason = check_text(reason)
        now = self.clock()
        done = await self.repo.transition(
            claim_id,
            ("open", "more"),
            "rejected",
            {"decided_at": now, "decided_by": actor, "reason": reason},
            now,
        )
        await self._decided(actor, "claim_reject", claim, "ok" if done else "already_decided")
        if done is None:
            return None
        return Decision(await self._opened(done), await self.coops.get(done.coop_id))

    async def ask_more(self, actor: int, claim_id: str, question: str) -> Decision | None:
        """Ask the claimant for more (evidence, an answer): the claim waits for them."""
        claim = await self.may_decide(actor, claim_id, "claim_ask")
        question = check_text(question)
        done = await self.repo.transition(
            claim_id, ("open", "more"), "more", {"question": question}, self.clock()
        )
        await self._decided(actor, "claim_ask", claim, "ok" if done else "already_decided")
        if done is None:
            return None
        return Decision(await self._opened(done), await self.coops.get(done.coop_id))

    # --- the claimant's answer ----------------------------------------------------------

    async def waiting_for(self, user_id: int, claim_id: str) -> Claim:
        """The user's claim that waits for their answer (:class:`ClaimError` if none)."""
        claim = await self.repo.get(claim_id)
        if claim is None or claim.user_id != user_id or claim.status != "more":
            raise ClaimError("not_waiting")
        return await self._opened(claim)

    async def answer(
        self, user_id: int, claim_id: str, text: str | None, files: list[Evidence]
    ) -> ClaimView:
        """Add the claimant's answer and files; the claim returns to the operators."""
        claim = await self.waiting_for(user_id, claim_id)
        if len(claim.evidence) + len(files) > MAX_FILES * 2:
            raise ClaimError("evidence_many", max=MAX_FILES * 2)
        await self.repo.add_evidence(claim.id, files)
        fields: dict[str, Any] = {}
        if text:
            fields["answer"] = await self.seal(user_id, "answer", check_text(text))
        done = await self.repo.transition(claim.id, ("more",), "open", fields, self.clock())
        if done is None:
            raise ClaimError("not_waiting")
        await self.audit.record(
            actor=user_id,
            action="claim_answer",
            outcome="ok",
            coop_id=done.coop_id,
            target=done.id,
        )
        return await self.view(done)

    async def withdraw(self, user_id: int, claim_id: str) -> Claim | None:
        claim = await self.repo.get(claim_id)
        if claim is None or claim.user_id != user_id:
            return None
        now = self.clock()
        return await self.repo.transition(
            claim_id, ("open", "more"), "withdrawn", {"decided_at": now}, now
        )

    # --- data-subject rights and retention ----------------------------------------------

    async def export(self, user_id: int, user_data: Mapping[Any, Any]) -> dict[str, Any]:
        """The user's claims (and an unfinished one) for /mydata."""
        claims = [await self._opened(c) for c in await self.repo.for_user(user_id)]
        coops = {c.id: c for c in await self.coops.get_many({c.coop_id for c in claims})}
        out: dict[str, Any] = {
            "claims": [
                {
                    "cooperative_id": c.coop_id,
                    "cooperative": coops[c.coop_id].name if c.coop_id in coops else None,
                    "role": c.role,
                    "full_name": c.name,
                    "phone": c.phone,
                    "status": c.status,
                    "submitted_at": c.created_at.isoformat(),
                    "decided_at": c.decided_at.isoformat() if c.decided_at else None,
                    "reason": c.reason,
                    "question": c.question,
                    "answer": c.answer,
                    "evidence_files": [
                        {"kind": e.kind, "type": e.mime, "name": e.name} for e in c.evidence
                    ],
                    "consent": {k: str(v) for k, v in c.consent.items()},
                }
                for c in claims
            ]
        }
        draft = ClaimDraft.of(user_data)
        if draft is not None:
            out["unfinished_claim"] = {
                "cooperative_id": draft.coop_id,
                "role": draft.role,
                "full_name": await self.unseal(user_id, "name", draft.name),
                "phone": await self.unseal(user_id, "phone", draft.phone),
                "evidence_files": len(draft.evidence),
            }
        return out

    async def erase(self, user_id: int) -> int:
        """Withdraw open claims and erase every claim's personal values and files."""
        return await self.repo.erase_user(user_id, self.clock())

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Drop the evidence of claims decided more than the retention period ago."""
        now = now or self.clock()
        return await self.repo.purge_decided(now - timedelta(days=self.retention_days), now)
