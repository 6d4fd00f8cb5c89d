"""The webhook server process that ``bench.updates`` sends updates to.

``--flavor gerbang``: the real bot — ``bot.app.build_application(..., live=True)`` over
MongoDB, behind ``bot.web.build_web_app`` — exactly as ``python -m bot webhook`` builds it
(``--rate-limiter`` adds the AIORateLimiter that command adds too).
``--flavor echo``: the framework's ceiling — a minimal python-telegram-bot echo bot
(``.updater(None)``, one MessageHandler replying with the text) behind the same aiohttp
route (``bot.web.telegram``).

Both call the Bot API at ``--api-base`` over real HTTP (``--request``: each as it ships —
the bot on aiohttp, ``bot/telegram/request.py``, the echo bot on python-telegram-bot's
HTTPXRequest — or both on one client).
Extra routes for the load generator: ``GET /bench/stats`` (database command times,
repository times, CPU, memory), ``POST /bench/reset``, ``POST /bench/profile/start`` and
``POST /bench/profile/stop?path=…`` (cProfile of the server process).
Prints one JSON line ``{"port": N}`` on stdout when ready; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import resource
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from telegram.request import HTTPXRequest

from bench.common import (
    BENCH_SECRET,
    BENCH_TOKEN,
    CommandTimes,
    bench_settings,
    install_timed_cooperatives,
    memory_kib,
)
from bot.telegram.request import AiohttpRequest


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Probe:
    """What the stats route reports."""

    def __init__(self) -> None:
        self.commands: CommandTimes | None = None
        self.timed: Any = None
        self.profiler: cProfile.Profile | None = None
        self.background: set[str] = set()
        self.background_per_s: dict[str, float] = {}

    async def learn_background(self, seconds: float = 2.0) -> None:
        """Which database commands run while no update arrives (background polling): they
        are reported apart and left out of the per-update figures."""
        if self.commands is None:
            return
        self.commands.reset()
        await asyncio.sleep(seconds)
        self.background = set(self.commands.durations)
        self.background_per_s = {
            k: round(len(v) / seconds, 1) for k, v in self.commands.durations.items()
        }
        self.commands.reset()

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "pid": os.getpid(),
                "cpu_s": _cpu(),
                "memory_kib": memory_kib(),
                "db_commands": self.commands.snapshot(self.background) if self.commands else None,
                "db_background_per_s": self.background_per_s,
                "repository": self.timed.snapshot() if self.timed else None,
            }
        )

    async def reset(self, request: web.Request) -> web.Response:
        if self.commands:
            self.commands.reset()
        if self.timed:
            self.timed.reset()
        return web.json_response({"ok": True})

    async def profile_start(self, request: web.Request) -> web.Response:
        self.profiler = cProfile.Profile()
        self.profiler.enable()
        return web.json_response({"ok": True})

    async def profile_stop(self, request: web.Request) -> web.Response:
        """Stop profiling and dump the pstats to ``?path=``."""
        if self.profiler is None:
            return web.json_response({"ok": False})
        self.profiler.disable()
        path = request.query.get("path", "bench-server.pstats")
        self.profiler.dump_stats(path)
        self.profiler = None
        return web.json_response({"ok": True, "path": path})

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/bench/stats", self.stats)
        app.router.add_post("/bench/reset", self.reset)
        app.router.add_post("/bench/profile/start", self.profile_start)
        app.router.add_post("/bench/profile/stop", self.profile_stop)


async def gerbang_app(args: argparse.Namespace, probe: Probe) -> tuple[web.Application, Any]:
    from bot.app import Backend, build_application, build_services
    from bot.logs import configure
    from bot.web import build_web_app
    from storage.mongo import Store

    probe.commands = CommandTimes().register()  # before the client is created
    settings = bench_settings(
        Path(args.tmp),
        db_name=args.db,
        api_base=args.api_base,
        webhook_url="https://bench.invalid/telegram",
        log_level="INFO",
    )
    configure(settings.log_level, settings.log_format)  # as `python -m bot webhook` does
    store = Store.connect(
        args.mongodb_uri, settings.mongodb_db, timeout_ms=settings.mongodb_timeout_ms
    )
    await store.ensure_indexes()
    backend = Backend.over(store, settings)
    services = build_services(backend, settings)
    probe.timed = install_timed_cooperatives(services)
    # "default": as `python -m bot webhook` runs (aiohttp, bot/telegram/request.py);
    # "httpx": python-telegram-bot's own HTTPXRequest, for comparison.
    request = HTTPXRequest(connection_pool_size=256) if args.request == "httpx" else None
    application = build_application(
        settings,
        backend,
        services=services,
        live=True,
        rate_limit=args.rate_limiter,
        request=request,
        http_broadcasts=True,
    )
    app = build_web_app(settings, application, secret=BENCH_SECRET)
    return app, store


async def echo_app(args: argparse.Namespace) -> web.Application:
    from telegram import Update
    from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

    from bot.web import PTB, SECRET, telegram

    builder = (
        ApplicationBuilder()
        .token(BENCH_TOKEN)
        .base_url(args.api_base)
        .updater(None)
        .concurrent_updates(256)
    )
    if args.request == "aiohttp":
        builder = builder.request(AiohttpRequest())  # the bot's production client
    application = builder.build()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        await message.reply_text(message.text or "")

    application.add_handler(MessageHandler(filters.TEXT, echo))

    async def lifecycle(app: web.Application) -> Any:
        ptb: Application[Any, Any, Any, Any, Any, Any] = app[PTB]
        await ptb.initialize()
        await ptb.start()
        yield
        await ptb.stop()
        await ptb.shutdown()

    app = web.Application(client_max_size=1024 * 1024)
    app[PTB] = application
    app[SECRET] = BENCH_SECRET
    app.router.add_post("/telegram", telegram)
    app.cleanup_ctx.append(lifecycle)
    return app


async def main(args: argparse.Namespace) -> int:
    probe = Probe()
    store = None
    if args.flavor == "gerbang":
        app, store = await gerbang_app(args, probe)
    else:
        app = await echo_app(args)
    probe.add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()  # runs the lifecycle: the bot is initialized and started here
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if store is not None and await store.resolve_geo_mode() == "cells" and store.spatial_index:
        # The bot starts building its in-process index at start and answers from the grid
        # cells meanwhile (15.9 s at national size): measure the steady state after it.
        from storage.cooperatives import CooperativeRepository

        await CooperativeRepository(store).spatial().warm()
    await probe.learn_background()
    print(json.dumps({"port": port, "pid": os.getpid()}), flush=True)
    await stop.wait()
    await runner.cleanup()
    if store is not None:
        await store.close()
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavor", choices=("gerbang", "echo"), required=True)
    parser.add_argument("--api-base", required=True, help="the Bot API base URL (…/bot)")
    parser.add_argument("--mongodb-uri", default="")
    parser.add_argument("--db", default="bench")
    parser.add_argument("--tmp", default=".")
    parser.add_argument(
        "--request",
        choices=("default", "httpx", "aiohttp"),
        default="default",
        help="HTTP clients to the Bot API: default = each bot as it ships (the bot: aiohttp, "
        "bot/telegram/request.py; the echo bot: python-telegram-bot's HTTPXRequest); httpx "
        "or aiohttp = both bots on that client",
    )
    parser.add_argument(
        "--rate-limiter",
        action="store_true",
        help="add AIORateLimiter, as `python -m bot webhook` does",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
