"""The embedded database: a child process on a free port that keeps its data."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.dbserver import EmbeddedMongo
from storage.mongo import Store


def test_restart_finds_the_same_data(tmp_path: Path) -> None:
    async def write(uri: str) -> None:
        store = Store.connect(uri, "keep")
        await store["things"].insert_one({"_id": 1, "kept": True})
        await store.close()

    async def read(uri: str) -> dict | None:
        store = Store.connect(uri, "keep")
        doc = await store["things"].find_one({"_id": 1})
        await store.close()
        return doc

    with EmbeddedMongo(tmp_path / "db") as server:
        asyncio.run(write(server.uri))
    assert server.port is None
    with EmbeddedMongo(tmp_path / "db") as server:
        assert asyncio.run(read(server.uri)) == {"_id": 1, "kept": True}
        assert server.port is not None


def test_ping_and_indexes_idempotent(tmp_path: Path) -> None:
    async def check(uri: str) -> None:
        store = Store.connect(uri, "idx")
        assert await store.ping()
        await store.ensure_indexes()
        await store.ensure_indexes()  # a restart: nothing to create, nothing fails
        names = {ix["name"] async for ix in await store["cooperatives"].list_indexes()}
        assert {"loc_2dsphere", "import_key", "name_tokens", "areas"} <= names
        await store.close()

    with EmbeddedMongo(tmp_path / "db") as server:
        asyncio.run(check(server.uri))
