"""Who runs a cooperative: the one place where admins are granted and removed.

A cooperative is *on the platform* while it has at least one admin (the flag
``Cooperative.on_platform`` follows every grant and removal, ``storage/admins.py``). Every
way of becoming or ceasing to be an admin — an operator's invitation or CLI command, an
approved claim, a board member's invitation, a removal, a hand-over, an erasure — goes
through :meth:`BoardService.grant` and :meth:`BoardService.revoke`, which audit the change
and tell :class:`PlatformEvents` when the cooperative comes aboard or goes off.

A board runs itself (issue 15, item 3): its admins see each other (as "Admin 1", "Admin 2"…
in order of joining: the bot keeps no names of admins), invite fellow board members
(``AdminService.create_invite(board=True)``), remove one another, and leave — all but the
last, who first invites a successor. At most :data:`MAX_ADMINS` admins per cooperative: an
invitation is refused when it is created for a full board, and again when it is accepted
(invitations are not seats: five open links for one free seat are allowed, the first to
accept takes it, the others are told why not). Every check is ``AdminService.authorize``
(the :class:`Guard` bound at start), so each refusal is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.services.profile import InputError
from storage.base import Admins, AuditLog, Cooperatives, Invites
from storage.models import Cooperative

MAX_ADMINS = 5
INVITE_DAYS = 7


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PlatformEvents(Protocol):
    """What happens when a cooperative comes on the platform or leaves it
    (``bot/services/platform.py``)."""

    async def came_aboard(self, coop: Cooperative) -> None: ...
    async def went_off(self, coop: Cooperative) -> None: ...


class Guard(Protocol):
    """The one role check (``AdminService``): pass, or audit the refusal and raise."""

    async def authorize(
        self,
        actor: int,
        action: str,
        *,
        coop_id: str | None = None,
        operators: bool = False,
        only: int | None = None,
        target: str | None = None,
    ) -> None: ...

    async def refuse(
        self, actor: int, action: str, *, coop_id: str | None = None, target: str | None = None
    ) -> Exception: ...


class LastAdmin(Exception):
    """The only admin of a cooperative may not leave before someone takes over."""


@dataclass(frozen=True, slots=True)
class Seat:
    """One admin as the board sees them: no name, a number in order of joining."""

    number: int  # 1 = the longest-serving admin
    user_id: int
    since: datetime | None
    you: bool


@dataclass(frozen=True, slots=True)
class Board:
    """A cooperative's admins, as one of them sees the board."""

    coop: Cooperative
    seats: list[Seat]

    @property
    def full(self) -> bool:
        return len(self.seats) >= MAX_ADMINS

    @property
    def alone(self) -> bool:
        """Whether the viewer is the only admin (then they hand over before leaving)."""
        return len(self.seats) <= 1

    def seat(self, user_id: int) -> Seat | None:
        return next((s for s in self.seats if s.user_id == user_id), None)


class BoardService:
    """Grants and removals of cooperative admins, audited, with their platform events;
    the board's own screen: its admins, removals and leaving."""

    def __init__(
        self,
        admins: Admins,
        coops: Cooperatives,
        audit: AuditLog,
        events: PlatformEvents | None = None,
        invites: Invites | None = None,
    ) -> None:
        self.invites = invites
        self.admins = admins
        self.coops = coops
        self.audit = audit
        self.events = events
        self.guard: Guard | None = None  # AdminService, bound by the composition root

    def bind(self, guard: Guard) -> None:
        """Check roles through ``guard`` (AdminService depends on this service, so it
        is bound after both exist)."""
        self.guard = guard

    @property
    def _guard(self) -> Guard:
        assert self.guard is not None, "BoardService.bind was not called"
        return self.guard

    async def _authorize(self, actor: int, action: str, coop_id: str, target: str | None) -> None:
        await self._guard.authorize(actor, action, coop_id=coop_id, target=target)

    # --- the board, as its admins see it ------------------------------------------------

    async def seats_left(self, coop_id: str) -> int:
        """How many more admins ``coop_id`` may have."""
        return max(0, MAX_ADMINS - await self.admins.count(coop_id))

    async def board(self, actor: int, coop_id: str) -> Board:
        """The admins of a cooperative ``actor`` runs (Forbidden otherwise, audited)."""
        await self._authorize(actor, "view_board", coop_id, None)
        coop = await self.coops.get(coop_id)
        if coop is None:  # an admin of a cooperative that is gone: nothing to show
            raise await self._guard.refuse(actor, "view_board", target=coop_id)
        grants = await self.admins.grants_of(coop_id)
        seats = [
            Seat(number=i, user_id=g.user_id, since=g.added_at, you=g.user_id == actor)
            for i, g in enumerate(grants, start=1)
        ]
        return Board(coop, seats)

    async def remove(self, actor: int, coop_id: str, target: int) -> bool:
        """``actor`` removes another admin of their cooperative; False when ``target`` is
        not (any more) one. Removing oneself is leaving (:meth:`leave`): refused here."""
        await self._authorize(actor, "board_remove", coop_id, str(target))
        if target == actor:  # no button does this: a forged one
            raise await self._guard.refuse(
                actor, "board_remove", coop_id=coop_id, target=str(target)
            )
        return await self.revoke(coop_id, target, actor=actor, how="board_remove")

    async def leave(self, actor: int, coop_id: str) -> list[int]:
        """``actor`` stops being an admin; returns the admins who remain (to tell them).
        Raises :class:`LastAdmin` when nobody would remain."""
        await self._authorize(actor, "board_leave", coop_id, None)
        others = [a for a in await self.admins.admins_of(coop_id) if a != actor]
        if not others:
            await self.audit.record(
                actor=actor, action="board_leave", outcome="last_admin", coop_id=coop_id
            )
            raise LastAdmin(coop_id)
        await self.revoke(coop_id, actor, actor=actor, how="leave")
        return others

    # --- invitations --------------------------------------------------------------------

    async def create_invite(
        self, actor: int, coop_id: str, *, board: bool = False
    ) -> tuple[str, Cooperative]:
        """A one-time token, valid for :data:`INVITE_DAYS` days, that makes whoever opens it
        an admin of ``coop_id``. Without ``board`` the caller has checked that ``actor`` is
        an operator; with it, ``actor`` must be an admin of ``coop_id`` and the board have a
        free seat (``InputError("board_full")``). A board's invitation is void once its
        creator is no longer an admin."""
        assert self.invites is not None
        action = "board_invite" if board else "invite"
        coop = await self.coops.get(coop_id)
        if coop is None:
            raise await self._guard.refuse(actor, action, target=coop_id)
        if board:
            await self._authorize(actor, action, coop.id, None)
            if await self.seats_left(coop.id) <= 0:
                await self.audit.record(
                    actor=actor, action=action, outcome="board_full", coop_id=coop.id
                )
                raise InputError("board_full")
        token = secrets.token_urlsafe(24)  # 32 characters of A-Z a-z 0-9 _ -
        kind = "board" if board else "operator"
        await self.invites.create(
            _hash(token), coop.id, actor, timedelta(days=INVITE_DAYS), kind=kind
        )
        await self.audit.record(actor=actor, action=action, outcome="ok", coop_id=coop.id)
        return token, coop

    async def accept_invite(self, user_id: int, token: str) -> Cooperative:
        """Make ``user_id`` an admin; raises :class:`InputError`: ``invite_invalid`` (used,
        expired, unknown, or its inviting admin has left the board) or ``board_full``
        (already :data:`MAX_ADMINS` admins; the invitation stays unused)."""
        assert self.invites is not None
        invite = await self.invites.get(_hash(token)) if 16 <= len(token) <= 64 else None
        coop = await self.coops.get(invite.coop_id) if invite is not None else None
        if (
            invite is not None
            and coop is not None
            and invite.kind == "board"
            and not await self.admins.is_admin(coop.id, invite.created_by or 0)
        ):
            coop = None  # its admin was removed or left: what they started ends with them
        if (
            invite is not None
            and coop is not None
            and invite.used_by is None
            and not await self.admins.is_admin(coop.id, user_id)
            and await self.seats_left(coop.id) <= 0
        ):
            await self.audit.record(
                actor=user_id, action="accept_invite", outcome="board_full", coop_id=coop.id
            )
            raise InputError("board_full", coop=coop.name)
        used = await self.invites.use(_hash(token), user_id) if coop is not None else None
        if used is None or coop is None:
            await self.audit.record(actor=user_id, action="accept_invite", outcome="refused")
            raise InputError("invite_invalid")
        await self.audit.record(
            actor=user_id, action="accept_invite", outcome="ok", coop_id=coop.id
        )
        how = "board_invite" if used.kind == "board" else "invite"
        await self.grant(coop.id, user_id, actor=used.created_by or 0, how=how)
        return coop

    # --- grants and removals ------------------------------------------------------------

    async def grant(self, coop_id: str, user_id: int, *, actor: int, how: str) -> bool:
        """Make ``user_id`` an admin of ``coop_id`` (``how``: invite, claim, cli, board…);
        False if they already were. The caller has checked that ``actor`` may."""
        before = await self.admins.count(coop_id)
        added = await self.admins.add(coop_id, user_id, added_by=actor or None)
        await self.audit.record(
            actor=actor,
            action="admin_grant",
            outcome="ok" if added else "already",
            coop_id=coop_id,
            target=str(user_id),
            details={"how": how},
        )
        if added and before == 0 and self.events is not None:
            coop = await self.coops.get(coop_id)
            if coop is not None:
                await self.events.came_aboard(coop)
        return added

    async def revoke(self, coop_id: str, user_id: int, *, actor: int, how: str) -> bool:
        """Remove ``user_id`` from the admins of ``coop_id``; False if they were not one.
        The caller has checked that ``actor`` may (and any hand-over rule)."""
        removed = await self.admins.remove(coop_id, user_id)
        await self.audit.record(
            actor=actor,
            action="admin_revoke",
            outcome="ok" if removed else "not_admin",
            coop_id=coop_id,
            target=str(user_id),
            details={"how": how},
        )
        if removed and await self.admins.count(coop_id) == 0 and self.events is not None:
            coop = await self.coops.get(coop_id)
            if coop is not None:
                await self.events.went_off(coop)
        return removed
