"""The inbox of Telegram updates: each one written before Telegram is told it arrived.

An update is inserted (``_id``: its update id) before the webhook answers 200 or polling
confirms its offset, so a crash cannot lose it; it is marked done only after its handlers
ran. At the next start the entries still pending are replayed in update-id order. A second
insert of the same id is how a redelivery is recognised.

Pending entries keep the update (``body``, sealed by the service) and whose it is
(``key``); marking an entry done drops both, so a done entry is only an id and a time, and
a TTL index forgets it after a day (Telegram gives up redelivering after 24 hours). Pending
entries carry ``pending: true``, indexed sparsely, so the replay reads only them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError
from pymongo.write_concern import WriteConcern

from storage.batching import insert_each
from storage.models import InboxEntry
from storage.mongo import Store

COLLECTION = "inbox"
# Pending, and not done: the second condition is read from the document itself, so an
# index entry the embedded engine failed to drop in a crash cannot replay a done update.
PENDING = {"pending": True, "done_at": {"$exists": False}}


class UpdateLog:
    """The ``inbox`` collection."""

    def __init__(self, store: Store) -> None:
        self._col = store[COLLECTION]
        # The insert is what Telegram is told arrived: it waits for the journal, so even a
        # kill -9 of the database itself cannot lose it (without ``j`` the embedded server
        # lost up to the last ~0.2 s of acknowledged writes). Later writes land in the same
        # ordered journal: if a done mark is lost, so is nothing before it but the replay
        # repeats the update.
        # (The connection's own write concern, e.g. w=majority from the URI, is kept.)
        concern = {**self._col.write_concern.document, "j": True}
        self._durable = self._col.with_options(write_concern=WriteConcern(**concern))

    async def receive(self, update_id: int, key: int | None, body: str) -> bool:
        """Insert a pending entry: True if new, False if the id is already there."""
        [result] = await self.receive_many([(update_id, key, body)])
        if isinstance(result, Exception):
            raise result
        return result

    async def receive_many(
        self, entries: Sequence[tuple[int, int | None, str]]
    ) -> list[bool | Exception]:
        """Insert pending entries ``(update_id, key, body)`` in one journaled write: per
        entry True if new, False if its id is already there (a redelivery), or the error
        that kept it out. Raises when the write as a whole failed."""
        now = datetime.now(UTC)
        docs = [
            {
                "_id": update_id,
                "key": key,
                "body": body,
                "received_at": now,
                "attempts": 0,
                "pending": True,
            }
            for update_id, key, body in entries
        ]
        return [
            False if isinstance(error, DuplicateKeyError) else True if error is None else error
            for error in await insert_each(self._durable, docs)
        ]

    async def done(self, *update_ids: int) -> None:
        """These updates' handlers ran: keep only their ids (for redeliveries) until the TTL.

        One journaled write for all of them (the updates that finished while the previous
        mark was being written). Journaled: a mark the database acknowledged and then lost
        in a crash would leave the update to be handled again at the next start."""
        if not update_ids:
            return
        await self._durable.update_many(
            {"_id": update_ids[0] if len(update_ids) == 1 else {"$in": list(update_ids)}},
            {
                "$set": {"done_at": datetime.now(UTC)},
                "$unset": {"body": "", "key": "", "pending": ""},
            },
        )

    async def newest(self) -> int | None:
        """The highest update id kept, pending or done (None: the inbox is empty)."""
        doc = await self._col.find_one({}, {"_id": 1}, sort=[("_id", DESCENDING)])
        return None if doc is None else int(doc["_id"])

    async def pending(self) -> list[InboxEntry]:
        """Every entry not done, oldest update first; each read counts as one attempt."""
        await self._col.update_many(PENDING, {"$inc": {"attempts": 1}})
        cursor = self._col.find(PENDING).sort("_id", ASCENDING)
        return [
            InboxEntry(
                update_id=doc["_id"],
                key=doc.get("key"),
                body=doc.get("body", ""),
                received_at=doc["received_at"],
                attempts=doc.get("attempts", 1),
            )
            async for doc in cursor
        ]
