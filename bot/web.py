"""The webhook server (aiohttp): ``POST /telegram``, ``GET /healthz``, ``GET /readyz``.

The python-telegram-bot Application is built with ``.updater(None)``. For each request
to the webhook route, in order: the secret header is compared in constant time (403
before the body is read); the whole body is read, however it arrives (split writes,
chunked), within ``MAX_BODY`` (413) and ``HTTP_BODY_TIMEOUT`` (408), uncompressed (415);
it is parsed and screened (400 for what is not an update the bot can take:
``bot.telegram.screen.screen``); an update with nobody to answer is accepted and
ignored (200, one log line); any other is written to the inbox and only then answered
200 (503 if the database cannot take it, so Telegram retries; 200 without handling it
again if the inbox already has its id).

:func:`serve` runs the server for ``python -m bot webhook`` behind a
:class:`ConnectionGuard`: a cap on open connections, a deadline for a new connection's
request headers, aiohttp's keep-alive timeout, and accept errors logged at most once per
``ACCEPT_LOG_EVERY_S`` seconds with a count.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import json
import logging
import resource
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.app import BotApplication, running
from bot.config import Settings
from bot.telegram.processing import InboxQueue
from bot.telegram.screen import Malformed, ignored, screen

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Telegram's updates are a few kilobytes
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "inline_query"]
ACCEPT_LOG_EVERY_S = 10.0

PTB = web.AppKey("ptb", Application)  # the bot (or a bare app: see bench/_server.py)
SECRET = web.AppKey("secret", str)
SETTINGS = web.AppKey("settings", Settings)


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


async def _read_body(request: web.Request, within_s: float) -> bytes:
    """The whole body, however it arrives, or :class:`_Refused` (408, 413, 415, 400)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _Refused(413, "too large")
    if request.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity"):
        # Telegram never compresses; a compressed body could unpack far past MAX_BODY.
        raise _Refused(415, "compressed body")
    body = bytearray()
    try:
        async with asyncio.timeout(within_s):
            while chunk := await request.content.readany():
                body += chunk
                if len(body) > MAX_BODY:
                    raise _Refused(413, "too large")
    except TimeoutError:
        raise _Refused(408, "body too slow") from None
    except _Refused:
        raise
    except Exception as exc:  # the client went away or broke the framing mid-body
        log.info("webhook: incomplete body error=%s", type(exc).__name__)
        raise _Refused(400, "incomplete body") from None
    return bytes(body)


def _refuse(status: int, text: str, reason: str) -> web.Response:
    log.warning("webhook: update refused status=%s reason=%s", status, reason)
    return web.Response(status=status, text=text)


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a body holds: an update to take (status 200, no reason), one to accept and
    ignore (200 and a reason), or a refusal (400, no update, a reason naming no value)."""

    status: int
    update: Update | None = None
    reason: str = ""
    text: str = ""


def parse_update(body: bytes, bot: Any) -> Parsed:
    """Parse and screen a webhook body. Never raises."""
    try:
        text = body.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Parsed(400, reason="invalid json")
    try:
        screen(data)
    except Malformed as exc:
        return Parsed(400, reason=str(exc))
    try:
        update = Update.de_json(data, bot)
    except Exception as exc:  # python-telegram-bot refuses a shape screen() let through
        return Parsed(400, reason=f"unreadable {type(exc).__name__}")
    reason = ignored(update)
    return Parsed(200, update, reason or "", text)


async def telegram(request: web.Request) -> web.Response:
    """Receive one update from Telegram."""
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), request.app[SECRET].encode()):
        return web.Response(status=403, text="forbidden")
    settings = request.app.get(SETTINGS)
    try:
        body = await _read_body(request, settings.http_body_timeout_s if settings else 30.0)
    except _Refused as refused:
        response = _refuse(refused.status, refused.text, refused.text)
        response.force_close()  # what is left of the body is not worth reading
        return response
    application = request.app[PTB]
    parsed = parse_update(body, application.bot)
    if parsed.update is None:
        return _refuse(parsed.status, "not an update", parsed.reason)
    update = parsed.update
    if parsed.reason:
        log.info("update ignored update_id=%s reason=%s", update.update_id, parsed.reason)
        return web.Response(status=200, text="ok")
    queue = application.update_queue
    if not isinstance(queue, InboxQueue):  # a bare app (bench/_server.py): no inbox
        await queue.put(update)
        return web.Response(status=200, text="ok")
    try:
        fresh = await queue.accept(update, parsed.text)
    except Exception as exc:
        log.warning(
            "webhook: inbox unavailable, update not acknowledged update_id=%s error=%s",
            update.update_id,
            type(exc).__name__,
        )
        return web.Response(status=503, text="unavailable", headers={"Retry-After": "5"})
    if not fresh:
        log.info("redelivered update dropped update_id=%s", update.update_id)
    return web.Response(status=200, text="ok")


async def healthz(request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The database answers: ready for traffic."""
    services = request.app[PTB].bot_data.services
    if services is not None and await services.health.ping():
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "database unavailable"}, status=503)


async def ptb_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Run the bot for as long as the web server runs; stop it gracefully after.

    The inbox is replayed inside :func:`running`, before the server accepts anything.
    """
    application = app[PTB]
    assert isinstance(application, BotApplication)
    settings = app[SETTINGS]
    async with running(application):
        if settings.webhook_url:
            await application.bot.set_webhook(
                url=settings.webhook_url,
                secret_token=app[SECRET],
                allowed_updates=ALLOWED_UPDATES,
                max_connections=40,
            )
            log.info("webhook set url=%s", settings.webhook_url)
        else:
            log.warning("WEBHOOK_URL is not set: the webhook was not registered with Telegram")
        yield
        # SIGTERM: the site has stopped accepting; finish what is queued and in flight.
        log.info("stopping: finishing updates in flight")
    log.info("stopped")


@web.middleware
async def track_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Tell the connection guard which connections are handling a request (not idle)."""
    guard = request.app.get(GUARD)
    if guard is None:
        return await handler(request)
    guard.busy(request.protocol)
    try:
        return await handler(request)
    finally:
        guard.idle(request.protocol)


def build_web_app(
    settings: Settings, application: BotApplication, *, secret: str
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[track_requests])
    app[PTB] = application
    app[SECRET] = secret
    app[SETTINGS] = settings
    app.router.add_post(settings.webhook_path, telegram)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.cleanup_ctx.append(ptb_lifecycle)
    return app


# -- connections -------------------------------------------------------------------------


class Throttled:
    """A log line at most once per ``every`` seconds, with how many it stands for."""

    def __init__(
        self, every: float = ACCEPT_LOG_EVERY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every = every
        self.clock = clock
        self.count = 0
        self.lines = 0
        self._last = -every

    def hit(self, message: str, *args: object) -> None:
        self.count += 1
        now = self.clock()
        if now - self._last >= self.every:
            log.error("%s (%s times in the last %.0f s)", message % args, self.count, self.every)
            self._last = now
            self.count = 0
            self.lines += 1


RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class AcceptErrors:
    """The event loop's exception handler: "Too many open files" and other failures to
    accept a connection are logged once per ``every`` seconds with a count, without a
    traceback (asyncio retries the accept a second later by itself); anything else goes to
    the default handler."""

    def __init__(self, every: float = ACCEPT_LOG_EVERY_S, **kwargs: Any) -> None:
        self.throttled = Throttled(every, **kwargs)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in RESOURCE_ERRORS:
            self.throttled.hit("cannot accept connections: %s", exc.strerror or exc)
            return
        loop.default_exception_handler(context)


REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n"
    b"Connection: close\r\n\r\n"
)


class ConnectionGuard:
    """The protocol factory in front of aiohttp's server.

    At most ``cap`` connections are open. A new one beyond the cap evicts the connection
    idle longest (not handling a request: waiting for its first request's headers, or
    kept alive between requests), so half-open connections cannot crowd out Telegram; if
    every connection is busy, the new one gets 503 and is closed at once. A new
    connection must complete its first request's headers within ``header_timeout``
    seconds; later requests on it are bounded by aiohttp's keep-alive timeout.
    """

    def __init__(
        self, factory: Callable[[], asyncio.Protocol], *, cap: int, header_timeout: float
    ) -> None:
        self.factory = factory
        self.cap = cap
        self.header_timeout = header_timeout
        self.open = 0
        self.refused = 0
        self.evicted = 0
        self.timed_out = 0
        self._idle: dict[_Guarded, None] = {}  # insertion order: idle longest first
        self._by_handler: dict[object, _Guarded] = {}
        self._notice = Throttled()

    def __call__(self) -> asyncio.Protocol:
        return _Guarded(self)

    def admit(self, conn: _Guarded) -> bool:
        if self.open >= self.cap:
            victim = next(iter(self._idle), None)
            if victim is None:
                self.refused += 1
                self._notice.hit("connection cap %s reached: new connection refused", self.cap)
                return False
            self.evicted += 1
            self._notice.hit("connection cap %s reached: idle connection closed", self.cap)
            self.forget(victim)
            victim.close()
        self.open += 1
        self._idle[conn] = None
        return True

    def attach(self, conn: _Guarded, handler: object) -> None:
        self._by_handler[handler] = conn

    def forget(self, conn: _Guarded) -> None:
        if conn.counted:
            conn.counted = False
            self.open -= 1
            self._idle.pop(conn, None)
            self._by_handler.pop(conn.inner, None)

    def busy(self, handler: object) -> None:
        conn = self._by_handler.get(handler)
        if conn is not None:
            self._idle.pop(conn, None)

    def idle(self, handler: object) -> None:
        conn = self._by_handler.get(handler)
        if conn is not None and conn.counted:
            self._idle[conn] = None


GUARD = web.AppKey("guard", ConnectionGuard)


class _Guarded(asyncio.Protocol):
    """One connection: aiohttp's protocol inside, the guard's bookkeeping around it."""

    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard
        self.inner: asyncio.Protocol | None = None
        self.transport: asyncio.Transport | None = None
        self.counted = False
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.guard.admit(self):
            transport.write(REFUSAL)
            transport.close()
            return
        self.counted = True
        self.inner = self.guard.factory()
        self.guard.attach(self, self.inner)
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.guard.header_timeout, self._headers_late)
        self.inner.connection_made(transport)

    def _headers_late(self) -> None:
        self._timer = None
        self.guard.timed_out += 1
        self.close()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.inner is None:
            return
        if self._timer is not None:
            seen = self._tail + data
            if b"\r\n\r\n" in seen or b"\n\n" in seen:  # the headers are complete
                self._timer.cancel()
                self._timer = None
                self._tail = b""
            else:
                self._tail = seen[-3:]
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.guard.forget(self)
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int
    header_timeout: float
    keepalive_timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The settings' cap, lowered to half the open-file limit: the bot's own database
        and Bot API connections, log files and the database child need the rest."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        cap = settings.http_max_connections
        if soft != resource.RLIM_INFINITY:
            cap = min(cap, max(16, soft // 2))
        return cls(cap, settings.http_header_timeout_s, settings.http_keepalive_timeout_s)


async def _serve(settings: Settings, app: web.Application) -> None:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(AcceptErrors())
    limits = Limits.from_settings(settings)
    runner = web.AppRunner(
        app, access_log=None, keepalive_timeout=limits.keepalive_timeout, shutdown_timeout=10
    )
    guard = ConnectionGuard(
        lambda: _server_protocol(runner),
        cap=limits.max_connections,
        header_timeout=limits.header_timeout,
    )
    app[GUARD] = guard
    await runner.setup()  # the bot starts here: inbox replayed, webhook registered
    try:
        # The backlog also bounds how many connections one loop turn accepts before the guard
        # sees them: a quarter of the cap, so a burst cannot run past the open-file limit.
        backlog = max(16, min(128, limits.max_connections // 4))
        listener = await loop.create_server(guard, settings.host, settings.port, backlog=backlog)
        log.info(
            "webhook server on %s:%s path %s max_connections=%s",
            settings.host,
            settings.port,
            settings.webhook_path,
            limits.max_connections,
        )
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        listener.close()  # stop accepting; requests in flight finish in cleanup
    finally:
        await runner.cleanup()


def _server_protocol(runner: web.AppRunner) -> asyncio.Protocol:
    server = runner.server
    assert server is not None
    return server()


def serve(settings: Settings, app: web.Application) -> None:
    """Run the webhook server until SIGTERM or SIGINT, then stop gracefully: stop
    accepting, finish the updates in flight, flush (within the 30 s platforms allow)."""
    asyncio.run(_serve(settings, app))
