"""The webhook server with aiohttp's test client: security, bodies however they arrive
(raw sockets: split writes, chunked, large), malformed updates, redelivery, concurrency,
flood control, a database outage, and the real ``python -m bot webhook``: SIGTERM,
half-open connections and the connection cap, accept errors. The inbox and ``kill -9``:
``tests/test_inbox.py``."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gzip
import json
import logging
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from telegram import Bot
from telegram.error import BadRequest

from bot.app import Backend, Services, build_application, build_services
from bot.config import ConfigError, Settings
from bot.dbserver import EmbeddedMongo
from bot.telegram.localapi import LocalBotApi
from bot.telegram.localserver import LocalBotApiServer
from bot.web import PTB, AcceptErrors, build_web_app, parse_update
from storage.mongo import Store
from storage.updates import PENDING

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-webhook-token"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def update(api: LocalBotApi, user_id: int, text: str, language: str = "en") -> dict:
    return api.message_update(LocalBotApi.user(user_id, language), text=text)


# `timeout` is a deadline that returns what arrived by then, never an error: not asyncio's.
async def replies(
    api: LocalBotApi,
    chat_id: int,
    count: int,
    timeout: float = 10.0,
) -> list[str]:
    """Wait until ``count`` messages went to ``chat_id``; return their texts in order."""
    deadline = time.monotonic() + timeout
    while True:
        sent = [
            c.params.get("text", "")
            for c in api.calls
            if c.method == "sendMessage" and c.params.get("chat_id") == chat_id
        ]
        if len(sent) >= count or time.monotonic() > deadline:
            return sent
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def serving(
    backend: Backend, services: Services, settings: Settings, **overrides: Any
) -> AsyncIterator[tuple[TestClient, LocalBotApi]]:
    """The webhook app in this process (aiohttp's test server) over the local Bot API."""
    settings = replace(
        settings,
        telegram_bot_token="123:abc",
        webhook_url="https://bot.example.org/telegram",
        **overrides,
    )
    api = LocalBotApi()
    application = build_application(settings, backend, services=services, request=api, live=True)
    client = TestClient(TestServer(build_web_app(settings, application, secret=SECRET)))
    await client.start_server()
    try:
        yield client, api
    finally:
        await client.close()


@pytest.fixture
async def web(
    backend: Backend, services: Services, settings: Settings
) -> AsyncIterator[tuple[TestClient, LocalBotApi]]:
    async with serving(backend, services, settings) as pair:
        yield pair


class TestSecurity:
    async def test_webhook_registered_with_secret(self, web) -> None:
        _, api = web
        call = api.calls_of("setWebhook")[0]
        assert call.params["url"] == "https://bot.example.org/telegram"
        assert call.params["secret_token"] == SECRET
        assert "callback_query" in call.params["allowed_updates"]

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"},
            {"X-Telegram-Bot-Api-Secret-Token": ""},
        ],
    )
    async def test_wrong_secret_403_before_parsing(self, web, headers: dict) -> None:
        client, api = web
        # Invalid JSON with a wrong secret: 403, not 400, so the body was never parsed.
        response = await client.post("/telegram", data=b"{not json", headers=headers)
        assert response.status == 403
        response = await client.post("/telegram", json=update(api, 1, "/start"), headers=headers)
        assert response.status == 403
        await asyncio.sleep(0.1)
        assert not api.calls_of("sendMessage")

    @pytest.mark.parametrize(
        "body",
        [
            b"{not json",
            b"\xff\xfe",
            b"[]",
            b'{"foo": 1}',
            b'{"update_id": "7"}',
            b'{"update_id": true}',
            b"null",
        ],
    )
    async def test_bad_bodies_400(self, web, body: bytes) -> None:
        client, _ = web
        response = await client.post("/telegram", data=body, headers=HEADERS)
        assert response.status == 400

    async def test_oversized_413(self, web) -> None:
        client, _ = web
        import io

        response = await client.post(
            "/telegram", data=io.BytesIO(b"x" * (1024 * 1024 + 1)), headers=HEADERS
        )
        assert response.status == 413

    async def test_health_and_readiness(self, web) -> None:
        client, _ = web
        assert (await client.get("/healthz")).status == 200
        ready = await client.get("/readyz")
        assert ready.status == 200 and (await ready.json())["status"] == "ready"


# -- bodies, however they arrive -------------------------------------------------------------

Piece = bytes | float  # bytes to write, or seconds to wait


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return status, await reader.readexactly(length) if length else b""


async def raw_exchange(port: int, pieces: list[Piece], within: float = 20.0) -> tuple[int, bytes]:
    """Send ``pieces`` over one TCP connection (writes with pauses between them) and read
    the response: its status and body. Stops sending once the server has answered, as a
    real client would."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    response = asyncio.create_task(read_response(reader))
    try:
        for piece in pieces:
            if response.done():
                break
            if isinstance(piece, float):
                await asyncio.wait({response}, timeout=piece)  # a pause, cut short by an answer
                continue
            try:
                writer.write(piece)
                await writer.drain()
            except ConnectionError:
                break  # the server answered and closed: read what it said
        return await asyncio.wait_for(response, within)
    finally:
        response.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def port_of(client: TestClient) -> int:
    assert client.port is not None
    return client.port


def head(length: int | None = None, *, chunked: bool = False) -> bytes:
    lines = [
        "POST /telegram HTTP/1.1",
        "Host: bot.example.org",
        "Content-Type: application/json",
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}",
    ]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunks(body: bytes, size: int, pause: float = 0.0) -> list[Piece]:
    """``body`` in chunked transfer encoding, ``size`` bytes a chunk, a pause after each."""
    out: list[Piece] = []
    for i in range(0, len(body), size):
        part = body[i : i + size]
        out.append(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        if pause:
            out.append(pause)
    out.append(b"0\r\n\r\n")
    return out


def padded(api: LocalBotApi, user_id: int, size: int) -> bytes:
    """A valid update of about ``size`` bytes: a command with a large field Telegram may
    add (python-telegram-bot keeps unknown fields aside)."""
    data = update(api, user_id, "/start")
    data["message"]["x_padding"] = ""
    filler = size - len(json.dumps(data).encode())
    data["message"]["x_padding"] = "x" * max(0, filler)
    return json.dumps(data).encode()


class TestBodies:
    """Finding 1: the whole body is read however it arrives; 413 only above 1 MB."""

    async def test_headers_and_body_in_pieces_with_pauses(self, web) -> None:
        client, api = web
        body = json.dumps(update(api, 61, "/start")).encode()
        whole = head(len(body)) + body
        pieces: list[Piece] = [whole[:20], 0.2, whole[20 : len(whole) - len(body) + 5], 0.3]
        pieces += [whole[len(whole) - len(body) + 5 : -10], 0.3, whole[-10:]]
        status, _ = await raw_exchange(port_of(client), pieces)
        assert status == 200
        assert (await replies(api, 61, 1))[0].startswith("👋 Welcome")

    async def test_body_in_two_writes_300_ms_apart(self, web) -> None:
        client, api = web
        body = json.dumps(update(api, 62, "/start")).encode()
        status, _ = await raw_exchange(
            port_of(client), [head(len(body)) + body[:40], 0.3, body[40:]]
        )
        assert status == 200
        assert await replies(api, 62, 1)

    @pytest.mark.parametrize("size", [64, 1000])
    async def test_chunked_with_pauses(self, web, size: int) -> None:
        client, api = web
        body = json.dumps(update(api, 63, "/start")).encode()
        status, _ = await raw_exchange(
            port_of(client), [head(chunked=True), *chunks(body, size, 0.1)]
        )
        assert status == 200
        assert await replies(api, 63, 1)

    @pytest.mark.parametrize("kb", [512, 700, 900, 1000])
    @pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
    async def test_large_valid_bodies(self, web, kb: int, chunked: bool) -> None:
        client, api = web
        user_id = 6400 + kb + chunked
        body = padded(api, user_id, kb * 1024)
        assert len(body) <= 1024 * 1024
        if chunked:
            pieces = [head(chunked=True), *chunks(body, 64 * 1024)]
        else:
            pieces = [head(len(body)), *[body[i : i + 65536] for i in range(0, len(body), 65536)]]
        status, _ = await raw_exchange(port_of(client), pieces)
        assert status == 200
        assert (await replies(api, user_id, 1))[0].startswith("👋 Welcome")

    async def test_streamed_over_the_limit_413(self, web) -> None:
        client, api = web
        body = padded(api, 65, 1024 * 1024 + 100)
        status, _ = await raw_exchange(
            port_of(client), [head(chunked=True), *chunks(body, 32 * 1024, 0.01)]
        )
        assert status == 413
        assert not await replies(api, 65, 1, timeout=0.3)

    async def test_declared_over_the_limit_413_before_reading(self, web) -> None:
        client, _ = web
        status, _ = await raw_exchange(port_of(client), [head(2 * 1024 * 1024), b"{", 5.0])
        assert status == 413

    async def test_compressed_body_415(self, web) -> None:
        """A gzip bomb (64 KB that unpack to 64 MB) is refused before it is read."""
        client, _ = web
        bomb = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)
        headers = {**HEADERS, "Content-Encoding": "gzip", "Content-Type": "application/json"}
        response = await client.post("/telegram", data=bomb, headers=headers)
        assert response.status == 415

    async def test_body_too_slow_408(self, backend, services, settings) -> None:
        async with serving(backend, services, settings, http_body_timeout_s=0.5) as (client, api):
            body = json.dumps(update(api, 66, "/start")).encode()
            started = time.monotonic()
            status, _ = await raw_exchange(
                port_of(client), [head(len(body)) + body[:30], 3.0, body[30:]]
            )
            assert status == 408 and time.monotonic() - started < 2.5
            assert not await replies(api, 66, 1, timeout=0.3)


# -- malformed updates -----------------------------------------------------------------------


def message(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 71, "type": "private", "first_name": "A"},
        "from": {"id": 71, "is_bot": False, "first_name": "A"},
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    }
    for name, value in fields.items():
        if value is ...:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def body_of(data: object) -> bytes:
    return json.dumps(data).encode()


DEEP = 100_000
USER = {"id": 1, "is_bot": False, "first_name": "A"}
CHANNEL = {"id": -100, "type": "channel", "title": "K"}
REFUSED: list[tuple[str, bytes]] = [
    ("message is text", b'{"update_id": 1, "message": "x"}'),
    ("nested 100,000 deep", b'{"update_id": 1, "message": ' + b"[" * DEEP + b"]" * DEEP + b"}"),
    (
        "objects 100,000 deep",
        b'{"update_id": 1, "x": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}",
    ),
    ("update_id 2**70", body_of({"update_id": 2**70, "message": message()})),
    ("update_id negative", body_of({"update_id": -5, "message": message()})),
    ("update_id float", b'{"update_id": 1.5}'),
    (
        "user id 2**70",
        body_of(
            {
                "update_id": 1,
                "message": message(**{"from": {"id": 2**70, "is_bot": False, "first_name": "A"}}),
            }
        ),
    ),
    (
        "chat id -2**64",
        body_of({"update_id": 1, "message": message(chat={"id": -(2**64), "type": "private"})}),
    ),
    ("an integer of 5,000 digits", b'{"update_id": 1, "n": ' + b"7" * 5000 + b"}"),
    (
        "NaN",
        body_of({"update_id": 1, "message": message()}).replace(
            b'"text": "/start"', b'"text": NaN'
        ),
    ),
    ("Infinity", b'{"update_id": 1, "x": 1e999}'),
    (
        "lone surrogate",
        body_of({"update_id": 1, "message": message()}).replace(b"/start", b"\\ud800"),
    ),
    ("text is a number", body_of({"update_id": 1, "message": message(text=5)})),
    ("entities not a list", body_of({"update_id": 1, "message": message(entities="x")})),
    (
        "entity without offset",
        body_of(
            {"update_id": 1, "message": message(entities=[{"type": "bot_command", "length": 6}])}
        ),
    ),
    ("message without chat", body_of({"update_id": 1, "message": message(chat=...)})),
    ("message without date", body_of({"update_id": 1, "message": message(date=...)})),
    (
        "callback without chat_instance",
        body_of({"update_id": 1, "callback_query": {"id": "1", "from": USER}}),
    ),
    (
        "callback without from",
        b'{"update_id": 1, "callback_query": {"id": "1", "chat_instance": "1"}}',
    ),
    (
        "inline query id a number",
        body_of(
            {"update_id": 1, "inline_query": {"id": 1, "from": USER, "query": "", "offset": ""}}
        ),
    ),
    (
        "language code a list",
        body_of(
            {
                "update_id": 1,
                "message": message(
                    **{"from": {"id": 1, "is_bot": False, "first_name": "A", "language_code": []}}
                ),
            }
        ),
    ),
    (
        "location without longitude",
        body_of(
            {"update_id": 1, "message": message(text=..., entities=..., location={"latitude": 1})}
        ),
    ),
    (
        "de_json chokes (a forward origin that is text)",
        body_of({"update_id": 1, "message": message(forward_origin="x")}),
    ),
]
IGNORED: list[tuple[str, bytes]] = [
    ("no from", body_of({"update_id": 1, "message": message(**{"from": ...})})),
    ("only an update_id", b'{"update_id": 1}'),
    (
        "a channel post",
        body_of({"update_id": 1, "channel_post": {**message(**{"from": ...}), "chat": CHANNEL}}),
    ),
]


def edge_problems(records: list[logging.LogRecord]) -> list[str]:
    """Tracebacks and errors in the log (the error handler's, the server's, anyone's)."""
    return [
        f"{r.name}: {r.getMessage()[:120]}"
        for r in records
        if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()
    ]


async def settled(store: Store, within: float = 30.0) -> None:
    """Wait until every update the inbox took has been handled (marked done)."""
    deadline = time.monotonic() + within
    while await store["inbox"].count_documents(PENDING):
        assert time.monotonic() < deadline, "updates still pending"
        await asyncio.sleep(0.05)


class TestMalformed:
    """Finding 8: 400, or accepted and ignored with one log line; never 500, no traceback."""

    @pytest.mark.parametrize("name, body", REFUSED, ids=[n for n, _ in REFUSED])
    async def test_refused_with_400(self, web, caplog, name: str, body: bytes) -> None:
        client, api = web
        caplog.set_level(logging.INFO)
        response = await client.post("/telegram", data=body, headers=HEADERS)
        assert response.status == 400, name
        await asyncio.sleep(0.2)
        assert not api.calls_of("sendMessage")
        assert edge_problems(caplog.records) == []
        lines = [r for r in caplog.records if r.name == "bot.web" and "refused" in r.getMessage()]
        assert len(lines) == 1 and "Traceback" not in caplog.text

    @pytest.mark.parametrize("name, body", IGNORED, ids=[n for n, _ in IGNORED])
    async def test_accepted_and_ignored(
        self, web, caplog, store: Store, name: str, body: bytes
    ) -> None:
        client, api = web
        caplog.set_level(logging.INFO)
        response = await client.post("/telegram", data=body, headers=HEADERS)
        assert response.status == 200, name
        await asyncio.sleep(0.2)
        assert not api.calls_of("sendMessage") and not api.calls_of("sendPhoto")
        assert edge_problems(caplog.records) == []
        lines = [r for r in caplog.records if "ignored" in r.getMessage()]
        assert len(lines) == 1
        assert await store["inbox"].count_documents({}) == 0  # nothing to replay

    async def test_mutated_updates_never_500(self, web, caplog, store: Store) -> None:
        """A seeded fuzz through the server: valid updates with one field replaced by
        something else, removed or added. Each answer is 200 or 400, and no traceback
        and no error reaches the log, whatever the handlers then do with it."""
        client, api = web
        caplog.set_level(logging.INFO)
        rng = random.Random(14)
        statuses: dict[int, int] = {}
        for i in range(250):
            data = mutate(rng, base_update(api, 7200 + i % 40, rng))
            response = await client.post("/telegram", data=body_of(data), headers=HEADERS)
            statuses[response.status] = statuses.get(response.status, 0) + 1
        await settled(store)
        assert set(statuses) <= {200, 400}, statuses
        assert statuses.get(400) and statuses.get(200), statuses
        # A well-formed update about a message that does not exist (a forged message id)
        # gets Telegram's "message to edit not found", as a tap on a deleted message would:
        # the error handler's business, not a malformed update.
        refused_by_telegram = [
            r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], BadRequest)
        ]
        others = [r for r in caplog.records if r not in refused_by_telegram]
        assert edge_problems(others) == []


NASTY: list[Any] = [
    "x", "", 0, -1, 2**31, 2**53, 1.5, -0.0, None, True, False, [], {}, ["x"], {"x": 1},
    "\u202e", "9" * 300, [[[]]], {"id": 1}, "/start", 10**18,
]  # fmt: skip


def base_update(api: LocalBotApi, user_id: int, rng: random.Random) -> dict[str, Any]:
    user = LocalBotApi.user(user_id, rng.choice(["id", "en", None]))
    kind = rng.randrange(6)
    if kind == 0:
        return api.message_update(user, text=rng.choice(["/start", "/help", "Medan", "/kartu"]))
    if kind == 1:
        return api.message_update(user, location={"latitude": 3.59, "longitude": 98.67})
    if kind == 2:
        contact = {"phone_number": "+6281234567890", "first_name": "C", "user_id": user_id}
        return api.message_update(user, contact=contact)
    if kind == 3:
        sent = api.message_update(user, text="hi")
        stored = api.messages[(user_id, sent["message"]["message_id"])]
        return api.callback_update(user, stored, rng.choice(["lg:en", "noop", "pg:x:1"]))
    if kind == 4:
        return api.inline_update(user, "ksp")
    return api.document_update(user, "data.csv", b"name,type\n")


def mutate(rng: random.Random, data: dict[str, Any]) -> dict[str, Any]:
    """Replace, remove or add one field somewhere in ``data``."""
    places: list[tuple[Any, Any]] = []
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for key in keys:
            places.append((node, key))
            if isinstance(node[key], (dict, list)):
                stack.append(node[key])
    node, key = rng.choice(places)
    action = rng.randrange(4)
    if action == 0 and isinstance(node, dict):
        del node[key]
    elif action == 1 and isinstance(node, dict):
        node[rng.choice(["x_new", "text", "from", "chat", "caption", "photo"])] = rng.choice(NASTY)
    else:
        node[key] = rng.choice(NASTY)
    return data


class TestDelivery:
    async def test_update_answered(self, web) -> None:
        client, api = web
        response = await client.post("/telegram", json=update(api, 11, "/start"), headers=HEADERS)
        assert response.status == 200
        assert (await replies(api, 11, 1))[0].startswith("👋 Welcome")

    async def test_redelivered_update_processed_once(self, web, services: Services) -> None:
        client, api = web
        body = update(api, 12, "/start")
        for _ in range(3):
            assert (await client.post("/telegram", json=body, headers=HEADERS)).status == 200
        await replies(api, 12, 1)
        await asyncio.sleep(0.3)
        assert len(await replies(api, 12, 2, timeout=0.2)) == 1

    async def test_users_in_parallel_each_in_order(self, web) -> None:
        client, api = web
        api.chat_latency[21] = 0.4  # user 21's replies are slow to send
        for text in ("/help", "/start", "/privacy"):
            await client.post("/telegram", json=update(api, 21, text), headers=HEADERS)
        await client.post("/telegram", json=update(api, 22, "/start"), headers=HEADERS)
        fast = await replies(api, 22, 1)
        slow_so_far = await replies(api, 21, 3, timeout=0)
        assert fast and len(slow_so_far) < 3  # user 22 did not wait for user 21
        slow = await replies(api, 21, 3)
        assert slow[0].startswith("<b>How to use") and slow[1].startswith("👋 Welcome")
        assert slow[2].startswith("<b>Privacy")

    async def test_flood_control(self, web, services: Services) -> None:
        client, api = web
        limit = client.app[PTB].bot_data.flood.limit
        for i in range(limit + 5):
            await client.post("/telegram", json=update(api, 31, f"/start {i}"), headers=HEADERS)
        await client.post("/telegram", json=update(api, 32, "/start"), headers=HEADERS)
        assert await replies(api, 32, 1)
        await asyncio.sleep(0.5)
        sent = await replies(api, 31, 100, timeout=0)
        warnings = [s for s in sent if s.startswith("🐢")]
        # The first `limit` answered, one warning, then quiet.
        assert len(warnings) == 1 and len(sent) == limit + 1


class TestOutage:
    async def test_database_stops_and_returns(self, tmp_path: Path, settings: Settings) -> None:
        server = EmbeddedMongo(tmp_path / "outage-db")
        server.start()
        port = server.port
        settings = replace(settings, telegram_bot_token="123:abc", mongodb_timeout_ms=800)
        store = Store.connect(server.uri, "outage", timeout_ms=800)
        await store.ensure_indexes()
        backend = Backend.over(store, settings)
        services = build_services(backend, settings)
        api = LocalBotApi()
        application = build_application(
            settings, backend, services=services, request=api, live=True
        )
        client = TestClient(TestServer(build_web_app(settings, application, secret=SECRET)))
        await client.start_server()
        try:
            await client.post("/telegram", json=update(api, 41, "Medan"), headers=HEADERS)
            assert await replies(api, 41, 1)
            server.kill()  # the database process dies
            assert (await client.get("/readyz")).status == 503
            assert (await client.get("/healthz")).status == 200
            # Not kept, so not acknowledged: 503, and Telegram delivers it again later.
            sleman = update(api, 42, "Sleman", "id")
            response = await client.post("/telegram", json=sleman, headers=HEADERS)
            assert response.status == 503
            start = update(api, 43, "/start")
            assert (await client.post("/telegram", json=start, headers=HEADERS)).status == 503
            assert not await replies(api, 42, 1, timeout=0.3)
            server.start(port=port)  # it comes back, same data, same port
            deadline = time.monotonic() + 20
            while (await client.get("/readyz")).status != 200:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.2)
            for body in (sleman, start):  # Telegram's redeliveries
                assert (await client.post("/telegram", json=body, headers=HEADERS)).status == 200
            texts = await replies(api, 42, 1)
            assert len(texts) == 1 and "tidak tersedia" not in texts[0], [t[:60] for t in texts]
            assert (await replies(api, 43, 1))[0].startswith("👋 Welcome")
            # Handled while the database was away, its done mark failed: retried since.
            await settled(store)
        finally:
            await client.close()
            await store.close()
            server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BotProcess:
    """``python -m bot COMMAND`` against the local Bot API over HTTP and a shared MongoDB."""

    def __init__(
        self, command: str, env: dict[str, str], log_path: Path, open_files: int | None = None
    ) -> None:
        self.command = command
        self.env = env
        self.log_path = log_path
        self.open_files = open_files  # as `ulimit -n` would set it
        self.proc: subprocess.Popen[bytes] | None = None

    def _limit(self) -> None:
        if self.open_files is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, hard))

    @contextlib.contextmanager
    def started(self) -> Iterator[subprocess.Popen[bytes]]:
        # Started before any concurrent work: blocking here costs the test nothing.
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed below
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", self.command],
            env=self.env,
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=self._limit,
        )
        try:
            yield self.proc
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            log_file.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.asynccontextmanager
async def bot_environment(
    mongo_uri: str, tmp_path: Path, api: LocalBotApi | None = None, **extra: str
) -> AsyncIterator[tuple[dict[str, str], LocalBotApiServer, Store]]:
    fake = LocalBotApiServer(api)
    base_url = await fake.start()
    db = f"kill_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123456:ABC",
        "TELEGRAM_API_BASE_URL": base_url,
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": db,
        "DATA_KEY": "webhook-test-key-0123456789",
        "WEBHOOK_URL": "https://bot.example.org/telegram",
        "WEBHOOK_SECRET": SECRET,
        "DATA_DIR": str(tmp_path / "var"),
        "FLOOD_LIMIT": "1000",
        **extra,
    }
    store = Store.connect(mongo_uri, db)
    try:
        yield env, fake, store
    finally:
        await fake.stop()
        await store.drop_database()
        await store.close()


async def wait_healthy(port: int, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + 60
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None
            await asyncio.sleep(0.1)


class TestRealServer:
    async def test_webhook_process_end_to_end_and_sigterm(
        self, mongo_uri: str, tmp_path: Path
    ) -> None:
        fake = LocalBotApiServer()
        base_url = await fake.start()
        port = free_port()
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": "123456:ABC",
            "TELEGRAM_API_BASE_URL": base_url,
            "MONGODB_URI": mongo_uri,
            "MONGODB_DB": f"web_{uuid.uuid4().hex[:8]}",
            "DATA_KEY": "webhook-test-key-0123456789",
            "PORT": str(port),
            "WEBHOOK_URL": "https://bot.example.org/telegram",
            "WEBHOOK_SECRET": SECRET,
            "DATA_DIR": str(tmp_path / "var"),
        }
        log_path = tmp_path / "webhook.log"
        # Started once, before any concurrent work: blocking here costs the test nothing.
        log_file = open(log_path, "wb")  # noqa: SIM115, ASYNC230 - closed in finally
        proc = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "bot", "webhook"],
            env=env,
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        import aiohttp

        try:
            async with aiohttp.ClientSession() as session:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/healthz") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    assert time.monotonic() < deadline and proc.poll() is None
                    await asyncio.sleep(0.2)
                assert fake.api.calls_of("setWebhook")[0].params["secret_token"] == SECRET
                # A signed update end to end.
                url = f"http://127.0.0.1:{port}/telegram"
                async with session.post(
                    url, json=update(fake.api, 51, "/start"), headers=HEADERS
                ) as r:
                    assert r.status == 200
                assert (await replies(fake.api, 51, 1))[0].startswith("👋 Welcome")
                async with session.post(url, json=update(fake.api, 51, "/start"), headers={}) as r:
                    assert r.status == 403
                # SIGTERM while updates are in flight: each is still answered.
                fake.api.latency = 0.5
                for user in range(60, 66):
                    async with session.post(
                        url, json=update(fake.api, user, "/help"), headers=HEADERS
                    ) as r:
                        assert r.status == 200
                started = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                code = await asyncio.to_thread(proc.wait, 30)
                assert code == 0
                assert time.monotonic() - started < 30
                for user in range(60, 66):
                    assert await replies(fake.api, user, 1, timeout=0), user
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            log_file.close()
            await fake.stop()
        output = log_path.read_text(errors="replace")
        assert "Traceback" not in output, output
        assert "stopped" in output


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    *("message", "from", "chat", "text", "entities", "date", "message_id", "id"),
    *("update_id", "callback_query", "inline_query", "location", "contact", "data"),
]


@examples(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    path=st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3),
    value=json_values,
    kind=st.sampled_from(["message", "edited_message", "callback_query", "inline_query"]),
)
def test_parse_update_never_raises(path: list[str], value: Any, kind: str) -> None:
    """Any JSON value anywhere in an update: 400 with a reason, or an update whose sender
    has an integer id (what every handler relies on), never an exception."""
    user = {"id": 5, "is_bot": False, "first_name": "A"}
    data: dict[str, Any] = {"update_id": 9}
    if kind in ("message", "edited_message"):
        data[kind] = message()
    elif kind == "callback_query":
        data[kind] = {"id": "1", "from": user, "chat_instance": "1", "message": message()}
    else:
        data[kind] = {"id": "1", "from": user, "query": "", "offset": ""}
    node: Any = data
    for name in path[:-1]:
        child = node.get(name) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            child = {}
            node[name] = child
        node = child
    node[path[-1]] = value
    try:
        body = json.dumps(data).encode()
    except ValueError:
        return
    parsed = parse_update(body, BOT)
    assert parsed.status in (200, 400)
    if parsed.update is not None and not parsed.reason:
        sender = parsed.update.effective_user
        assert sender is not None
        user_id = sender.id
        assert isinstance(user_id, int) and abs(user_id) < 2**63


BOT = Bot("123:abc")


# -- connections (finding 6) ---------------------------------------------------------------


async def half_open(
    port: int, count: int
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """``count`` connections that start a request and never finish its headers."""
    held = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /telegram HTTP/1.1\r\nHost: bot.example.org\r\n")
        held.append((reader, writer))
    return held


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    """Whether the server closes the connection within ``within`` seconds (whatever it
    said first: a 503, or nothing)."""
    try:
        async with asyncio.timeout(within):
            while await reader.read(4096):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def post_update(port: int, body: dict[str, Any]) -> tuple[int, float]:
    started = time.monotonic()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}/telegram", json=body, headers=HEADERS) as r,
    ):
        return r.status, time.monotonic() - started


class TestConnections:
    """Half-open connections cannot starve Telegram; idle ones are closed after the
    timeouts; accept errors are not a log flood. Real ``python -m bot webhook`` processes."""

    async def test_half_open_connections_closed_and_telegram_served(
        self, mongo_uri: str, tmp_path: Path
    ) -> None:
        port = free_port()
        async with bot_environment(
            mongo_uri,
            tmp_path,
            PORT=str(port),
            HOST="127.0.0.1",
            HTTP_MAX_CONNECTIONS="50",
            HTTP_HEADER_TIMEOUT="1.5",
            HTTP_KEEPALIVE_TIMEOUT="2",
        ) as (env, fake, _):
            bot = BotProcess("webhook", env, tmp_path / "connections.log")
            with bot.started() as proc:
                await wait_healthy(port, proc)
                idle_fds = open_fds(proc.pid)
                held = await half_open(port, 300)
                deadline = time.monotonic() + 3
                while (attacked_fds := open_fds(proc.pid)) > idle_fds + 50 + 5:
                    # Beyond the cap, each new connection closed an older one: a loop turn.
                    assert time.monotonic() < deadline, attacked_fds
                    await asyncio.sleep(0.05)
                status, elapsed = await post_update(port, update(fake.api, 91, "/start"))
                assert status == 200 and elapsed < 2.0
                assert (await replies(fake.api, 91, 1))[0].startswith("👋 Welcome")
                closed = await asyncio.gather(*(closed_by_server(r, 4.0) for r, _ in held))
                assert all(closed), closed.count(False)
                for _, writer in held:
                    writer.close()
                # Kept alive after a request, then idle: closed after HTTP_KEEPALIVE_TIMEOUT.
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot.example.org\r\n\r\n")
                assert (await read_response(reader))[0] == 200
                started = time.monotonic()
                assert await closed_by_server(reader, 5.0)
                assert 1.5 < time.monotonic() - started < 4.5
                writer.close()
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(proc.wait, 30) == 0
            output = bot.output()
            print(
                f"connections: 300 half-open, cap 50: fds {idle_fds} idle, {attacked_fds} "
                f"under attack; an update answered 200 in {elapsed * 1000:.0f} ms"
            )
            assert "Traceback" not in output
            assert 1 <= output.count("connection cap 50 reached") <= 3  # one line per 10 s

    async def test_low_open_file_limit(self, mongo_uri: str, tmp_path: Path) -> None:
        """``ulimit -n 256`` and 600 half-open connections: the cap follows the limit (128),
        so the bot keeps files for its database and Telegram, and still answers."""
        port = free_port()
        async with bot_environment(
            mongo_uri, tmp_path, PORT=str(port), HTTP_HEADER_TIMEOUT="2"
        ) as (env, fake, _):
            bot = BotProcess("webhook", env, tmp_path / "ulimit.log", open_files=256)
            with bot.started() as proc:
                await wait_healthy(port, proc)
                held = await half_open(port, 600)
                status, _ = await post_update(port, update(fake.api, 92, "/start"))
                assert status == 200
                assert await replies(fake.api, 92, 1)
                assert all(await asyncio.gather(*(closed_by_server(r, 5.0) for r, _ in held)))
                for _, writer in held:
                    writer.close()
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(proc.wait, 30) == 0
            output = bot.output()
            assert "max_connections=128" in output
            assert "Traceback" not in output and len(output) < 20_000


class TestAcceptErrors:
    def test_too_many_open_files_logged_once_per_interval(self, caplog) -> None:
        now = [0.0]
        handler = AcceptErrors(10.0, clock=lambda: now[0])
        loop = asyncio.new_event_loop()
        try:
            error = OSError(errno.EMFILE, "Too many open files")
            context = {"message": "socket.accept() out of system resource", "exception": error}
            for _ in range(5000):
                handler(loop, context)
                now[0] += 0.001  # 5,000 failed accepts in 5 s
            now[0] = 10.5
            handler(loop, context)
        finally:
            loop.close()
        lines = [r for r in caplog.records if "cannot accept" in r.getMessage()]
        assert [r.getMessage() for r in lines] == [
            "cannot accept connections: Too many open files (1 times in the last 10 s)",
            "cannot accept connections: Too many open files (5000 times in the last 10 s)",
        ]
        assert not any(r.exc_info for r in lines)


class TestSettings:
    def test_host_and_http_limits_from_the_environment(self) -> None:
        s = Settings.from_env({})
        assert s.host == "0.0.0.0" and s.http_max_connections == 1000
        assert (s.http_header_timeout_s, s.http_body_timeout_s, s.http_keepalive_timeout_s) == (
            10.0,
            30.0,
            30.0,
        )
        s = Settings.from_env(
            {
                "HOST": "127.0.0.1",
                "HTTP_MAX_CONNECTIONS": "64",
                "HTTP_HEADER_TIMEOUT": "2.5",
                "HTTP_BODY_TIMEOUT": "5",
                "HTTP_KEEPALIVE_TIMEOUT": "15",
            }
        )
        assert s.host == "127.0.0.1" and s.http_max_connections == 64
        assert (s.http_header_timeout_s, s.http_body_timeout_s, s.http_keepalive_timeout_s) == (
            2.5,
            5.0,
            15.0,
        )

    @pytest.mark.parametrize("value", ["soon", "0", "-1", "99999"])
    def test_bad_timeouts(self, value: str) -> None:
        with pytest.raises(ConfigError):
            Settings.from_env({"HTTP_HEADER_TIMEOUT": value})
