"""Fixtures: a real MongoDB-wire server (SecantusDB, or MONGODB_TEST_URI), a fresh
database per test (``store``), its repositories (``backend``), the services over them
(``services``), and the real Application driven through the local Bot API stand-in
(``chat``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.app import Backend, Services, build_application, build_services, running
from bot.config import Settings
from bot.dbserver import EmbeddedMongo
from bot.services.gazetteer import Gazetteer
from bot.telegram.localapi import Call, LocalBotApi, StoredMessage
from storage.mongo import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database server for the whole run."""
    if os.environ.get("MONGODB_TEST_URI"):
        yield os.environ["MONGODB_TEST_URI"]
        return
    server = EmbeddedMongo(tmp_path_factory.mktemp("secantus") / "db")
    server.start()
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return Gazetteer.load(Settings().gazetteer_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return replace(
        Settings(),
        data_dir=tmp_path / "var",
        admin_ids=frozenset({900}),
        data_key="test-data-key-0123456789abcdef",
    )


@pytest.fixture
async def store(mongo_uri: str) -> AsyncIterator[Store]:
    """A fresh, indexed database for one test, dropped afterwards."""
    store = Store.connect(mongo_uri, f"test_{uuid.uuid4().hex[:12]}")
    await store.ensure_indexes()
    try:
        yield store
    finally:
        await store.drop_database()
        await store.close()


@pytest.fixture
def backend(store: Store, settings: Settings) -> Backend:
    """The repositories over the test's database, for seeding and checking storage."""
    return Backend.over(store, settings)


@pytest.fixture
def services(backend: Backend, settings: Settings) -> Services:
    return build_services(backend, settings)


class Chat:
    """Drives the real Application as Telegram users would, through LocalBotApi."""

    def __init__(self, app: Any, api: LocalBotApi) -> None:
        self.app = app
        self.api = api
        self.users: dict[int, dict[str, Any]] = {}

    def user(self, user_id: int = 1001, language: str | None = "id") -> dict[str, Any]:
        if user_id not in self.users or self.users[user_id].get("language_code") != language:
            self.users[user_id] = LocalBotApi.user(user_id, language)
        return self.users[user_id]

    async def feed(self, update: dict[str, Any]) -> list[Call]:
        start = len(self.api.calls)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        return self.api.calls[start:]

    async def send(
        self,
        text: str,
        *,
        user_id: int = 1001,
        language: str | None = "id",
        chat_id: int | None = None,
    ) -> list[Call]:
        return await self.feed(
            self.api.message_update(self.user(user_id, language), text=text, chat_id=chat_id)
        )

    async def location(
        self,
        lat: float,
        lon: float,
        *,
        user_id: int = 1001,
        language: str | None = "id",
        live: bool = False,
    ) -> list[Call]:
        location: dict[str, Any] = {"latitude": lat, "longitude": lon}
        if live:
            location["live_period"] = 900
        return await self.feed(
            self.api.message_update(self.user(user_id, language), location=location)
        )

    async def message(
        self, *, user_id: int = 1001, language: str | None = "id", **content: Any
    ) -> list[Call]:
        return await self.feed(self.api.message_update(self.user(user_id, language), **content))

    def last_buttons(self, user_id: int = 1001) -> StoredMessage:
        message = self.api.last_with_buttons(user_id)
        assert message is not None, "no message with buttons"
        return message

    def buttons(self, user_id: int = 1001) -> list[dict[str, Any]]:
        markup = self.last_buttons(user_id).markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [b for row in rows for b in row]

    async def tap(
        self, which: int | str, *, user_id: int = 1001, language: str | None = "id"
    ) -> list[Call]:
        message = self.last_buttons(user_id)
        buttons = self.buttons(user_id)
        if isinstance(which, int):
            button = buttons[which - 1]
        else:
            button = next(
                b for b in buttons if which in b["text"] or which == b.get("callback_data")
            )
        return await self.feed(
            self.api.callback_update(
                self.user(user_id, language), message, button["callback_data"]
            )
        )

    async def callback(
        self, data: str, *, user_id: int = 1001, language: str | None = "id"
    ) -> list[Call]:
        message = self.last_buttons(user_id)
        return await self.feed(
            self.api.callback_update(self.user(user_id, language), message, data)
        )

    async def inline(
        self,
        query: str,
        location: tuple[float, float] | None = None,
        *,
        user_id: int = 1001,
        language: str | None = "id",
    ) -> list[Call]:
        return await self.feed(
            self.api.inline_update(self.user(user_id, language), query, location)
        )


@pytest.fixture
async def chat(backend: Backend, services: Services, settings: Settings) -> AsyncIterator[Chat]:
    """The real Application (handlers, services, storage) with Telegram replaced, running
    as in production: job queue (form timeouts), broadcast engine, command menus."""
    api = LocalBotApi()
    app = build_application(settings, backend, services=services, request=api)
    async with running(app):
        yield Chat(app, api)
    assert not api.errors, (
        f"calls Telegram would refuse: {[(c.method, c.error) for c in api.errors]}"
    )


def texts(calls: list[Call]) -> list[str]:
    """The texts of messages sent or edited."""
    return [
        c.params.get("text", "") for c in calls if c.method in ("sendMessage", "editMessageText")
    ]
