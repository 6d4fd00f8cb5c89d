"""The audit log: every admin action, insert-only (nothing here updates or deletes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.mongo import Document, Store


class AuditRepository:
    def __init__(self, store: Store) -> None:
        self._col = store["audit"]

    async def record(
        self,
        *,
        actor: int,
        action: str,
        outcome: str,
        coop_id: str | None = None,
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await self._col.insert_one(
            {
                "at": datetime.now(UTC),
                "actor": actor,
                "action": action,
                "coop_id": coop_id,
                "target": target,
                "outcome": outcome,
                "details": details or {},
            }
        )

    async def recent(self, limit: int = 20, *, coop_id: str | None = None) -> list[Document]:
        query: Document = {"coop_id": coop_id} if coop_id else {}
        cursor = self._col.find(query, {"_id": 0}).sort("at", -1).limit(limit)
        return [doc async for doc in cursor]

    async def count(self, query: Document | None = None) -> int:
        return await self._col.count_documents(query or {})
