"""What the benchmarks share: machine facts, statistics, tables, result files, the database
(embedded SecantusDB or ``MONGODB_URI``), a national-shape directory generator, an
in-process driver of the real Application, and timing hooks (PyMongo command monitoring,
a timing wrapper around the cooperative repository)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import json
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.services.demo import DEMO_REGIONS, jitter, kdmp_row, other_row, to_csv

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

BENCH_TOKEN = "123456:BENCHMARK-not-a-real-token"
BENCH_SECRET = "bench-webhook-secret-0123456789"
BENCH_DATA_KEY = "bench-data-key-0123456789abcdefghij"
NO_FLOOD_LIMIT = 1_000_000_000  # Settings.flood_limit for load tests (see README)

# National shape: one Koperasi Desa/Kelurahan Merah Putih per village + other cooperatives.
NATIONAL_VILLAGES = 83_762
NATIONAL_OTHERS = 50_000
KDMP_SHARE = NATIONAL_VILLAGES / (NATIONAL_VILLAGES + NATIONAL_OTHERS)
DESCRIPTION = "Data sintetis untuk benchmark. Synthetic benchmark data."

# Populated places first: Kota Medan, Kab. Sleman, Jakarta Pusat and Selatan, Kota Makassar,
# Kota Kupang (the demo regions), then the rest of their provinces, then every other
# province. A directory of N cooperatives takes villages in this order.
CITY_REGIONS = DEMO_REGIONS
PROVINCE_ORDER = ("34", "31", "12", "73", "53")


# --- machine and environment ----------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    """The checked-out commit, read from .git (no git command is run)."""
    head = ROOT / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            path = ROOT / ".git" / ref[5:]
            if path.exists():
                return path.read_text().strip()[:12]
            packed = ROOT / ".git" / "packed-refs"
            for line in packed.read_text().splitlines():
                if line.endswith(ref[5:]):
                    return line.split()[0][:12]
            return None
        return ref[:12]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, Python, library versions, load, date."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 1
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "memory_gib": _mem_total_gib(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "commit": _commit(),
        "packages": {
            name: _version(name)
            for name in (
                "python-telegram-bot",
                "aiohttp",
                "httpx",
                "pymongo",
                "SecantusDB",
                "rapidfuzz",
            )
        },
    }


def busy_note() -> str:
    load = os.getloadavg()[0]
    return (
        f"1-minute load average {load:.2f} on {os.cpu_count()} cores; another engineer "
        "may run the test suite on this machine at the same time, which lowers the "
        "figures."
    )


# --- statistics and output ------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), linear interpolation between closest ranks."""
    if not values:
        return math.nan
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int]:
    """n, mean, p50, p95, p99, max of durations given in seconds, in milliseconds."""
    ms = [s * 1000 for s in seconds]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "mean": round(sum(ms) / len(ms), 3),
        "p50": round(percentile(ms, 50), 3),
        "p95": round(percentile(ms, 95), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(max(ms), 3),
    }


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None
) -> str:
    """A plain-text table; numbers right-aligned."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
        for i, h in enumerate(headers)
    ]
    numeric = [
        all(isinstance(row[i], (int, float)) or row[i] is None for row in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        )

    out = []
    if title:
        out.append(title)
    out.append(line(headers))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def write_result(name: str, data: dict[str, Any], out_dir: Path | None = None) -> Path:
    """``bench/results/<name>.json`` (or ``out_dir``)."""
    directory = out_dir or RESULTS
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def finish(name: str, args: Any, data: dict[str, Any], started: float) -> int:
    """Stamp the load and wall time on ``data``, write it (``<name>-<tag>.json`` with
    ``--tag``, into ``--out`` when given), say where; the command's exit status."""
    data["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    data["wall_s"] = round(time.perf_counter() - started, 1)
    path = write_result(
        f"{name}-{args.tag}" if args.tag else name, data, Path(args.out) if args.out else None
    )
    print(f"\nwrote {path}")
    return 0


def log(message: str) -> None:
    """Progress on stderr (tables go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return None


def system_busy_seconds() -> float | None:
    """CPU seconds all processes on this machine have used so far (/proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
        return (user + nice + system + irq + softirq + steal) / _TICK
    except (OSError, ValueError):
        return None


def memory_kib(pid: int | str = "self") -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) and friends of a process, in KiB (Linux /proc)."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "VmSize"):
                out[key] = int(rest.split()[0])
    except OSError:
        pass
    return out


# --- the database ------------------------------------------------------------------------------


class Database:
    """The MongoDB-wire server to measure against: ``MONGODB_URI`` when set, otherwise an
    embedded SecantusDB (``bot.dbserver.EmbeddedMongo``) on a temporary directory.

    Databases made through :meth:`db_name` are dropped at the end on an external server."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.external = bool(os.environ.get("MONGODB_URI", "").strip())
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
        self.server: Any = None
        self.uri = ""
        self._made: list[str] = []

    def __enter__(self) -> Database:
        if self.external:
            self.uri = os.environ["MONGODB_URI"].strip()
        else:
            from bot.dbserver import EmbeddedMongo

            self.server = EmbeddedMongo(self.tmp / "db")
            self.uri = self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.external and self._made:
                asyncio.run(self._drop())
        finally:
            if self.server is not None:
                self.server.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)

    async def _drop(self) -> None:
        from pymongo import AsyncMongoClient

        client: AsyncMongoClient[Any] = AsyncMongoClient(self.uri)
        try:
            for name in self._made:
                await client.drop_database(name)
        finally:
            await client.close()

    @property
    def pid(self) -> int | None:
        return self.server.pid if self.server is not None else None

    def db_name(self, what: str) -> str:
        name = f"bench_{what}_{uuid.uuid4().hex[:8]}"
        self._made.append(name)
        return name

    async def engine(self) -> dict[str, Any]:
        """Which server this is (never the URI itself: it may hold a password)."""
        from pymongo import AsyncMongoClient

        client: AsyncMongoClient[Any] = AsyncMongoClient(self.uri, serverSelectionTimeoutMS=5000)
        try:
            info = await client.admin.command("buildInfo")
        finally:
            await client.close()
        name = (
            "MongoDB (MONGODB_URI)"
            if self.external
            else (f"SecantusDB {_version('SecantusDB')} (embedded, secantusd-py, pure Python)")
        )
        return {
            "engine": name,
            "version": info.get("version"),
            "storage": "external server" if self.external else str(self.tmp / "db"),
        }


def bench_settings(tmp: Path, *, db_name: str, api_base: str | None = None, **extra: Any) -> Any:
    """Settings for a benchmark run: the production defaults except what load testing needs
    (flood control raised, a fixed data key, the local Bot API server)."""
    from bot.config import Settings

    settings = replace(
        Settings(),
        telegram_bot_token=BENCH_TOKEN,
        mongodb_db=db_name,
        data_dir=tmp / "var",
        data_key=BENCH_DATA_KEY,
        webhook_secret=BENCH_SECRET,
        flood_limit=NO_FLOOD_LIMIT,
        log_level="WARNING",
    )
    if api_base is not None:
        settings = replace(settings, telegram_api_base_url=api_base)
    return replace(settings, **extra) if extra else settings


def load_gazetteer() -> Any:
    from bot.config import Settings
    from bot.services.gazetteer import Gazetteer

    return Gazetteer.load(Settings().gazetteer_path)


# --- the directory -----------------------------------------------------------------------------


def ordered_villages(gazetteer: Any) -> list[Any]:
    """Every village, populated cities first (see CITY_REGIONS / PROVINCE_ORDER)."""
    by_regency: dict[str, list[Any]] = defaultdict(list)
    for region in gazetteer:
        if region.level == "village":
            by_regency[region.code[:5]].append(region)
    for villages in by_regency.values():
        villages.sort(key=lambda r: r.code)
    rank = {p: i for i, p in enumerate(PROVINCE_ORDER)}
    rest = sorted(
        (c for c in by_regency if c not in CITY_REGIONS),
        key=lambda c: (rank.get(c[:2], len(rank)), c),
    )
    out: list[Any] = []
    for code in (*CITY_REGIONS, *rest):
        out.extend(by_regency.get(code, ()))
    return out


def directory_rows(
    gazetteer: Any,
    total: int | None = None,
    *,
    seed: int = 2025,
    kdmp_units: Sequence[str] | None = None,
) -> list[dict[str, str]]:
    """A synthetic directory at real village coordinates, in the national shape: one
    Koperasi Desa/Kelurahan Merah Putih per village (83,762 / 133,762 of the rows) and
    other cooperatives of every type near villages. ``total=None``: the national size
    (83,762 + 50,000). Smaller sizes take the villages of populated places first."""
    from bot.services.catalog import KDMP_UNITS

    units = list(kdmp_units or KDMP_UNITS)
    rng = random.Random(seed)
    villages = ordered_villages(gazetteer)
    if total is None:
        n_villages, n_others = len(villages), NATIONAL_OTHERS
    else:
        n_villages = min(len(villages), max(1, round(total * KDMP_SHARE)))
        n_others = max(0, total - n_villages)
    chosen = villages[:n_villages]
    rows = [
        kdmp_row(
            rng,
            village,
            registration=f"BENCH-KDMP-{village.code}",
            description=DESCRIPTION,
            units=units,
        )
        for village in chosen
    ]
    for n in range(1, n_others + 1):
        village = rng.choice(chosen)
        rows.append(
            other_row(rng, village, registration=f"BENCH-{n:06d}", description=DESCRIPTION)
        )
    return rows


def populated_points(gazetteer: Any, n: int, *, seed: int = 7) -> list[tuple[float, float]]:
    """``n`` locations users share in populated places (the city regions' villages, within
    300 m of a village centre)."""
    rng = random.Random(seed)
    villages = [v for v in ordered_villages(gazetteer) if v.code[:5] in CITY_REGIONS]
    out = []
    for _ in range(n):
        village = rng.choice(villages)
        out.append(jitter(rng, village.lat, village.lon, 300))
    return out


async def import_directory(services: Any, rows: Sequence[dict[str, str]]) -> dict[str, Any]:
    """Import through ``services.importer.import_bytes`` (what ``/import`` and the CLI do)."""
    data = to_csv(rows)
    started = time.perf_counter()
    report = await services.importer.import_bytes(data)
    seconds = time.perf_counter() - started
    if report.errors:
        raise RuntimeError(f"the generated directory had rejected rows: {report.errors[:3]}")
    return {
        "rows": report.rows,
        "created": report.created,
        "seconds": round(seconds, 2),
        "rows_per_s": round(report.rows / seconds, 1) if seconds else None,
    }


# --- timing hooks ------------------------------------------------------------------------------


class CommandTimes:
    """PyMongo command monitoring: every command's round trip as the driver sees it
    (send → reply, including any wait for the event loop), by command and collection
    (``"insert processed_updates"``)."""

    def __init__(self) -> None:
        from pymongo import monitoring

        class _Listener(monitoring.CommandListener):
            def started(inner, event: Any) -> None:
                target = event.command.get(event.command_name)
                key = event.command_name
                if isinstance(target, str):
                    key += " " + target
                self._keys[event.request_id] = key

            def succeeded(inner, event: Any) -> None:
                key = self._keys.pop(event.request_id, event.command_name)
                self.durations[key].append(event.duration_micros / 1e6)

            def failed(inner, event: Any) -> None:
                key = self._keys.pop(event.request_id, event.command_name)
                self.durations[key].append(event.duration_micros / 1e6)
                self.failures += 1

        self.listener = _Listener()
        self._keys: dict[int, str] = {}
        self.durations: dict[str, list[float]] = defaultdict(list)
        self.failures = 0

    def register(self) -> CommandTimes:
        """Listen to every client created after this call."""
        from pymongo import monitoring

        monitoring.register(self.listener)
        return self

    def reset(self) -> None:
        self.durations = defaultdict(list)
        self.failures = 0

    def snapshot(self, exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
        """Totals over the commands not in ``exclude`` (e.g. background polling), and every
        command's figures."""
        counted = {
            k: v
            for k, v in self.durations.items()
            if k not in exclude
            and k.split(" ")[0] not in ("hello", "isMaster", "ismaster", "endSessions")
        }
        return {
            "total_s": round(sum(sum(v) for v in counted.values()), 4),
            "commands": sum(len(v) for v in counted.values()),
            "failures": self.failures,
            "excluded": sorted(exclude),
            "by_command": {
                name: {**summary_ms(v), "total_s": round(sum(v), 4)}
                for name, v in sorted(self.durations.items())
            },
        }


class TimedCooperatives:
    """The cooperative repository with its search calls timed (a thin wrapper: everything
    else is passed through)."""

    TIMED = (
        "nearest",
        "count_near",
        "near_page",
        "count",
        "by_tokens",
        "by_all_tokens",
        "by_name_prefix",
        "count_tokens",
        "by_name",
        "vocabulary",
    )

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.durations: dict[str, list[float]] = defaultdict(list)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self.TIMED:
            return attr

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await attr(*args, **kwargs)
            finally:
                self.durations[name].append(time.perf_counter() - started)

        return timed

    def reset(self) -> None:
        self.durations = defaultdict(list)

    def snapshot(self) -> dict[str, Any]:
        return {
            name: {**summary_ms(v), "total_s": round(sum(v), 4)}
            for name, v in sorted(self.durations.items())
        }


def install_timed_cooperatives(services: Any) -> TimedCooperatives:
    """Route the search service's and the name index's repository calls through a timer."""
    timed = TimedCooperatives(services.search.coops)
    services.search.coops = timed
    services.search.names._repo = timed
    return timed


# --- driving the real Application in-process (preparation only) -----------------------------


class InProcessBot:
    """The real Application with ``LocalBotApi`` as its network edge, as the tests drive it.
    Used to prepare state (e.g. a membership form at a given step), never to measure."""

    def __init__(self, backend: Any, services: Any, settings: Any) -> None:
        from bot.app import build_application, running
        from bot.telegram.localapi import LocalBotApi

        self.api = LocalBotApi()
        self.app = build_application(settings, backend, services=services, request=self.api)
        self._running = running(self.app)

    async def __aenter__(self) -> InProcessBot:
        await self._running.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._running.__aexit__(*exc)

    async def feed(self, update: dict[str, Any]) -> list[Any]:
        from telegram import Update

        start = len(self.api.calls)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        return self.api.calls[start:]

    def user(self, user_id: int, language: str = "id") -> dict[str, Any]:
        return self.api.user(user_id, language)

    async def text(self, user_id: int, text: str) -> list[Any]:
        return await self.feed(self.api.message_update(self.user(user_id), text=text))

    async def tap(self, user_id: int, data: str) -> list[Any]:
        message = self.api.last_with_buttons(user_id)
        assert message is not None, "no message with buttons"
        return await self.feed(self.api.callback_update(self.user(user_id), message, data))


BENCH_BOARD_MEMBER = 9_990_001  # the board member of the cooperative the form is filled for

FORM_ANSWERS = (
    # (what the user does, the step the form is at afterwards)
    ("text", "Siti Rahmawati", "NIK"),
    ("text", "3404015508900001", "NIK_CONFIRM"),
    ("tap", "mf:nik_ok", "BIRTH_PLACE"),
    ("text", "Sleman", "ADDRESS"),
    ("text", "Jl. Kaliurang Km 5 No. 12, RT 02/RW 03, Caturtunggal, Depok, Sleman", "PHONE"),
    ("text", "081234567890", "OCCUPATION"),
    ("tap", "mf:occ:pedagang", "REVIEW"),
)


async def form_snapshots(
    backend: Any,
    services: Any,
    settings: Any,
    coop_id: str,
    user_id: int,
    *,
    until: str = "REVIEW",
) -> dict[str, dict[str, Any]]:
    """Walk one user through the real membership form (deep link, terms, consent, then the
    answers) and return, per step reached, the ``user_data`` and ``conversations``
    documents exactly as the persistence stored them."""
    store = backend.store

    async def docs() -> dict[str, Any]:
        return {
            "user_data": await store["user_data"].find_one({"_id": user_id}),
            "conversation": await store["conversations"].find_one(
                {"name": "membership", "key": [user_id, user_id]}
            ),
        }

    snapshots: dict[str, dict[str, Any]] = {}
    # Only a cooperative whose board is on the platform takes applications (the others
    # show their contact card): give it a board member first.
    await services.board.grant(coop_id, BENCH_BOARD_MEMBER, actor=0, how="bench")
    async with InProcessBot(backend, services, settings) as bot:
        await bot.text(user_id, f"/start join_{coop_id}")
        await bot.tap(user_id, "mf:go")
        calls = await bot.tap(user_id, "mf:agree")
        if not any(c.method == "sendMessage" for c in calls):
            raise RuntimeError("the form did not reach its first question")
        snapshots["NAME"] = await docs()
        if until != "NAME":
            for how, value, step in FORM_ANSWERS:
                calls = await (
                    bot.text(user_id, value) if how == "text" else bot.tap(user_id, value)
                )
                if bot.api.errors:
                    raise RuntimeError(f"refused call: {bot.api.errors[-1].error}")
                snapshots[step] = await docs()
                if step == until:
                    break
    for step, found in snapshots.items():
        if found["user_data"] is None or found["conversation"] is None:
            raise RuntimeError(f"no persisted state at step {step}")
    return snapshots


def clone_user_data(template: dict[str, Any], user_id: int) -> dict[str, Any]:
    doc = copy.deepcopy(template)  # an independent copy, as the database would return it
    doc["_id"] = user_id
    return doc


def clone_conversation(template: dict[str, Any], user_id: int) -> dict[str, Any]:
    doc = dict(template)
    doc["key"] = [user_id, user_id]
    doc["_id"] = f"{template['name']}:{user_id}:{user_id}"
    return doc


async def insert_batched(
    collection: Any, docs: Iterator[dict[str, Any]] | list[Any], batch: int = 1000
) -> int:
    pending: list[dict[str, Any]] = []
    count = 0
    for doc in docs:
        pending.append(doc)
        if len(pending) >= batch:
            await collection.insert_many(pending, ordered=False)
            count += len(pending)
            pending = []
    if pending:
        await collection.insert_many(pending, ordered=False)
        count += len(pending)
    return count


@contextlib.contextmanager
def timer() -> Iterator[list[float]]:
    """``with timer() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)
