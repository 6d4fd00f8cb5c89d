"""The local Bot API stand-in over HTTP, for a bot in another process.

``TELEGRAM_API_BASE_URL=http://127.0.0.1:<port>/bot`` points a bot (the webhook server in a
test, the benchmarks' bot) at :class:`LocalBotApiServer`, which answers with the same
:class:`~bot.telegram.localapi.LocalBotApi` the in-process tests use.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from bot.telegram.limits import SEND_METHODS
from bot.telegram.localapi import LocalBotApi


class LocalBotApiServer:
    """:class:`LocalBotApi` over HTTP, for a bot in another process (``TELEGRAM_API_BASE_URL
    = http://127.0.0.1:<port>/bot``). It can enforce a send rate (answering 429 with
    ``retry_after`` beyond it, as Telegram does) and answer 403 for chats that blocked the
    bot — the conditions a broadcast engine must survive."""

    def __init__(
        self,
        api: LocalBotApi | None = None,
        *,
        rate_per_s: float | None = None,
        blocked: set[int] | None = None,
        retry_after: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api or LocalBotApi()
        self.clock = clock  # when sends happen (tests of pacing run on virtual time)
        self.rate_per_s = rate_per_s
        self.blocked = blocked or set()
        self.retry_after = retry_after
        self.sent_at: list[float] = []  # when each accepted send happened
        self.too_many = 0  # 429 answers given
        self._window: list[float] = []
        self._runner: Any = None
        self.port: int | None = None

    def _rate_limited(self, now: float) -> bool:
        if self.rate_per_s is None:
            return False
        self._window = [t for t in self._window if t > now - 1.0]
        if len(self._window) >= self.rate_per_s:
            return True
        self._window.append(now)
        return False

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        method = request.match_info["method"]
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if hasattr(value, "file"):
                    files[key] = (value.filename or key, value.file.read())
                else:
                    params[key] = _decode(key, value)
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                part = value[len("attach://") :]
                if part in files:
                    params[key] = {"file": files[part][0], "size": len(files[part][1])}
        for key, (filename, content) in files.items():
            if key in params and isinstance(params[key], dict):
                continue
            params[key] = {"file": filename, "size": len(content)}
        if method in SEND_METHODS:
            chat_id = int(params.get("chat_id", 0) or 0)
            now = self.clock()
            if chat_id in self.blocked:
                return web.json_response(
                    {
                        "ok": False,
                        "error_code": 403,
                        "description": "Forbidden: bot was blocked by the user",
                    },
                    status=403,
                )
            if self._rate_limited(now):
                self.too_many += 1
                return web.json_response(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {self.retry_after}",
                        "parameters": {"retry_after": self.retry_after},
                    },
                    status=429,
                )
            self.sent_at.append(now)
        status, body = self.api.handle(method, params, files)
        return web.Response(status=status, body=body, content_type="application/json")

    async def _file(self, request: Any) -> Any:
        from aiohttp import web

        file_id = request.match_info["path"]
        if file_id not in self.api.files:
            return web.Response(status=404)
        return web.Response(body=self.api.files[file_id][1])

    async def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1; returns the base URL to give the bot."""
        from aiohttp import web

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}/bot"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


_INT_FIELDS = {
    "chat_id",
    "message_id",
    "from_chat_id",
    "user_id",
    "reply_to_message_id",
    "cache_time",
    "limit",
    "offset",
    "timeout",
    "max_connections",
}
_FLOAT_FIELDS = {"latitude", "longitude"}


def _decode(key: str, value: str) -> Any:
    """Form values as PTB sends them: JSON for objects, lists and flags; numbers for the
    numeric fields; text as text."""
    if key in _INT_FIELDS and value.lstrip("-").isdigit():
        return int(value)
    if key in _FLOAT_FIELDS:
        try:
            return float(value)
        except ValueError:
            return value
    if value[:1] in "[{" or value in ("true", "false", "null"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
