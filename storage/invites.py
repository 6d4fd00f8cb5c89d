"""One-time admin invitations: stored by hash, single use, with an expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument

from storage.mongo import Document, Store


class InviteRepository:
    def __init__(self, store: Store) -> None:
        self._col = store["invites"]

    async def create(
        self, token_hash: str, coop_id: str, created_by: int, valid_for: timedelta
    ) -> None:
        now = datetime.now(UTC)
        await self._col.insert_one(
            {
                "_id": token_hash,
                "coop_id": coop_id,
                "created_by": created_by,
                "created_at": now,
                "expires_at": now + valid_for,
                "used_by": None,
            }
        )

    async def get(self, token_hash: str) -> Document | None:
        return await self._col.find_one({"_id": token_hash})

    async def use(self, token_hash: str, user_id: int) -> Document | None:
        """Mark the invitation used by ``user_id``, once; None if used or expired."""
        now = datetime.now(UTC)
        return await self._col.find_one_and_update(
            {"_id": token_hash, "used_by": None, "expires_at": {"$gt": now}},
            {"$set": {"used_by": user_id, "used_at": now}},
            return_document=ReturnDocument.AFTER,
        )
