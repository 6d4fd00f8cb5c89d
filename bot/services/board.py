"""Who runs a cooperative: the one place where admins are granted and removed.

A cooperative is *on the platform* while it has at least one admin (the flag
``Cooperative.on_platform`` follows every grant and removal, ``storage/admins.py``). Every
way of becoming or ceasing to be an admin — an operator's invitation or CLI command, an
approved claim, a board member's invitation, a removal, a hand-over, an erasure — goes
through :meth:`BoardService.grant` and :meth:`BoardService.revoke`, which audit the change
and tell :class:`PlatformEvents` when the cooperative comes aboard or goes off.
"""

from __future__ import annotations

from typing import Protocol

from storage.base import Admins, AuditLog, Cooperatives
from storage.models import Cooperative


class PlatformEvents(Protocol):
    """What happens when a cooperative comes on the platform or leaves it
    (``bot/services/platform.py``)."""

    async def came_aboard(self, coop: Cooperative) -> None: ...
    async def went_off(self, coop: Cooperative) -> None: ...


class BoardService:
    """Grants and removals of cooperative admins, audited, with their platform events."""

    def __init__(
        self,
        admins: Admins,
        coops: Cooperatives,
        audit: AuditLog,
        events: PlatformEvents | None = None,
    ) -> None:
        self.admins = admins
        self.coops = coops
        self.audit = audit
        self.events = events

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
