"""The cooperative directory: geo queries ($geoNear on a 2dsphere index) and name tokens."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import UpdateOne

from storage.models import Cooperative, CooperativeFilter, CoopWrite, Point
from storage.mongo import Document, Store

# What a result list shows; the detail view reads the whole document.
LIST_PROJECTION = {
    "name": 1,
    "type": 1,
    "services": 1,
    "verified": 1,
    "village_code": 1,
    "loc": 1,
    "name_tokens": 1,
    "demo": 1,
}

_FIELDS = (
    "name",
    "type",
    "services",
    "registration_number",
    "address",
    "village_code",
    "phone",
    "simpanan_pokok",
    "simpanan_wajib",
    "description",
    "village_restricted",
    "closed_loop",
    "rat_year",
    "opening_hours",
    "demo",
    "name_tokens",
    "areas",
)


def parse_id(coop_id: str) -> ObjectId | None:
    """The ObjectId for a public id, or None when it is not one."""
    try:
        return ObjectId(coop_id)
    except (InvalidId, TypeError):
        return None


def _point_doc(point: Point) -> Document:
    return {"type": "Point", "coordinates": [point.lon, point.lat]}


def to_record(doc: Document) -> Cooperative:
    lon, lat = doc["loc"]["coordinates"]
    return Cooperative(
        id=str(doc["_id"]),
        name=doc.get("name", ""),
        type=doc.get("type", ""),
        location=Point(lat=lat, lon=lon),
        services=list(doc.get("services") or []),
        registration_number=doc.get("registration_number"),
        address=doc.get("address"),
        village_code=doc.get("village_code"),
        phone=doc.get("phone"),
        simpanan_pokok=doc.get("simpanan_pokok"),
        simpanan_wajib=doc.get("simpanan_wajib"),
        description=doc.get("description"),
        verified=bool(doc.get("verified", False)),
        member_count=int(doc.get("member_count", 0) or 0),
        village_restricted=bool(doc.get("village_restricted", False)),
        closed_loop=doc.get("closed_loop"),
        rat_year=doc.get("rat_year"),
        opening_hours=doc.get("opening_hours"),
        demo=bool(doc.get("demo", False)),
        name_tokens=list(doc.get("name_tokens") or []),
        areas=list(doc.get("areas") or []),
        distance_m=doc.get("dist"),
    )


def filter_query(filt: CooperativeFilter | None) -> Document:
    """The MongoDB query for a filter."""
    query: Document = {}
    if filt is None:
        return query
    if filt.type:
        # A type also matches cooperatives that run that kind of business as a unit
        # (a village cooperative with a savings & loan unit answers "simpan pinjam").
        query["$or"] = [{"type": filt.type}, {"services": filt.type}]
    if filt.service:
        query["services"] = filt.service
    if filt.area_code:
        query["areas"] = filt.area_code
    return query


@dataclass(frozen=True, slots=True)
class UpsertResult:
    created: int
    updated: int
    unchanged: int


class CooperativeRepository:
    """Reads and writes the ``cooperatives`` collection."""

    def __init__(self, store: Store) -> None:
        self._col = store["cooperatives"]
        self._vocab = store["name_vocab"]

    async def upsert_many(self, writes: Sequence[CoopWrite]) -> UpsertResult:
        """Create or update cooperatives by import key: re-imports never duplicate."""
        if not writes:
            return UpsertResult(0, 0, 0)
        now = datetime.now(UTC)
        ops = []
        for write in writes:
            coop = write.coop
            fields: Document = {name: getattr(coop, name) for name in _FIELDS}
            fields["loc"] = _point_doc(coop.location)
            fields["name_lower"] = coop.name.casefold()
            ops.append(
                UpdateOne(
                    {"import_key": write.key},
                    {
                        "$set": fields,
                        "$setOnInsert": {
                            "import_key": write.key,
                            "created_at": now,
                            "verified": False,
                            "member_count": 0,
                        },
                        "$currentDate": {"updated_at": True},
                    },
                    upsert=True,
                )
            )
        result = await self._col.bulk_write(ops, ordered=False)
        created = result.upserted_count
        # updated_at always changes, so matched - modified is not "unchanged"; report matches.
        return UpsertResult(created=created, updated=result.matched_count, unchanged=0)

    async def get(self, coop_id: str) -> Cooperative | None:
        oid = parse_id(coop_id)
        if oid is None:
            return None
        doc = await self._col.find_one({"_id": oid})
        return to_record(doc) if doc else None

    async def get_many(self, coop_ids: Iterable[str]) -> list[Cooperative]:
        oids = [oid for oid in (parse_id(i) for i in coop_ids) if oid is not None]
        if not oids:
            return []
        return [to_record(doc) async for doc in self._col.find({"_id": {"$in": oids}})]

    async def get_by_key(self, key: str) -> Cooperative | None:
        doc = await self._col.find_one({"import_key": key})
        return to_record(doc) if doc else None

    async def nearest(
        self,
        point: Point,
        *,
        max_distance_m: float | None,
        filt: CooperativeFilter | None = None,
        skip: int = 0,
        limit: int = 5,
        projection: Document | None = LIST_PROJECTION,
    ) -> list[Cooperative]:
        """Cooperatives nearest to ``point`` first (a ``$geoNear`` aggregation)."""
        geo: Document = {
            "near": _point_doc(point),
            "distanceField": "dist",
            "spherical": True,
            "key": "loc",
            "query": filter_query(filt),
        }
        if max_distance_m is not None:
            geo["maxDistance"] = max_distance_m
        pipeline: list[Document] = [{"$geoNear": geo}]
        if skip:
            pipeline.append({"$skip": skip})
        pipeline.append({"$limit": limit})
        if projection is not None:
            pipeline.append({"$project": {**projection, "dist": 1}})
        cursor = await self._col.aggregate(pipeline)
        return [to_record(doc) async for doc in cursor]

    async def count_near(
        self, point: Point, *, max_distance_m: float, filt: CooperativeFilter | None = None
    ) -> int:
        """How many cooperatives lie within ``max_distance_m`` of ``point``."""
        query = filter_query(filt)
        query["loc"] = {
            "$geoWithin": {"$centerSphere": [[point.lon, point.lat], max_distance_m / 6378100.0]}
        }
        return await self._col.count_documents(query)

    async def count(self, filt: CooperativeFilter | None = None) -> int:
        return await self._col.count_documents(filter_query(filt))

    async def by_tokens(
        self, tokens: Iterable[str], *, filt: CooperativeFilter | None = None, limit: int = 500
    ) -> list[Cooperative]:
        """Cooperatives whose name has any of ``tokens`` (exact words, from the index)."""
        query = filter_query(filt)
        query["name_tokens"] = {"$in": sorted(set(tokens))}
        cursor = self._col.find(query, LIST_PROJECTION).limit(limit)
        return [to_record(doc) async for doc in cursor]

    async def by_name_prefix(
        self, prefix: str, *, filt: CooperativeFilter | None = None, limit: int = 50
    ) -> list[Cooperative]:
        """Cooperatives whose lower-cased name starts with ``prefix`` (escaped, anchored)."""
        query = filter_query(filt)
        query["name_lower"] = {"$regex": "^" + re.escape(prefix.casefold())}
        cursor = self._col.find(query, LIST_PROJECTION).limit(limit)
        return [to_record(doc) async for doc in cursor]

    async def add_vocabulary(self, tokens: Iterable[str]) -> None:
        """Remember name words, the dictionary that typo-tolerant search corrects against."""
        ops = [UpdateOne({"_id": t}, {"$set": {"_id": t}}, upsert=True) for t in set(tokens)]
        if ops:
            await self._vocab.bulk_write(ops, ordered=False)

    async def vocabulary(self) -> list[str]:
        return [doc["_id"] async for doc in self._vocab.find({}, {"_id": 1})]

    async def set_fields(self, coop_id: str, fields: dict[str, Any]) -> bool:
        oid = parse_id(coop_id)
        if oid is None:
            return False
        result = await self._col.update_one(
            {"_id": oid}, {"$set": fields, "$currentDate": {"updated_at": True}}
        )
        return result.matched_count == 1

    async def set_by_keys(self, fields_by_key: dict[str, dict[str, Any]]) -> int:
        """Set fields on many cooperatives at once, addressed by import key."""
        ops = [UpdateOne({"import_key": key}, {"$set": fields})
               for key, fields in fields_by_key.items()]
        if not ops:
            return 0
        result = await self._col.bulk_write(ops, ordered=False)
        return result.matched_count

    async def change_member_count(self, coop_id: str, delta: int) -> None:
        oid = parse_id(coop_id)
        if oid is not None:
            await self._col.update_one({"_id": oid}, {"$inc": {"member_count": delta}})

    async def count_by_province_and_type(self) -> dict[tuple[str, str], int]:
        cursor = await self._col.aggregate([{"$group": {
            "_id": {"province": {"$arrayElemAt": ["$areas", 0]}, "type": "$type"},
            "n": {"$sum": 1}}}])
        return {(doc["_id"].get("province") or "?", doc["_id"]["type"]): int(doc["n"])
                async for doc in cursor}
