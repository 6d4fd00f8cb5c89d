"""Erasure and export across collections (the data-subject rights of UU 27/2022)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from storage.models import UserState
from storage.mongo import Store


class PrivacyRepository:
    """Reads and erases one user's data across every collection that holds some."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def user_state(self, user_id: int) -> UserState:
        doc = await self._store["user_data"].find_one({"_id": user_id})
        return UserState(user_id=user_id, data=(doc or {}).get("data") or {})

    async def mutes(self, user_id: int) -> list[str]:
        cursor = self._store["mutes"].find({"user_id": user_id}, {"coop_id": 1})
        return [doc["coop_id"] async for doc in cursor]

    async def search_count(self, user_id: int) -> int:
        return await self._store["searches"].count_documents({"user_id": user_id})

    async def erase_applications(self, user_id: int, fields: Iterable[str]) -> int:
        """Strip personal fields and the user id from every application of the user."""
        apps = self._store["applications"]
        ids = [doc["_id"] async for doc in apps.find({"user_id": user_id}, {"_id": 1})]
        if not ids:
            return 0
        unset = dict.fromkeys([*fields, "open_user", "open_nik"], "")
        await apps.update_many(
            {"_id": {"$in": ids}},
            {"$unset": unset, "$set": {"user_id": None, "erased_at": datetime.now(UTC)}},
        )
        # Card images showed the name: forget Telegram's copies of them too.
        await self._store["card_files"].delete_many(
            {"_id": {"$regex": "^(" + "|".join(str(i) for i in ids) + "):"}}
        )
        return len(ids)

    async def erase_user(self, user_id: int) -> None:
        """Remove the user's own documents and their id wherever it was recorded."""
        store = self._store
        await store["users"].delete_one({"_id": user_id})
        await store["user_data"].delete_one({"_id": user_id})
        await store["conversations"].delete_many({"key": user_id})
        await store["searches"].delete_many({"user_id": user_id})
        await store["mutes"].delete_many({"user_id": user_id})
        await store["dues_reminders"].delete_many({"user_id": user_id})
        await store["broadcast_recipients"].delete_many({"chat_id": user_id})
        await store["coop_admins"].delete_many({"user_id": user_id})
        await store["invites"].update_many({"used_by": user_id}, {"$set": {"used_by": -1}})
        await store["invites"].update_many({"created_by": user_id}, {"$set": {"created_by": None}})
        # The audit log keeps what happened, not who it was.
        await store["audit"].update_many(
            {"actor": user_id}, {"$set": {"actor": None, "actor_erased": True}}
        )
        await store["audit"].update_many({"target": str(user_id)}, {"$set": {"target": None}})

    async def purge_decided(
        self, statuses: tuple[str, ...], before: datetime, fields: Iterable[str]
    ) -> int:
        """Strip personal fields of applications decided (rejected, withdrawn) before
        ``before``; returns how many were purged."""
        result = await self._store["applications"].update_many(
            {
                "status": {"$in": list(statuses)},
                "decided_at": {"$lt": before},
                "purged_at": {"$exists": False},
            },
            {
                "$unset": dict.fromkeys([*fields, "open_user", "open_nik"], ""),
                "$set": {"purged_at": datetime.now(UTC)},
            },
        )
        return result.modified_count
