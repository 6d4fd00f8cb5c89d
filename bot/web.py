"""The webhook server (aiohttp): ``POST /telegram``, ``GET /healthz``, ``GET /readyz``.

The python-telegram-bot Application is built with ``.updater(None)``; this server puts
each verified update on its queue and answers at once. The secret header is compared in
constant time and a wrong or missing one is refused before the body is read.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.app import BotApplication, running
from bot.config import Settings

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Telegram's updates are a few kilobytes
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "inline_query"]

PTB = web.AppKey("ptb", Application)  # the bot (or a bare app: see bench/_server.py)
SECRET = web.AppKey("secret", str)
SETTINGS = web.AppKey("settings", Settings)


async def telegram(request: web.Request) -> web.Response:
    """Receive one update from Telegram."""
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), request.app[SECRET].encode()):
        return web.Response(status=403, text="forbidden")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return web.Response(status=413, text="too large")
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return web.Response(status=413, text="too large")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return web.Response(status=400, text="invalid json")
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("update_id"), int)
        or isinstance(data.get("update_id"), bool)
    ):
        return web.Response(status=400, text="not an update")
    application = request.app[PTB]
    try:
        update = Update.de_json(data, application.bot)
    except (KeyError, TypeError, ValueError):
        return web.Response(status=400, text="not an update")
    await application.update_queue.put(update)
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
    """Run the bot for as long as the web server runs; stop it gracefully after."""
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


def build_web_app(
    settings: Settings, application: BotApplication, *, secret: str
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[PTB] = application
    app[SECRET] = secret
    app[SETTINGS] = settings
    app.router.add_post(settings.webhook_path, telegram)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.cleanup_ctx.append(ptb_lifecycle)
    return app
