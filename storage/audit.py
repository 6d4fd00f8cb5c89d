"""The audit log: every admin action, insert-only (nothing here updates or deletes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.models import AuditEntry
from storage.mongo import Document, Store


def _record(doc: Document) -> AuditEntry:
    return AuditEntry(
        at=doc["at"],
        actor=doc.get("actor"),
        action=doc["action"],
        outcome=doc["outcome"],
        coop_id=doc.get("coop_id"),
        target=doc.get("target"),
        details=doc.get("details") or {},
        actor_erased=bool(doc.get("actor_erased", False)),
    )


class AuditRepository:
    """Appends to and reads ``audit``."""

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

    async def recent(self, limit: int = 20, *, coop_id: str | None = None) -> list[AuditEntry]:
        """The newest entries first (of one cooperative, or of all)."""
        query: Document = {"coop_id": coop_id} if coop_id else {}
        cursor = self._col.find(query, {"_id": 0}).sort("at", -1).limit(limit)
        return [_record(doc) async for doc in cursor]

    async def count(self, query: Document | None = None) -> int:
        return await self._col.count_documents(query or {})
