"""Running cooperatives and the platform: roles, decisions, members, profile, audit.

Every method takes the acting user's id and checks their role at the moment it runs:
platform operators are the ids in ADMIN_IDS; cooperative admins are assigned per
cooperative. Refusals raise :class:`Forbidden` and reveal nothing about the target.
Every action — allowed or refused — is written to the insert-only audit log.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.i18n import Translator
from bot.services.board import BoardService
from bot.services.crypto import Vault
from bot.services.gazetteer import Gazetteer, in_indonesia_bounds
from bot.services.importer import Importer, ImportReport, Progress
from bot.services.membership import MembershipService
from bot.services.profile import PROFILE_FIELDS, InputError, parse_profile
from bot.services.register import register_csv, register_xlsx
from bot.services.text import clean_line, fold
from bot.services.timezones import coop_zone
from storage.base import Admins, Applications, AuditLog, Cooperatives, Invites, Users
from storage.models import Application, AuditEntry, Cooperative, Point

MEMBER_STATUSES = ("active", "suspended")


class Forbidden(Exception):
    """The acting user may not do this (or the target does not exist for them)."""


@dataclass(slots=True)
class CoopStats:
    members: int
    by_status: dict[str, int]
    months: list[str]  # "2026-05" …, the last 12
    joined: list[int]  # approvals per month
    total: list[int]  # active members at the end of each month (approvals minus leavers)


@dataclass(slots=True)
class PlatformStats:
    users: int
    cooperatives: int
    memberships: int
    applications: dict[str, int]
    by_province: list[tuple[str, int, int, int]] = field(default_factory=list)  # code, coops,
    # active members, pending applications
    by_type: list[tuple[str, int, int]] = field(default_factory=list)  # type, coops, members


class AdminService:
    def __init__(
        self,
        *,
        operators: frozenset[int],
        admins: Admins,
        apps: Applications,
        coops: Cooperatives,
        audit: AuditLog,
        invites: Invites,
        membership: MembershipService,
        vault: Vault,
        importer: Importer,
        gazetteer: Gazetteer,
        users: Users,
        board: BoardService,
    ) -> None:
        self.board = board
        self.operators = operators
        self.admins = admins
        self.apps = apps
        self.coops = coops
        self.audit = audit
        self.invites = invites
        self.membership = membership
        self.vault = vault
        self.importer = importer
        self.gazetteer = gazetteer
        self.users = users

    # --- roles --------------------------------------------------------------------------

    def is_operator(self, user_id: int) -> bool:
        return user_id in self.operators

    async def admins_of(self, coop_id: str) -> list[int]:
        """The user ids of a cooperative's admins (e.g. to notify them)."""
        return await self.admins.admins_of(coop_id)

    async def is_admin(self, coop_id: str, user_id: int) -> bool:
        return await self.admins.is_admin(coop_id, user_id)

    async def coops_of(self, user_id: int) -> list[Cooperative]:
        coops = await self.coops.get_many(await self.admins.coops_of(user_id))
        return sorted(coops, key=lambda c: c.name.casefold())

    async def refuse(
        self,
        actor: int,
        action: str,
        *,
        coop_id: str | None = None,
        target: str | None = None,
    ) -> Forbidden:
        """Write a refusal to the audit log; the caller raises what this returns.

        Every refusal is written here, whatever refused it: a role check
        (:meth:`authorize`), a target that does not exist for the actor, a forged button.
        """
        await self.audit.record(
            actor=actor, action=action, outcome="refused", coop_id=coop_id, target=target
        )
        return Forbidden(action)

    async def authorize(
        self,
        actor: int,
        action: str,
        *,
        coop_id: str | None = None,
        operators: bool = False,
        only: int | None = None,
        target: str | None = None,
    ) -> None:
        """The one role check: pass, or audit the refusal and raise :class:`Forbidden`.

        ``actor`` passes as an admin of ``coop_id`` at this moment (and, when ``only`` is
        set, only if it is that user, e.g. an announcement's creator) or, with
        ``operators``, as a platform operator. Roles are read now, never remembered: a
        removed admin is refused at the next tap.
        """
        if operators and self.is_operator(actor):
            return
        if (
            coop_id is not None
            and (only is None or only == actor)
            and await self.admins.is_admin(coop_id, actor)
        ):
            return
        raise await self.refuse(actor, action, coop_id=coop_id, target=target)

    async def require_coop(self, actor: int, coop_id: str, action: str) -> Cooperative:
        """The cooperative, if ``actor`` administers it."""
        coop = await self.coops.get(coop_id)
        if coop is None:
            raise await self.refuse(actor, action, target=coop_id)
        await self.authorize(actor, action, coop_id=coop.id)
        return coop

    async def require_application(
        self, actor: int, application_id: str, action: str
    ) -> tuple[Application, Cooperative]:
        """An application of a cooperative ``actor`` administers."""
        application = await self.apps.get(application_id)
        if application is None:
            raise await self.refuse(actor, action, target=application_id)
        await self.authorize(actor, action, coop_id=application.coop_id, target=application_id)
        coop = await self.coops.get(application.coop_id)
        if coop is None:
            raise await self.refuse(actor, action, target=application_id)
        return application, coop

    async def require_operator(self, actor: int, action: str, target: str | None = None) -> None:
        await self.authorize(actor, action, operators=True, target=target)

    async def panel(self, actor: int) -> list[Cooperative]:
        """The cooperatives ``actor`` runs (/admin); an operator may run none."""
        coops = await self.coops_of(actor)
        if not coops:
            await self.require_operator(actor, "open_admin")
        return coops

    async def _done(
        self,
        actor: int,
        action: str,
        coop_id: str | None,
        target: str | None = None,
        outcome: str = "ok",
        **details: Any,
    ) -> None:
        await self.audit.record(
            actor=actor,
            action=action,
            outcome=outcome,
            coop_id=coop_id,
            target=target,
            details=details,
        )

    async def record(
        self,
        actor: int,
        action: str,
        *,
        coop_id: str | None = None,
        target: str | None = None,
        outcome: str = "ok",
        **details: Any,
    ) -> None:
        """Write an action another service carried out to the audit log."""
        await self._done(actor, action, coop_id, target, outcome, **details)

    # --- applications -------------------------------------------------------------------

    async def pending(self, actor: int, coop_id: str) -> list[Application]:
        await self.require_coop(actor, coop_id, "view_applications")
        return await self.apps.for_coop(coop_id, "pending", limit=500)

    async def application(
        self, actor: int, application_id: str
    ) -> tuple[Application, Cooperative]:
        return await self.require_application(actor, application_id, "view_application")

    async def approve(self, actor: int, application_id: str) -> Application | None:
        """Approve; None when it was decided already (another admin, a repeated tap)."""
        _, coop = await self.require_application(actor, application_id, "approve")
        decided = await self.membership.approve(application_id)
        await self._done(
            actor, "approve", coop.id, application_id, "ok" if decided else "already_decided"
        )
        return decided

    async def reject(self, actor: int, application_id: str, reason: str) -> Application | None:
        _, coop = await self.require_application(actor, application_id, "reject")
        reason = clean_line(reason, 300)
        if len(reason) < 3:
            raise InputError("reason_short")
        decided = await self.membership.reject(application_id, reason)
        await self._done(
            actor, "reject", coop.id, application_id, "ok" if decided else "already_decided"
        )
        return decided

    async def reveal_nik(self, actor: int, application_id: str) -> str:
        application, coop = await self.require_application(actor, application_id, "reveal_nik")
        await self._done(actor, "reveal_nik", coop.id, application_id)
        return self.membership.reveal_nik(application) or ""

    # --- members ------------------------------------------------------------------------

    async def members(
        self, actor: int, coop_id: str, *, query: str | None = None, skip: int = 0, limit: int = 10
    ) -> tuple[list[Application], int]:
        await self.require_coop(actor, coop_id, "view_members")
        return await self.apps.members(
            coop_id, MEMBER_STATUSES, query=query, skip=skip, limit=limit
        )

    async def member(self, actor: int, application_id: str) -> tuple[Application, Cooperative]:
        application, coop = await self.require_application(actor, application_id, "view_member")
        if application.status not in (*MEMBER_STATUSES, "left"):
            raise await self.refuse(actor, "view_member", coop_id=coop.id, target=application_id)
        return application, coop

    async def suspend(self, actor: int, application_id: str, reason: str) -> Application | None:
        return await self._member_status(
            actor, application_id, reason, "suspend", ("active",), "suspended"
        )

    async def reinstate(self, actor: int, application_id: str, reason: str) -> Application | None:
        return await self._member_status(
            actor, application_id, reason, "reinstate", ("suspended",), "active"
        )

    async def _member_status(
        self,
        actor: int,
        application_id: str,
        reason: str,
        action: str,
        before: tuple[str, ...],
        after: str,
    ) -> Application | None:
        _, coop = await self.require_application(actor, application_id, action)
        reason = clean_line(reason, 300)
        if len(reason) < 3:
            raise InputError("reason_short")
        changed = await self.apps.transition(
            application_id, before, after, {"status_reason": reason}
        )
        if changed is not None:
            await self.apps.set_fields(application_id, {"card_version": changed.card_version + 1})
        await self._done(
            actor, action, coop.id, application_id, "ok" if changed else "not_applicable"
        )
        return changed

    async def export_members(
        self, actor: int, coop_id: str, t: Translator, fmt: str = "xlsx"
    ) -> bytes:
        """The cooperative's own register, .xlsx or CSV, in ``t``'s language
        (``bot/services/register.py``)."""
        coop = await self.require_coop(actor, coop_id, "export_members")
        members, _ = await self.apps.members(coop_id, (*MEMBER_STATUSES, "left"), limit=1_000_000)
        await self._done(actor, "export_members", coop.id, None, rows=len(members), format=fmt)
        write = register_csv if fmt == "csv" else register_xlsx
        return write(members, self.membership.reveal_nik, t, coop_zone(coop, self.gazetteer))

    # --- profile ------------------------------------------------------------------------

    async def coop_for_admin(self, actor: int, coop_id: str) -> Cooperative:
        return await self.require_coop(actor, coop_id, "view_panel")

    def parse_profile(self, name: str, raw: str) -> Any:
        """Check a typed profile value; raises :class:`InputError`."""
        return parse_profile(name, raw)

    async def update_profile(self, actor: int, coop_id: str, name: str, value: Any) -> Cooperative:
        coop = await self.require_coop(actor, coop_id, "edit_profile")
        if name not in PROFILE_FIELDS:
            raise InputError("unknown_field")
        await self.coops.set_fields(coop.id, {name: value})
        await self._done(actor, "edit_profile", coop.id, None, field=name)
        return await self.coops.get(coop.id) or coop

    async def set_location(self, actor: int, coop_id: str, point: Point) -> Cooperative:
        coop = await self.require_coop(actor, coop_id, "edit_location")
        if not in_indonesia_bounds(point):
            raise InputError("location_outside")
        nearest = self.gazetteer.nearest_village(point)
        fields: dict[str, Any] = {"loc": {"type": "Point", "coordinates": [point.lon, point.lat]}}
        if nearest is not None and nearest[1] < 50_000:
            fields["village_code"] = nearest[0].code
            fields["areas"] = self.gazetteer.area_codes(nearest[0].code)
        await self.coops.set_fields(coop.id, fields)
        await self._done(actor, "edit_location", coop.id, None)
        return await self.coops.get(coop.id) or coop

    # --- statistics ---------------------------------------------------------------------

    async def coop_stats(self, actor: int, coop_id: str, now: datetime | None = None) -> CoopStats:
        await self.require_coop(actor, coop_id, "view_stats")
        now = now or datetime.now(UTC)
        applications = await self.apps.for_coop(coop_id, None, limit=1_000_000)
        by_status = Counter(a.status for a in applications)
        months = []
        year, month = now.year, now.month
        for _ in range(12):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        months.reverse()
        joined = Counter(
            a.decided_at.strftime("%Y-%m")
            for a in applications
            if a.decided_at and a.member_number
        )
        left = Counter(
            a.decided_at.strftime("%Y-%m")
            for a in applications
            if a.status == "left" and a.decided_at
        )
        before = sum(n for m, n in joined.items() if m < months[0]) - sum(
            n for m, n in left.items() if m < months[0]
        )
        totals, running = [], before
        for m in months:
            running += joined.get(m, 0) - left.get(m, 0)
            totals.append(running)
        return CoopStats(
            members=by_status["active"] + by_status["suspended"],
            by_status=dict(by_status),
            months=months,
            joined=[joined.get(m, 0) for m in months],
            total=totals,
        )

    async def platform_stats(self, actor: int) -> PlatformStats:
        await self.require_operator(actor, "platform_stats")
        by_status = await self.apps.count_by_status()
        per_coop = await self.apps.count_by_coop_and_status()
        coop_ids = {c for c, _ in per_coop}
        coops = {c.id: c for c in await self.coops.get_many(coop_ids)}
        province_members: Counter[str] = Counter()
        province_pending: Counter[str] = Counter()
        type_members: Counter[str] = Counter()
        for (coop_id, status), n in per_coop.items():
            coop = coops.get(coop_id)
            if coop is None:
                continue
            province = coop.areas[0] if coop.areas else "?"
            if status == "active":
                province_members[province] += n
                type_members[coop.type] += n
            elif status == "pending":
                province_pending[province] += n
        coop_counts = await self.coops.count_by_province_and_type()
        province_coops: Counter[str] = Counter()
        type_coops: Counter[str] = Counter()
        for (province, coop_type), n in coop_counts.items():
            province_coops[province] += n
            type_coops[coop_type] += n
        provinces = sorted(
            set(province_coops) | set(province_members), key=lambda p: -province_coops[p]
        )
        await self._done(actor, "platform_stats", None)
        return PlatformStats(
            users=await self.users.count(),
            cooperatives=sum(province_coops.values()),
            memberships=by_status.get("active", 0),
            applications=by_status,
            by_province=[
                (p, province_coops[p], province_members[p], province_pending[p]) for p in provinces
            ],
            by_type=[
                (t, type_coops[t], type_members[t])
                for t in sorted(type_coops, key=lambda t: -type_coops[t])
            ],
        )

    async def recent_audit(self, actor: int, limit: int = 20) -> list[AuditEntry]:
        await self.require_operator(actor, "view_audit")
        return await self.audit.recent(limit)

    # --- operators: verification, invitations, import -----------------------------------

    async def set_verified(self, actor: int, coop_id: str, verified: bool) -> Cooperative:
        await self.require_operator(actor, "verify" if verified else "unverify")
        coop = await self.coops.get(coop_id)
        if coop is None:
            raise await self.refuse(actor, "verify", target=coop_id)
        await self.coops.set_fields(coop.id, {"verified": verified})
        await self._done(actor, "verify" if verified else "unverify", coop.id)
        coop.verified = verified
        return coop

    async def create_invite(
        self, actor: int, coop_id: str, *, board: bool = False
    ) -> tuple[str, Cooperative]:
        """A one-time token (valid for 7 days) that makes whoever opens it an admin: from an
        operator, or (``board``) from an admin for their own cooperative
        (:meth:`BoardService.create_invite`)."""
        if not board:
            await self.require_operator(actor, "invite")
        return await self.board.create_invite(actor, coop_id, board=board)

    async def accept_invite(self, user_id: int, token: str) -> Cooperative:
        """Make ``user_id`` an admin; raises :class:`InputError` (``invite_invalid``,
        ``board_full``)."""
        return await self.board.accept_invite(user_id, token)

    async def import_directory(
        self, actor: int, data: bytes, progress: Progress | None = None
    ) -> ImportReport:
        await self.require_operator(actor, "import")
        report = await self.importer.import_bytes(data, progress=progress)
        await self._done(
            actor,
            "import",
            None,
            None,
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            rejected=len(report.errors),
        )
        return report

    # --- CLI (trusted: the shell user is an operator) ----------------------------------

    async def resolve_coop(self, ref: str) -> Cooperative | None:
        """A cooperative by id or registration number."""
        coop = await self.coops.get(ref)
        if coop is None:
            coop = await self.coops.get_by_key("reg:" + fold(ref).replace(" ", ""))
        return coop

    async def add_admin_cli(self, coop: Cooperative, user_id: int) -> bool:
        return await self.board.grant(coop.id, user_id, actor=0, how="cli")

    async def remove_admin_cli(self, coop: Cooperative, user_id: int) -> bool:
        return await self.board.revoke(coop.id, user_id, actor=0, how="cli")
