"""Every person's data key, wrapped under the key-encryption key (crypto-shredding).

One document per Telegram user in ``person_keys``: ``{_id: user id, wrapped, created_at}``.
The key itself is never stored in clear: ``wrapped`` is it encrypted under a key derived
from DATA_KEY (``bot/services/crypto.py``), tagged with that key's id so a rotation finds
what is left to re-wrap. Deleting a document is the erasure: everything sealed with that
key, wherever a copy of it lies, can no longer be opened.

The collection is kept apart from the data it opens so that it can also live elsewhere
(another database, its own backup regime); see SECURITY.md. It also records which one-off
migrations of personal data have run (in ``meta``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from pymongo.errors import DuplicateKeyError

from storage.models import PersonKey
from storage.mongo import Document, Store


class KeyRepository:
    """Reads, creates, re-wraps and destroys the wrapped keys in ``person_keys``."""

    def __init__(self, store: Store) -> None:
        self._col = store["person_keys"]
        self._meta = store["meta"]

    async def get_many(self, user_ids: Iterable[int]) -> dict[int, str]:
        """The wrapped keys of those of ``user_ids`` who have one."""
        ids = list(set(user_ids))
        if not ids:
            return {}
        cursor = self._col.find({"_id": {"$in": ids}}, {"wrapped": 1})
        return {int(doc["_id"]): str(doc["wrapped"]) async for doc in cursor}

    async def create(self, user_id: int, wrapped: str) -> str:
        """Store a new key unless the person has one; returns the key they have now (a
        concurrent creation wins, so every writer seals with the same key)."""
        try:
            await self._col.insert_one(
                {"_id": user_id, "wrapped": wrapped, "created_at": datetime.now(UTC)}
            )
        except DuplicateKeyError:
            doc = await self._col.find_one({"_id": user_id}, {"wrapped": 1})
            if doc is not None:
                return str(doc["wrapped"])
            return await self.create(user_id, wrapped)  # destroyed meanwhile: ours, then
        return wrapped

    async def delete(self, user_id: int) -> bool:
        result = await self._col.delete_one({"_id": user_id})
        return result.deleted_count == 1

    async def stale(
        self, current_key_id: str, after: int | None = None, limit: int = 200
    ) -> list[PersonKey]:
        """Keys wrapped under another key than the current one, by user id after ``after``."""
        query: Document = {"wrapped": {"$not": {"$regex": f"^{re.escape(current_key_id)}:"}}}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self._col.find(query).sort("_id", 1).limit(limit)
        return [
            PersonKey(int(doc["_id"]), str(doc["wrapped"]), doc.get("created_at"))
            async for doc in cursor
        ]

    async def rewrap(self, user_id: int, old: str, new: str) -> bool:
        """Swap in the re-wrapped key unless it changed meanwhile (compare-and-set)."""
        result = await self._col.update_one(
            {"_id": user_id, "wrapped": old}, {"$set": {"wrapped": new}}
        )
        return result.modified_count == 1

    async def count(self) -> int:
        return int(await self._col.count_documents({}))

    async def migrated(self, name: str) -> bool:
        """Whether the one-off migration ``name`` has run to its end."""
        return await self._meta.find_one({"_id": f"migration:{name}"}) is not None

    async def mark_migrated(self, name: str) -> None:
        await self._meta.replace_one(
            {"_id": f"migration:{name}"},
            {"_id": f"migration:{name}", "done_at": datetime.now(UTC)},
            upsert=True,
        )
