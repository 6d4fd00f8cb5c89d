"""Search latency against directory size.

    python -m bench.search                        # 1,000 and 10,000 cooperatives
    python -m bench.search --national             # also the national shape (83,762 + 50,000)
    python -m bench.search --sizes 10000 --samples 50

For each size a fresh database is filled through ``services.importer.import_bytes`` with a
synthetic directory at real village coordinates (one Koperasi Desa/Kelurahan Merah Putih per
village of the populated places first, plus other cooperatives), then
``services.search.near(...)`` (a shared location in a city) and ``services.search.text(...)``
(typed queries: an area, a type or a service in an area, names — a very common name word, a
typo, a distinctive full name — and a misspelt place) are called directly, one at a time.
Each call's time in the database (repository calls) is measured apart. ``explain`` is asked
for the geo queries.

The location search is measured three ways on the same data and the same locations, side
by side: the in-process spatial index (storage/spatial.py, the default on the embedded
engine; built and warm before timing), the grid cells (``Store.spatial_index = False``) and
``$geoNear`` (``Store.geo_mode = "geonear"``, what MongoDB runs), checking that all three
give the same first page and total. The typed queries run with the index and with the grid
cells. Also measured: the index's build time and memory (RSS after the first build;
tracemalloc peak of a rebuild), and the first search after a change to the directory (the
index is stale: that search runs on the grid cells while the index rebuilds).
``--no-compare`` measures only the engine's default way.

(Kept as one piece over 500 lines: one benchmark's runs and the tables of what they measured.)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import tracemalloc
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
    memory_kib,
    populated_points,
    summary_ms,
    table,
)

NAME = "search"
TARGET_P95_MS = 50.0
TEXT_QUERIES = (
    ("area: regency", "Sleman"),
    ("type + district", "ksp di Medan Baru"),
    ("service + regency", "apotek di Sleman"),
    ("name: very common word", "Koperasi Sejahtera"),
    ("name: common word + place", "Koperasi Sejahtera di Sleman"),
    ("name with a typo", "Koperasi Sejahtra"),
    ("name: full name", "Koperasi Desa Merah Putih Caturtunggal"),
    ("name: only very common words", "Koperasi Desa Merah Putih"),
    ("place with a typo", "Slemn"),
)
WAYS = ("index", "cells", "geonear")  # how a location search is answered (see the docstring)
PAGE_SIZE = 5


def describe(outcome: Any) -> str:
    kind = type(outcome).__name__
    if kind == "ResultPage":
        return f"{outcome.total} results"
    if kind == "PlaceChoice":
        return f"{len(outcome.options)} places offered"
    if getattr(outcome, "count", 0):
        return f"asks where ({outcome.count:,} names)"
    return f"no results ({getattr(outcome, 'reason', '?')})"


def first_page(outcome: Any) -> tuple[str, list[str]]:
    """What must be the same whichever way the location search ran."""
    return describe(outcome), [c.id for c in getattr(outcome, "items", [])]


def set_way(store: Any, way: str) -> None:
    """Answer location searches ``way`` (grid cells and the index run on any engine)."""
    store.geo_mode = "geonear" if way == "geonear" else "cells"
    store.spatial_index = way == "index"


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
    from storage.spatial import bump

    label = "national" if size is None else str(size)
    db_name = db.db_name(f"search_{label}")
    settings = bench_settings(db.tmp, db_name=db_name)
    # A long connect timeout: on a saturated machine the driver's monitor otherwise gives up
    # on the busy embedded server during the import and cancels the write in flight.
    store = Store.connect(db.uri, db_name, timeout_ms=60_000)
    await store.ensure_indexes()
    services = build_services(store, settings)
    repo: Any = services.search.coops  # the repository itself (before the timing wrapper)
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
        out["geo_mode"] = await store.resolve_geo_mode()
        default_way = "index" if out["geo_mode"] == "cells" else "geonear"
        ways = [default_way] + ([w for w in WAYS if w != default_way] if args.compare else [])
        index = repo.spatial()
        out["index"] = await measure_index(index, store, label)
        timed = install_timed_cooperatives(services)
        samples = args.national_samples if size is None else args.samples
        points = populated_points(services.gazetteer, samples, seed=11)

        def db_seconds() -> float:
            return sum(sum(v) for v in timed.durations.values())

        kinds: dict[str, dict[str, Any]] = {}

        async def run(kind: str, call: Any, n: int, **extra: Any) -> list[Any]:
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
                **extra,
            }
            lat = kinds[kind]["latency_ms"]
            log(
                f"[{label}]   {kind}: p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms "
                f"({kinds[kind]['outcome']})"
            )
            return raw

        def near(i: int) -> Any:
            return services.search.near(100 + i, Point(*points[i % len(points)]))

        pages: dict[str, list[Any]] = {}
        try:
            for way in ways:
                set_way(store, way)
                # $geoNear reads the whole collection on the embedded engine: fewer samples.
                slow = way == "geonear" and out["geo_mode"] == "cells"
                n = min(samples, 5) if slow and size is None else samples
                log(f"[{label}] near, {way}: {n} locations in cities …")
                await near(0)  # warm-up
                raw = await run(f"near (location), {way}", near, n, way=way, query="near")
                pages[way] = [first_page(o) for o in raw]
                if way == "geonear" and out["geo_mode"] == "cells":
                    continue  # typed queries on $geoNear: what MongoDB does, not this engine
                repeats = args.repeats
                await services.search.text(1, "zzzz")  # loads the name vocabulary
                for kind, query in TEXT_QUERIES:
                    # The first time a word is seen its corrections are computed and its
                    # frequency counted (then remembered with the vocabulary): timed apart.
                    started = time.perf_counter()
                    await services.search.text(1, query)
                    first_ms = round((time.perf_counter() - started) * 1000, 1)
                    await run(
                        f"text {kind}: “{query}”, {way}",
                        lambda i, q=query: services.search.text(200 + i, q),
                        repeats,
                        way=way,
                        query=query,
                        first_ms=first_ms,
                    )
        finally:
            set_way(store, default_way)
        if len(pages) > 1:
            n = min(len(p) for p in pages.values())
            same = sum(1 for i in range(n) if len({str(p[i]) for p in pages.values()}) == 1)
            out["same_first_page"] = f"{same}/{n}"
            log(
                f"[{label}]   same first page and total all {len(pages)} ways "
                f"({', '.join(pages)}): {out['same_first_page']}"
            )
        out["after_change"] = await measure_after_change(
            services, index, store, [Point(*p) for p in points[:3]], bump, label
        )
        out["queries"] = kinds
        out["explain"] = await explain_geo(store, points[0])
    finally:
        await services.close()
        if not args.keep:
            await store.drop_database()
        await store.close()
    return out


async def measure_index(index: Any, store: Any, label: str) -> dict[str, Any]:
    """Build time and memory of the in-process index: the first build (wall time, RSS of
    this process before and after), then a rebuild under tracemalloc (its peak)."""
    from storage.spatial import bump

    rss_before = memory_kib().get("VmRSS", 0)
    started = time.perf_counter()
    await index.warm()
    build_s = time.perf_counter() - started
    rss_after = memory_kib().get("VmRSS", 0)
    await bump(store["meta"])
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        started = time.perf_counter()
        await index.warm()
        traced_s = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    out = {
        "points": index.size,
        "build_s": round(build_s, 3),
        "rss_delta_mib": round((rss_after - rss_before) / 1024, 1),
        "rebuild_peak_traced_mib": round((peak - base) / 2**20, 1),
        "rebuild_under_tracemalloc_s": round(traced_s, 3),
    }
    log(
        f"[{label}] index: {out['points']:,} points built in {build_s:.2f} s, "
        f"RSS +{out['rss_delta_mib']} MiB; a rebuild peaks at "
        f"+{out['rebuild_peak_traced_mib']} MiB (tracemalloc)"
    )
    return out


async def measure_after_change(
    services: Any, index: Any, store: Any, points: list[Any], bump: Any, label: str
) -> dict[str, Any]:
    """The first location search after the directory changed (the index is stale: that
    search runs on the grid cells while the index rebuilds in the background), the time to
    rebuild, and the next search."""
    first, rebuild, after = [], [], []
    for i, point in enumerate(points):
        await bump(store["meta"])  # what every write to the directory does
        started = time.perf_counter()
        await services.search.near(300 + i, point)
        first.append(time.perf_counter() - started)
        started = time.perf_counter()
        while await index.ready() is None:  # the rebuild that search started
            await asyncio.sleep(0.01)
        rebuild.append(time.perf_counter() - started + first[-1])
        started = time.perf_counter()
        await services.search.near(300 + i, point)
        after.append(time.perf_counter() - started)
    first_ms, next_ms = summary_ms(first), summary_ms(after)
    log(
        f"[{label}] after a change: first search p50 {first_ms['p50']:.1f} ms (grid cells), "
        f"index current again after ≤ {max(rebuild):.2f} s, next search "
        f"p50 {next_ms['p50']:.1f} ms"
    )
    return {
        "first_search_ms": first_ms,
        "rebuilt_after_s": round(max(rebuild), 2),
        "next_search_ms": next_ms,
    }


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
                    q.get("first_ms"),
                    q["outcome"],
                ]
            )
    print()
    print(
        table(
            [
                "cooperatives",
                "query, way",
                "n",
                "p50 ms",
                "p95 ms",
                "db p50 ms",
                "first ms",
                "outcome",
            ],
            rows,
            title="Search latency (services.search called directly, one at a time)",
        )
    )
    way_rows = []
    for res in out["results"]:
        by_way = {
            q.get("way"): q["latency_ms"]["p95"]
            for q in res["queries"].values()
            if q.get("query") == "near"
        }
        base = by_way.get("index")
        way_rows.append(
            [
                f"{res['cooperatives']:,}",
                *(by_way.get(w) for w in WAYS),
                *(
                    round(by_way[w] / base, 1) if base and by_way.get(w) else None
                    for w in ("cells", "geonear")
                ),
                res.get("same_first_page"),
            ]
        )
    print()
    print(
        table(
            [
                "cooperatives",
                "index p95 ms",
                "cells p95 ms",
                "$geoNear p95 ms",
                "cells ÷ index",
                "$geoNear ÷ index",
                "same page+total",
            ],
            way_rows,
            title="Location search, three ways on the same data and locations",
        )
    )
    index_rows = []
    for res in out["results"]:
        ix, ch = res.get("index") or {}, res.get("after_change") or {}
        index_rows.append(
            [
                f"{res['cooperatives']:,}",
                ix.get("points"),
                ix.get("build_s"),
                ix.get("rss_delta_mib"),
                ix.get("rebuild_peak_traced_mib"),
                (ch.get("first_search_ms") or {}).get("p50"),
                ch.get("rebuilt_after_s"),
                (ch.get("next_search_ms") or {}).get("p50"),
            ]
        )
    print()
    print(
        table(
            [
                "cooperatives",
                "points",
                "build s",
                "RSS + MiB",
                "rebuild peak MiB",
                "1st search after change ms",
                "current again after s",
                "next search ms",
            ],
            index_rows,
            title="The in-process index: build, memory, a change to the directory",
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
        default_way = "index" if res.get("geo_mode") == "cells" else "geonear"
        for q in res["queries"].values():
            way = q.get("way")
            if q.get("query") != "near" and way != default_way:
                continue
            name = "near" if q.get("query") == "near" else f"text “{q.get('query')}”"
            p95 = q["latency_ms"]["p95"]
            targets[f"{name} p95 at {res['size']}, {way}"] = {
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
        help="also run the location search the other ways (index, grid cells, $geoNear) and "
        "the typed queries on the grid cells (default on)",
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
            "cells, storage/geocells.py; geonear: $geoNear on the 2dsphere index). Ways: "
            "index (in-process k-d tree, storage/spatial.py, over cells mode), cells "
            "(spatial_index=False), geonear.",
            busy_note(),
        ],
    }
    return finish(NAME, args, data, started)


if __name__ == "__main__":
    sys.exit(main())
