"""Claims to run a cooperative (collection ``claims``).

One document per claim: ``{_id, coop_id, user_id, role, name, phone (both sealed),
phone_matches, evidence: [{file_id, kind, mime, name}], status, created_at, updated_at,
decided_at, decided_by, reason, question}`` plus the claimant's sealed ``answer`` and the
``consent`` record. Open claims are ``open`` (the operators' turn) and ``more`` (the
claimant's turn). Operators' statistics read this shape, so it changes only additively.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument

from storage.models import Claim, Evidence
from storage.mongo import Document, Store

OPEN = ("open", "more")
DECIDED = ("approved", "rejected", "superseded", "withdrawn")
# What retention and erasure take away: the sealed values and the files.
PERSONAL = ("name", "phone", "answer")


def _oid(claim_id: str) -> ObjectId | None:
    try:
        return ObjectId(claim_id)
    except (InvalidId, TypeError):
        return None


def evidence_doc(item: Evidence) -> Document:
    return {"file_id": item.file_id, "kind": item.kind, "mime": item.mime, "name": item.name}


def _evidence(doc: Document) -> Evidence:
    return Evidence(
        file_id=str(doc.get("file_id") or ""),
        kind=str(doc.get("kind") or "document"),
        mime=doc.get("mime"),
        name=doc.get("name"),
    )


def _record(doc: Document) -> Claim:
    return Claim(
        id=str(doc["_id"]),
        coop_id=doc["coop_id"],
        user_id=doc.get("user_id"),
        role=doc.get("role") or "",
        status=doc["status"],
        created_at=doc["created_at"],
        updated_at=doc.get("updated_at"),
        name=doc.get("name"),
        phone=doc.get("phone"),
        phone_matches=bool(doc.get("phone_matches", False)),
        evidence=[_evidence(e) for e in doc.get("evidence") or []],
        decided_at=doc.get("decided_at"),
        decided_by=doc.get("decided_by"),
        reason=doc.get("reason"),
        question=doc.get("question"),
        answer=doc.get("answer"),
        consent=doc.get("consent") or {},
    )


class ClaimRepository:
    """Reads and writes ``claims``."""

    def __init__(self, store: Store) -> None:
        self._col = store["claims"]

    async def create(self, values: dict[str, Any]) -> Claim:
        """Insert an open claim (``values``: coop_id, user_id, role, sealed name and phone,
        phone_matches, evidence as documents, consent)."""
        now = values.get("created_at") or datetime.now(UTC)
        doc: Document = {
            "decided_at": None,
            "decided_by": None,
            "reason": None,
            "question": None,
            **values,
            "status": "open",
            "created_at": now,
            "updated_at": now,
        }
        result = await self._col.insert_one(doc)
        doc["_id"] = result.inserted_id
        return _record(doc)

    async def get(self, claim_id: str) -> Claim | None:
        oid = _oid(claim_id)
        doc = await self._col.find_one({"_id": oid}) if oid is not None else None
        return _record(doc) if doc else None

    async def open_for(self, user_id: int, coop_id: str) -> Claim | None:
        """The user's open claim for the cooperative, if any."""
        doc = await self._col.find_one(
            {"user_id": user_id, "coop_id": coop_id, "status": {"$in": list(OPEN)}}
        )
        return _record(doc) if doc else None

    async def open_for_coop(self, coop_id: str) -> list[Claim]:
        cursor = self._col.find({"coop_id": coop_id, "status": {"$in": list(OPEN)}})
        return sorted([_record(d) async for d in cursor], key=lambda c: c.created_at)

    async def queue(self, status: str = "open", limit: int = 50) -> list[Claim]:
        """Claims waiting in ``status``, the oldest first."""
        cursor = self._col.find({"status": status}).sort("created_at", 1).limit(limit)
        return [_record(d) async for d in cursor]

    async def count(self, statuses: Sequence[str] = ("open", "more")) -> int:
        return await self._col.count_documents({"status": {"$in": list(statuses)}})

    async def for_user(self, user_id: int) -> list[Claim]:
        cursor = self._col.find({"user_id": user_id}).sort("created_at", 1)
        return [_record(d) async for d in cursor]

    async def transition(
        self,
        claim_id: str,
        from_statuses: Sequence[str],
        status: str,
        fields: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Claim | None:
        """Move a claim from one of ``from_statuses`` to ``status`` (None if it was not in
        one: decided meanwhile, or missing)."""
        oid = _oid(claim_id)
        if oid is None:
            return None
        values = {**(fields or {}), "status": status, "updated_at": now or datetime.now(UTC)}
        doc = await self._col.find_one_and_update(
            {"_id": oid, "status": {"$in": list(from_statuses)}},
            {"$set": values},
            return_document=ReturnDocument.AFTER,
        )
        return _record(doc) if doc else None

    async def add_evidence(self, claim_id: str, items: Sequence[Evidence]) -> None:
        oid = _oid(claim_id)
        if oid is None or not items:
            return
        await self._col.update_one(
            {"_id": oid},
            {
                "$push": {"evidence": {"$each": [evidence_doc(i) for i in items]}},
                "$set": {"updated_at": datetime.now(UTC)},
            },
        )

    async def erase_user(self, user_id: int, now: datetime | None = None) -> int:
        """Withdraw the user's open claims and strip every claim of theirs of the personal
        values, the files and the user id; returns how many claims they had."""
        now = now or datetime.now(UTC)
        await self._col.update_many(
            {"user_id": user_id, "status": {"$in": list(OPEN)}},
            {"$set": {"status": "withdrawn", "decided_at": now, "updated_at": now}},
        )
        result = await self._col.update_many(
            {"user_id": user_id},
            {
                "$unset": dict.fromkeys(PERSONAL, ""),
                "$set": {"user_id": None, "evidence": [], "erased_at": now},
            },
        )
        return result.matched_count

    async def purge_decided(self, before: datetime, now: datetime | None = None) -> int:
        """Drop the files of claims decided before ``before`` (and the personal values of
        those not approved); returns how many claims were purged."""
        now = now or datetime.now(UTC)
        query: Document = {
            "status": {"$in": list(DECIDED)},
            "decided_at": {"$lt": before},
            "purged_at": {"$exists": False},
        }
        await self._col.update_many(
            {**query, "status": {"$in": [s for s in DECIDED if s != "approved"]}},
            {"$unset": dict.fromkeys(PERSONAL, "")},
        )
        result = await self._col.update_many(query, {"$set": {"evidence": [], "purged_at": now}})
        return result.modified_count
