"""Telegram update ids already processed: a redelivered update is handled once.

A TTL index forgets them after a day (Telegram keeps undelivered updates for 24 hours).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.errors import DuplicateKeyError

from storage.mongo import Store


class UpdateLog:
    def __init__(self, store: Store) -> None:
        self._col = store["processed_updates"]

    async def claim(self, update_id: int) -> bool:
        """True the first time an update id is seen, False for a redelivery."""
        try:
            await self._col.insert_one({"_id": update_id, "at": datetime.now(UTC)})
        except DuplicateKeyError:
            return False
        return True
