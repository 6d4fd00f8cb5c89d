"""Property-based hardening: random sequences of updates from several users, at random
points in every conversation. Invariants: no unhandled exception, every Bot API call the
bot makes is one Telegram accepts, and the stored state stays consistent.

CI runs a fixed seed and a bounded number of examples; for a longer local run:
``FUZZ_EXAMPLES=500 python3 dev.py test tests/test_fuzz.py``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections import Counter
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.app import Backend, build_application, build_services, running
from bot.config import Settings
from bot.telegram.localapi import LocalBotApi
from storage.mongo import Store
from tests.factories import csv_bytes, present
from tests.test_membership import ROWS

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
# CI: a fixed seed. FUZZ_RANDOM=1 explores new sequences on every run.
DERANDOMIZE = os.environ.get("FUZZ_RANDOM", "") != "1"
USERS = (1001, 1002, 7001, 900)  # two citizens, a cooperative admin, an operator
TRICKY = [
    "\u200f\u202e",
    "\u200b\u200c\u200d\ufeff",
    "a\u0301\u0308\u0327",
    "<b>",
    "&amp;",
    "_*[`",
    "</i>",
    "😀" * 10,
    "ksp di Medan Baru",
    "Sleman",
    "1271055708900001",
    "Siti Aminah",
    "+62 812 3456 7890",
    "Jl. Mawar 1",
    "/start join_",
    "x" * 4096,
    "\x00\x07",
    "Koperasi (Baru)+",
    "🇮🇩",
    "مرحبا",
    "שלום",
    "\n\n\n",
]
COMMANDS = [
    "/start",
    "/help",
    "/bantuan",
    "/cari",
    "/search",
    "/kartu",
    "/cards",
    "/bahasa",
    "/batal",
    "/cancel",
    "/privasi",
    "/dataku",
    "/hapusdata",
    "/admin",
    "/stats",
    "/import",
    "/invite",
    "/foo",
    "/start c_",
    "/start join_",
    "/start v_",
    "/start adm_",
    "/start c_000000000000000000000000",
]
PLACES = [
    (90.0, 180.0),
    (-90.0, -180.0),
    (0.0, 180.0),
    (0.0, -180.0),
    (3.5952, 98.6722),
    (3.5928, 98.6762),
    (51.5, -0.12),
    (-7.79, 110.36),
    (0.0, 0.0),
    (-11.0, 141.0),
]

texts = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=60),
    st.text(min_size=1, max_size=4096).filter(lambda s: s.strip() != ""),
)
steps = st.one_of(
    st.tuples(st.just("text"), texts),
    st.tuples(st.just("command"), st.tuples(st.sampled_from(COMMANDS), st.text(max_size=40))),
    st.tuples(
        st.just("location"),
        st.one_of(
            st.sampled_from(PLACES),
            st.tuples(st.floats(-90, 90, allow_nan=False), st.floats(-180, 180, allow_nan=False)),
        ),
    ),
    st.tuples(st.just("contact"), st.booleans()),
    st.tuples(st.just("tap"), st.integers(1, 14)),
    st.tuples(st.just("tap"), st.integers(1, 14)),
    st.tuples(st.just("tap"), st.integers(1, 14)),
    st.tuples(
        st.just("callback"),
        st.one_of(
            st.text(min_size=1, max_size=64).filter(lambda s: 1 <= len(s.encode()) <= 64),
            st.sampled_from(
                [
                    "pg:zzzzzzzz:3",
                    "mf:submit",
                    "mf:go",
                    "mf:agree",
                    "aa:" + "0" * 24,
                    "wl:" + "f" * 24,
                    "dd:yes",
                    "lg:en",
                    "noop",
                    "oim",
                    "os",
                    "oa",
                ]
            ),
        ),
    ),
    st.tuples(
        st.just("document"),
        st.sampled_from(
            [
                b"name,type,latitude,longitude\nKoperasi F,jasa,3.6,98.67\n",
                b"\x00\xff" * 20,
                b"",
                b"name;type\n",
            ]
        ),
    ),
    st.tuples(st.just("sticker"), st.none()),
    st.tuples(st.just("edited"), texts),
    st.tuples(st.just("channel"), texts),
    st.tuples(st.just("inline"), texts),
)
scenario = st.lists(
    st.tuples(st.sampled_from(USERS), st.sampled_from(["id", "en", None]), steps),
    min_size=3,
    max_size=35,
)


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def build_update(
    api: LocalBotApi, user_id: int, language: str | None, step: tuple[str, Any]
) -> dict[str, Any] | None:
    kind, value = step
    user = LocalBotApi.user(user_id, language)
    if kind == "text":
        return api.message_update(user, text=value)
    if kind == "command":
        command, args = value
        return api.message_update(user, text=f"{command} {args}".strip())
    if kind == "location":
        return api.message_update(user, location={"latitude": value[0], "longitude": value[1]})
    if kind == "contact":
        owner = user_id if value else 424242
        return api.message_update(
            user, contact={"phone_number": "+6281234567890", "first_name": "C", "user_id": owner}
        )
    if kind == "tap":
        message = api.last_with_buttons(user_id)
        if message is None:
            return None
        markup = message.markup or {}
        buttons = [
            b for row in markup.get("inline_keyboard") or markup.get("keyboard") or [] for b in row
        ]
        button = buttons[(value - 1) % len(buttons)]
        if not isinstance(button, dict):
            return api.message_update(user, text=str(button))
        if "callback_data" in button:
            return api.callback_update(user, message, button["callback_data"])
        if button.get("request_location"):
            return api.message_update(user, location={"latitude": 3.5928, "longitude": 98.6762})
        if button.get("request_contact"):
            return api.message_update(
                user,
                contact={"phone_number": "6281234567890", "first_name": "C", "user_id": user_id},
            )
        if "url" in button or "copy_text" in button:
            return None
        return api.message_update(user, text=button["text"])
    if kind == "callback":
        message = api.last_with_buttons(user_id)
        if message is None:
            return None
        return api.callback_update(user, message, value)
    if kind == "document":
        return api.document_update(user, "data.csv", value)
    if kind == "sticker":
        return api.message_update(
            user,
            sticker={
                "file_id": "s",
                "file_unique_id": "s",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            },
        )
    if kind == "edited":
        update = api.message_update(user, text=value)
        update["edited_message"] = {**update.pop("message"), "edit_date": int(time.time())}
        return update
    if kind == "channel":
        return {
            "update_id": api.next_update_id(),
            "channel_post": {
                "message_id": api.next_message_id(-100777),
                "date": int(time.time()),
                "chat": {"id": -100777, "type": "channel", "title": "Kanal"},
                "text": value,
            },
        }
    return api.inline_update(user, value[:256])


async def consistent(store: Store) -> list[str]:
    problems = []
    coops = {str(d["_id"]) async for d in store["cooperatives"].find({}, {"_id": 1})}
    numbers: Counter[tuple[str, str]] = Counter()
    open_pairs: Counter[tuple[str, int]] = Counter()
    async for app in store["applications"].find():
        if app["coop_id"] not in coops:
            problems.append(f"orphan application {app['_id']}")
        if app["status"] not in (
            "pending",
            "active",
            "suspended",
            "rejected",
            "withdrawn",
            "left",
        ):
            problems.append(f"bad status {app['status']}")
        if app["status"] in ("active", "suspended") and not app.get("member_number"):
            problems.append(f"member without number {app['_id']}")
        if app.get("member_number"):
            numbers[(app["coop_id"], app["member_number"])] += 1
        if app["status"] in ("pending", "active", "suspended") and app.get("user_id"):
            open_pairs[(app["coop_id"], app["user_id"])] += 1
    problems += [f"duplicate number {k}" for k, n in numbers.items() if n > 1]
    problems += [f"duplicate membership {k}" for k, n in open_pairs.items() if n > 1]
    return problems


async def run(mongo_uri: str, base: Settings, script: list[tuple[int, str | None, Any]]) -> None:
    store = Store.connect(mongo_uri, f"fuzz_{uuid.uuid4().hex[:10]}")
    await store.ensure_indexes()
    errors = Errors()
    logging.getLogger("handlers.errors").addHandler(errors)
    try:
        backend = Backend.over(store, base)
        services = build_services(backend, base)
        await services.importer.import_bytes(csv_bytes(ROWS))
        coop = present(await services.directory.coops.get_by_key("reg:kk2"))
        await backend.admins.add(coop.id, 7001)
        api = LocalBotApi()
        app = build_application(base, backend, services=services, request=api)
        async with running(app):
            for user_id, language, step in script:
                update = build_update(api, user_id, language, step)
                if update is not None:
                    await app.process_update(Update.de_json(update, app.bot))
            await app.stop()
        assert not api.errors, [(c.method, c.error) for c in api.errors][:5]
        assert not errors.records, [r.getMessage() for r in errors.records][:5]
        assert await consistent(store) == []
    finally:
        logging.getLogger("handlers.errors").removeHandler(errors)
        await store.drop_database()
        await store.close()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(script=scenario)
def test_random_updates_keep_every_invariant(
    mongo_uri: str, settings: Settings, script: list
) -> None:
    base = replace(settings, form_timeout_s=None)
    asyncio.run(run(mongo_uri, base, script))


def test_known_nasty_sequence(mongo_uri: str, settings: Settings) -> None:
    """A hand-written walk through the join form with garbage at every step."""
    script: list[tuple[int, str | None, Any]] = [
        (1001, "id", ("location", (3.5952, 98.6722))),
        (1001, "id", ("tap", 1)),
        (1001, "id", ("tap", 1)),
        (1001, "id", ("tap", 1)),
        (1001, "id", ("tap", 1)),
        (1001, "id", ("text", "\u202e" * 50)),
        (1001, "id", ("sticker", None)),
        (1001, "id", ("text", "Siti Aminah")),
        (1001, "id", ("text", "1271055708900001")),
        (1001, "id", ("callback", "mf:submit")),
        (1001, "id", ("tap", 1)),
        (1001, "id", ("edited", "x")),
        (1001, "id", ("channel", "y")),
        (1001, "id", ("location", (90.0, 180.0))),
        (1001, "id", ("text", "Medan")),
        (1001, "id", ("location", (3.5928, 98.6762))),
        (1001, "id", ("contact", False)),
        (1001, "id", ("contact", True)),
        (1001, "id", ("tap", 3)),
        (1001, "id", ("tap", 9)),
        (1001, "id", ("tap", 9)),
        (7001, "en", ("command", ("/admin", ""))),
        (7001, "en", ("tap", 1)),
        (7001, "en", ("tap", 1)),
        (7001, "en", ("tap", 1)),
        (1001, "id", ("command", ("/hapusdata", ""))),
        (1001, "id", ("tap", 1)),
    ]
    asyncio.run(run(mongo_uri, replace(settings, form_timeout_s=None), script))
