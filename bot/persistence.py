"""python-telegram-bot persistence on MongoDB (via ``storage/state.py``).

Conversation states and ``user_data`` (form answers, NIK only encrypted) are written
after every update by :func:`flush_after_update`, not only every ``update_interval``: a
crash right after an answer loses nothing. Bot and chat data are not kept.
"""

from __future__ import annotations

import hashlib
import json
from copy import deepcopy
from typing import Any

from telegram import Update
from telegram.ext import BasePersistence, PersistenceInput, TypeHandler

from bot.context import BotContext
from storage.state import StateRepository

CDCData = Any
ConversationDict = dict[tuple[int | str, ...], object]
ConversationKey = tuple[int | str, ...]


class MongoPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], Any]):
    """Keeps conversations and user data across restarts and between processes."""

    def __init__(self, states: StateRepository, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.states = states
        self._stored: dict[int, str] = {}  # what each user's data was when last written

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        data = await self.states.all_user_data()
        self._stored = {user_id: _digest(value) for user_id, value in data.items()}
        return data

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_bot_data(self) -> Any:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        return await self.states.conversations(name)

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        await self.states.set_conversation(name, tuple(key), new_state)

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        digest = _digest(data)
        if self._stored.get(user_id, _digest({})) == digest:
            return  # unchanged (most updates touch no user data): no write
        await self.states.set_user_data(user_id, deepcopy(data))
        self._stored[user_id] = digest

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        return None

    async def update_bot_data(self, data: Any) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        await self.states.drop_user(user_id)
        self._stored.pop(user_id, None)

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Any) -> None:
        return None

    async def flush(self) -> None:
        return None


def _digest(data: dict[Any, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


async def flush_after_update(update: Update, context: BotContext) -> None:
    """Write this update's conversation state and user data now (group 99, runs last)."""
    application = context.application
    if application.persistence is None:
        return
    user = update.effective_user
    if user is not None:
        application.mark_data_for_update_persistence(user_ids=user.id)
    await application.update_persistence()


FLUSH_HANDLER = TypeHandler(Update, flush_after_update)
