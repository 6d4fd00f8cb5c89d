"""Is the database there? The one place handlers, jobs and the web server ask.

Handlers must not hold the store to find out; an outage is a domain fact ("the service is
temporarily unavailable"), not a driver detail, so the question is answered here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from storage.mongo import is_unavailable


class Pingable(Protocol):
    async def ping(self) -> bool: ...


@dataclass(slots=True)
class HealthService:
    database: Pingable

    def unavailable(self, error: BaseException) -> bool:
        """Whether ``error`` means the database cannot be reached right now."""
        return is_unavailable(error)

    async def ping(self) -> bool:
        """Whether the database answers right now (readiness)."""
        return await self.database.ping()
