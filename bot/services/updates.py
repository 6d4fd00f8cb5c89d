"""Telegram resends an update whose delivery failed: each update id is handled once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class UpdateClaims(Protocol):
    async def claim(self, update_id: int) -> bool: ...


@dataclass(slots=True)
class UpdateService:
    log: UpdateClaims

    async def claim(self, update_id: int) -> bool:
        """True the first time an update id is seen, False for a redelivery."""
        return await self.log.claim(update_id)
