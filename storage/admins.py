"""Cooperative admins: who may run which cooperative (one document per pair)."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.cooperatives import parse_id
from storage.models import AdminGrant
from storage.mongo import Document, Store
from storage.spatial import directory_changed


def _record(doc: Document) -> AdminGrant:
    return AdminGrant(
        coop_id=doc["coop_id"],
        user_id=int(doc["user_id"]),
        added_by=doc.get("added_by"),
        added_at=doc.get("added_at"),
    )


class AdminRepository:
    """Reads and writes ``coop_admins``."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._col = store["coop_admins"]
        self._coops = store["cooperatives"]

    async def _sync(self, coop_id: str) -> None:
        """Keep the cooperative's ``on_platform`` flag (search results show it) equal to
        "has at least one admin"; written after every change of its admins."""
        oid = parse_id(coop_id)
        if oid is None:
            return
        on = await self._col.count_documents({"coop_id": coop_id}, limit=1) > 0
        result = await self._coops.update_one({"_id": oid}, {"$set": {"on_platform": on}})
        if result.modified_count:
            await directory_changed(self._store, index=False)  # the badge of result lists

    async def sync_all(self) -> int:
        """Repair every cooperative's ``on_platform`` flag (at start: a crash between a
        grant and its flag, or a directory from before the flag); returns the changes."""
        ids = {parse_id(c) for c in await self._col.distinct("coop_id")}
        with_admins = [i for i in ids if i is not None]
        changed = 0
        result = await self._coops.update_many(
            {"on_platform": True, "_id": {"$nin": with_admins}},
            {"$set": {"on_platform": False}},
        )
        changed += result.modified_count
        if with_admins:
            result = await self._coops.update_many(
                {"_id": {"$in": with_admins}, "on_platform": {"$ne": True}},
                {"$set": {"on_platform": True}},
            )
            changed += result.modified_count
        if changed:
            await directory_changed(self._store, index=False)
        return changed

    async def count(self, coop_id: str) -> int:
        """How many admins run ``coop_id``."""
        return await self._col.count_documents({"coop_id": coop_id})

    @staticmethod
    def _id(coop_id: str, user_id: int) -> str:
        return f"{coop_id}:{user_id}"

    async def add(self, coop_id: str, user_id: int, added_by: int | None = None) -> bool:
        """Make ``user_id`` an admin of ``coop_id``; False if they already were."""
        result = await self._col.update_one(
            {"_id": self._id(coop_id, user_id)},
            {
                "$setOnInsert": {
                    "coop_id": coop_id,
                    "user_id": user_id,
                    "added_by": added_by,
                    "added_at": datetime.now(UTC),
                }
            },
            upsert=True,
        )
        await self._sync(coop_id)
        return result.upserted_id is not None

    async def remove(self, coop_id: str, user_id: int) -> bool:
        result = await self._col.delete_one({"_id": self._id(coop_id, user_id)})
        await self._sync(coop_id)
        return result.deleted_count == 1

    async def is_admin(self, coop_id: str, user_id: int) -> bool:
        return await self._col.count_documents({"_id": self._id(coop_id, user_id)}) == 1

    async def coops_of(self, user_id: int) -> list[str]:
        return [doc["coop_id"] async for doc in self._col.find({"user_id": user_id})]

    async def admins_of(self, coop_id: str) -> list[int]:
        return [int(doc["user_id"]) async for doc in self._col.find({"coop_id": coop_id})]

    async def grants_of(self, coop_id: str) -> list[AdminGrant]:
        """A cooperative's admins, longest-serving first (the board screen numbers them)."""
        cursor = self._col.find({"coop_id": coop_id}).sort([("added_at", 1), ("user_id", 1)])
        return [_record(doc) async for doc in cursor]

    async def all(self) -> list[AdminGrant]:
        cursor = self._col.find().sort([("coop_id", 1), ("user_id", 1)])
        return [_record(doc) async for doc in cursor]
