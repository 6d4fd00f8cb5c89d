"""Data-subject rights under UU 27/2022: see and export everything, erase everything.

Erasure withdraws pending applications, ends memberships (the cooperatives are told),
destroys the person's data key — every personal value was sealed with it, so every copy
of them (oplog, journal, backups) becomes unreadable at once — and then removes every
personal field — name, NIK (ciphertext, hash and masked form), phone, address, birth
data, consent details, the board's reasons — and the Telegram id itself from every
collection. What stays is anonymous: an application's cooperative, status and dates, so
counts and statistics remain right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.services.board import BoardService
from bot.services.claims import ClaimService
from bot.services.crypto import Keyring
from bot.services.draft import Forms, open_forms
from bot.services.membership import MembershipService
from bot.services.personal import APPLICATION_FIELDS
from bot.services.platform import PlatformService
from bot.services.proofs import ProofService
from storage.base import Admins, Cooperatives, Ledger, Privacy, Searches, Users

# What erasure and retention remove from an application: its personal values (sealed, and
# in clear if written before sealing), the NIK's lookup hash and which key made it.
PERSONAL_FIELDS = (*APPLICATION_FIELDS, "sealed", "nik_hash", "nik_kid")


@dataclass(slots=True)
class Erasure:
    withdrawn: int
    ended: int
    applications: int
    coops_notified: list[str]


class PrivacyService:
    def __init__(
        self,
        repo: Privacy,
        membership: MembershipService,
        admins: Admins,
        coops: Cooperatives,
        users: Users,
        retention_days: int,
        keyring: Keyring,
        board: BoardService,
        *,
        claims: ClaimService | None = None,
        platform: PlatformService | None = None,
        ledger: Ledger | None = None,
        proofs: ProofService | None = None,
        searches: Searches | None = None,
    ) -> None:
        self.ledger = ledger
        self.proofs = proofs
        self.claims = claims
        self.board = board
        self.platform = platform
        self.repo = repo
        self.keyring = keyring
        self.membership = membership
        self.admins = admins
        self.coops = coops
        self.users = users
        self.retention_days = retention_days
        self.searches = searches

    async def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about the user, NIK included (for the user's own eyes)."""
        profile = await self.users.get(user_id)
        applications = await self.membership.of_user(user_id)
        coops = {c.id: c for c in await self.coops.get_many({a.coop_id for a in applications})}
        admin_of = await self.admins.coops_of(user_id)
        admin_coops = {c.id: c for c in await self.coops.get_many(admin_of)}
        state = await self.repo.user_state(user_id)
        forms = open_forms(state.data, await self.keyring.cipher(user_id))
        items = []
        for a in applications:
            coop = coops.get(a.coop_id)
            items.append(
                {
                    "application_number": a.number,
                    "cooperative": coop.name if coop else None,
                    "cooperative_id": a.coop_id,
                    "status": a.status,
                    "member_number": a.member_number,
                    "submitted_at": a.created_at.isoformat() if a.created_at else None,
                    "decided_at": a.decided_at.isoformat() if a.decided_at else None,
                    "reason": a.reason,
                    "full_name": a.full_name,
                    "nik": self.membership.reveal_nik(a),
                    "sex": a.sex,
                    "birth_date": a.birth_date,
                    "birth_place": a.birth_place,
                    "address": a.address,
                    "domicile_village": a.domicile_village,
                    "domicile_point": a.domicile_point,
                    "domicile_declared": a.domicile_declared,
                    "phone": a.phone,
                    "occupation": a.occupation,
                    "language": a.language,
                    "consent": a.consent,
                }
            )
        drafts = [{"cooperative_id": coop_id, **draft.export()} for coop_id, draft in Forms(forms)]
        export = {
            "exported_at": datetime.now(UTC).isoformat(),
            "controller": "Gerbang Koperasi",
            "telegram_user_id": user_id,
            "profile": {
                "language_chosen": profile.language if profile else None,
                "telegram_language": profile.telegram_language if profile else None,
                "first_seen": profile.created_at.isoformat()
                if profile and profile.created_at
                else None,
                "last_seen": profile.last_seen.isoformat()
                if profile and profile.last_seen
                else None,
            },
            "applications_and_memberships": items,
            "unfinished_forms": drafts,
            "admin_of": [
                {
                    "cooperative_id": c,
                    "cooperative": admin_coops[c].name if c in admin_coops else None,
                }
                for c in admin_of
            ],
            "announcement_mutes": await self.repo.mutes(user_id),
            "saved_searches": await self.repo.search_count(user_id),
        }
        if self.claims is not None:  # claims to run a cooperative, and an unfinished one
            export.update(await self.claims.export(user_id, state.data))
        if self.platform is not None:  # notify-me subscriptions and join attempts
            export.update(await self.platform.export(user_id))
        if self.ledger is not None:  # what the boards recorded as paid
            export["payments"] = await self._payments(user_id)
        if self.proofs is not None:  # proofs of payment sent to the boards
            export["payment_proofs"] = await self.proofs.export(user_id)
        return export

    async def _payments(self, user_id: int) -> list[dict[str, Any]]:
        assert self.ledger is not None
        entries = await self.ledger.for_user(user_id)
        coops = {c.id: c for c in await self.coops.get_many({e.coop_id for e in entries})}
        return [
            {
                "cooperative_id": e.coop_id,
                "cooperative": coops[e.coop_id].name if e.coop_id in coops else None,
                "member_number": e.member_number,
                "kind": e.kind,
                "amount": e.amount,
                "paid_on": e.paid_on.isoformat(),
                "reference": e.reference,
                "note": e.note,
                "source": e.source,
                "status": e.status,
                "void_reason": e.void_reason,
                "recorded_at": e.created_at.isoformat(),
            }
            for e in entries
        ]

    async def erase(self, user_id: int) -> Erasure:
        """Delete the user's personal data everywhere; only anonymous counts remain."""
        applications = await self.membership.of_user(user_id)
        withdrawn = ended = 0
        notified: list[str] = []
        for a in applications:
            if a.status == "pending":
                if await self.membership.withdraw(user_id, a.id) is not None:
                    withdrawn += 1
            elif a.status in ("active", "suspended"):
                left = await self.membership.leave(user_id, a.id)
                if left is not None:
                    ended += 1
                    notified.append(a.coop_id)
        # The key first: from here on nothing of the person can be read, wherever a copy
        # lies, even if the bot stops before the clean-up below (a retry finishes it).
        await self.keyring.destroy(user_id)
        erased = await self.repo.erase_applications(user_id, PERSONAL_FIELDS)
        if self.claims is not None:
            await self.claims.erase(user_id)
        # The cooperatives' bookkeeping keeps the amounts and dates, not the person.
        if self.ledger is not None:
            await self.ledger.unlink_user(user_id)
        if self.proofs is not None:
            await self.proofs.erase(user_id)
        for coop_id in await self.admins.coops_of(user_id):
            await self.board.revoke(coop_id, user_id, actor=user_id, how="erasure")
        if self.searches is not None:
            # A list's search is written just after the list: none may land after this.
            await self.searches.settle()
            self.searches.forget(user_id)  # an open "where should I look?" with it
        await self.repo.erase_user(user_id)
        if self.platform is not None:
            await self.platform.forget(user_id)
        return Erasure(withdrawn, ended, erased, notified)

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Remove personal data of rejected or withdrawn applications past retention."""
        now = now or datetime.now(UTC)
        return await self.repo.purge_decided(
            ("rejected", "withdrawn"), now - timedelta(days=self.retention_days), PERSONAL_FIELDS
        )
