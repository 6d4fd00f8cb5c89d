"""Composing and controlling announcements: who receives them, creating, pausing,
resuming and cancelling jobs, and mutes. The engine (``engine.py``) does the sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.i18n import I18n
from bot.services.broadcast.clock import Clock, SystemClock
from bot.services.broadcast.engine import PLATFORM, BroadcastEngine
from storage.broadcasts import BroadcastRepository
from storage.models import Broadcast, Notice


@dataclass(slots=True)
class Audience:
    """Who an announcement goes to."""

    kind: str  # "coop" | "platform"
    coop_id: str | None = None
    include_pending: bool = False
    province: str | None = None
    regency: str | None = None
    coop_type: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "coop_id": self.coop_id,
                "include_pending": self.include_pending,
                "province": self.province,
                "regency": self.regency,
                "coop_type": self.coop_type,
            }.items()
            if v
        }


class BroadcastService:
    """Composing and controlling announcements (the engine does the sending)."""

    def __init__(
        self, repo: BroadcastRepository, clock: Clock | None = None, i18n: I18n | None = None
    ) -> None:
        self.repo = repo
        self.clock = clock or SystemClock()
        self.i18n = i18n  # negotiates each recipient's language (None: the default for all)
        self.engine: BroadcastEngine | None = None

    async def sender_name(self, kind: str, coop_id: str | None) -> str | None:
        """Who an announcement is from: the cooperative's name; None for the platform."""
        if kind == "coop" and coop_id:
            return await self.repo.coop_name(coop_id)
        return None

    async def languages(self, user_ids: Sequence[int]) -> dict[int, str]:
        """The language each recipient reads the bot in: their choice, else Telegram's as
        last seen, else the default (the same rule as ``UserService.recipient_locale``)."""
        if self.i18n is None:
            return {}
        stored = await self.repo.languages(user_ids)
        i18n = self.i18n
        return {user: i18n.negotiate(*stored.get(user, (None, None))) for user in user_ids}

    async def recipients(self, audience: Audience) -> list[int]:
        if audience.kind == "coop":
            assert audience.coop_id is not None
            statuses = ("active", "pending") if audience.include_pending else ("active",)
            members = await self.repo.members(audience.coop_id, statuses)
            muted = await self.repo.muted(audience.coop_id)
            return [m for m in members if m not in muted]
        muted = await self.repo.muted(PLATFORM)
        if not (audience.province or audience.regency or audience.coop_type):
            users = await self.repo.all_users()
        else:
            filt: dict[str, Any] = {}
            if audience.regency or audience.province:
                filt["areas"] = audience.regency or audience.province
            if audience.coop_type:
                filt["type"] = audience.coop_type
            users = await self.repo.users_of_coops(filt)
        return [u for u in users if u not in muted]

    async def create(
        self,
        audience: Audience,
        *,
        text: str,
        photo: str | None,
        created_by: int,
        paid: bool,
        scheduled_at: datetime | None,
        language: str,
    ) -> Broadcast:
        recipients = await self.recipients(audience)
        if audience.kind == "coop" and audience.coop_id:
            # Fixed now: the header names the cooperative even if it is renamed later.
            sender = await self.repo.coop_name(audience.coop_id)
        else:
            sender = None
        job = await self.repo.create(
            kind=audience.kind,
            coop_id=audience.coop_id,
            text=text,
            photo=photo,
            created_by=created_by,
            recipients=recipients,
            paid=paid,
            scheduled_at=scheduled_at,
            language=language,
            audience=audience.as_dict(),
            sender=sender,
            languages=await self.languages(recipients),
        )
        if self.engine is not None:
            self.engine.wake()
        return job

    async def notify(
        self,
        kind: str,
        notices: Sequence[Notice],
        *,
        coop_id: str | None = None,
        created_by: int = 0,
    ) -> Broadcast | None:
        """Send messages the platform owes people (a cooperative came aboard, a reminder),
        each with its own text and buttons, paced and crash-safe like an announcement.

        ``kind`` names the occasion (``notice:<what>``), for the log and the tests; these
        jobs have no progress message and no mute button (they answer what the recipient
        asked for or is owed). None when there is nobody to tell.
        """
        notices = list({n.chat_id: n for n in reversed(notices)}.values())[::-1]  # once each
        if not notices:
            return None
        job = await self.repo.create(
            kind=kind,
            coop_id=coop_id,
            text="",
            photo=None,
            created_by=created_by,
            recipients=notices,
            paid=False,
            scheduled_at=None,
            language="id",
            audience={},
        )
        if self.engine is not None:
            self.engine.wake()
        return job

    async def attach_progress(self, job_id: str, chat_id: int, message_id: int) -> None:
        await self.repo.set(job_id, {"progress_chat": chat_id, "progress_message": message_id})

    async def control(self, job_id: str, action: str) -> Broadcast | None:
        """pause | resume | cancel; None when the job is not in a state that allows it."""
        if action == "pause":
            job = await self.repo.set(job_id, {"status": "paused"}, only_if=("running",))
        elif action == "resume":
            job = await self.repo.set(job_id, {"status": "running"}, only_if=("paused",))
        else:
            job = await self.repo.set(
                job_id,
                {"status": "cancelled", "finished_at": self.clock.now()},
                only_if=("running", "paused", "scheduled"),
            )
            if job is not None:
                await self.repo.cancel_pending(job_id)
        if self.engine is not None:
            self.engine.wake()
        return job

    async def get(self, job_id: str) -> Broadcast | None:
        return await self.repo.get(job_id)

    async def mute(self, user_id: int, coop_key: str) -> None:
        await self.repo.mute(user_id, coop_key)

    async def unmute(self, user_id: int, coop_key: str) -> None:
        await self.repo.unmute(user_id, coop_key)
