"""One-time admin invitations: stored by hash, single use, with an expiry.

``kind`` says who invited: ``operator`` (the platform) or ``board`` (an admin of the
cooperative inviting a fellow board member; void once that admin is no longer one).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument

from storage.models import Invite
from storage.mongo import Document, Store


def _record(doc: Document) -> Invite:
    return Invite(
        token_hash=doc["_id"],
        coop_id=doc["coop_id"],
        created_by=doc.get("created_by"),
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        used_by=doc.get("used_by"),
        used_at=doc.get("used_at"),
        kind=doc.get("kind") or "operator",
    )


class InviteRepository:
    """Reads and writes ``invites`` (one document per token hash)."""

    def __init__(self, store: Store) -> None:
        self._col = store["invites"]

    async def create(
        self,
        token_hash: str,
        coop_id: str,
        created_by: int,
        valid_for: timedelta,
        kind: str = "operator",
    ) -> None:
        now = datetime.now(UTC)
        await self._col.insert_one(
            {
                "_id": token_hash,
                "coop_id": coop_id,
                "created_by": created_by,
                "created_at": now,
                "expires_at": now + valid_for,
                "used_by": None,
                "kind": kind,
            }
        )

    async def get(self, token_hash: str) -> Invite | None:
        doc = await self._col.find_one({"_id": token_hash})
        return _record(doc) if doc else None

    async def use(self, token_hash: str, user_id: int) -> Invite | None:
        """Mark the invitation used by ``user_id``, once; None if used or expired."""
        now = datetime.now(UTC)
        doc = await self._col.find_one_and_update(
            {"_id": token_hash, "used_by": None, "expires_at": {"$gt": now}},
            {"$set": {"used_by": user_id, "used_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return _record(doc) if doc else None
