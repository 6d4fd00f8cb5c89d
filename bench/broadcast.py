"""Broadcast pacing: achieved ÷ configured rate, and how many 429s the bot caused.

    python -m bench.broadcast                    # 10,000 recipients at 30/s and 1,000/s
    python -m bench.broadcast --recipients 2000  # quicker

A local Bot API server over HTTP enforces the configured rate (429 with retry_after when a
second holds more); the engine sends through a real HTTP client, as in production.
Targets: achieved ÷ configured ≥ 0.95, 429s caused = 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bot.dbserver import EmbeddedMongo
from bot.i18n import I18n
from bot.services.broadcast import BroadcastEngine
from bot.telegram.sender import HttpSender
from handlers.broadcast.header import Dresser
from storage.broadcasts import BroadcastRepository
from storage.mongo import Store

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run_once(uri: str, recipients: int, limit: float, paid: bool) -> dict[str, object]:
    """One broadcast against a server that allows ``limit`` sends per second; the engine
    is configured at 95 % of it (headroom for network jitter, as in production)."""
    rate = float(int(limit * 0.95))
    store = Store.connect(uri, f"bench_broadcast_{uuid.uuid4().hex[:8]}")
    await store.ensure_indexes()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.botapi",
        "--rate",
        str(limit),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    ports = json.loads(await proc.stdout.readline())
    base_url = f"http://127.0.0.1:{ports['port']}/bot"
    sender = HttpSender(base_url, "123456:BENCH", Dresser(I18n(ROOT / "locales")))
    await sender.start()
    repo = BroadcastRepository(store)
    engine = BroadcastEngine(
        repo, sender, None, rate=rate if not paid else 25, paid_rate=rate if paid else 1000
    )
    try:
        job = await repo.create(
            kind="platform",
            coop_id=None,
            text="<b>Benchmark</b>",
            photo=None,
            created_by=1,
            recipients=list(range(1_000_000, 1_000_000 + recipients)),
            paid=paid,
            scheduled_at=None,
            language="en",
            audience={},
        )
        started = time.monotonic()
        await engine.start()
        while True:  # the job's status, as the bot's operator would watch it
            current = await repo.get(job.id)
            if current is None or current.status == "done":
                break
            await asyncio.sleep(0.2)
        elapsed = time.monotonic() - started
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{ports['stats_port']}/bench/stats") as response,
        ):
            stats = await response.json()
    finally:
        await engine.stop()
        await sender.close()
        proc.terminate()
        await proc.wait()
        await store.drop_database()
        await store.close()
    sent = sorted(stats["sent_at"])
    span = sent[-1] - sent[0] if len(sent) > 1 else 0.0
    achieved = (len(sent) - 1) / span if span else 0.0
    return {
        "mode": "paid" if paid else "free",
        "recipients": recipients,
        "server_limit_per_s": limit,
        "configured_per_s": rate,
        "achieved_per_s": round(achieved, 2),
        "ratio": round(achieved / rate, 3),
        "too_many_requests": stats["too_many"],
        "max_in_any_second": max_in_window(sent),
        "elapsed_s": round(elapsed, 1),
        "delivered": len(sent),
        "engine_429s": engine.too_many,
    }


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


async def main(args: argparse.Namespace) -> None:
    server = None
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        server = EmbeddedMongo(Path(tempfile.mkdtemp(prefix="bench-db-")) / "db")
        uri = server.start()
    try:
        rows = [
            await run_once(uri, args.recipients, 30, False),
            await run_once(uri, args.recipients, 1000, True),
        ]
    finally:
        if server is not None:
            server.stop()
    print(
        f"{'mode':6} {'recipients':>10} {'limit/s':>8} {'configured/s':>12} "
        f"{'achieved/s':>10} {'ratio':>6} {'429s':>5} {'max in 1 s':>10} {'elapsed s':>9}"
    )
    for r in rows:
        print(
            f"{r['mode']:6} {r['recipients']:>10} {r['server_limit_per_s']:>8} "
            f"{r['configured_per_s']:>12} {r['achieved_per_s']:>10} {r['ratio']:>6} "
            f"{r['too_many_requests']:>5} {r['max_in_any_second']:>10} {r['elapsed_s']:>9}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "broadcast.json").write_text(
        json.dumps(
            {
                "machine": machine(),
                "database": "MONGODB_URI"
                if os.environ.get("MONGODB_URI")
                else "embedded SecantusDB",
                "results": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--profile", metavar="PATH", help="write a cProfile of the paid run")
    asyncio.run(main(parser.parse_args()))
