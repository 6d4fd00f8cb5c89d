"""Announcements: the job and one document per recipient, so sending survives a crash.

Recipient status: ``pending`` → ``sending`` (claimed by a worker) → ``sent`` | ``blocked``
| ``failed`` (or back to ``pending`` with ``next_at`` to retry later).
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, ReturnDocument, UpdateOne

from storage.models import Broadcast, Notice, Recipient
from storage.mongo import Document, Store

FINAL = ("sent", "blocked", "failed", "cancelled")


def _oid(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def _record(doc: Document) -> Broadcast:
    return Broadcast(
        id=str(doc["_id"]),
        kind=doc["kind"],
        coop_id=doc.get("coop_id"),
        text=doc["text"],
        photo=doc.get("photo"),
        created_by=int(doc["created_by"]),
        status=doc["status"],
        paid=bool(doc.get("paid")),
        scheduled_at=doc.get("scheduled_at"),
        created_at=doc.get("created_at"),
        started_at=doc.get("started_at"),
        finished_at=doc.get("finished_at"),
        total=int(doc.get("total", 0)),
        progress_chat=doc.get("progress_chat"),
        progress_message=doc.get("progress_message"),
        language=doc.get("language", "id"),
        audience=doc.get("audience") or {},
        sender=doc.get("sender"),
    )


def _recipient(doc: Document) -> Recipient:
    return Recipient(
        id=doc["_id"],
        broadcast_id=doc["broadcast_id"],
        chat_id=int(doc["chat_id"]),
        status=doc["status"],
        attempts=int(doc.get("attempts", 0)),
        next_at=doc.get("next_at"),
        text=doc.get("text"),
        buttons=doc.get("buttons"),
        language=doc.get("language"),
    )


class BroadcastRepository:
    """Reads and writes ``broadcasts`` and ``broadcast_recipients``; reads the audiences
    (``mutes``, ``users``, ``applications``, ``cooperatives``)."""

    def __init__(self, store: Store) -> None:
        self._jobs = store["broadcasts"]
        self._recipients = store["broadcast_recipients"]
        self._mutes = store["mutes"]
        self._users = store["users"]
        self._apps = store["applications"]
        self._coops = store["cooperatives"]

    # --- jobs ---------------------------------------------------------------------------

    async def create(
        self,
        *,
        kind: str,
        coop_id: str | None,
        text: str,
        photo: str | None,
        created_by: int,
        recipients: Sequence[int | Notice],
        paid: bool,
        scheduled_at: datetime | None,
        language: str,
        audience: dict[str, Any],
        sender: str | None = None,
        languages: Mapping[int, str] | None = None,
    ) -> Broadcast:
        """A job and its recipients; ``languages`` maps a recipient to the language its
        header and buttons are rendered in (kept on the recipient: the senders read no
        user record per message)."""
        now = datetime.now(UTC)
        status = "scheduled" if scheduled_at and scheduled_at > now else "running"
        doc: Document = {
            "kind": kind,
            "coop_id": coop_id,
            "text": text,
            "photo": photo,
            "created_by": created_by,
            "status": status,
            "paid": paid,
            "scheduled_at": scheduled_at,
            "created_at": now,
            "total": len(recipients),
            "language": language,
            "audience": audience,
            "sender": sender,
        }
        result = await self._jobs.insert_one(doc)
        job_id = str(result.inserted_id)
        batch = []
        for recipient in recipients:
            chat_id = recipient.chat_id if isinstance(recipient, Notice) else recipient
            entry: Document = {
                "_id": f"{job_id}:{chat_id}",
                "broadcast_id": job_id,
                "chat_id": chat_id,
                "status": "pending",
                "attempts": 0,
                "next_at": now,
            }
            if isinstance(recipient, Notice):
                entry["text"] = recipient.text
                entry["buttons"] = recipient.buttons
            if languages and chat_id in languages:
                entry["language"] = languages[chat_id]
            batch.append(entry)
            if len(batch) >= 1000:
                await self._recipients.insert_many(batch, ordered=False)
                batch = []
        if batch:
            await self._recipients.insert_many(batch, ordered=False)
        doc["_id"] = result.inserted_id
        return _record(doc)

    async def get(self, job_id: str) -> Broadcast | None:
        oid = _oid(job_id)
        doc = await self._jobs.find_one({"_id": oid}) if oid else None
        return _record(doc) if doc else None

    async def set(
        self, job_id: str, fields: dict[str, Any], only_if: tuple[str, ...] | None = None
    ) -> Broadcast | None:
        oid = _oid(job_id)
        if oid is None:
            return None
        query: Document = {"_id": oid}
        if only_if:
            query["status"] = {"$in": list(only_if)}
        doc = await self._jobs.find_one_and_update(
            query, {"$set": fields}, return_document=ReturnDocument.AFTER
        )
        return _record(doc) if doc else None

    async def runnable(self, now: datetime) -> list[Broadcast]:
        """Running jobs, and scheduled ones that are due (which start now)."""
        await self._jobs.update_many(
            {"status": "scheduled", "scheduled_at": {"$lte": now}}, {"$set": {"status": "running"}}
        )
        cursor = self._jobs.find({"status": "running"}).sort("created_at", ASCENDING)
        return [_record(doc) async for doc in cursor]

    async def recent(self, created_by: int | None = None, limit: int = 10) -> list[Broadcast]:
        query: Document = {"created_by": created_by} if created_by is not None else {}
        cursor = self._jobs.find(query).sort("created_at", -1).limit(limit)
        return [_record(doc) async for doc in cursor]

    # --- recipients ---------------------------------------------------------------------

    async def reset_inflight(self) -> int:
        """After a crash: what was being sent goes back to the queue (sent once more at
        most — the bound stated in the README)."""
        result = await self._recipients.update_many(
            {"status": "sending"}, {"$set": {"status": "pending"}, "$unset": {"owner": ""}}
        )
        return result.modified_count

    async def claim(self, job_id: str, limit: int, now: datetime) -> list[Recipient]:
        """Take up to ``limit`` due recipients of a job for this worker.

        The batch is claimed as an ``_id`` range (one index range scan) rather than a long
        ``$in`` list, which costs far more on some servers for thousands of ids.
        """
        due: Document = {"broadcast_id": job_id, "status": "pending", "next_at": {"$lte": now}}
        cursor = self._recipients.find(due, {"_id": 1}).sort("_id", ASCENDING).limit(limit)
        ids = [doc["_id"] async for doc in cursor]
        if not ids:
            return []
        owner = secrets.token_hex(6)
        in_range = {"$gte": ids[0], "$lte": ids[-1]}
        await self._recipients.update_many(
            {**due, "_id": in_range}, {"$set": {"status": "sending", "owner": owner}}
        )
        cursor = self._recipients.find({"_id": in_range, "owner": owner})
        return [_recipient(doc) async for doc in cursor]

    async def record(self, results: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """Write send outcomes in one round trip: (recipient id, status, extra fields)."""
        ops = []
        for recipient_id, status, extra in results:
            update: Document = {"$set": {"status": status, **extra}, "$unset": {"owner": ""}}
            ops.append(UpdateOne({"_id": recipient_id}, update))
        if ops:
            await self._recipients.bulk_write(ops, ordered=False)

    async def counts(self, job_id: str) -> dict[str, int]:
        cursor = await self._recipients.aggregate(
            [
                {"$match": {"broadcast_id": job_id}},
                {"$group": {"_id": "$status", "n": {"$sum": 1}}},
            ]
        )
        return {doc["_id"]: int(doc["n"]) async for doc in cursor}

    async def cancel_pending(self, job_id: str) -> int:
        result = await self._recipients.update_many(
            {"broadcast_id": job_id, "status": "pending"}, {"$set": {"status": "cancelled"}}
        )
        return result.modified_count

    async def sent_to(self, job_id: str) -> list[int]:
        cursor = self._recipients.find({"broadcast_id": job_id, "status": "sent"}, {"chat_id": 1})
        return [int(doc["chat_id"]) async for doc in cursor]

    # --- audiences, mutes, reachability -------------------------------------------------

    async def muted(self, coop_key: str) -> builtins.set[int]:  # `set` is a method here
        return {int(doc["user_id"]) async for doc in self._mutes.find({"coop_id": coop_key})}

    async def mute(self, user_id: int, coop_key: str) -> None:
        await self._mutes.update_one(
            {"_id": f"{user_id}:{coop_key}"},
            {"$set": {"user_id": user_id, "coop_id": coop_key}},
            upsert=True,
        )

    async def unmute(self, user_id: int, coop_key: str) -> None:
        await self._mutes.delete_one({"_id": f"{user_id}:{coop_key}"})

    async def coop_name(self, coop_id: str) -> str | None:
        """A cooperative's name (an announcement's sender), None when it is gone."""
        oid = _oid(coop_id)
        doc = await self._coops.find_one({"_id": oid}, {"name": 1}) if oid else None
        return str(doc["name"]) if doc and doc.get("name") else None

    async def languages(self, user_ids: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
        """Each user's chosen language and Telegram's, as last seen (one query per 1,000)."""
        found: dict[int, tuple[str | None, str | None]] = {}
        for start in range(0, len(user_ids), 1000):
            chunk = list(user_ids[start : start + 1000])
            cursor = self._users.find(
                {"_id": {"$in": chunk}}, {"language": 1, "telegram_language": 1}
            )
            async for doc in cursor:
                found[int(doc["_id"])] = (doc.get("language"), doc.get("telegram_language"))
        return found

    async def mark_unreachable(self, chat_ids: Iterable[int]) -> None:
        ids = list(chat_ids)
        if ids:
            await self._users.update_many(
                {"_id": {"$in": ids}}, {"$set": {"unreachable_at": datetime.now(UTC)}}
            )

    async def members(self, coop_id: str, statuses: tuple[str, ...]) -> list[int]:
        cursor = self._apps.find(
            {"coop_id": coop_id, "status": {"$in": list(statuses)}, "user_id": {"$ne": None}},
            {"user_id": 1},
        )
        return sorted({int(doc["user_id"]) async for doc in cursor})

    async def all_users(self) -> list[int]:
        cursor = self._users.find({"unreachable_at": {"$exists": False}}, {"_id": 1})
        return [int(doc["_id"]) async for doc in cursor]

    async def users_of_coops(self, coop_filter: Document) -> list[int]:
        """Users with an open application or membership at cooperatives matching the filter."""
        coop_ids = [str(doc["_id"]) async for doc in self._coops.find(coop_filter, {"_id": 1})]
        if not coop_ids:
            return []
        cursor = self._apps.find(
            {
                "coop_id": {"$in": coop_ids},
                "status": {"$in": ["active", "pending", "suspended"]},
                "user_id": {"$ne": None},
            },
            {"user_id": 1},
        )
        unreachable = {
            int(doc["_id"])
            async for doc in self._users.find({"unreachable_at": {"$exists": True}}, {"_id": 1})
        }
        return sorted({int(doc["user_id"]) async for doc in cursor} - unreachable)
