"""Notify-me subscriptions (collection ``subscriptions``): who wants to hear when a
cooperative comes on the platform.

One document per cooperative and person, ``{_id: "<coop_id>:<user_id>", coop_id, user_id,
created_at, notified_at}`` (the operators' statistics read these fields). ``notified_at``
is set, once, when the person is told; subscribing again after that starts a new
subscription in the same document.
"""

from __future__ import annotations

from datetime import UTC, datetime

from storage.models import Subscription
from storage.mongo import Document, Store


def _record(doc: Document) -> Subscription:
    return Subscription(
        coop_id=doc["coop_id"],
        user_id=int(doc["user_id"]),
        created_at=doc["created_at"],
        notified_at=doc.get("notified_at"),
    )


class SubscriptionRepository:
    def __init__(self, store: Store) -> None:
        self._col = store["subscriptions"]

    @staticmethod
    def _id(coop_id: str, user_id: int) -> str:
        return f"{coop_id}:{user_id}"

    async def subscribe(self, coop_id: str, user_id: int, now: datetime | None = None) -> bool:
        """Ask to be told when ``coop_id`` comes aboard; False if already waiting."""
        now = now or datetime.now(UTC)
        # Only a subscription that was never notified is "still waiting"; a notified one is
        # replaced by a new one (and will be told again, once, the next time).
        result = await self._col.update_one(
            {"_id": self._id(coop_id, user_id), "notified_at": {"$ne": None}},
            {"$set": {"created_at": now, "notified_at": None}},
        )
        if result.modified_count:
            return True
        result = await self._col.update_one(
            {"_id": self._id(coop_id, user_id)},
            {
                "$setOnInsert": {
                    "coop_id": coop_id,
                    "user_id": user_id,
                    "created_at": now,
                    "notified_at": None,
                }
            },
            upsert=True,
        )
        return result.upserted_id is not None

    async def cancel(self, coop_id: str, user_id: int) -> bool:
        """Stop waiting for ``coop_id``; False if there was nothing to cancel."""
        result = await self._col.delete_one(
            {"_id": self._id(coop_id, user_id), "notified_at": None}
        )
        return result.deleted_count == 1

    async def is_waiting(self, coop_id: str, user_id: int) -> bool:
        doc = await self._col.find_one({"_id": self._id(coop_id, user_id), "notified_at": None})
        return doc is not None

    async def waiting_of(self, user_id: int) -> list[Subscription]:
        """The user's subscriptions not yet notified, oldest first."""
        cursor = self._col.find({"user_id": user_id, "notified_at": None}).sort("created_at", 1)
        return [_record(doc) async for doc in cursor]

    async def of_user(self, user_id: int) -> list[Subscription]:
        """All the user's subscriptions, notified ones included (their data export)."""
        cursor = self._col.find({"user_id": user_id}).sort("created_at", 1)
        return [_record(doc) async for doc in cursor]

    async def take_waiting(self, coop_id: str, now: datetime | None = None) -> list[Subscription]:
        """Mark every waiting subscription of ``coop_id`` notified and return them.

        Each is marked by itself, conditionally: of two concurrent calls each subscription
        goes to one only, so nobody is told twice."""
        now = now or datetime.now(UTC)
        taken = []
        cursor = self._col.find({"coop_id": coop_id, "notified_at": None}, {"_id": 1})
        ids = [doc["_id"] async for doc in cursor]
        for doc_id in ids:
            doc = await self._col.find_one_and_update(
                {"_id": doc_id, "notified_at": None}, {"$set": {"notified_at": now}}
            )
            if doc is not None:
                taken.append(_record({**doc, "notified_at": now}))
        return taken

    async def count_waiting(self, coop_id: str) -> int:
        return await self._col.count_documents({"coop_id": coop_id, "notified_at": None})

    async def erase_user(self, user_id: int) -> int:
        result = await self._col.delete_many({"user_id": user_id})
        return result.deleted_count
