"""Members' proofs of payment (collection ``proofs``), decided by each cooperative's board.

One document per proof: ``{_id, coop_id, application_id, user_id, member_number, kind,
amount, paid_on (ISO day), file: {file_id, kind, mime} | None, status, reason,
decided_by, decided_at, ledger_entry_id, notices, created_at}``. A membership has at most
one ``open`` proof: ``open_key`` (its application id) exists only while the proof is open,
under a unique sparse index, so two sends at once make one proof.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from storage.models import PaymentProof, ProofFile
from storage.mongo import Document, Store

DECIDED = ("confirmed", "rejected", "withdrawn")


class OpenProofExists(Exception):
    """The membership already has an open proof."""


def _oid(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def _file(raw: object) -> ProofFile | None:
    if not isinstance(raw, dict) or not raw.get("file_id"):
        return None
    return ProofFile(str(raw["file_id"]), str(raw.get("kind") or "document"), raw.get("mime"))


def to_proof(doc: Document) -> PaymentProof:
    return PaymentProof(
        id=str(doc["_id"]),
        coop_id=doc["coop_id"],
        application_id=doc["application_id"],
        member_number=doc.get("member_number"),
        kind=doc["kind"],
        amount=int(doc["amount"]),
        paid_on=date.fromisoformat(str(doc["paid_on"])),
        status=doc["status"],
        created_at=doc["created_at"],
        user_id=doc.get("user_id"),
        file=_file(doc.get("file")),
        reason=doc.get("reason"),
        decided_by=doc.get("decided_by"),
        decided_at=doc.get("decided_at"),
        ledger_entry_id=doc.get("ledger_entry_id"),
        notices=[n for n in doc.get("notices") or [] if isinstance(n, dict)],
    )


class ProofRepository:
    """Reads and writes ``proofs``."""

    def __init__(self, store: Store) -> None:
        self._col = store["proofs"]

    async def create(self, values: dict[str, Any], now: datetime | None = None) -> PaymentProof:
        """Store an open proof (``values``: coop_id, application_id, user_id, member_number,
        kind, amount, paid_on, file); raises :class:`OpenProofExists`."""
        file = values.get("file")
        doc: Document = {
            "coop_id": values["coop_id"],
            "application_id": values["application_id"],
            "user_id": values.get("user_id"),
            "member_number": values.get("member_number"),
            "kind": values["kind"],
            "amount": int(values["amount"]),
            # A calendar day, as in the ledger: ISO text, no time zone shifts.
            "paid_on": values["paid_on"].isoformat(),
            "file": (
                {"file_id": file.file_id, "kind": file.kind, "mime": file.mime}
                if isinstance(file, ProofFile)
                else None
            ),
            "status": "open",
            "open_key": values["application_id"],
            "reason": None,
            "decided_by": None,
            "decided_at": None,
            "ledger_entry_id": None,
            "notices": [],
            "created_at": now or datetime.now(UTC),
        }
        try:
            result = await self._col.insert_one(doc)
        except DuplicateKeyError as exc:
            raise OpenProofExists(values["application_id"]) from exc
        doc["_id"] = result.inserted_id
        return to_proof(doc)

    async def get(self, proof_id: str) -> PaymentProof | None:
        oid = _oid(proof_id)
        doc = await self._col.find_one({"_id": oid}) if oid is not None else None
        return to_proof(doc) if doc else None

    async def open_for(self, application_id: str) -> PaymentProof | None:
        doc = await self._col.find_one({"open_key": application_id})
        return to_proof(doc) if doc else None

    async def open_for_coop(self, coop_id: str) -> list[PaymentProof]:
        cursor = self._col.find({"coop_id": coop_id, "status": "open"}).sort("created_at", 1)
        return [to_proof(d) async for d in cursor]

    async def decide(
        self, proof_id: str, status: str, fields: dict[str, Any], now: datetime | None = None
    ) -> PaymentProof | None:
        """Move an open proof to ``status`` (None when it is not open: decided meanwhile,
        or unknown). Only one of two decisions at once wins."""
        oid = _oid(proof_id)
        if oid is None:
            return None
        doc = await self._col.find_one_and_update(
            {"_id": oid, "status": "open"},
            {
                "$set": {**fields, "status": status, "decided_at": now or datetime.now(UTC)},
                "$unset": {"open_key": ""},
            },
            return_document=ReturnDocument.AFTER,
        )
        return to_proof(doc) if doc else None

    async def set_fields(self, proof_id: str, fields: dict[str, Any]) -> None:
        oid = _oid(proof_id)
        if oid is not None:
            await self._col.update_one({"_id": oid}, {"$set": fields})

    async def link_entry(self, proof_id: str, entry_id: str) -> bool:
        """Link a confirmed proof to its ledger entry: True for the one confirmation that
        does it (two at once, or one finishing what a crash left: only one tells)."""
        oid = _oid(proof_id)
        if oid is None:
            return False
        result = await self._col.update_one(
            {"_id": oid, "status": "confirmed", "ledger_entry_id": None},
            {"$set": {"ledger_entry_id": entry_id}},
        )
        return result.modified_count == 1

    async def for_user(self, user_id: int) -> list[PaymentProof]:
        cursor = self._col.find({"user_id": user_id}).sort("created_at", 1)
        return [to_proof(d) async for d in cursor]

    async def unlink_user(self, user_id: int, now: datetime | None = None) -> int:
        """After an erasure: open proofs are withdrawn; every proof keeps its amount and
        dates (the cooperative's bookkeeping) but loses the person: no user id, no image."""
        now = now or datetime.now(UTC)
        await self._col.update_many(
            {"user_id": user_id, "status": "open"},
            {"$set": {"status": "withdrawn", "decided_at": now}, "$unset": {"open_key": ""}},
        )
        result = await self._col.update_many(
            {"user_id": user_id}, {"$set": {"user_id": None, "file": None, "erased_at": now}}
        )
        return result.matched_count

    async def purge_decided(self, before: datetime, now: datetime | None = None) -> int:
        """Erase the images of proofs decided before ``before``; how many were erased."""
        result = await self._col.update_many(
            {
                "status": {"$in": list(DECIDED)},
                "decided_at": {"$lt": before},
                "file": {"$ne": None},
            },
            {"$set": {"file": None, "purged_at": now or datetime.now(UTC)}},
        )
        return result.modified_count
