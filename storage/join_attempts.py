"""Join attempts on cooperatives not on the platform (collection ``join_attempts``).

One document per cooperative and person, ``{_id: "<coop_id>:<user_id>", coop_id, user_id,
first_at, last_at, count}``: the demand the operators see, to reach those boards first (the
operators' statistics read these fields).
"""

from __future__ import annotations

from datetime import UTC, datetime

from storage.models import JoinAttempt
from storage.mongo import Document, Store


def _record(doc: Document) -> JoinAttempt:
    return JoinAttempt(
        coop_id=doc["coop_id"],
        user_id=int(doc["user_id"]),
        first_at=doc["first_at"],
        last_at=doc["last_at"],
        count=int(doc.get("count", 1)),
    )


class JoinAttemptRepository:
    def __init__(self, store: Store) -> None:
        self._col = store["join_attempts"]

    async def record(self, coop_id: str, user_id: int, now: datetime | None = None) -> None:
        """Count one more attempt of ``user_id`` to join ``coop_id``."""
        now = now or datetime.now(UTC)
        await self._col.update_one(
            {"_id": f"{coop_id}:{user_id}"},
            {
                "$setOnInsert": {"coop_id": coop_id, "user_id": user_id, "first_at": now},
                "$set": {"last_at": now},
                "$inc": {"count": 1},
            },
            upsert=True,
        )

    async def of_user(self, user_id: int) -> list[JoinAttempt]:
        cursor = self._col.find({"user_id": user_id}).sort("first_at", 1)
        return [_record(doc) async for doc in cursor]

    async def erase_user(self, user_id: int) -> int:
        result = await self._col.delete_many({"user_id": user_id})
        return result.deleted_count
