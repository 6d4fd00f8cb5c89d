"""Members' payments, one document per payment (``ledger``), kept by each cooperative's board.

Nothing is ever deleted: a void sets ``status="void"`` with its reason, and a correction
is a void plus a new entry that ``replaces`` the old one. A payment with a ``reference``
(a bank transfer's, an import row's) is unique per cooperative: importing the same
spreadsheet twice adds nothing (:class:`DuplicateReference`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from storage.models import LedgerEntry
from storage.mongo import Document, Store


class DuplicateReference(Exception):
    """A payment with this reference is already in the cooperative's ledger."""

    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference


def _oid(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def _day(raw: object) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    return date.fromisoformat(str(raw))


def to_entry(doc: Document) -> LedgerEntry:
    return LedgerEntry(
        id=str(doc["_id"]),
        coop_id=doc["coop_id"],
        application_id=doc["application_id"],
        member_number=doc.get("member_number"),
        kind=doc["kind"],
        amount=int(doc["amount"]),
        paid_on=_day(doc["paid_on"]),
        created_by=int(doc.get("created_by", 0)),
        created_at=doc["created_at"],
        user_id=doc.get("user_id"),
        reference=doc.get("reference"),
        note=doc.get("note"),
        source=doc.get("source", "board"),
        status=doc.get("status", "valid"),
        void_reason=doc.get("void_reason"),
        voided_by=doc.get("voided_by"),
        voided_at=doc.get("voided_at"),
        replaces=doc.get("replaces"),
    )


def _doc(values: dict[str, Any], now: datetime) -> Document:
    doc: Document = {
        "coop_id": values["coop_id"],
        "application_id": values["application_id"],
        "member_number": values.get("member_number"),
        "user_id": values.get("user_id"),
        "kind": values["kind"],
        "amount": int(values["amount"]),
        # Dates as ISO text: they are calendar days, not moments (no time zone shifts).
        "paid_on": _day(values["paid_on"]).isoformat(),
        "note": values.get("note"),
        "source": values.get("source", "board"),
        "status": "valid",
        "created_by": int(values.get("created_by", 0)),
        "created_at": now,
        "replaces": values.get("replaces"),
    }
    if values.get("reference"):
        doc["reference"] = str(values["reference"])
        # One key for the unique index (sparse: entries without a reference are free).
        doc["ref_key"] = f"{values['coop_id']}:{doc['reference']}"
    return doc


class LedgerRepository:
    """Reads and writes ``ledger``."""

    def __init__(self, store: Store) -> None:
        self._col = store["ledger"]

    async def add(self, values: dict[str, Any], now: datetime | None = None) -> LedgerEntry:
        """Record one payment; raises :class:`DuplicateReference`."""
        doc = _doc(values, now or datetime.now(UTC))
        try:
            result = await self._col.insert_one(doc)
        except DuplicateKeyError as exc:
            raise DuplicateReference(str(values.get("reference"))) from exc
        doc["_id"] = result.inserted_id
        return to_entry(doc)

    async def add_many(
        self, rows: Sequence[dict[str, Any]], now: datetime | None = None
    ) -> tuple[int, list[str]]:
        """Record many payments at once (an import): how many were added, and the
        references already in the ledger (skipped, so a re-import adds nothing)."""
        if not rows:
            return 0, []
        moment = now or datetime.now(UTC)
        docs = [_doc(r, moment) for r in rows]
        try:
            result = await self._col.insert_many(docs, ordered=False)
            return len(result.inserted_ids), []
        except BulkWriteError as exc:
            details = exc.details or {}
            duplicates = [
                str(docs[e["index"]].get("reference"))
                for e in details.get("writeErrors", [])
                if e.get("code") == 11000
            ]
            others = [e for e in details.get("writeErrors", []) if e.get("code") != 11000]
            if others:
                raise
            return int(details.get("nInserted", 0)), duplicates

    async def get(self, entry_id: str) -> LedgerEntry | None:
        oid = _oid(entry_id)
        doc = await self._col.find_one({"_id": oid}) if oid else None
        return to_entry(doc) if doc else None

    async def void(
        self, entry_id: str, reason: str, actor: int, now: datetime | None = None
    ) -> LedgerEntry | None:
        """Void a valid entry (None when it is not one: already void, or unknown). Its
        reference is freed, so the corrected payment may carry it again."""
        oid = _oid(entry_id)
        if oid is None:
            return None
        doc = await self._col.find_one_and_update(
            {"_id": oid, "status": "valid"},
            {
                "$set": {
                    "status": "void",
                    "void_reason": reason,
                    "voided_by": actor,
                    "voided_at": now or datetime.now(UTC),
                },
                "$rename": {"reference": "voided_reference"},
                "$unset": {"ref_key": ""},
            },
            return_document=ReturnDocument.AFTER,
        )
        return to_entry(doc) if doc else None

    async def for_memberships(self, application_ids: Iterable[str]) -> list[LedgerEntry]:
        """Every entry (valid and void) of these memberships, oldest payment first."""
        ids = sorted(set(application_ids))
        if not ids:
            return []
        cursor = self._col.find({"application_id": {"$in": ids}}).sort(
            [("paid_on", 1), ("created_at", 1)]
        )
        return [to_entry(doc) async for doc in cursor]

    async def for_coop(
        self, coop_id: str, *, since: date | None = None, valid_only: bool = False
    ) -> list[LedgerEntry]:
        """A cooperative's ledger, oldest payment first (its board's view and export)."""
        query: Document = {"coop_id": coop_id}
        if since is not None:
            query["paid_on"] = {"$gte": since.isoformat()}
        if valid_only:
            query["status"] = "valid"
        cursor = self._col.find(query).sort([("paid_on", 1), ("created_at", 1)])
        return [to_entry(doc) async for doc in cursor]

    async def for_user(self, user_id: int) -> list[LedgerEntry]:
        cursor = self._col.find({"user_id": user_id}).sort([("paid_on", 1), ("created_at", 1)])
        return [to_entry(doc) async for doc in cursor]

    async def unlink_user(self, user_id: int) -> int:
        """After an erasure: the payments stay (the cooperative's bookkeeping), the person
        does not — no user id, no note (a note may name them)."""
        result = await self._col.update_many(
            {"user_id": user_id}, {"$set": {"user_id": None, "note": None}}
        )
        return result.modified_count
