"""Conversation states and per-user data of the Telegram layer, stored as plain documents.

Telegram-free: keys are tuples of ints, data are dicts; ``bot/persistence.py`` adapts this
to python-telegram-bot's ``BasePersistence``.
"""

from __future__ import annotations

from typing import Any

from storage.mongo import Store


def _conversation_id(name: str, key: tuple[int | str, ...]) -> str:
    return f"{name}:" + ":".join(str(part) for part in key)


class StateRepository:
    """``conversations`` (one document per conversation key) and ``user_data``."""

    def __init__(self, store: Store) -> None:
        self._conversations = store["conversations"]
        self._user_data = store["user_data"]

    async def conversations(self, name: str) -> dict[tuple[int | str, ...], object]:
        found: dict[tuple[int | str, ...], object] = {}
        async for doc in self._conversations.find({"name": name}):
            found[tuple(doc["key"])] = doc["state"]
        return found

    async def set_conversation(
        self, name: str, key: tuple[int | str, ...], state: object | None
    ) -> None:
        doc_id = _conversation_id(name, key)
        if state is None:
            await self._conversations.delete_one({"_id": doc_id})
        else:
            await self._conversations.replace_one(
                {"_id": doc_id},
                {"_id": doc_id, "name": name, "key": list(key), "state": state},
                upsert=True,
            )

    async def all_user_data(self) -> dict[int, dict[Any, Any]]:
        return {int(doc["_id"]): doc.get("data") or {} async for doc in self._user_data.find()}

    async def user_data(self, user_id: int) -> dict[Any, Any]:
        doc = await self._user_data.find_one({"_id": user_id})
        return (doc or {}).get("data") or {}

    async def set_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        if data:
            await self._user_data.replace_one(
                {"_id": user_id}, {"_id": user_id, "data": data}, upsert=True
            )
        else:
            await self._user_data.delete_one({"_id": user_id})

    async def drop_user(self, user_id: int) -> None:
        """Forget everything of one user: data and every conversation keyed by them."""
        await self._user_data.delete_one({"_id": user_id})
        await self._conversations.delete_many({"key": user_id})
