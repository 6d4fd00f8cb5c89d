"""Onboarding figures for operators, read-only, across collections: cooperatives on the
platform, claims, decisions, waiting applications and the demand for cooperatives that are
not on the platform yet.

Sized for the national directory (131,617 cooperatives, tens of millions of applications):
counts run in the server (``$group``, ``count_documents`` on indexes), medians are found by
counting and then skipping to the middle of the sorted durations, and only the cooperatives
someone asked for are ever read, a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from storage.cooperatives import parse_id
from storage.models import Demand, Median
from storage.mongo import Document, Store

OPEN_CLAIMS = ("open", "more")
DECIDED_CLAIMS = ("approved", "rejected")
# Decided by the cooperative: an approved member stays active or suspended. ("left" and
# "withdrawn" also carry a ``decided_at``, but it is the member's or applicant's own act.)
DECIDED_APPLICATIONS = ("active", "suspended", "rejected")
CHUNK = 500
DEMAND_PROJECTION = {
    "name": 1,
    "registration_number": 1,
    "areas": 1,
    "phone": 1,
    "address": 1,
    "on_platform": 1,
}


class OnboardingRepository:
    def __init__(self, store: Store) -> None:
        self._coops = store["cooperatives"]
        self._apps = store["applications"]
        self._claims = store["claims"]
        self._subs = store["subscriptions"]
        self._attempts = store["join_attempts"]

    async def on_platform_by_province(self) -> dict[str, int]:
        """Cooperatives on the platform per province code (the partial index holds only
        them, so this reads only them)."""
        cursor = await self._coops.aggregate(
            [
                {"$match": {"on_platform": True}},
                {"$group": {"_id": {"$arrayElemAt": ["$areas", 0]}, "n": {"$sum": 1}}},
            ]
        )
        return {(doc["_id"] or "?"): int(doc["n"]) async for doc in cursor}

    async def open_claims(self) -> int:
        return int(await self._claims.count_documents({"status": {"$in": list(OPEN_CLAIMS)}}))

    async def claim_decision_median(self, since: datetime) -> Median:
        """How long claims decided since ``since`` took, from filing to decision."""
        return await _median(
            self._claims, {"status": {"$in": list(DECIDED_CLAIMS)}, "decided_at": {"$gte": since}}
        )

    async def application_decision_median(self, since: datetime) -> Median:
        """How long applications decided since ``since`` took, from submission to decision."""
        return await _median(
            self._apps,
            {"status": {"$in": list(DECIDED_APPLICATIONS)}, "decided_at": {"$gte": since}},
        )

    async def applications_waiting(self, before: datetime) -> int:
        """Pending applications submitted before ``before``."""
        return int(
            await self._apps.count_documents({"status": "pending", "created_at": {"$lt": before}})
        )

    async def demand(self, limit: int | None = None) -> list[Demand]:
        """Cooperatives not on the platform with open notify-me subscriptions or join
        attempts, most wanted first (then by subscribers, then by name); ``limit`` rows at
        most (all with None)."""
        subscribers = {
            doc["_id"]: int(doc["n"])
            async for doc in await self._subs.aggregate(
                [
                    {"$match": {"notified_at": None}},
                    {"$group": {"_id": "$coop_id", "n": {"$sum": 1}}},
                ]
            )
        }
        attempts: dict[str, tuple[int, datetime | None]] = {
            doc["_id"]: (int(doc["n"]), doc.get("last"))
            async for doc in await self._attempts.aggregate(
                [{"$group": {"_id": "$coop_id", "n": {"$sum": 1}, "last": {"$max": "$last_at"}}}]
            )
        }

        def rank(coop_id: str) -> tuple[int, int]:
            subs = subscribers.get(coop_id, 0)
            return (-(subs + attempts.get(coop_id, (0, None))[0]), -subs)

        ranked = sorted(
            (c for c in set(subscribers) | set(attempts) if isinstance(c, str)), key=rank
        )
        rows: list[Demand] = []
        for start in range(0, len(ranked), CHUNK):
            # Stop once ``limit`` rows are in and the next candidate ranks lower than the
            # last of them: later chunks cannot change the top (ties are ordered by name).
            if limit is not None and len(rows) >= limit:
                ordered = sorted(rows, key=_order)
                if rank(ranked[start]) > (
                    -ordered[limit - 1].total,
                    -ordered[limit - 1].subscribers,
                ):
                    break
            chunk = ranked[start : start + CHUNK]
            oids = [oid for oid in (parse_id(c) for c in chunk) if oid is not None]
            cursor = self._coops.find(
                {"_id": {"$in": oids}, "on_platform": {"$ne": True}}, DEMAND_PROJECTION
            )
            async for doc in cursor:
                coop_id = str(doc["_id"])
                count, last = attempts.get(coop_id, (0, None))
                rows.append(_demand(doc, subscribers.get(coop_id, 0), count, last))
        rows.sort(key=_order)
        return rows if limit is None else rows[:limit]


def _order(row: Demand) -> tuple[int, int, str, str]:
    return (-row.total, -row.subscribers, row.name.casefold(), row.coop_id)


def _demand(doc: Document, subscribers: int, attempts: int, last: datetime | None) -> Demand:
    return Demand(
        coop_id=str(doc["_id"]),
        name=str(doc.get("name") or ""),
        registration_number=doc.get("registration_number"),
        areas=tuple(doc.get("areas") or ()),
        phone=doc.get("phone"),
        address=doc.get("address"),
        subscribers=subscribers,
        attempts=attempts,
        last_attempt=last,
    )


async def _median(collection: Any, match: Document) -> Median:
    """The median of ``decided_at - created_at`` over ``match``: count, then sort the
    durations in the server and read only the one or two in the middle (an even count
    averages them)."""
    match = {**match, "created_at": {"$ne": None}}
    count = int(await collection.count_documents(match))
    if count == 0:
        return Median(0, None)
    pipeline: Sequence[Document] = [
        {"$match": match},
        {"$project": {"_id": 0, "ms": {"$subtract": ["$decided_at", "$created_at"]}}},
        {"$sort": {"ms": 1}},
        {"$skip": (count - 1) // 2},
        {"$limit": 1 if count % 2 else 2},
    ]
    middle = [float(doc["ms"]) async for doc in await collection.aggregate(list(pipeline))]
    if not middle:  # the documents changed between the count and the read
        return Median(0, None)
    return Median(count, timedelta(milliseconds=sum(middle) / len(middle)))
