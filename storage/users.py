"""Telegram users: language choice and activity; no names, no phone numbers."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.models import UserProfile
from storage.mongo import Document, Store


def _record(doc: Document) -> UserProfile:
    return UserProfile(
        user_id=int(doc["_id"]),
        language=doc.get("language"),
        telegram_language=doc.get("telegram_language"),
        created_at=doc.get("created_at"),
        last_seen=doc.get("last_seen"),
    )


class UserRepository:
    """Reads and writes the ``users`` collection (one document per Telegram user id)."""

    def __init__(self, store: Store) -> None:
        self._col = store["users"]

    async def get(self, user_id: int) -> UserProfile | None:
        doc = await self._col.find_one({"_id": user_id})
        return _record(doc) if doc else None

    async def seen(self, user_id: int, telegram_language: str | None) -> UserProfile:
        """Record that the user was active; create the profile on first contact."""
        now = datetime.now(UTC)
        update: Document = {"$set": {"last_seen": now}, "$setOnInsert": {"created_at": now}}
        if telegram_language:
            update["$set"]["telegram_language"] = telegram_language
        doc = await self._col.find_one_and_update(
            {"_id": user_id}, update, upsert=True, return_document=True
        )
        return _record(doc)

    async def set_language(self, user_id: int, language: str | None) -> None:
        now = datetime.now(UTC)
        await self._col.update_one(
            {"_id": user_id},
            {
                "$set": {"language": language, "last_seen": now},
                "$setOnInsert": {"created_at": now},
            },
            upsert=True,
        )

    async def count(self) -> int:
        return await self._col.count_documents({})
