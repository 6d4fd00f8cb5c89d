"""Resident memory of the bot process, with and without persisted user state.

    python -m bench.memory                       # 10,000 users' state, 1,000 open forms
    python -m bench.memory --users 100000 --forms 10000 --active 20000

The state is written as ``bot/persistence.py`` + ``storage/state.py`` store it: one real
user is walked through the membership form (deep link, terms, consent, every answer) and
the persisted ``user_data`` / ``conversations`` documents of each step are cloned —
``--forms`` users with an open form (a conversation document and their draft) and the rest
with a paused form's draft (kept after the 30-minute timeout: ``user_data`` only), steps
spread over the whole form. The name vocabulary of the national directory (83,762 villages
+ 50,000 others) is in the database too, as search loads it.

Each scenario runs in a fresh process that reports its RSS (VmRSS) after each stage:
imports → gazetteer → services and Application built → ``initialize()`` (the persistence
loads every user's data and every conversation) → started → a name search (vocabulary
loaded) → ``--active`` distinct users sending /start (what grows while the bot runs).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    Database,
    bench_settings,
    busy_note,
    clone_conversation,
    clone_user_data,
    directory_rows,
    finish,
    form_snapshots,
    import_directory,
    insert_batched,
    load_gazetteer,
    log,
    machine_info,
    memory_kib,
    table,
)

NAME = "memory"
USER_BASE = 10_000_000


def rss_mib() -> float:
    gc.collect()
    return round(memory_kib().get("VmRSS", 0) / 1024, 1)


# --- the child: one fresh bot process -----------------------------------------------------


async def child(args: argparse.Namespace) -> dict[str, Any]:
    stages: list[tuple[str, float]] = [("interpreter", rss_mib())]
    import aiohttp  # noqa: F401 - what the webhook process imports
    import telegram  # noqa: F401

    import bot.app
    import bot.web  # noqa: F401
    from bot.app import Backend, build_application, build_services
    from bot.config import Settings
    from bot.services.gazetteer import Gazetteer
    from bot.telegram.localapi import LocalBotApi
    from storage.mongo import Store

    stages.append(("imports (bot, telegram, pymongo, aiohttp)", rss_mib()))
    modules = {name: name in sys.modules for name in ("matplotlib", "numpy", "PIL")}
    gazetteer = Gazetteer.load(Settings().gazetteer_path)
    stages.append((f"gazetteer loaded ({len(gazetteer):,} areas)", rss_mib()))

    settings = bench_settings(Path(args.tmp), db_name=args.db)
    store = Store.connect(args.uri, args.db)
    await store.ensure_indexes()
    backend = Backend.over(store, settings)
    services = build_services(backend, settings)
    api = LocalBotApi()
    app = build_application(settings, backend, services=services, request=api, live=True)
    stages.append(("services and Application built", rss_mib()))
    await app.initialize()  # the persistence loads user_data and conversations here
    loaded_users = len(app.user_data)
    conversations = sum(len(c) for c in app._conversation_handler_conversations.values())
    stages.append(
        (
            f"initialized: {loaded_users:,} users' data, {conversations:,} conversations loaded",
            rss_mib(),
        )
    )
    await app.start()
    stages.append(("started", rss_mib()))
    await services.search.text(1, "Koperasi Sejahtera")
    vocabulary = len(services.search.names._vocab)
    stages.append((f"after a name search ({vocabulary:,} vocabulary words loaded)", rss_mib()))
    if args.active:
        from telegram import Update

        started = time.perf_counter()
        for i in range(args.active):
            user = api.user(20_000_000 + i, "id")
            await app.process_update(
                Update.de_json(api.message_update(user, text="/start"), app.bot)
            )
            if i % 1000 == 999:
                api.calls.clear()  # the stand-in's record is not the bot's memory
                api.messages.clear()
        api.calls.clear()
        api.messages.clear()
        seconds = time.perf_counter() - started
        stages.append(
            (
                f"after {args.active:,} distinct users sent /start "
                f"({args.active / seconds:,.0f}/s in-process)",
                rss_mib(),
            )
        )
    peak = memory_kib().get("VmHWM", 0)
    await app.stop()
    await app.shutdown()
    await store.close()
    return {
        "stages": stages,
        "peak_rss_mib": round(peak / 1024, 1),
        "users_loaded": loaded_users,
        "conversations_loaded": conversations,
        "vocabulary": vocabulary,
        "imported_at_start": modules,
    }


def trace_gazetteer() -> dict[str, Any]:
    """The gazetteer's Python memory: what it keeps and its peak while loading (its own
    process: tracemalloc's bookkeeping would distort the RSS figures)."""
    from bot.config import Settings
    from bot.services.gazetteer import Gazetteer

    before = rss_mib()
    tracemalloc.start()
    gazetteer = Gazetteer.from_csv(Settings().gazetteer_path)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "areas": len(gazetteer),
        "kept_mib": round(current / 1024 / 1024, 1),
        "peak_while_loading_mib": round(peak / 1024 / 1024, 1),
        "rss_growth_with_tracemalloc_mib": round(rss_mib() - before, 1),
    }


def run_child(db: Database | None, db_name: str, active: int) -> dict[str, Any]:
    # retryWrites=false only shortens the run (the embedded database's retryable-write
    # record slows every write once 10,000 accumulate); the bot's memory is the same.
    uri = "" if db is None else db.uri + ("&" if "?" in db.uri else "/?") + "retryWrites=false"
    argv = (
        ["--trace-gazetteer"]
        if db is None
        else [
            "--child",
            "--uri",
            uri,
            "--db",
            db_name,
            "--tmp",
            str(db.tmp),
            "--active",
            str(active),
        ]
    )
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the measuring process failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the parent: preparing the databases ---------------------------------------------------


async def prepare(
    db: Database, users: int, forms: int, *, with_state: bool
) -> tuple[str, dict[str, Any]]:
    from bot.app import Backend, build_services
    from bot.services.names import name_tokens
    from bot.services.query import STOPWORDS
    from storage.mongo import Store

    db_name = db.db_name("memory_state" if with_state else "memory_empty")
    settings = bench_settings(db.tmp, db_name=db_name)
    store = Store.connect(db.uri, db_name)
    await store.ensure_indexes()
    backend = Backend.over(store, settings)
    services = build_services(backend, settings)
    info: dict[str, Any] = {}
    try:
        # A small directory to join, and the national name vocabulary (as search loads it).
        await import_directory(services, directory_rows(services.gazetteer, 300))
        vocab = sorted(
            {
                t
                for row in directory_rows(services.gazetteer, None)
                for t in name_tokens(row["name"])
            }
            - STOPWORDS
        )
        await store["name_vocab"].delete_many({})
        await insert_batched(store["name_vocab"], ({"_id": t} for t in vocab), batch=5000)
        info["vocabulary"] = len(vocab)
        if not with_state:
            return db_name, info
        coop = await store["cooperatives"].find_one({"village_restricted": False}, {"_id": 1})
        assert coop is not None
        snaps = await form_snapshots(backend, services, settings, str(coop["_id"]), 42)
        steps = list(snaps)
        rng = random.Random(3)
        now = datetime.now(UTC)
        user_data, conversations, profiles = [], [], []
        for i in range(users):
            uid = USER_BASE + i
            snap = snaps[rng.choice(steps)]
            user_data.append(clone_user_data(snap["user_data"], uid))
            if i < forms:
                conversations.append(clone_conversation(snap["conversation"], uid))
            profiles.append(
                {"_id": uid, "telegram_language": "id", "created_at": now, "last_seen": now}
            )
        await store["user_data"].delete_many({})
        await store["conversations"].delete_many({})
        await insert_batched(store["user_data"], user_data)
        await insert_batched(store["conversations"], conversations)
        await insert_batched(store["users"], profiles)
        sizes = [len(json.dumps(d["data"], default=str)) for d in user_data[:200]]
        info.update(
            {
                "users": users,
                "open_forms": forms,
                "steps": steps,
                "user_data_json_bytes_mean": round(sum(sizes) / len(sizes)),
            }
        )
    finally:
        await services.close()
        await store.close()
    return db_name, info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument(
        "--users", type=int, default=10_000, help="users with persisted state (default 10,000)"
    )
    parser.add_argument(
        "--forms",
        type=int,
        default=1_000,
        help="of them, with an open membership form (default 1,000)",
    )
    parser.add_argument(
        "--active",
        type=int,
        default=5_000,
        help="distinct users who then send /start (default 5,000; 0 = skip)",
    )
    parser.add_argument(
        "--tag", default="", help="write bench/results/<name>-<tag>.json instead of <name>.json"
    )
    parser.add_argument("--out", default="", help="result directory (default bench/results)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--uri", default="", help=argparse.SUPPRESS)
    parser.add_argument("--db", default="", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", default="", help=argparse.SUPPRESS)
    parser.add_argument("--trace-gazetteer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.trace_gazetteer:
        print(json.dumps(trace_gazetteer()))
        return 0
    if args.child:
        print(json.dumps(asyncio.run(child(args))))
        return 0
    if args.forms > args.users:
        parser.error("--forms cannot exceed --users")

    machine = machine_info()
    log(f"machine: {machine['cpu_model']}, {machine['cores']} cores; {busy_note()}")
    started = time.perf_counter()
    load_gazetteer()  # fail early if the data is missing
    with Database(NAME) as db:
        engine = asyncio.run(db.engine())
        log("preparing a database without user state …")
        empty_db, empty_info = asyncio.run(prepare(db, 0, 0, with_state=False))
        log(f"preparing {args.users:,} users' state with {args.forms:,} open forms …")
        state_db, state_info = asyncio.run(prepare(db, args.users, args.forms, with_state=True))
        log("measuring a bot process without user state …")
        empty = run_child(db, empty_db, 0)
        log("measuring a bot process with the user state …")
        loaded = run_child(db, state_db, args.active)
    log("measuring the gazetteer under tracemalloc …")
    gazetteer = run_child(None, "", 0)

    names = [s for s, _ in loaded["stages"]]
    rows = []
    for i, (stage, mib) in enumerate(loaded["stages"]):
        base = empty["stages"][i][1] if i < len(empty["stages"]) else None
        prev = loaded["stages"][i - 1][1] if i else None
        rows.append([stage, base, mib, None if prev is None else round(mib - prev, 1)])
    print()
    print(
        table(
            ["stage", "RSS MiB, no state", f"RSS MiB, {args.users:,} users", "Δ MiB"],
            rows,
            title="Resident memory of the bot process (VmRSS after each stage)",
        )
    )
    init_index = next(i for i, n in enumerate(names) if n.startswith("initialized"))
    state_cost = (
        loaded["stages"][init_index][1]
        - loaded["stages"][init_index - 1][1]
        - (empty["stages"][init_index][1] - empty["stages"][init_index - 1][1])
    )
    gaz_rss = loaded["stages"][2][1] - loaded["stages"][1][1]
    started_rss = loaded["stages"][init_index + 1][1]
    summary = {
        "rss_started_no_state_mib": empty["stages"][init_index + 1][1],
        "rss_started_with_state_mib": started_rss,
        "persisted_state_mib": round(state_cost, 1),
        "persisted_state_kib_per_user": round(state_cost * 1024 / max(1, args.users), 2),
        "gazetteer_rss_mib": round(gaz_rss, 1),
        "gazetteer_python_objects_mib": gazetteer["kept_mib"],
        "gazetteer_peak_while_loading_mib": gazetteer["peak_while_loading_mib"],
        "gazetteer_share_of_started_rss": round(gaz_rss / started_rss, 3),
        "peak_rss_mib": loaded["peak_rss_mib"],
        "imported_at_start": loaded["imported_at_start"],
    }
    if args.active:
        last, before = loaded["stages"][-1][1], loaded["stages"][-2][1]
        summary["active_users_growth_mib"] = round(last - before, 1)
        summary["active_users_kib_per_user"] = round((last - before) * 1024 / args.active, 2)
    print()
    for key, value in summary.items():
        print(f"{key}: {value}")
    data = {
        "benchmark": NAME,
        "machine": machine,
        "engine": engine,
        "config": {"users": args.users, "open_forms": args.forms, "active": args.active},
        "prepared": {"empty": empty_info, "with_state": state_info},
        "results": {"no_state": empty, "with_state": loaded, "gazetteer": gazetteer},
        "summary": summary,
        "notes": [
            "RSS after gc.collect(); freed memory is not always returned to the OS, so "
            "stage deltas are upper bounds of what each stage keeps.",
            "The state documents are clones of what the real form persisted at each step "
            "(a real user walked through it first).",
            busy_note(),
        ],
    }
    return finish(NAME, args, data, started)


if __name__ == "__main__":
    sys.exit(main())
