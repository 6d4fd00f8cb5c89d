"""The bot's client to the Bot API (bot/telegram/request.py), over real HTTP to the local
Bot API server: messages, files, Telegram's errors, timeouts, an unreachable server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut

from bot.telegram.localserver import LocalBotApiServer
from bot.telegram.request import AiohttpRequest

TOKEN = "123:abc"
CHAT = 4242


@pytest_asyncio.fixture
async def server() -> AsyncIterator[LocalBotApiServer]:
    local = LocalBotApiServer(blocked={666})
    await local.start()
    yield local
    await local.stop()


def bot_at(base_url: str, request: AiohttpRequest) -> Bot:
    return Bot(TOKEN, base_url=base_url, request=request, get_updates_request=request)


async def test_messages_buttons_and_files_reach_the_bot_api(server: LocalBotApiServer) -> None:
    assert server.port is not None
    bot = bot_at(f"http://127.0.0.1:{server.port}/bot", AiohttpRequest(4))
    async with bot:
        sent = await bot.send_message(CHAT, "Halo <b>dunia</b>", parse_mode="HTML")
        assert sent.chat.id == CHAT and sent.message_id > 0
        await bot.send_photo(CHAT, photo=b"\x89PNG\r\n\x1a\n" + b"0" * 2000, caption="Kartu")
        await bot.send_document(CHAT, document=b"%PDF-1.4 ...", filename="kartu.pdf")
    [message] = server.api.calls_of("sendMessage")
    assert message.params["text"] == "Halo <b>dunia</b>"
    [photo] = server.api.calls_of("sendPhoto")
    assert photo.params["caption"] == "Kartu" and photo.params["photo"]["size"] == 2008
    [document] = server.api.calls_of("sendDocument")
    assert document.params["document"]["file"] == "kartu.pdf"


async def test_telegrams_errors_become_python_telegram_bot_errors(
    server: LocalBotApiServer,
) -> None:
    assert server.port is not None
    bot = bot_at(f"http://127.0.0.1:{server.port}/bot", AiohttpRequest(4))
    async with bot:
        with pytest.raises(Forbidden):
            await bot.send_message(666, "blocked")
        with pytest.raises(BadRequest):
            await bot.send_message(CHAT, "")  # message text is empty


async def test_a_slow_answer_times_out_and_an_unreachable_server_is_a_network_error() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        request = AiohttpRequest(1, read_timeout=0.2, pool_timeout=0.1)
        await request.initialize()
        url = f"http://127.0.0.1:{port}/bot{TOKEN}/getMe"
        with pytest.raises(TimedOut):
            await request.do_request(url, "POST")
        # The one connection busy with a slow answer: the next waits at most pool_timeout.
        first = asyncio.create_task(request.do_request(url, "POST"))
        await asyncio.sleep(0.05)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await request.do_request(url, "POST")
        with pytest.raises(TimedOut):
            await first
        await request.shutdown()
    finally:
        await runner.cleanup()
    request = AiohttpRequest(1, connect_timeout=0.5)
    await request.initialize()
    with pytest.raises(NetworkError):
        await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
    await request.shutdown()


async def test_not_initialized_is_said_plainly() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:9/bot1:a/getMe", "POST")
