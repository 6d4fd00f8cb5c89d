"""Membership applications and memberships (one document each, by status).

Personal values are stored sealed with their person's key, under ``sealed.<field>``
(``bot/services/personal.py`` seals and opens them; this module only moves them): records
carry them in ``Application.sealed``. Documents written before sealing hold them in clear
at the top level until the start-up backfill (:meth:`in_clear`, :meth:`seal_in_place`)
moves them.

Status: ``pending`` → ``active`` (approved) | ``rejected``; ``withdrawn`` (by the user
before a decision); ``left`` and ``suspended`` after approval. At most one open
(pending or active/suspended) application per user and cooperative, and per NIK and
cooperative: both are unique keys that exist only while the application is open, so two
concurrent submits cannot both succeed.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from storage.base import DuplicateApplication
from storage.models import Application, LegacyFields, Notification
from storage.mongo import Document, Store

OPEN_STATUSES = ("pending", "active", "suspended")


_FIELDS = (
    "number",
    "coop_id",
    "user_id",
    "status",
    "created_at",
    "updated_at",
    "full_name",
    "nik_enc",
    "nik_hash",
    "nik_masked",
    "sex",
    "birth_date",
    "birth_place",
    "address",
    "domicile_village",
    "domicile_point",
    "phone",
    "occupation",
    "domicile_declared",
    "language",
    "consent",
    "member_number",
    "decided_at",
    "reason",
    "card_version",
    "status_reason",
    "nik_conflict",
)


def _oid(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def _notification(doc: Document) -> Notification:
    return Notification(
        id=str(doc["_id"]),
        kind=doc["kind"],
        coop_id=doc.get("coop_id"),
        application_id=doc.get("application_id"),
        created_at=doc.get("created_at"),
        delivered=bool(doc.get("delivered", False)),
    )


def to_record(doc: Document) -> Application:
    values: dict[str, Any] = {name: doc.get(name) for name in _FIELDS}
    values["domicile_declared"] = bool(values["domicile_declared"])
    values["nik_conflict"] = bool(values["nik_conflict"])
    values["language"] = values["language"] or "id"
    values["consent"] = values["consent"] or {}
    values["card_version"] = int(values["card_version"] or 0)
    sealed = doc.get("sealed")
    values["sealed"] = dict(sealed) if isinstance(sealed, dict) else {}
    return Application(id=str(doc["_id"]), **values)


class ApplicationRepository:
    """Reads and writes ``applications`` and the ``counters`` they number from."""

    def __init__(self, store: Store) -> None:
        self._col = store["applications"]
        self._counters = store["counters"]
        self._outbox = store["notifications"]
        self._card_files = store["card_files"]
        self._known_counters: set[str] = set()

    @staticmethod
    def id_bytes(application_id: str) -> bytes:
        """The 12 bytes of an application id (card tokens carry it compactly)."""
        return ObjectId(application_id).binary

    @staticmethod
    def id_from_bytes(raw: bytes) -> str | None:
        """The application id those 12 bytes encode; None if they encode none."""
        try:
            return str(ObjectId(raw))
        except (InvalidId, TypeError):
            return None

    async def next_number(self, name: str) -> int:
        """An atomic counter: every call gets a new, consecutive number.

        The counter document is created first (an upsert that sets nothing when it exists),
        and only then incremented: concurrent first increments never race on an upsert.
        """
        if name not in self._known_counters:
            # A DuplicateKeyError means a concurrent call created it: exactly what was wanted.
            with contextlib.suppress(DuplicateKeyError):
                await self._counters.update_one(
                    {"_id": name}, {"$setOnInsert": {"seq": 0}}, upsert=True
                )
            self._known_counters.add(name)
        doc = await self._counters.find_one_and_update(
            {"_id": name}, {"$inc": {"seq": 1}}, return_document=ReturnDocument.AFTER
        )
        if doc is None:  # the counter vanished (a wiped database): start it again
            self._known_counters.discard(name)
            return await self.next_number(name)
        return int(doc["seq"])

    async def create(self, values: dict[str, Any]) -> Application:
        """Insert a pending application; raises :class:`DuplicateApplication`."""
        now = datetime.now(UTC)
        doc = {
            **values,
            "status": "pending",
            "created_at": now,
            "updated_at": now,
            "open_user": f"{values['coop_id']}:{values['user_id']}",
            "open_nik": f"{values['coop_id']}:{values['nik_hash']}",
        }
        if values.get("nik_conflict"):  # a second open application with one NIK, flagged
            del doc["open_nik"]
        try:
            result = await self._col.insert_one(doc)
        except DuplicateKeyError as exc:
            field = "nik" if "open_nik" in str(exc) else "user"
            raise DuplicateApplication(field) from exc
        doc["_id"] = result.inserted_id
        return to_record(doc)

    async def get(self, application_id: str) -> Application | None:
        oid = _oid(application_id)
        if oid is None:
            return None
        doc = await self._col.find_one({"_id": oid})
        return to_record(doc) if doc else None

    async def open_for(self, user_id: int, coop_id: str) -> Application | None:
        doc = await self._col.find_one({"open_user": f"{coop_id}:{user_id}"})
        return to_record(doc) if doc else None

    async def open_with_nik(self, coop_id: str, nik_hash: str) -> Application | None:
        doc = await self._col.find_one({"open_nik": f"{coop_id}:{nik_hash}"})
        return to_record(doc) if doc else None

    async def for_user(self, user_id: int) -> list[Application]:
        cursor = self._col.find({"user_id": user_id}).sort("created_at", -1)
        return [to_record(doc) async for doc in cursor]

    async def for_coop(
        self, coop_id: str, status: str | None = None, *, skip: int = 0, limit: int = 50
    ) -> list[Application]:
        query: Document = {"coop_id": coop_id}
        if status:
            query["status"] = status
        cursor = self._col.find(query).sort("created_at", 1).skip(skip).limit(limit)
        return [to_record(doc) async for doc in cursor]

    async def members(
        self,
        coop_id: str,
        statuses: tuple[str, ...],
        *,
        query: str | None = None,
        skip: int = 0,
        limit: int = 10,
    ) -> tuple[list[Application], int]:
        """Members by name (case-insensitive, literal) or member number, sorted by number."""
        filt: Document = {"coop_id": coop_id, "status": {"$in": list(statuses)}}
        if query:
            filt["$or"] = [
                {"full_name": {"$regex": re.escape(query), "$options": "i"}},
                {"member_number": query.strip().upper()},
            ]
        total = await self._col.count_documents(filt)
        cursor = self._col.find(filt).sort("member_number", 1).skip(skip).limit(limit)
        return [to_record(doc) async for doc in cursor], total

    async def count_by_status(self) -> dict[str, int]:
        cursor = await self._col.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}])
        return {doc["_id"]: int(doc["n"]) async for doc in cursor}

    async def count_by_coop_and_status(self) -> dict[tuple[str, str], int]:
        cursor = await self._col.aggregate(
            [{"$group": {"_id": {"coop": "$coop_id", "status": "$status"}, "n": {"$sum": 1}}}]
        )
        return {(doc["_id"]["coop"], doc["_id"]["status"]): int(doc["n"]) async for doc in cursor}

    async def count(self, query: Document | None = None) -> int:
        return await self._col.count_documents(query or {})

    async def transition(
        self,
        application_id: str,
        from_statuses: tuple[str, ...],
        status: str,
        fields: dict[str, Any] | None = None,
    ) -> Application | None:
        """Move an application between statuses atomically; None if it was not in
        ``from_statuses`` (someone else decided first, or a redelivered update)."""
        oid = _oid(application_id)
        if oid is None:
            return None
        update: Document = {
            "$set": {"status": status, "updated_at": datetime.now(UTC), **(fields or {})}
        }
        if status not in OPEN_STATUSES:
            update["$unset"] = {"open_user": "", "open_nik": ""}
        doc = await self._col.find_one_and_update(
            {"_id": oid, "status": {"$in": list(from_statuses)}},
            update,
            return_document=ReturnDocument.AFTER,
        )
        return to_record(doc) if doc else None

    async def set_fields(self, application_id: str, fields: dict[str, Any]) -> None:
        oid = _oid(application_id)
        if oid is not None:
            await self._col.update_one({"_id": oid}, {"$set": fields})

    async def claim_approval(self, application_id: str) -> Application | None:
        """pending → active, once: concurrent or repeated approvals get None."""
        return await self.transition(
            application_id,
            ("pending",),
            "active",
            {"decided_at": datetime.now(UTC), "card_version": 1},
        )

    async def card_file(self, key: str) -> str | None:
        doc = await self._card_files.find_one({"_id": key})
        return doc["file_id"] if doc else None

    async def remember_card_file(self, key: str, file_id: str) -> None:
        await self._card_files.replace_one(
            {"_id": key}, {"_id": key, "file_id": file_id}, upsert=True
        )

    async def with_stale_nik(
        self, current_key_id: str, limit: int = 200, after: str | None = None
    ) -> list[Application]:
        """Applications whose NIK (its DATA_KEY encryption and lookup hash) was written
        under another key than the current one, by id after ``after``: sealed ones say so
        in ``nik_kid``, ones written before sealing in their ``nik_enc`` prefix."""
        query: Document = {
            "$or": [
                {"nik_kid": {"$exists": True, "$nin": [None, current_key_id]}},
                {
                    "nik_kid": {"$exists": False},
                    "nik_enc": {
                        "$exists": True,
                        "$ne": None,
                        "$not": {"$regex": f"^{re.escape(current_key_id)}:"},
                    },
                },
            ]
        }
        oid = _oid(after) if after else None
        if oid is not None:
            query["_id"] = {"$gt": oid}
        cursor = self._col.find(query).sort("_id", 1).limit(limit)
        return [to_record(doc) async for doc in cursor]

    async def replace_nik(
        self, application_id: str, old_enc: str, new_enc: str, new_hash: str, key_id: str
    ) -> bool:
        """Swap in the re-encrypted NIK (as stored: sealed, or in clear before sealing),
        its hash and its key id, unless it changed meanwhile (compare-and-set)."""
        oid = _oid(application_id)
        if oid is None:
            return False
        doc = await self._col.find_one(
            {"_id": oid, "$or": [{"sealed.nik_enc": old_enc}, {"nik_enc": old_enc}]}
        )
        if doc is None:
            return False
        path = (
            "sealed.nik_enc" if (doc.get("sealed") or {}).get("nik_enc") == old_enc else "nik_enc"
        )
        update: Document = {path: new_enc, "nik_hash": new_hash, "nik_kid": key_id}
        if doc.get("open_nik"):
            update["open_nik"] = f"{doc['coop_id']}:{new_hash}"
        result = await self._col.update_one({"_id": oid, path: old_enc}, {"$set": update})
        return result.modified_count == 1

    async def in_clear(
        self, names: Sequence[str], after: str | None = None, limit: int = 200
    ) -> list[LegacyFields]:
        """Applications (by id after ``after``) that hold any of ``names`` in clear."""
        query: Document = {"$or": [{name: {"$exists": True}} for name in names]}
        oid = _oid(after) if after else None
        if oid is not None:
            query["_id"] = {"$gt": oid}
        projection = {name: 1 for name in names} | {"user_id": 1}
        cursor = self._col.find(query, projection).sort("_id", 1).limit(limit)
        return [
            LegacyFields(
                str(doc["_id"]),
                doc.get("user_id"),
                {name: doc[name] for name in names if name in doc},
            )
            async for doc in cursor
        ]

    async def seal_in_place(
        self,
        application_id: str,
        clear: dict[str, Any],
        sealed: dict[str, str],
        nik_key_id: str | None = None,
    ) -> bool:
        """Replace the values in ``clear`` by their ``sealed`` forms, unless any of them
        changed meanwhile (compare-and-set); a value with no sealed form is removed.
        ``nik_key_id``: the DATA_KEY the NIK's encryption and hash were made with."""
        oid = _oid(application_id)
        if oid is None or not clear:
            return False
        update: Document = {"$unset": dict.fromkeys(clear, "")}
        fields: Document = {f"sealed.{name}": value for name, value in sealed.items()}
        if nik_key_id:
            fields["nik_kid"] = nik_key_id
        if fields:
            update["$set"] = fields
        result = await self._col.update_one({"_id": oid, **clear}, update)
        return result.modified_count == 1

    async def notify(self, kind: str, payload: dict[str, Any]) -> None:
        """Queue a notification (delivered by the admin features)."""
        await self._outbox.insert_one(
            {"kind": kind, **payload, "created_at": datetime.now(UTC), "delivered": False}
        )

    async def mark_delivered(self, kind: str, application_id: str) -> None:
        await self._outbox.update_many(
            {"kind": kind, "application_id": application_id}, {"$set": {"delivered": True}}
        )

    async def notifications(self, kind: str | None = None) -> list[Notification]:
        """Queued notifications (of one kind, or all), oldest first."""
        query: Document = {"kind": kind} if kind else {}
        return [_notification(doc) async for doc in self._outbox.find(query).sort("created_at", 1)]


class WaitingApplications:
    """Pending applications by how long they have waited, and the once-only markers on
    them (``sla.<stage>_at``; ``bot/services/sla.py``). Over ``applications``, apart from
    :class:`ApplicationRepository`: it opens no personal value and writes only markers."""

    def __init__(self, store: Store) -> None:
        self._col = store["applications"]

    async def sla_due(
        self, stage: str, created_before: datetime, after: str | None, limit: int
    ) -> list[Application]:
        """Pending applications sent before ``created_before`` without the ``stage``
        marker (``sla.<stage>_at``), in id order after ``after`` (to page through them)."""
        query: Document = {
            "status": "pending",
            "created_at": {"$lte": created_before},
            f"sla.{stage}_at": {"$exists": False},
        }
        oid = _oid(after) if after else None
        if oid is not None:
            query["_id"] = {"$gt": oid}
        cursor = self._col.find(query).sort("_id", 1).limit(limit)
        return [to_record(doc) async for doc in cursor]

    async def sla_claim(
        self, ids: Sequence[str], stage: str, now: datetime, run: str
    ) -> list[Application]:
        """Set the ``stage`` marker on those of ``ids`` still pending and unmarked; returns
        the ones this ``run`` marked. The conditional write is the claim: two processes
        never both get an application, so nobody is told twice."""
        oids = [oid for oid in map(_oid, ids) if oid is not None]
        if not oids:
            return []
        await self._col.update_many(
            {"_id": {"$in": oids}, "status": "pending", f"sla.{stage}_at": {"$exists": False}},
            {"$set": {f"sla.{stage}_at": now, f"sla.{stage}_run": run}},
        )
        cursor = self._col.find({"_id": {"$in": oids}, f"sla.{stage}_run": run}).sort("_id", 1)
        return [to_record(doc) async for doc in cursor]
