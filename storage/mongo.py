"""The MongoDB client, the database handle and index setup (PyMongo's async API)."""

from __future__ import annotations

import logging
from typing import Any

from pymongo import ASCENDING, DESCENDING, GEOSPHERE, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

log = logging.getLogger(__name__)

Document = dict[str, Any]

GEO_INDEX = "loc_2dsphere"

# Every collection's indexes, created idempotently at startup.
INDEXES: dict[str, list[IndexModel]] = {
    "cooperatives": [
        # Only where nearest-first queries use it ($geoNear on MongoDB): see ensure_indexes.
        IndexModel([("loc", GEOSPHERE)], name=GEO_INDEX),
        IndexModel([("import_key", ASCENDING)], name="import_key", unique=True),
        IndexModel([("name_tokens", ASCENDING)], name="name_tokens"),
        # A name typed in full is found at once, also when its words are in thousands.
        IndexModel([("name_lower", ASCENDING)], name="name_lower"),
        IndexModel([("areas", ASCENDING)], name="areas"),
        IndexModel([("geo_cells", ASCENDING)], name="geo_cells"),
    ],
    "users": [],
    "searches": [
        # Saved searches back the buttons of result lists; old lists expire after a week.
        IndexModel([("created_at", ASCENDING)], name="ttl", expireAfterSeconds=7 * 24 * 3600),
    ],
    "name_vocab": [],
    "applications": [
        # Exist only while an application is open: one per user and per NIK per cooperative.
        IndexModel([("open_user", ASCENDING)], name="open_user", unique=True, sparse=True),
        IndexModel([("open_nik", ASCENDING)], name="open_nik", unique=True, sparse=True),
        IndexModel([("user_id", ASCENDING), ("created_at", DESCENDING)], name="user"),
        IndexModel(
            [("coop_id", ASCENDING), ("status", ASCENDING), ("created_at", ASCENDING)],
            name="coop_status",
        ),
        # Waiting times: pending applications by age (bot/services/sla.py).
        IndexModel([("status", ASCENDING), ("created_at", ASCENDING)], name="status_created"),
    ],
    "notifications": [
        IndexModel([("delivered", ASCENDING), ("created_at", ASCENDING)], name="pending")
    ],
    "conversations": [],
    "user_data": [],
    "coop_admins": [
        IndexModel([("user_id", ASCENDING)], name="user"),
        IndexModel([("coop_id", ASCENDING)], name="coop"),
    ],
    "card_files": [],
    # Every person's wrapped data key, by Telegram user id (_id): no other index needed.
    "person_keys": [],
    "audit": [
        IndexModel([("at", DESCENDING)], name="at"),
        IndexModel([("coop_id", ASCENDING), ("at", DESCENDING)], name="coop_at"),
    ],
    "invites": [],
    "broadcasts": [
        IndexModel([("status", ASCENDING), ("scheduled_at", ASCENDING)], name="status")
    ],
    "broadcast_recipients": [
        IndexModel(
            [("broadcast_id", ASCENDING), ("status", ASCENDING), ("_id", ASCENDING)], name="queue"
        ),
        IndexModel([("chat_id", ASCENDING)], name="chat"),
    ],
    "mutes": [
        IndexModel([("coop_id", ASCENDING)], name="coop"),
        IndexModel([("user_id", ASCENDING)], name="user"),
    ],
    "inbox": [
        # Done entries (only an id and a time) are forgotten after a day: Telegram stops
        # redelivering by then. Pending ones have no done_at and never expire.
        IndexModel([("done_at", ASCENDING)], name="ttl", expireAfterSeconds=24 * 3600),
        IndexModel([("pending", ASCENDING), ("_id", ASCENDING)], name="pending", sparse=True),
    ],
    "claims": [
        IndexModel([("user_id", ASCENDING), ("coop_id", ASCENDING)], name="user_coop"),
        IndexModel([("coop_id", ASCENDING), ("status", ASCENDING)], name="coop_status"),
        IndexModel([("status", ASCENDING), ("created_at", ASCENDING)], name="status_created"),
    ],
    # Notify-me and join attempts on cooperatives not on the platform: _id is
    # "<coop_id>:<user_id>"; by cooperative (who to tell, demand) and by user (/mydata).
    "subscriptions": [
        IndexModel([("coop_id", ASCENDING), ("notified_at", ASCENDING)], name="coop"),
        IndexModel([("user_id", ASCENDING)], name="user"),
    ],
    "ledger": [
        IndexModel([("ref_key", ASCENDING)], name="reference", unique=True, sparse=True),
        IndexModel([("application_id", ASCENDING), ("paid_on", ASCENDING)], name="membership"),
        IndexModel([("coop_id", ASCENDING), ("paid_on", ASCENDING)], name="coop"),
        IndexModel([("user_id", ASCENDING)], name="user"),
    ],
    "proofs": [
        # One open proof per membership: the key exists only while the proof is open.
        IndexModel([("open_key", ASCENDING)], name="open", unique=True, sparse=True),
        IndexModel([("coop_id", ASCENDING), ("status", ASCENDING)], name="coop"),
        IndexModel([("user_id", ASCENDING)], name="user"),
        IndexModel([("status", ASCENDING), ("decided_at", ASCENDING)], name="decided"),
    ],
    "join_attempts": [
        IndexModel([("coop_id", ASCENDING)], name="coop"),
        IndexModel([("user_id", ASCENDING)], name="user"),
    ],
}


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means "the database cannot be reached right now"."""
    return isinstance(
        error, (ConnectionFailure, ServerSelectionTimeoutError, NetworkTimeout, AutoReconnect)
    )


class Store:
    """An open connection to one database; hands out collections to repositories."""

    def __init__(self, client: AsyncMongoClient[Document], db_name: str) -> None:
        self.client = client
        self.db: AsyncDatabase[Document] = client[db_name]
        # How nearest-first queries run: "geonear" ($geoNear on the 2dsphere index) or
        # "cells" (grid cells, for engines whose geo index does not narrow the scan;
        # storage/geocells.py). None: decided from the server on first use.
        self.geo_mode: str | None = None
        # With grid cells, nearest-first queries are first asked of an in-process index of
        # the directory (storage/spatial.py), built on first use; False: cells only.
        self.spatial_index = True
        self.spatial: Any = None

    @classmethod
    def connect(cls, uri: str, db_name: str, *, timeout_ms: int = 3000) -> Store:
        """Create a client (connections are opened lazily, on first use)."""
        client: AsyncMongoClient[Document] = AsyncMongoClient(
            uri,
            tz_aware=True,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=max(timeout_ms, 10_000),
            appname="gerbang-koperasi",
        )
        return cls(client, db_name)

    def __getitem__(self, name: str) -> Any:
        return self.db[name]

    async def ensure_indexes(self) -> None:
        """Create every index the repositories rely on that does not exist yet.

        Existing indexes are recognised by name (a changed definition gets a new name), so
        restarts never depend on how a server echoes an index's options back.

        The 2dsphere index exists only where ``$geoNear`` uses it (MongoDB). The embedded
        engine answers nearest-first from the in-process index and the grid cells, and
        its ``$geoNear`` (the last fallback) reads every document with or without the
        index, which cost 31 of the ~49 index entries written per cooperative: importing
        runs ~1.6x as fast without it (bench/README.md §3), so it is dropped there.
        """
        geo_index = await self.resolve_geo_mode() != "cells"
        for collection, models in INDEXES.items():
            if not models:
                continue
            existing = {ix["name"] async for ix in await self.db[collection].list_indexes()}
            if not geo_index and GEO_INDEX in existing:
                await self.db[collection].drop_index(GEO_INDEX)
                log.info("index dropped collection=%s index=%s", collection, GEO_INDEX)
            missing = [
                m
                for m in models
                if m.document["name"] not in existing
                and (geo_index or m.document["name"] != GEO_INDEX)
            ]
            if missing:
                await self.db[collection].create_indexes(missing)

    @staticmethod
    def unavailable(error: BaseException) -> bool:
        """Whether ``error`` means the database cannot be reached right now."""
        return is_unavailable(error)

    async def ping(self) -> bool:
        """Whether the database answers right now."""
        try:
            await self.client.admin.command("ping")
        except Exception:  # any driver error means "not ready"
            return False
        return True

    async def resolve_geo_mode(self) -> str:
        """The geo mode, asking the server once: the embedded engine (SecantusDB, which
        names itself in ``buildInfo``) gets grid cells, MongoDB gets ``$geoNear``."""
        if self.geo_mode is None:
            try:
                info = await self.client.admin.command("buildInfo")
            except OperationFailure:  # not allowed for this user: not the embedded engine
                info = {}
            self.geo_mode = "cells" if "secantusVersion" in info else "geonear"
            log.info("geo_mode=%s", self.geo_mode)
        return self.geo_mode

    async def drop_database(self) -> None:
        await self.client.drop_database(self.db.name)

    async def close(self) -> None:
        if self.spatial is not None:
            await self.spatial.close()
        await self.client.close()


# Operators' onboarding figures (storage/onboarding.py). Partial: it holds only the few
# cooperatives on the platform, so counting them by province reads only them.
INDEXES["cooperatives"].append(
    IndexModel(
        [("on_platform", ASCENDING)],
        name="on_platform",
        partialFilterExpression={"on_platform": True},
    )
)
# Decisions of the last days (median time to decide) and, by its status prefix, the
# pending applications waiting too long.
INDEXES["applications"].append(
    IndexModel([("status", ASCENDING), ("decided_at", ASCENDING)], name="status_decided")
)
# Monthly dues reminders (storage/reminders.py): one mark per member and month, one scan
# mark per cooperative and month; both forgotten after 70 days.
INDEXES["dues_reminders"] = [
    IndexModel([("at", ASCENDING)], name="ttl", expireAfterSeconds=70 * 24 * 3600),
    IndexModel([("user_id", ASCENDING)], name="user"),
]
INDEXES["dues_reminder_scans"] = [
    IndexModel([("at", ASCENDING)], name="ttl", expireAfterSeconds=70 * 24 * 3600),
]
