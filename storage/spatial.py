"""An in-process spatial index of the directory: nearest-first within a radius in
microseconds, instead of asking the embedded engine to read every candidate.

The directory changes rarely and its coordinates are small (133,762 points ≈ 3 MB), so
each process keeps them in memory: a k-d tree (SciPy's ``cKDTree``) over unit vectors,
plus, per point, what a filter asks about (``kinds``, ``services``, ``areas``). A query
takes the points within the chord of the radius, keeps those the filter allows, measures
them with the same haversine as the grid-cell path (``great_circle_m``, vectorised) and
orders them by (distance, id) — the order and the total of ``$geoNear``. Only the page's
documents are then read, by ``_id``.

Staying in step: every write through :class:`storage.cooperatives.CooperativeRepository`
that can move a point or change what a filter sees bumps ``meta.directory_version``
(:func:`bump`). A query first reads that number (one small read by ``_id``, remembered
for ``VERSION_FRESH_S``); the index answers only when it was built from that very
version. A change made by this process is seen by its next query (the repository calls
:meth:`SpatialIndex.changed`); one made by another bot process or the CLI importer within
a second. Otherwise the caller falls back to the grid cells while one background task
rebuilds the index (see bench/README.md for how long at national size).

The page's documents: the fields a result list shows (``LIST_PROJECTION``) of the last
``LISTED_CACHED`` cooperatives listed are kept too, under a second counter of the same
document (``listed``), which every write of a listed field bumps — a badge, a name, the
verified mark — without rebuilding the index (:func:`bump` with ``index=False``). A list
is then answered with no read at all when its five were listed recently: the read by
``_id`` was one of the three database round trips of a location search on the embedded
engine (bench/README.md §1c).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from bson import ObjectId
from scipy.spatial import cKDTree

from storage.geocells import MONGO_EARTH_RADIUS_M
from storage.models import CooperativeFilter, Point

log = logging.getLogger(__name__)

VERSION_ID = "directory_version"
# How long a read of the directory's version is trusted: a change by another process is
# seen within this time. Reading it for every search was one of the four database
# commands of a location search (bench/README.md §1b).
VERSION_FRESH_S = 1.0
# How many cooperatives' listed fields are kept (least recently listed dropped first):
# ~1 KiB each, ~10 MiB at most (measured with tracemalloc).
LISTED_CACHED = 10_000
_FIELDS = {"loc": 1, "kinds": 1, "services": 1, "areas": 1, "name_tokens": 1, "name_lower": 1}


async def bump(meta: Any, *, index: bool = True) -> None:
    """Say that the directory changed: every process's index rebuilds before answering
    (``index``: a point, a filter's field or a name changed) and forgets the listed
    fields it kept (always)."""
    inc = {"v": 1, "listed": 1} if index else {"listed": 1}
    await meta.update_one({"_id": VERSION_ID}, {"$inc": inc}, upsert=True)


async def directory_changed(store: Any, *, index: bool = True) -> None:
    """:func:`bump`, and tell this process's index at once (``store.spatial``)."""
    await bump(store["meta"], index=index)
    if store.spatial is not None:
        store.spatial.changed()


async def current_versions(meta: Any) -> tuple[int, int]:
    """The directory's two counters: (the index's, the listed fields')."""
    doc = await meta.find_one({"_id": VERSION_ID})
    if not doc:
        return 0, 0
    return int(doc.get("v", 0)), int(doc.get("listed", 0))


async def current_version(meta: Any) -> int:
    return (await current_versions(meta))[0]


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: the chord between two grows with their great-circle
    distance, so a k-d tree over them finds the nearest on the sphere."""
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    """:func:`unit_vectors` of one point (without numpy's per-call cost)."""
    phi, lam = math.radians(lat), math.radians(lon)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def haversine_m(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """``storage.geocells.great_circle_m`` from one point to many (same formula, so the
    same distances and ties as the grid-cell path)."""
    p1, p2 = math.radians(lat), np.radians(lats)
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * np.cos(p2) * np.sin(np.radians(lons - lon) / 2) ** 2
    )
    return 2 * MONGO_EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))


@dataclass(slots=True)
class _Built:
    version: int
    ids: list[ObjectId]  # in ObjectId order: a point's position breaks distance ties
    lats: np.ndarray
    lons: np.ndarray
    tree: Any  # cKDTree (untyped)
    # ("kinds"|"services"|"areas", value) → rows; these and by_token's rows are ascending
    by_value: dict[tuple[str, str], np.ndarray]
    by_token: dict[str, np.ndarray]  # a name word → the rows whose name has it
    by_name: dict[str, int]  # a lower-cased whole name → its first row
    same_names: dict[str, list[int]]  # … → every row, for names that several share


class SpatialIndex:
    """One per process (``Store.spatial``), shared by every repository over that store."""

    def __init__(
        self,
        col: Any,
        meta: Any,
        *,
        fresh_s: float = VERSION_FRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._col = col
        self._meta = meta
        self.fresh_s = fresh_s
        self.clock = clock
        self._version: int | None = None  # the last version read, and when
        self._version_at = 0.0
        self._listed = 0  # the listed fields' counter, read with it
        self._docs: OrderedDict[ObjectId, dict[str, Any]] = OrderedDict()
        self._docs_listed: int | None = None  # the counter ``_docs`` were read under
        self.docs_cached = LISTED_CACHED
        self._built: _Built | None = None
        self._building: asyncio.Task[None] | None = None
        self.builds = 0  # how many times it was built (tests, logs)

    @property
    def size(self) -> int:
        return len(self._built.ids) if self._built else 0

    async def ranked(
        self, point: Point, max_distance_m: float | None, filt: CooperativeFilter | None
    ) -> list[tuple[float, ObjectId]] | None:
        """(distance, id) of every match, nearest first (within ``max_distance_m``, or in
        the filter's area when it is None); None when the index cannot answer now (not
        built from the current directory, or nothing narrows an unbounded search)."""
        found = await self.ranked_page(point, max_distance_m, filt)
        return None if found is None else found[1]

    async def ranked_page(
        self,
        point: Point,
        max_distance_m: float | None,
        filt: CooperativeFilter | None,
        skip: int = 0,
        limit: int | None = None,
    ) -> tuple[int, list[tuple[float, ObjectId]]] | None:
        """How many match (as :meth:`ranked`) and (distance, id) of ``limit`` of them from
        ``skip`` on (all when ``limit`` is None): only the page is ordered and named, not
        the hundreds a city's circle holds."""
        built = await self.ready()
        if built is None:
            return None
        if max_distance_m is None:
            if filt is None or not filt.area_code:
                return None
            rows = built.by_value.get(("areas", filt.area_code), np.empty(0, dtype=np.int64))
        else:
            chord = 2 * math.sin(min(math.pi, max_distance_m / MONGO_EARTH_RADIUS_M) / 2)
            # A hair wider than the chord: the exact distance below decides.
            centre = unit_vector(point.lat, point.lon)
            found = built.tree.query_ball_point(centre, chord * (1 + 1e-9) + 1e-12)
            rows = np.asarray(found, dtype=np.int64)
        rows = self._filtered(built, rows, filt)
        if rows.size == 0:
            return 0, []
        dist = haversine_m(point.lat, point.lon, built.lats[rows], built.lons[rows])
        if max_distance_m is not None:
            keep = dist <= max_distance_m
            rows, dist = rows[keep], dist[keep]
        total = int(rows.size)
        end = total if limit is None else min(total, skip + max(0, limit))
        if skip >= end:
            return total, []
        if end < total:
            # Only what can be among the first ``end``: every point up to the end-th
            # smallest distance (ties included, ordered by id below).
            near = dist <= np.partition(dist, end - 1)[end - 1]
            rows, dist = rows[near], dist[near]
        order = np.lexsort((rows, dist))[skip:end]
        return total, [(float(dist[i]), built.ids[int(rows[i])]) for i in order]

    async def count(self, filt: CooperativeFilter) -> int | None:
        """How many cooperatives ``filt`` allows (type, service, area: an area's list is
        kept here, so counting it reads no document); None when the index cannot answer
        now (not built from the current directory)."""
        built = await self.ready()
        if built is None:
            return None
        for field, value in (
            ("areas", filt.area_code),
            ("kinds", filt.type),
            ("services", filt.service),
        ):
            if value:
                start = built.by_value.get((field, value))
                if start is None:
                    return 0
                return int(self._filtered(built, start, filt).size)
        return len(built.ids)

    async def count_tokens(self, tokens: Iterable[str], limit: int) -> int | None:
        """How many names have any of ``tokens``, up to ``limit`` (as the database's
        count with a limit); None when the index cannot answer now. The database read
        every index key of a common word for this: up to a minute for the four words of
        "Koperasi Desa Merah Putih" at national size."""
        built = await self.ready()
        if built is None:
            return None
        found = [built.by_token[t] for t in set(tokens) if t in built.by_token]
        if not found:
            return 0
        return min(int(_union(found, len(built.ids)).size), limit)

    async def with_any_token(
        self, tokens: Iterable[str], filt: CooperativeFilter | None, limit: int
    ) -> list[ObjectId] | None:
        """The ids of names with any of ``tokens`` that ``filt`` allows, the first
        ``limit`` in id order; None when the index cannot answer now."""
        built = await self.ready()
        if built is None:
            return None
        found = [built.by_token[t] for t in set(tokens) if t in built.by_token]
        if not found:
            return []
        narrowest = self._narrowest(built, filt)
        if narrowest is None:
            rows = _union(found, len(built.ids))
        else:
            # The filter's rows (an area's thousand) kept where a word is: common words'
            # rows (tens of thousands) are searched, never merged.
            keep = np.zeros(narrowest.size, dtype=bool)
            for sorted_rows in found:
                keep |= _member(narrowest, sorted_rows)
            rows = narrowest[keep]
        return self._ids(built, self._filtered(built, rows, filt), limit)

    @staticmethod
    def _narrowest(built: _Built, filt: CooperativeFilter | None) -> np.ndarray | None:
        """The fewest rows one of the filter's values allows (None: no filter)."""
        if filt is None:
            return None
        allowed = [
            built.by_value.get((field, value), np.empty(0, dtype=np.int64))
            for field, value in (
                ("kinds", filt.type),
                ("services", filt.service),
                ("areas", filt.area_code),
            )
            if value
        ]
        return min(allowed, key=lambda a: a.size) if allowed else None

    async def with_all_tokens(
        self, groups: Iterable[Iterable[str]], filt: CooperativeFilter | None, limit: int
    ) -> list[ObjectId] | None:
        """The ids of names with, for every group, one of its words (that ``filt``
        allows; the first ``limit`` in id order); None when the index cannot answer now."""
        built = await self.ready()
        if built is None:
            return None
        found = [
            [built.by_token[t] for t in set(group) if t in built.by_token] for group in groups
        ]
        if not found or not all(found):
            return []
        # The rarest group's names, kept where another group's words are too (each
        # word's rows are sorted: a binary search, not a set operation over a common word's
        # thousands of rows).
        found.sort(key=lambda arrays: sum(a.size for a in arrays))
        rows = _union(found[0], len(built.ids))
        for arrays in found[1:]:
            keep = np.zeros(rows.size, dtype=bool)
            for sorted_rows in arrays:
                keep |= _member(rows, sorted_rows)
            rows = rows[keep]
            if rows.size == 0:
                return []
        return self._ids(built, self._filtered(built, rows, filt), limit)

    async def named(
        self, name_lower: str, filt: CooperativeFilter | None, limit: int
    ) -> list[ObjectId] | None:
        """The ids of the cooperatives named exactly ``name_lower`` (lower-cased) that
        ``filt`` allows; None when the index cannot answer now."""
        built = await self.ready()
        if built is None:
            return None
        rows = built.same_names.get(name_lower)
        if rows is None:
            first = built.by_name.get(name_lower)
            rows = [] if first is None else [first]
        return self._ids(built, self._filtered(built, np.array(rows, dtype=np.int64), filt), limit)

    @staticmethod
    def _ids(built: _Built, rows: np.ndarray, limit: int) -> list[ObjectId]:
        return [built.ids[int(r)] for r in rows[:limit]]

    @staticmethod
    def _filtered(built: _Built, rows: np.ndarray, filt: CooperativeFilter | None) -> np.ndarray:
        if filt is None:
            return rows
        for field, value in (
            ("kinds", filt.type),
            ("services", filt.service),
            ("areas", filt.area_code),
        ):
            if value:
                allowed = built.by_value.get((field, value))
                if allowed is None:
                    return np.empty(0, dtype=np.int64)
                rows = rows[_member(rows, allowed)]
        return rows

    def changed(self) -> None:
        """This process changed the directory: read its version again at the next query."""
        self._version = None

    async def _current_version(self) -> int:
        now = self.clock()
        if self._version is None or now - self._version_at >= self.fresh_s:
            self._version, self._listed = await current_versions(self._meta)
            self._version_at = now
        return self._version

    async def listed(
        self,
        ids: Iterable[ObjectId],
        read: Callable[[list[ObjectId]], AsyncIterator[dict[str, Any]]],
    ) -> dict[ObjectId, dict[str, Any]]:
        """The listed fields of ``ids`` by id: those kept from an earlier list while no
        listed field changed since, the others through ``read`` (and kept). The
        documents are shared: callers must not change them."""
        await self._current_version()
        listed = self._listed
        if self._docs_listed != listed:
            self._docs.clear()
            self._docs_listed = listed
        found: dict[ObjectId, dict[str, Any]] = {}
        missing: list[ObjectId] = []
        for oid in ids:
            doc = self._docs.get(oid)
            if doc is None:
                missing.append(oid)
            else:
                self._docs.move_to_end(oid)
                found[oid] = doc
        if missing:
            async for doc in read(missing):
                found[doc["_id"]] = doc
                # Not if a change was seen meanwhile: the read may be older than it.
                if self._docs_listed == listed:
                    self._docs[doc["_id"]] = doc
            while len(self._docs) > self.docs_cached:
                self._docs.popitem(last=False)
        return found

    async def ready(self) -> _Built | None:
        """The index if it was built from the current directory; else None, and a rebuild
        runs in the background (one at a time)."""
        version = await self._current_version()
        built = self._built
        if built is not None and built.version == version:
            return built
        if self._building is None or self._building.done():
            self._building = asyncio.create_task(self._build(), name="spatial-index")
        return None

    async def warm(self) -> None:
        """Build now (at start, so the first searches need not fall back)."""
        if self._building is None or self._building.done():
            self._building = asyncio.create_task(self._build(), name="spatial-index")
        await asyncio.shield(self._building)

    async def close(self) -> None:
        if self._building is not None and not self._building.done():
            self._building.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._building

    async def _build(self) -> None:
        # Read the version first: a write during the read bumps it again, so this build
        # is never mistaken for the newer directory (the next query rebuilds).
        version, self._listed = await current_versions(self._meta)
        self._version, self._version_at = version, self.clock()  # a fresh read
        ids: list[ObjectId] = []
        lats: list[float] = []
        lons: list[float] = []
        values: dict[tuple[str, str], list[int]] = {}
        tokens: dict[str, list[int]] = {}
        by_name: dict[str, int] = {}
        same_names: dict[str, list[int]] = {}
        cursor = self._col.find({}, _FIELDS).sort("_id", 1).batch_size(5000)
        async for doc in cursor:
            loc = doc.get("loc")
            if not isinstance(loc, dict):
                continue
            row = len(ids)
            ids.append(doc["_id"])
            lon, lat = loc["coordinates"]
            lats.append(float(lat))
            lons.append(float(lon))
            for field in ("kinds", "services", "areas"):
                for value in set(_strings(doc.get(field))):
                    values.setdefault((field, value), []).append(row)
            for token in set(_strings(doc.get("name_tokens"))):
                tokens.setdefault(token, []).append(row)
            name = doc.get("name_lower")
            if isinstance(name, str):
                first = by_name.setdefault(name, row)
                if first != row:
                    same_names.setdefault(name, [first]).append(row)
        lat_a, lon_a = np.array(lats, dtype=np.float64), np.array(lons, dtype=np.float64)
        tree = cKDTree(unit_vectors(lat_a, lon_a) if ids else np.zeros((0, 3)))
        self._built = _Built(
            version=version,
            ids=ids,
            lats=lat_a,
            lons=lon_a,
            tree=tree,
            by_value={k: np.array(v, dtype=np.int64) for k, v in values.items()},
            by_token={k: np.array(v, dtype=np.int32) for k, v in tokens.items()},
            by_name=by_name,
            same_names=same_names,
        )
        self.builds += 1
        log.info("spatial index built points=%s version=%s", len(ids), version)


def _union(arrays: list[np.ndarray], size: int) -> np.ndarray:
    """The rows (below ``size``) of any of ``arrays``, sorted and once each: marked in one
    array of flags (a hash-based unique of a common word's 100,000 rows took 6 ms)."""
    if not arrays:
        return np.empty(0, dtype=np.int64)
    if len(arrays) == 1:
        return arrays[0]
    seen = np.zeros(size, dtype=bool)
    for rows in arrays:
        seen[rows] = True
    return np.flatnonzero(seen)


def _member(rows: np.ndarray, sorted_rows: np.ndarray) -> np.ndarray:
    """For each of ``rows``, whether it is in ``sorted_rows`` (ascending)."""
    if sorted_rows.size == 0:
        return np.zeros(rows.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_rows, rows), sorted_rows.size - 1)
    return np.asarray(sorted_rows[at] == rows, dtype=bool)


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, list):
        return (v for v in value if isinstance(v, str))
    return ()
