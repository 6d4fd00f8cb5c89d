"""The webhook server with aiohttp's test client: security, redelivery, concurrency,
flood control, a database outage, and the real ``python -m bot webhook`` with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Backend, Services, build_application, build_services
from bot.config import Settings
from bot.dbserver import EmbeddedMongo
from bot.telegram.localapi import LocalBotApi
from bot.telegram.localserver import LocalBotApiServer
from bot.web import PTB, build_web_app
from storage.mongo import Store

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


@pytest.fixture
async def web(
    backend: Backend, services: Services, settings: Settings
) -> AsyncIterator[tuple[TestClient, LocalBotApi]]:
    settings = replace(
        settings, telegram_bot_token="123:abc", webhook_url="https://bot.example.org/telegram"
    )
    api = LocalBotApi()
    application = build_application(settings, backend, services=services, request=api, live=True)
    client = TestClient(TestServer(build_web_app(settings, application, secret=SECRET)))
    await client.start_server()
    try:
        yield client, api
    finally:
        await client.close()


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
            await client.post("/telegram", json=update(api, 42, "Sleman", "id"), headers=HEADERS)
            text = (await replies(api, 42, 1))[0]
            assert "sedang tidak tersedia" in text
            await client.post("/telegram", json=update(api, 43, "/start"), headers=HEADERS)
            assert "temporarily unavailable" in (await replies(api, 43, 1))[0]
            server.start(port=port)  # it comes back, same data, same port
            deadline = time.monotonic() + 20
            while (await client.get("/readyz")).status != 200:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.2)
            await client.post("/telegram", json=update(api, 42, "Sleman", "id"), headers=HEADERS)
            texts = await replies(api, 42, 2)
            assert len(texts) == 2 and "tidak tersedia" not in texts[1], [t[:60] for t in texts]
        finally:
            await client.close()
            await store.close()
            server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
