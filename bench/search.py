"""Search latency against directory size.

    python -m bench.search                        # 1,000 and 10,000 cooperatives
    python -m bench.search --national             # also the national shape (83,762 + 50,000)
    python -m bench.search --sizes 10000 --samples 50

For each size a fresh database is filled through ``services.importer.import_bytes`` with a
synthetic directory at real village coordinates (one Koperasi Desa/Kelurahan Merah Putih per
village of the populated places first, plus other cooperatives), then
``services.search.near(...)`` (a shared location in a city) and ``services.search.text(...)``
(typed queries) are called directly, one at a time. Each call's time in the database
(repository calls) is measured apart. ``explain`` is asked for the geo queries.

The location search runs the way the store chose for the engine (``Store.geo_mode``: grid
cells on the embedded engine, ``$geoNear`` on MongoDB); ``--compare`` (default on) also
runs it the other way on the same data, so both designs are measured side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from bench.common import (
    Database,
    bench_settings,
    busy_note,
    directory_rows,
    finish,
    import_directory,
    install_timed_cooperatives,
    log,
    machine_info,
    populated_points,
    summary_ms,
    table,
)

NAME = "search"
TARGET_P95_MS = 50.0
TEXT_QUERIES = (
    ("place: regency", "Sleman"),
    ("type + district", "ksp di Medan Baru"),
    ("name", "Koperasi Sejahtera"),
    ("name with a typo", "Koperasi Sejahtra"),
    ("place with a typo", "Slemn"),
)
PAGE_SIZE = 5


def describe(outcome: Any) -> str:
    kind = type(outcome).__name__
    if kind == "ResultPage":
        return f"{outcome.total} results"
    if kind == "PlaceChoice":
        return f"{len(outcome.options)} places offered"
    return f"no results ({getattr(outcome, 'reason', '?')})"


async def explain_geo(store: Any, point: tuple[float, float]) -> dict[str, Any]:
    """What the engine says it does for the two geo queries of a location search."""
    lat, lon = point
    out: dict[str, Any] = {}
    geo_within = {"loc": {"$geoWithin": {"$centerSphere": [[lon, lat], 5000 / 6378100.0]}}}
    geo_near = {
        "$geoNear": {
            "near": {"type": "Point", "coordinates": [lon, lat]},
            "distanceField": "dist",
            "spherical": True,
            "key": "loc",
            "query": {},
            "maxDistance": 5000.0,
        }
    }
    for label, command in (
        ("count_near ($geoWithin)", {"find": "cooperatives", "filter": geo_within}),
        (
            "nearest ($geoNear)",
            {
                "aggregate": "cooperatives",
                "pipeline": [geo_near, {"$limit": PAGE_SIZE}],
                "cursor": {},
            },
        ),
    ):
        try:
            started = time.perf_counter()
            result = await store.db.command("explain", command, verbosity="executionStats")
            seconds = time.perf_counter() - started
        except Exception as exc:  # an engine without explain for this shape
            out[label] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
            continue
        stats = result.get("executionStats") or {}
        plan = (result.get("queryPlanner") or {}).get("winningPlan") or {}
        if not stats and result.get("stages"):
            first = result["stages"][0].get("$cursor") or {}
            stats = first.get("executionStats") or {}
            plan = (first.get("queryPlanner") or {}).get("winningPlan") or {}
        out[label] = {
            "winning_plan": plan.get("stage"),
            "input_stage": (plan.get("inputStage") or {}).get("stage"),
            "keys_examined": stats.get("totalKeysExamined"),
            "docs_examined": stats.get("totalDocsExamined"),
            "returned": stats.get("nReturned"),
            "execution_ms": stats.get("executionTimeMillis"),
            "explain_round_trip_ms": round(seconds * 1000, 1),
        }
    return out


# --- one size -------------------------------------------------------------------------------


async def measure_size(db: Database, size: int | None, args: argparse.Namespace) -> dict[str, Any]:
    from bot.app import build_services
    from storage.models import Point
    from storage.mongo import Store

    label = "national" if size is None else str(size)
    db_name = db.db_name(f"search_{label}")
    settings = bench_settings(db.tmp, db_name=db_name)
    store = Store.connect(db.uri, db_name)
    await store.ensure_indexes()
    services = build_services(store, settings)
    out: dict[str, Any] = {"size": label}
    try:
        rows = directory_rows(services.gazetteer, size)
        log(f"[{label}] importing {len(rows):,} cooperatives …")
        out["import"] = await import_directory(services, rows)
        out["cooperatives"] = len(rows)
        log(
            f"[{label}]   {out['import']['seconds']:.0f} s "
            f"({out['import']['rows_per_s']:,.0f} rows/s)"
        )
        timed = install_timed_cooperatives(services)
        samples = args.national_samples if size is None else args.samples
        points = populated_points(services.gazetteer, samples, seed=11)

        def db_seconds() -> float:
            return sum(sum(v) for v in timed.durations.values())

        kinds: dict[str, dict[str, Any]] = {}

        async def run(kind: str, call: Any, n: int) -> list[Any]:
            totals, dbs, outcomes, raw = [], [], [], []
            for i in range(n):
                before = db_seconds()
                started = time.perf_counter()
                outcome = await call(i)
                totals.append(time.perf_counter() - started)
                dbs.append(db_seconds() - before)
                raw.append(outcome)
                outcomes.append(describe(outcome))
            kinds[kind] = {
                "latency_ms": summary_ms(totals),
                "db_ms": summary_ms(dbs),
                "outcome": max(set(outcomes), key=outcomes.count),
            }
            lat = kinds[kind]["latency_ms"]
            log(
                f"[{label}]   {kind}: p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms "
                f"({kinds[kind]['outcome']})"
            )
            return raw

        log(f"[{label}] near: {samples} locations in cities …")
        await services.search.near(1, Point(*points[0]))  # warm-up
        near_outcomes = await run(
            "near (location)",
            lambda i: services.search.near(100 + i, Point(*points[i % len(points)])),
            samples,
        )
        repeats = max(2, args.repeats if size is not None else min(args.repeats, 3))
        for kind, query in TEXT_QUERIES:
            await services.search.text(1, query)  # warm-up (vocabulary, caches)
            await run(
                f"text {kind}: “{query}”",
                lambda i, q=query: services.search.text(200 + i, q),
                repeats,
            )
        out["queries"] = kinds
        out["explain"] = await explain_geo(store, points[0])
        out["geo_mode"] = await store.resolve_geo_mode()
        if args.compare:
            other = "geonear" if out["geo_mode"] == "cells" else "cells"
            n = min(samples, 5) if size is None else samples
            log(f"[{label}] the same locations with geo_mode={other} …")
            store.geo_mode = other
            try:
                other_outcomes = await run(
                    f"near (location), {other}",
                    lambda i: services.search.near(100 + i, Point(*points[i % len(points)])),
                    n,
                )
            finally:
                store.geo_mode = out["geo_mode"]
            same = sum(
                1
                for a, b in zip(near_outcomes, other_outcomes, strict=False)
                if describe(a) == describe(b)
                and [c.id for c in getattr(a, "items", [])]
                == [c.id for c in getattr(b, "items", [])]
            )
            out["same_first_page"] = f"{same}/{len(other_outcomes)}"
            log(f"[{label}]   same first page and total both ways: {out['same_first_page']}")
    finally:
        await services.close()
        if not args.keep:
            await store.drop_database()
        await store.close()
    return out


async def main_async(args: argparse.Namespace, db: Database) -> dict[str, Any]:
    sizes: list[int | None] = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.national:
        sizes.append(None)
    engine = await db.engine()
    results = []
    for size in sizes:
        results.append(await measure_size(db, size, args))
    return {"engine": engine, "results": results}


def report(out: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for res in out["results"]:
        for kind, q in res["queries"].items():
            lat, dbt = q["latency_ms"], q["db_ms"]
            rows.append(
                [
                    f"{res['cooperatives']:,}",
                    kind,
                    lat["n"],
                    lat["p50"],
                    lat["p95"],
                    dbt["p50"],
                    q["outcome"],
                ]
            )
    print()
    print(
        table(
            ["cooperatives", "query", "n", "p50 ms", "p95 ms", "db p50 ms", "outcome"],
            rows,
            title="Search latency (services.search called directly, one at a time)",
        )
    )
    ex_rows = []
    for res in out["results"]:
        for label, e in (res.get("explain") or {}).items():
            ex_rows.append(
                [
                    f"{res['cooperatives']:,}",
                    label,
                    e.get("winning_plan"),
                    e.get("input_stage"),
                    e.get("keys_examined"),
                    e.get("docs_examined"),
                    e.get("execution_ms"),
                    e.get("error"),
                ]
            )
    if ex_rows:
        print()
        print(
            table(
                ["cooperatives", "query", "plan", "input", "keys", "docs", "exec ms", "error"],
                ex_rows,
                title="explain (executionStats), 5 km around a city point",
            )
        )
    targets: dict[str, Any] = {}
    for res in out["results"]:
        for kind, q in res["queries"].items():
            if not kind.startswith("near (location)"):
                continue
            mode = kind.rpartition(", ")[2] if ", " in kind else res.get("geo_mode", "")
            p95 = q["latency_ms"]["p95"]
            targets[f"near_p95_ms_at_{res['size']}_{mode}"] = {
                "target": f"p95 < {TARGET_P95_MS:.0f} ms",
                "measured": p95,
                "met": p95 < TARGET_P95_MS,
            }
    print()
    for key, t in targets.items():
        print(
            f"target {key}: {t['target']}: {'MET' if t['met'] else 'NOT MET'} "
            f"(measured {t['measured']:.1f} ms)"
        )
    return targets


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument(
        "--sizes", default="1000,10000", help="directory sizes (default 1000,10000)"
    )
    parser.add_argument(
        "--national",
        action="store_true",
        help="also the national shape: 83,762 villages + 50,000 others "
        "(import takes several minutes on the embedded engine)",
    )
    parser.add_argument(
        "--samples", type=int, default=30, help="location searches per size (default 30)"
    )
    parser.add_argument(
        "--national-samples",
        type=int,
        default=10,
        help="location searches at the national size (default 10)",
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="runs of each typed query per size (default 5)"
    )
    parser.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the location search in the other geo mode (default on)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--tag", default="", help="write bench/results/search-<tag>.json instead of search.json"
    )
    parser.add_argument("--out", default="", help="result directory (default bench/results)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    machine = machine_info()
    log(f"machine: {machine['cpu_model']}, {machine['cores']} cores; {busy_note()}")
    started = time.perf_counter()
    with Database(NAME) as db:
        out = asyncio.run(main_async(args, db))
    targets = report(out)
    data = {
        "benchmark": NAME,
        "machine": machine,
        "engine": out["engine"],
        "config": {
            "sizes": args.sizes,
            "national": args.national,
            "samples": args.samples,
            "national_samples": args.national_samples,
            "repeats": args.repeats,
            "compare": args.compare,
        },
        "results": out["results"],
        "targets": targets,
        "notes": [
            "Latency is the whole service call (query parsing, gazetteer, database, ranking, "
            "saving the search); db_ms is the part spent in repository calls.",
            "geo_mode: how the store runs nearest-first queries on this engine (cells: grid "
            "cells, storage/geocells.py; geonear: $geoNear on the 2dsphere index).",
            busy_note(),
        ],
    }
    return finish(NAME, args, data, started)


if __name__ == "__main__":
    sys.exit(main())
