"""A lean, rate-limited Bot API server in its own process — the broadcast benchmark's
Telegram: ``python -m bench.botapi --rate 30``. Prints ``{"port": N, "stats_port": M}``.

Unlike ``bot.telegram.localserver.LocalBotApiServer`` (which validates every call for the
tests), it only paces and answers, so that the benchmark measures the bot and not the emulator.
``GET /bench/stats`` on the stats port: when each send was accepted, and how many 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import time
from collections import deque

from aiohttp import web

BOT = {"id": 7000000001, "is_bot": True, "first_name": "Bench", "username": "BenchBot"}


class LeanApi:
    def __init__(self, rate: float, retry_after: int = 1) -> None:
        self.rate = rate
        self.retry_after = retry_after
        self.window: deque[float] = deque()
        self.sent_at: list[float] = []
        self.too_many = 0
        self.ids = itertools.count(1)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getMe":
            return web.json_response({"ok": True, "result": BOT})
        if method not in ("sendMessage", "sendPhoto"):
            return web.json_response({"ok": True, "result": True})
        form = await request.post()
        chat_id = int(str(form.get("chat_id", "0")))
        now = time.monotonic()
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if len(self.window) >= self.rate:
            self.too_many += 1
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": self.retry_after},
                },
                status=429,
            )
        self.window.append(now)
        self.sent_at.append(now)
        return web.json_response(
            {
                "ok": True,
                "result": {
                    "message_id": next(self.ids),
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"},
                    "from": BOT,
                    "text": "ok",
                },
            }
        )

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"sent_at": self.sent_at, "too_many": self.too_many})


async def main(args: argparse.Namespace) -> None:
    api = LeanApi(args.rate)
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", api.handle)
    app.router.add_get("/bench/stats", api.stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(json.dumps({"port": port, "stats_port": port}), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(main(parser.parse_args()))
