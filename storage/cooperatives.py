"""The cooperative directory: geo queries and name tokens.

Nearest-first queries are a ``$geoNear`` aggregation on the 2dsphere index on MongoDB; on
the embedded engine, whose geo index reads the whole collection, they read grid cells
instead (storage/geocells.py; the store decides which, ``Store.geo_mode``).

(Kept as one piece over 500 lines: every read and write of the ``cooperatives``
collection, whose derived fields — cells, kinds, the index's version — stay in step here.)
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from storage.geocells import (
    LEVELS_DEG,
    MONGO_EARTH_RADIUS_M,
    cell_keys,
    covering,
    great_circle_m,
)
from storage.models import (
    Cooperative,
    CooperativeFilter,
    CoopWrite,
    Point,
    UpsertResult,
)
from storage.mongo import Document, Store
from storage.payment import payment_info
from storage.spatial import SpatialIndex, directory_changed

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
    "on_platform": 1,  # the "on the platform" badge
}
# A write of one of these bumps the listed fields' counter (storage/spatial.py).
LISTED_FIELDS = frozenset(LIST_PROJECTION)
# … and of one of these (type and services: ``kinds``) the index's.
INDEXED_FIELDS = frozenset({"loc", "areas", "name", "name_lower", "name_tokens", "kinds"})

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


# Bump when a derived field (geo_cells, kinds) changes meaning: the next start recomputes.
DERIVED_VERSION = 1


def _kinds(coop_type: str | None, services: Iterable[str] | None) -> list[str]:
    """The type and the services in one field, so "of this kind" is one equality (an
    ``$or`` over two fields makes the embedded engine scan the collection)."""
    return sorted({*(services or []), *([coop_type] if coop_type else [])})


def _cells_of(loc: Document) -> list[str]:
    lon, lat = loc["coordinates"]
    return cell_keys(lat, lon)


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
        members_declared=doc.get("members_declared"),
        village_restricted=bool(doc.get("village_restricted", False)),
        closed_loop=doc.get("closed_loop"),
        rat_year=doc.get("rat_year"),
        opening_hours=doc.get("opening_hours"),
        demo=bool(doc.get("demo", False)),
        on_platform=bool(doc.get("on_platform", False)),
        payment=payment_info(doc.get("payment")),
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
        query["kinds"] = filt.type
    if filt.service:
        query["services"] = filt.service
    if filt.area_code:
        query["areas"] = filt.area_code
    return query


class CooperativeRepository:
    """Reads and writes the ``cooperatives`` collection."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._col = store["cooperatives"]
        self._vocab = store["name_vocab"]
        self._meta = store["meta"]

    async def ensure_derived_fields(self) -> int:
        """Give every cooperative the fields derived from others (grid cells, kinds), once
        per version of them (directories imported before they existed); returns how many
        documents were updated."""
        marker = {"_id": "derived_fields", "version": DERIVED_VERSION, "levels": list(LEVELS_DEG)}
        if await self._meta.find_one(marker):
            return 0
        updated = 0
        ops: list[UpdateOne] = []
        async for doc in self._col.find({}, {"loc": 1, "type": 1, "services": 1}):
            if not isinstance(doc.get("loc"), dict):
                continue
            # Only if the fields are still the ones read: a concurrent edit wins.
            current = {"loc": doc["loc"], "type": doc.get("type"), "services": doc.get("services")}
            derived = {
                "geo_cells": _cells_of(doc["loc"]),
                "kinds": _kinds(doc.get("type"), doc.get("services")),
            }
            ops.append(UpdateOne({"_id": doc["_id"], **current}, {"$set": derived}))
            if len(ops) == 1000:
                updated += (await self._col.bulk_write(ops, ordered=False)).modified_count
                ops = []
        if ops:
            updated += (await self._col.bulk_write(ops, ordered=False)).modified_count
        if updated:
            await self._bump()
        await self._meta.replace_one({"_id": "derived_fields"}, marker, upsert=True)
        return updated

    async def upsert_many(self, writes: Sequence[CoopWrite]) -> UpsertResult:
        """Create or update cooperatives by import key: re-imports never duplicate."""
        if not writes:
            return UpsertResult(0, 0, 0)
        now = datetime.now(UTC)
        docs: dict[str, Document] = {}
        for write in writes:
            coop = write.coop
            fields: Document = {name: getattr(coop, name) for name in _FIELDS}
            fields["loc"] = _point_doc(coop.location)
            fields["geo_cells"] = _cells_of(fields["loc"])
            fields["kinds"] = _kinds(coop.type, coop.services)
            fields["name_lower"] = coop.name.casefold()
            docs[write.key] = fields
        # New keys are inserted, known ones updated by _id: the embedded engine inserts a
        # batch several times faster than it upserts it one statement at a time
        # (bench/README.md, issue 17).
        known = {
            doc["import_key"]: doc["_id"]
            async for doc in self._col.find({"import_key": {"$in": list(docs)}}, {"import_key": 1})
        }
        fresh = [
            {
                **fields,
                "import_key": key,
                "created_at": now,
                "verified": False,
                "member_count": 0,
                "updated_at": now,
            }
            for key, fields in docs.items()
            if key not in known
        ]
        created, raced = 0, []
        if fresh:
            try:
                created = len((await self._col.insert_many(fresh, ordered=False)).inserted_ids)
            except BulkWriteError as exc:
                # Another writer inserted some of these keys meanwhile: update those.
                created = exc.details.get("nInserted", 0)
                for error in exc.details.get("writeErrors", []):
                    if error.get("code") != 11000:
                        raise
                    raced.append(fresh[error["index"]]["import_key"])
        ops = [
            UpdateOne(
                {"import_key": key},
                {
                    "$set": docs[key],
                    "$setOnInsert": {"created_at": now, "verified": False, "member_count": 0},
                    "$currentDate": {"updated_at": True},
                },
                upsert=True,
            )
            for key in [*known, *raced]
        ]
        updated = 0
        if ops:
            result = await self._col.bulk_write(ops, ordered=False)
            created += result.upserted_count
            updated = result.matched_count
        await self._bump()  # every process's spatial index rebuilds before answering
        # updated_at always changes, so matched - modified is not "unchanged"; report matches.
        return UpsertResult(created=created, updated=updated, unchanged=0)

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
    ) -> list[Cooperative]:
        """Cooperatives nearest to ``point`` first, with their distance in metres (the
        fields of a result list)."""
        if await self._store.resolve_geo_mode() == "cells":
            found = await self._ranked_page(point, max_distance_m, filt, skip, limit)
            if found is not None:
                return await self._fetch_ranked(found[1])
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
        pipeline.append({"$project": {**LIST_PROJECTION, "dist": 1}})
        cursor = await self._col.aggregate(pipeline)
        return [to_record(doc) async for doc in cursor]

    async def count_near(
        self, point: Point, *, max_distance_m: float, filt: CooperativeFilter | None = None
    ) -> int:
        """How many cooperatives lie within ``max_distance_m`` of ``point``."""
        if await self._store.resolve_geo_mode() == "cells":
            found = await self._ranked_page(point, max_distance_m, filt, 0, 0)
            if found is not None:
                return found[0]
        query = filter_query(filt)
        query["loc"] = {
            "$geoWithin": {
                "$centerSphere": [[point.lon, point.lat], max_distance_m / MONGO_EARTH_RADIUS_M]
            }
        }
        return await self._col.count_documents(query)

    async def near_page(
        self,
        point: Point,
        *,
        max_distance_m: float | None,
        filt: CooperativeFilter | None = None,
        skip: int = 0,
        limit: int = 5,
    ) -> tuple[int, list[Cooperative]]:
        """How many lie within ``max_distance_m`` (None: in the filter's area), and one
        page of them, nearest first (with grid cells or the in-process index, both from
        one ranking of the candidates)."""
        if await self._store.resolve_geo_mode() == "cells":
            found = await self._ranked_page(point, max_distance_m, filt, skip, limit)
            if found is not None:
                return found[0], await self._fetch_ranked(found[1])
        if max_distance_m is None:
            total = await self.count(filt)
        else:
            total = await self.count_near(point, max_distance_m=max_distance_m, filt=filt)
        if total <= skip:
            return total, []
        return total, await self.nearest(
            point, max_distance_m=max_distance_m, filt=filt, skip=skip, limit=limit
        )

    async def _ranked_page(
        self,
        point: Point,
        max_distance_m: float | None,
        filt: CooperativeFilter | None,
        skip: int,
        limit: int,
    ) -> tuple[int, list[tuple[float, ObjectId]]] | None:
        """How many match and (distance, id) of one page of them, nearest first: from the
        in-process index when it is current, else through the grid cells; None when
        neither can narrow the search."""
        if self._store.spatial_index:
            found = await self.spatial().ranked_page(point, max_distance_m, filt, skip, limit)
            if found is not None:
                return found
        ranked = await self._ranked_by_cells(point, max_distance_m, filt)
        if ranked is None:
            return None
        return len(ranked), ranked[skip : skip + limit]

    async def _bump(self, *, index: bool = True) -> None:
        """The directory changed: every process's index rebuilds before answering (this
        one's at its next query, the others' within ``spatial.VERSION_FRESH_S``); with
        ``index=False`` only a listed field changed (a result list's badge, say), and
        only the listed fields kept are forgotten."""
        await directory_changed(self._store, index=index)

    def spatial(self) -> SpatialIndex:
        """This process's index of the directory (one per store)."""
        if self._store.spatial is None:
            self._store.spatial = SpatialIndex(self._col, self._meta)
        index: SpatialIndex = self._store.spatial
        return index

    async def _ranked_by_cells(
        self, point: Point, max_distance_m: float | None, filt: CooperativeFilter | None
    ) -> list[tuple[float, ObjectId]] | None:
        """(distance, id) of every match within ``max_distance_m``, nearest first, read
        through the grid cells around ``point`` (or, without a distance, through the area
        filter); None when neither narrows the search enough to be worth it."""
        query = filter_query(filt)
        if max_distance_m is None:
            if "areas" not in query:
                return None
        else:
            cells = covering(point.lat, point.lon, max_distance_m)
            if cells is None:
                return None
            query["geo_cells"] = {"$in": cells}
        ranked: list[tuple[float, ObjectId]] = []
        async for doc in self._col.find(query, {"loc": 1}):
            lon, lat = doc["loc"]["coordinates"]
            dist = great_circle_m(point.lat, point.lon, lat, lon)
            if max_distance_m is None or dist <= max_distance_m:
                ranked.append((dist, doc["_id"]))
        ranked.sort()
        return ranked

    async def _fetch_ranked(self, ranked: list[tuple[float, ObjectId]]) -> list[Cooperative]:
        """The listed fields of a ranked page, in its order, with their distances (kept
        in this process while no listed field changes: ``SpatialIndex.listed``)."""
        if not ranked:
            return []
        found = await self._listed_docs([oid for _, oid in ranked])
        out = []
        for dist, oid in ranked:
            doc = found.get(oid)
            if doc is not None:  # deleted since it was ranked
                record = to_record(doc)
                record.distance_m = dist
                out.append(record)
        return out

    async def _listed_docs(self, ids: list[ObjectId]) -> dict[ObjectId, Document]:
        """The listed fields of ``ids`` by id: kept ones first (``SpatialIndex.listed``)
        where this store keeps them, else read."""
        if self._store.spatial_index:
            return await self.spatial().listed(ids, self._read_listed)
        return {doc["_id"]: doc async for doc in self._read_listed(ids)}

    async def _read_listed(self, ids: list[ObjectId]) -> AsyncIterator[Document]:
        async for doc in self._col.find({"_id": {"$in": ids}}, LIST_PROJECTION):
            yield doc

    async def count(self, filt: CooperativeFilter | None = None) -> int:
        """How many match ``filt``: from the in-process index when it is current (an area,
        a type or a service counted without reading documents), else by the database."""
        if (
            filt is not None
            and (filt.area_code or filt.type or filt.service)
            and await self._indexed()
        ):
            counted = await self.spatial().count(filt)
            if counted is not None:
                return counted
        return await self._col.count_documents(filter_query(filt))

    async def _indexed(self) -> bool:
        """Whether this store asks the in-process index first (the embedded engine)."""
        return bool(self._store.spatial_index) and await self._store.resolve_geo_mode() == "cells"

    async def _records(self, ids: list[ObjectId]) -> list[Cooperative]:
        """The listed fields of ``ids`` (kept ones first: ``SpatialIndex.listed``), in
        their order."""
        found = await self._listed_docs(ids)
        return [to_record(found[oid]) for oid in ids if oid in found]

    async def by_tokens(
        self, tokens: Iterable[str], *, filt: CooperativeFilter | None = None, limit: int = 500
    ) -> list[Cooperative]:
        """Cooperatives whose name has any of ``tokens`` (exact words): from the
        in-process index when it is current (the first ``limit`` in id order), else from
        the database's index."""
        tokens = set(tokens)
        if await self._indexed():
            ids = await self.spatial().with_any_token(tokens, filt, limit)
            if ids is not None:
                return await self._records(ids)
        query = filter_query(filt)
        query["name_tokens"] = {"$in": sorted(set(tokens))}
        cursor = self._col.find(query, LIST_PROJECTION).limit(limit)
        return [to_record(doc) async for doc in cursor]

    async def by_all_tokens(
        self,
        groups: Sequence[Iterable[str]],
        *,
        filt: CooperativeFilter | None = None,
        limit: int = 500,
    ) -> list[Cooperative]:
        """Cooperatives whose name has, for every group, one of that group's words (each
        query word with its corrections): the full matches, which a cap on "any word"
        candidates could miss when one of the words is common.

        Read through the first group's index keys (at most ``limit`` of them; put the
        rarest group first) and checked here for the others: SecantusDB answers a query
        with several conditions on ``name_tokens`` (``$and``, ``$all``) by reading the
        whole collection (8–12 s at national size, measured). The in-process index, when
        it is current, intersects every group's names before the limit."""
        first, *rest = [set(group) for group in groups]
        if await self._indexed():
            ids = await self.spatial().with_all_tokens([first, *rest], filt, limit)
            if ids is not None:
                return await self._records(ids)
        query = filter_query(filt)
        query["name_tokens"] = {"$in": sorted(first)}
        cursor = self._col.find(query, LIST_PROJECTION).limit(limit)
        return [
            to_record(doc)
            async for doc in cursor
            if all(group & set(doc.get("name_tokens") or ()) for group in rest)
        ]

    async def count_tokens(self, tokens: Iterable[str], *, limit: int) -> int:
        """How many names have any of ``tokens``, up to ``limit``: from the in-process
        index when it is current, else counted on the database's index (a full count of a
        common word reads thousands of index keys: 117 ms for 3,122)."""
        tokens = list(tokens)
        if await self._indexed():
            counted = await self.spatial().count_tokens(tokens, limit)
            if counted is not None:
                return counted
        query = {"name_tokens": {"$in": sorted(set(tokens))}}
        return await self._col.count_documents(query, limit=limit)

    async def by_name(
        self, name: str, *, filt: CooperativeFilter | None = None, limit: int = 50
    ) -> list[Cooperative]:
        """Cooperatives whose whole name is ``name`` (case-insensitive; one index key, or
        the in-process index when it is current)."""
        if await self._indexed():
            ids = await self.spatial().named(name.casefold(), filt, limit)
            if ids is not None:
                return await self._records(ids)
        query = filter_query(filt)
        query["name_lower"] = name.casefold()
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
        if isinstance(fields.get("loc"), dict):
            fields = {**fields, "geo_cells": _cells_of(fields["loc"])}
        update = {"$set": fields, "$currentDate": {"updated_at": True}}
        if "type" not in fields and "services" not in fields:
            result = await self._col.update_one({"_id": oid}, update)
            if INDEXED_FIELDS & set(fields):
                await self._bump()
            elif LISTED_FIELDS & set(fields):
                await self._bump(index=False)
            return result.matched_count == 1
        # `kinds` derives from both fields: write it only if the one not given is still
        # the value read (a concurrent import may change it), else read again.
        for _ in range(5):
            current = await self._col.find_one({"_id": oid}, {"type": 1, "services": 1})
            if current is None:
                return False
            merged = {**current, **fields}
            update["$set"] = {
                **fields,
                "kinds": _kinds(merged.get("type"), merged.get("services")),
            }
            result = await self._col.update_one(
                {"_id": oid, "type": current.get("type"), "services": current.get("services")},
                update,
            )
            if result.matched_count == 1:
                await self._bump()
                return True
        return False

    async def set_by_keys(self, fields_by_key: dict[str, dict[str, Any]]) -> int:
        """Set fields on many cooperatives at once, addressed by import key (not those
        other fields derive from: ``set_fields`` and ``upsert_many`` keep those in step)."""
        derived_from = {"loc", "type", "services"}
        if any(derived_from & set(fields) for fields in fields_by_key.values()):
            raise ValueError("set_by_keys cannot set loc, type or services")
        ops = [
            UpdateOne({"import_key": key}, {"$set": fields})
            for key, fields in fields_by_key.items()
        ]
        if not ops:
            return 0
        result = await self._col.bulk_write(ops, ordered=False)
        if any(INDEXED_FIELDS & set(fields) for fields in fields_by_key.values()):
            await self._bump()
        elif any(LISTED_FIELDS & set(fields) for fields in fields_by_key.values()):
            await self._bump(index=False)
        return result.matched_count

    async def change_member_count(self, coop_id: str, delta: int) -> None:
        oid = parse_id(coop_id)
        if oid is not None:
            await self._col.update_one({"_id": oid}, {"$inc": {"member_count": delta}})

    async def count_by_province_and_type(self) -> dict[tuple[str, str], int]:
        cursor = await self._col.aggregate(
            [
                {
                    "$group": {
                        "_id": {"province": {"$arrayElemAt": ["$areas", 0]}, "type": "$type"},
                        "n": {"$sum": 1},
                    }
                }
            ]
        )
        return {
            (doc["_id"].get("province") or "?", doc["_id"]["type"]): int(doc["n"])
            async for doc in cursor
        }
