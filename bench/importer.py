"""Import throughput of a national-shape directory CSV: rows/s and peak memory.

    python -m bench.importer                 # a 20,000-row sample; the full size extrapolated
    python -m bench.importer --full          # all 133,762 rows (about 4–5 minutes per mode)
    python -m bench.importer --rows 50000 --mode cli --reimport

The CSV is generated in the national shape (one Koperasi Desa/Kelurahan Merah Putih per
village of the gazetteer, 83,762, plus 50,000 other cooperatives; ``bench/common.py``);
a smaller run takes a deterministic random sample of its rows, so the mix is the same.

Two ways in, both measured by default:
``cli`` — ``python -m bot import-coops FILE`` as operators run it (a child process; wall
time includes its start-up; peak memory is the child's ru_maxrss);
``importer`` — ``services.importer.import_file`` over the same file in a child process (so
that its peak memory is the import's, not the generator's), with the time split
between validation (the bot) and ``upsert_many`` (the database), and the rate over the run
(does it slow down as the collection grows?).
Then, without a database, the bot's side of the FULL national file is measured exactly:
reading and validating every row, and its Python memory peak (tracemalloc).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.common import (
    BENCH_DATA_KEY,
    NATIONAL_OTHERS,
    NATIONAL_VILLAGES,
    ROOT,
    Database,
    bench_settings,
    busy_note,
    cpu_seconds,
    directory_rows,
    finish,
    load_gazetteer,
    log,
    machine_info,
    memory_kib,
    table,
    to_csv,
)

NAME = "importer"
NATIONAL_ROWS = NATIONAL_VILLAGES + NATIONAL_OTHERS


def national_sample(rows: int | None, seed: int = 5) -> list[dict[str, str]]:
    everything = directory_rows(load_gazetteer(), None)
    if rows is None or rows >= len(everything):
        return everything
    keep = sorted(random.Random(seed).sample(range(len(everything)), rows))
    return [everything[i] for i in keep]


def run_cli(db: Database, csv_path: Path, rows: int) -> dict[str, Any]:
    """``python -m bot import-coops FILE`` against the benchmark database."""
    db_name = db.db_name("import_cli")
    env = {
        **os.environ,
        "MONGODB_URI": db.uri,
        "MONGODB_DB": db_name,
        "DATA_KEY": BENCH_DATA_KEY,
        "DATA_DIR": str(db.tmp / "var-cli"),
        "LOG_LEVEL": "WARNING",
    }
    db_cpu0 = cpu_seconds(db.pid)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "import-coops", str(csv_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # The peak is the child's VmHWM, sampled: its ru_maxrss starts at this process's peak
    # (Linux carries the forking process's high-water mark over exec), which hid the
    # importer's own peak behind the generator's (372 MiB in every run).
    peak_kib = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak_kib = max(peak_kib, memory_kib(proc.pid).get("VmHWM", 0))
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"import-coops exited {code}: {out[-500:]} {err[-1500:]}")
    db_cpu1 = cpu_seconds(db.pid)
    return {
        "mode": "cli",
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "ru_maxrss_mib": round(usage.ru_maxrss / 1024, 1),
        "cpu_s": {
            "importer_process": round(usage.ru_utime + usage.ru_stime, 2),
            "database": None
            if db_cpu0 is None or db_cpu1 is None
            else round(db_cpu1 - db_cpu0, 2),
        },
        "output": out.strip().splitlines()[-1:] if out.strip() else [],
    }


def run_importer_child(db: Database, csv_path: Path, rows: int, reimport: bool) -> dict[str, Any]:
    """:func:`run_importer` in a child process (``--child``), so that its peak memory is the
    import's, not this process's (which holds the generated rows)."""
    db_name = db.db_name("import_inproc")
    command = [sys.executable, "-m", "bench.importer", "--child", str(csv_path), db.uri, db_name]
    proc = subprocess.Popen(
        [*command, str(rows), "1" if reimport else "0"],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING", "BENCH_DB_PID": str(db.pid or "")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"importer child exited {proc.returncode}: {err.decode()[-1500:]}")
    results: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return results


async def run_importer(
    uri: str, db_name: str, csv_path: Path, rows: int, reimport: bool, pid: int | None
) -> dict[str, Any]:
    """``services.importer.import_file`` over the CSV file, in this process, with a phase
    split."""
    from bot.app import build_services
    from storage.mongo import Store

    settings = bench_settings(csv_path.parent, db_name=db_name)
    store = Store.connect(uri, db_name)
    await store.ensure_indexes()
    services = build_services(store, settings)
    repo = services.importer.coops
    spent = {"upsert_many": 0.0, "add_vocabulary": 0.0}
    original = {name: getattr(repo, name) for name in spent}

    def timed(name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original[name](*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        return call

    for name in spent:
        setattr(repo, name, timed(name))
    marks: list[tuple[int, float]] = []

    def progress(done: int, total: int) -> None:
        marks.append((done, time.perf_counter()))

    results: dict[str, Any] = {}
    try:
        for attempt in ("first import", "re-import") if reimport else ("first import",):
            for key in spent:
                spent[key] = 0.0
            marks.clear()
            before = memory_kib()
            rss_before = before.get("VmRSS", 0)
            db_cpu0 = cpu_seconds(pid)
            usage0 = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter()
            marks.append((0, started))
            with csv_path.open("rb") as source:
                report = await services.importer.import_file(source, progress=progress)
            seconds = time.perf_counter() - started
            usage1 = resource.getrusage(resource.RUSAGE_SELF)
            db_cpu1 = cpu_seconds(pid)
            if report.errors:
                raise RuntimeError(f"rejected rows: {report.errors[:3]}")
            # The rate in each quarter of the file: constant, or slower as the collection
            # grows?
            quarters = []
            for q in range(4):
                lo = min(len(marks) * q // 4, len(marks) - 2)
                hi = max(len(marks) * (q + 1) // 4 - 1, lo + 1)
                (d0, t0), (d1, t1) = marks[lo], marks[hi]
                quarters.append(round((d1 - d0) / (t1 - t0), 1) if t1 > t0 else None)
            results[attempt] = {
                "mode": "importer",
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "seconds": round(seconds, 2),
                "rows_per_s": round(report.rows / seconds, 1),
                "rows_per_s_by_quarter": quarters,
                "split_s": {
                    "database_upsert_many": round(spent["upsert_many"], 2),
                    "database_add_vocabulary": round(spent["add_vocabulary"], 2),
                    "bot_read_validate": round(seconds - sum(spent.values()), 2),
                },
                "rss_growth_mib": round((memory_kib().get("VmRSS", 0) - rss_before) / 1024, 1),
                # Before the import: imports, gazetteer (its loading peak), services.
                "rss_before_mib": round(rss_before / 1024, 1),
                "peak_rss_before_mib": round(before.get("VmHWM", 0) / 1024, 1),
                # VmHWM, not ru_maxrss (which starts at the parent's peak, see run_cli).
                "process_peak_rss_mib": round(memory_kib().get("VmHWM", 0) / 1024, 1),
                "cpu_s": {
                    "bot": round(
                        usage1.ru_utime + usage1.ru_stime - usage0.ru_utime - usage0.ru_stime, 2
                    ),
                    "database": None
                    if db_cpu0 is None or db_cpu1 is None
                    else round(db_cpu1 - db_cpu0, 2),
                },
            }
            log(f"importer ({attempt}): {results[attempt]['rows_per_s']:,.0f} rows/s")
    finally:
        await services.close()
        await store.drop_database()
        await store.close()
    return results


def dry_run_full_file() -> dict[str, Any]:
    """The bot's side of importing the whole national file, without a database: read the
    rows and validate each, as ``import_file`` does before ``upsert_many``, streaming. Exact
    time (first pass) and Python memory (second pass, under tracemalloc, one batch of
    writes held as the importer does) for the full size."""
    from bot.services.importer import BATCH, Importer, open_rows

    gazetteer = load_gazetteer()
    data = to_csv(directory_rows(gazetteer, None))
    importer = Importer(None, gazetteer, None)  # type: ignore[arg-type] # validate() only

    def validate_all() -> tuple[int, int, dict[str, int]]:
        seen: dict[str, int] = {}
        pending: list[Any] = []
        rows = rejected = 0
        for line, row in open_rows(io.BytesIO(data)).rows:
            rows += 1
            write, _errors = importer.validate(line, row)
            if write is None:
                rejected += 1
            else:
                seen[write.key] = line
                pending.append(write)
                if len(pending) >= BATCH:
                    pending.clear()
        return rows, rejected, seen

    started = time.perf_counter()
    rows, rejected, seen = validate_all()
    seconds = time.perf_counter() - started
    del seen
    # Memory: what import_file holds beyond the file itself (the keys seen so far, one
    # batch), measured apart so that tracemalloc does not slow the timing.
    tracemalloc.start()
    _, _, seen = validate_all()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "rows": rows,
        "rejected": rejected,
        "csv_mb": round(len(data) / 1e6, 1),
        "read_validate_s": round(seconds, 2),
        "bot_side_s": round(seconds, 2),
        "bot_side_rows_per_s": round(rows / seconds, 0),
        "tracemalloc_peak_mib": round(peak / 1024 / 1024, 1),
        "keys": len(seen),
    }


def extrapolate(result: dict[str, Any], rows: int) -> dict[str, Any]:
    """The full national file from a sample: linear in rows (labelled as an estimate)."""
    factor = NATIONAL_ROWS / rows
    out = {
        "rows": NATIONAL_ROWS,
        "estimated": True,
        "seconds": round(result["seconds"] * factor, 0),
        "minutes": round(result["seconds"] * factor / 60, 1),
    }
    return out


def child(argv: list[str]) -> int:
    """``--child CSV URI DB ROWS REIMPORT``: :func:`run_importer`, its results as JSON."""
    csv_path, uri, db_name, rows, reimport = argv
    pid = int(os.environ["BENCH_DB_PID"]) if os.environ.get("BENCH_DB_PID") else None
    results = asyncio.run(
        run_importer(uri, db_name, Path(csv_path), int(rows), reimport == "1", pid)
    )
    print(json.dumps(results))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=20_000,
        help="rows of the national-shape file to import (default 20,000)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help=f"all {NATIONAL_ROWS:,} rows (several minutes per mode)",
    )
    parser.add_argument("--mode", choices=("both", "cli", "importer"), default="both")
    parser.add_argument(
        "--reimport",
        action="store_true",
        help="importer mode: import the same file twice (the update path)",
    )
    parser.add_argument(
        "--no-dry-run",
        action="store_true",
        help="skip reading and validating the full file without a database",
    )
    parser.add_argument(
        "--tag", default="", help="write bench/results/<name>-<tag>.json instead of <name>.json"
    )
    parser.add_argument("--out", default="", help="result directory (default bench/results)")
    args = parser.parse_args(argv)
    rows_wanted = None if args.full else args.rows

    machine = machine_info()
    log(f"machine: {machine['cpu_model']}, {machine['cores']} cores; {busy_note()}")
    started = time.perf_counter()
    log("generating the national-shape CSV …")
    rows = national_sample(rows_wanted)
    data = to_csv(rows)
    full = len(rows) >= NATIONAL_ROWS
    results: dict[str, Any] = {}
    with Database(NAME) as db:
        csv_path = db.tmp / "directory.csv"
        csv_path.write_bytes(data)
        engine = asyncio.run(db.engine())
        db_mem_before = memory_kib(db.pid) if db.pid else {}
        if args.mode in ("both", "cli"):
            log(f"python -m bot import-coops: {len(rows):,} rows …")
            results["cli"] = run_cli(db, csv_path, len(rows))
            log(
                f"  {results['cli']['rows_per_s']:,.0f} rows/s, peak RSS "
                f"{results['cli']['peak_rss_mib']} MiB"
            )
        if args.mode in ("both", "importer"):
            log(f"services.importer.import_file: {len(rows):,} rows (a child process) …")
            results.update(
                {
                    f"importer ({k})": v
                    for k, v in run_importer_child(db, csv_path, len(rows), args.reimport).items()
                }
            )
        db_mem_after = memory_kib(db.pid) if db.pid else {}

    table_rows = []
    for label, r in results.items():
        split = r.get("split_s", {})
        table_rows.append(
            [
                label,
                r["rows"],
                r["seconds"],
                r["rows_per_s"],
                r.get("peak_rss_mib") or r.get("process_peak_rss_mib"),
                split.get("database_upsert_many"),
                split.get("bot_read_validate"),
                " / ".join(str(x) for x in r.get("rows_per_s_by_quarter", [])),
            ]
        )
    print()
    print(
        table(
            [
                "mode",
                "rows",
                "seconds",
                "rows/s",
                "peak RSS MiB",
                "db upsert s",
                "bot validate s",
                "rows/s by quarter",
            ],
            table_rows,
            title=f"Import of a national-shape CSV ({len(rows):,} of {NATIONAL_ROWS:,} "
            f"rows, {len(data) / 1e6:.1f} MB)",
        )
    )
    estimates = {}
    if not full:
        for label, r in results.items():
            estimates[label] = extrapolate(r, len(rows))
        print()
        print(
            table(
                ["mode", "rows", "est. minutes"],
                [[k, v["rows"], v["minutes"]] for k, v in estimates.items()],
                title="Extrapolated to the full national file (linear in rows; ESTIMATE)",
            )
        )
    dry = None
    if not args.no_dry_run:
        log(f"dry run: reading and validating all {NATIONAL_ROWS:,} rows without a database …")
        dry = dry_run_full_file()
        print()
        print(
            table(
                ["rows", "CSV MB", "read + validate s", "rows/s", "tracemalloc MiB"],
                [
                    [
                        dry["rows"],
                        dry["csv_mb"],
                        dry["read_validate_s"],
                        dry["bot_side_rows_per_s"],
                        dry["tracemalloc_peak_mib"],
                    ]
                ],
                title="The bot's side of the full national file (no database; measured)",
            )
        )
    if db_mem_after:
        print(
            f"\ndatabase server RSS: {db_mem_before.get('VmRSS', 0) / 1024:.0f} → "
            f"{db_mem_after.get('VmRSS', 0) / 1024:.0f} MiB (peak "
            f"{db_mem_after.get('VmHWM', 0) / 1024:.0f} MiB)"
        )
    data_out = {
        "benchmark": NAME,
        "machine": machine,
        "engine": engine,
        "config": {
            "rows": len(rows),
            "full": full,
            "mode": args.mode,
            "reimport": args.reimport,
            "csv_bytes": len(data),
        },
        "results": results,
        "extrapolated_to_national": estimates,
        "full_file_without_database": dry,
        "database_memory_kib": {"before": db_mem_before, "after": db_mem_after},
        "notes": [
            "Extrapolations are linear in rows and labelled estimated; rows_per_s_by_quarter "
            "shows whether the rate holds as the collection grows.",
            "cli wall time includes the child's start-up (imports, gazetteer load).",
            busy_note(),
        ],
    }
    return finish(NAME, args, data_out, started)


if __name__ == "__main__":
    sys.exit(main())
