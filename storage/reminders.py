"""What monthly dues reminders need (``bot/services/reminders.py``): the cooperatives that
remind, their active members in batches, the members who muted a cooperative's reminders,
and the durable marks that make a reminder go once per member and month.

- ``dues_reminders``: one document per member and month, ``_id`` ``"<user_id>:<YYYY-MM>"``,
  inserted before the reminder is queued (a unique id: two runs or two processes cannot
  both insert it). Expires after :data:`KEEP_MARKS` (TTL on ``at``).
- ``dues_reminder_scans``: ``"<coop_id>:<YYYY-MM>"`` once every member of a cooperative
  was looked at this month, so later runs skip it (TTL too).
- Mutes share the announcements' ``mutes`` collection under the key ``"dues:<coop_id>"``
  (so ``/mydata`` lists them and ``/deletedata`` erases them with the rest; the marks are
  erased there too: ``storage/privacy.py``).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from storage.cooperatives import to_record
from storage.models import Cooperative, DuesMember
from storage.mongo import Store

KEEP_MARKS = timedelta(days=70)  # a month and its neighbours: then the marks go
MUTE_PREFIX = "dues:"


class ReminderRepository:
    """Reads memberships and cooperatives; writes marks and mutes."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._coops = store["cooperatives"]
        self._apps = store["applications"]
        self._marks = store["dues_reminders"]
        self._scans = store["dues_reminder_scans"]
        self._mutes = store["mutes"]

    async def reminding_coops(self) -> list[Cooperative]:
        """Cooperatives on the platform with a monthly simpanan wajib and reminders on."""
        cursor = self._coops.find(
            {
                "on_platform": True,
                "simpanan_wajib": {"$gt": 0},
                "payment.reminders": {"$ne": False},
            }
        )
        return [to_record(doc) async for doc in cursor]

    async def members(self, coop_id: str, after: str | None, limit: int) -> list[DuesMember]:
        """A batch of the cooperative's active memberships, in id order after ``after``."""
        query: dict[str, object] = {"coop_id": coop_id, "status": "active"}
        if after is not None:
            query["_id"] = {"$gt": ObjectId(after)}
        cursor = (
            self._apps.find(query, {"user_id": 1, "coop_id": 1, "decided_at": 1})
            .sort("_id", 1)
            .limit(limit)
        )
        return [
            DuesMember(str(d["_id"]), d["coop_id"], int(d["user_id"]), d.get("decided_at"))
            async for d in cursor
            if d.get("user_id") is not None
        ]

    # --- marks --------------------------------------------------------------------------

    async def reminded(self, user_ids: Sequence[int], month: str) -> builtins.set[int]:
        """Which of ``user_ids`` were already reminded in ``month``."""
        ids = [f"{u}:{month}" for u in user_ids]
        cursor = self._marks.find({"_id": {"$in": ids}}, {"user_id": 1})
        return {int(d["user_id"]) async for d in cursor}

    async def claim(self, user_id: int, month: str, now: datetime) -> bool:
        """Mark ``user_id`` reminded in ``month``; False when someone marked it first."""
        try:
            await self._marks.insert_one(
                {"_id": f"{user_id}:{month}", "user_id": user_id, "month": month, "at": now}
            )
        except DuplicateKeyError:
            return False
        return True

    async def scanned(self, coop_id: str, month: str) -> bool:
        return await self._scans.count_documents({"_id": f"{coop_id}:{month}"}, limit=1) > 0

    async def mark_scanned(self, coop_id: str, month: str, now: datetime) -> None:
        await self._scans.update_one(
            {"_id": f"{coop_id}:{month}"}, {"$set": {"at": now}}, upsert=True
        )

    # --- mutes --------------------------------------------------------------------------

    async def muted(self, user_ids: Sequence[int]) -> builtins.set[tuple[int, str]]:
        """(user, cooperative) pairs whose dues reminders are muted, among ``user_ids``."""
        cursor = self._mutes.find(
            {"user_id": {"$in": list(user_ids)}, "coop_id": {"$regex": "^dues:"}},
            {"user_id": 1, "coop_id": 1},
        )
        return {
            (int(d["user_id"]), str(d["coop_id"]).removeprefix(MUTE_PREFIX)) async for d in cursor
        }

    async def mute(self, user_id: int, coop_id: str) -> None:
        key = MUTE_PREFIX + coop_id
        await self._mutes.update_one(
            {"_id": f"{user_id}:{key}"},
            {"$set": {"user_id": user_id, "coop_id": key}},
            upsert=True,
        )

    async def unmute(self, user_id: int, coop_id: str) -> None:
        await self._mutes.delete_one({"_id": f"{user_id}:{MUTE_PREFIX}{coop_id}"})
