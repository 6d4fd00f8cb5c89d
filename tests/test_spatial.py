"""The in-process spatial index (storage/spatial.py): the same answers as ``$geoNear`` and
the grid cells, and in step — a change by this process is seen by its next search, one by
another process within ``VERSION_FRESH_S``."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from bot.app import Services, build_services
from bot.config import Settings
from bot.services.gazetteer import Gazetteer
from bot.services.names import name_tokens
from storage.cooperatives import CooperativeRepository, filter_query, parse_id
from storage.models import CooperativeFilter, Point
from storage.mongo import Store
from storage.spatial import VERSION_FRESH_S, directory_changed
from tests.factories import csv_bytes, directory
from tests.test_geocells import SOLO, same_ranking


@pytest.fixture
async def region(services: Services, gazetteer: Gazetteer) -> list[dict[str, Any]]:
    rows = directory(gazetteer, region="33.72", n=300)
    report = await services.importer.import_bytes(csv_bytes(rows))
    assert report.errors == []
    return rows


async def three_ways(store: Store, call: Any) -> tuple[Any, Any, Any]:
    """``call`` answered by ``$geoNear``, by the grid cells, and by the index."""
    saved = store.geo_mode, store.spatial_index
    try:
        store.geo_mode = "geonear"
        by_geonear = await call()
        store.geo_mode, store.spatial_index = "cells", False
        by_cells = await call()
        store.spatial_index = True
        by_index = await call()
    finally:
        store.geo_mode, store.spatial_index = saved
    return by_geonear, by_cells, by_index


def repo(services: Services) -> CooperativeRepository:
    coops = services.directory.coops
    assert isinstance(coops, CooperativeRepository)
    return coops


async def warm(coops: CooperativeRepository) -> None:
    await coops.spatial().warm()
    assert await coops.spatial().ready() is not None


async def warmed(services: Services, store: Store) -> tuple[CooperativeRepository, Any, Any]:
    """The repository, its index built, and the collection to check it against."""
    coops = repo(services)
    await warm(coops)
    return coops, coops.spatial(), store["cooperatives"]


class TestSameAnswers:
    async def test_pages_totals_and_filters(
        self, services: Services, region: list[dict[str, Any]], store: Store
    ) -> None:
        coops = repo(services)
        await warm(coops)
        builds = coops.spatial().builds
        rng = random.Random(11)
        filters = [
            None,
            CooperativeFilter(type="konsumen"),
            CooperativeFilter(service="simpan_pinjam"),
            CooperativeFilter(type="produsen", service="toko"),
            CooperativeFilter(area_code="33.72"),
            CooperativeFilter(type="nonexistent"),
        ]
        compared = 0
        for _ in range(20):
            point = Point(SOLO.lat + rng.uniform(-0.2, 0.2), SOLO.lon + rng.uniform(-0.2, 0.2))
            for radius in (500, 3_000, 20_000, 150_000):
                filt = rng.choice(filters)
                skip = rng.choice((0, 5, 10))
                geo, cells, index = await three_ways(
                    store,
                    lambda p=point, r=radius, f=filt, k=skip: coops.near_page(
                        p, max_distance_m=r, filt=f, skip=k, limit=5
                    ),
                )
                assert geo[0] == cells[0] == index[0]
                same_ranking(geo[1], index[1])
                assert [c.id for c in cells[1]] == [c.id for c in index[1]]
                compared += len(index[1])
        assert compared > 100
        # An area without a distance (a typed place) is answered from the index too.
        geo, cells, index = await three_ways(
            store,
            lambda: coops.nearest(
                SOLO, max_distance_m=None, filt=CooperativeFilter(area_code="33.72"), limit=50
            ),
        )
        same_ranking(geo, index)
        assert [c.id for c in cells] == [c.id for c in index]
        assert coops.spatial().builds == builds  # nothing changed: never rebuilt

    async def test_a_page_is_the_slice_of_the_whole_ranking(
        self, services: Services, region: list[dict[str, Any]], store: Store
    ) -> None:
        """Only the page is ordered (``ranked_page``): the same total and the same slice as
        ordering every match, ties at the page's edge included."""
        _, index, _ = await warmed(services, store)
        rng = random.Random(5)
        twins = [{**region[0], "registration_number": f"TIE-{i}"} for i in range(4)]
        await services.importer.import_bytes(csv_bytes(twins))  # four at one place
        await index.warm()
        tie = Point(float(region[0]["latitude"]), float(region[0]["longitude"]))
        points = [tie] + [
            Point(SOLO.lat + rng.uniform(-0.2, 0.2), SOLO.lon + rng.uniform(-0.2, 0.2))
            for _ in range(30)
        ]
        for point in points:
            for radius in (1_000, 10_000, 60_000):
                whole = await index.ranked(point, radius, None)
                for skip, limit in ((0, 5), (0, 1), (2, 3), (5, 5), (10, 5), (400, 5), (0, 0)):
                    found = await index.ranked_page(point, radius, None, skip, limit)
                    assert found == (len(whole), whole[skip : skip + limit])

    async def test_a_point_on_the_radius_and_ties(self, services: Services, store: Store) -> None:
        # Two cooperatives at the very same place and one exactly 1 km away.
        north = 1_000 / 6_378_100.0 * 180 / 3.141592653589793
        rows = [
            {
                "name": f"Koperasi Kembar {i}",
                "type": "konsumen",
                "latitude": str(SOLO.lat),
                "longitude": str(SOLO.lon),
                "registration_number": f"TW-{i}",
            }
            for i in (1, 2)
        ]
        rows.append(
            {
                "name": "Koperasi Tepi",
                "type": "konsumen",
                "latitude": f"{SOLO.lat + north:.10f}",
                "longitude": str(SOLO.lon),
                "registration_number": "TW-3",
            }
        )
        await services.importer.import_bytes(csv_bytes(rows))
        coops = repo(services)
        await warm(coops)
        for radius in (999.0, 1_000.0, 1_001.0):
            geo, cells, index = await three_ways(
                store, lambda r=radius: coops.near_page(SOLO, max_distance_m=r, limit=5)
            )
            assert geo[0] == cells[0] == index[0]
            assert [c.id for c in cells[1]] == [c.id for c in index[1]]


class TestNameWords:
    async def test_name_word_counts_from_the_index_as_the_database_counts(
        self, services: Services, region: list[dict[str, Any]], store: Store
    ) -> None:
        coops, index, col = await warmed(services, store)
        words = Counter(t for row in region for t in set(name_tokens(row["name"])))
        common, *_, rare = [w for w, _ in words.most_common()]
        for tokens, limit in (
            ([common], 101),
            ([common], 5),
            ([rare], 101),
            ([common, rare], 1000),
            ([rare, "zzzunknown"], 101),
            (["zzzunknown"], 101),
        ):
            expected = await col.count_documents({"name_tokens": {"$in": tokens}}, limit=limit)
            assert await index.count_tokens(tokens, limit) == expected, tokens
            assert await coops.count_tokens(tokens, limit=limit) == expected, tokens
        assert words[common] > 5  # the limit was tested

    async def test_names_read_from_the_index_as_from_the_database(
        self, services: Services, region: list[dict[str, Any]], store: Store
    ) -> None:
        """Typed name searches (any word, every word, a whole name) answered from the
        index and its kept fields: the same cooperatives as the database's indexes."""
        coops, _, _ = await warmed(services, store)
        words = Counter(t for row in region for t in set(name_tokens(row["name"])))
        ranked = [w for w, _ in words.most_common()]
        common, second, rare = ranked[0], ranked[1], ranked[-1]
        filters = [None, CooperativeFilter(type="konsumen"), CooperativeFilter(area_code="33.72")]

        async def both(call: Any) -> tuple[Any, Any]:
            store.spatial_index = False
            try:
                by_db = await call()
            finally:
                store.spatial_index = True
            return by_db, await call()

        checked = 0
        for filt in filters:
            for tokens in ([common], [rare], [common, rare], ["zzzunknown"], [second, rare]):
                by_db, by_index = await both(
                    lambda t=tokens, f=filt: coops.by_tokens(t, filt=f, limit=1000)
                )
                assert sorted(c.id for c in by_db) == sorted(c.id for c in by_index), tokens
                checked += len(by_index)
            for groups in ([[common], [second]], [[rare, common], [second]], [["zzz"], [rare]]):
                by_db, by_index = await both(
                    lambda g=groups, f=filt: coops.by_all_tokens(g, filt=f, limit=1000)
                )
                assert sorted(c.id for c in by_db) == sorted(c.id for c in by_index), groups
            for shouted in (region[0]["name"].upper(), region[1]["name"], "Tidak Ada Sama"):
                by_db, by_index = await both(lambda n=shouted, f=filt: coops.by_name(n, filt=f))
                assert [c.id for c in by_db] == [c.id for c in by_index]
                assert [c.name for c in by_db] == [c.name for c in by_index]
        assert checked > 100
        # Two cooperatives of one name: both, and a limit keeps the first in id order.
        twin = {**region[0], "registration_number": "TWIN-1"}
        await services.importer.import_bytes(csv_bytes([twin]))
        await warm(coops)
        by_db, by_index = await both(lambda: coops.by_name(region[0]["name"]))
        assert len(by_index) == 2 and {c.id for c in by_db} == {c.id for c in by_index}
        assert len(await coops.by_name(region[0]["name"], limit=1)) == 1
        assert coops.spatial().builds == 2


class TestAreas:
    async def test_counts_and_area_pages_from_the_index(
        self, services: Services, region: list[dict[str, Any]], store: Store
    ) -> None:
        coops, index, col = await warmed(services, store)
        for filt in (
            CooperativeFilter(area_code="33.72"),
            CooperativeFilter(area_code="33.72", type="konsumen"),
            CooperativeFilter(service="simpan_pinjam"),
            CooperativeFilter(type="produsen", service="toko"),
            CooperativeFilter(area_code="99.99"),
            CooperativeFilter(type="nonexistent"),
        ):
            expected = await col.count_documents(filter_query(filt))
            assert await index.count(filt) == expected, filt
            assert await coops.count(filt) == expected, filt
            if filt.area_code:
                # A typed place: the total and the page from one ranking, on every path.
                geo, cells, by_index = await three_ways(
                    store,
                    lambda f=filt: coops.near_page(SOLO, max_distance_m=None, filt=f, limit=5),
                )
                assert geo[0] == cells[0] == by_index[0] == expected
                same_ranking(geo[1], by_index[1])
                assert [c.id for c in cells[1]] == [c.id for c in by_index[1]]
        # After a change the index does not answer until it is rebuilt; the count stays right.
        filt = CooperativeFilter(area_code="33.72")
        before = await coops.count(filt)
        await services.importer.import_bytes(
            csv_bytes([{**region[0], "registration_number": "X"}])
        )
        assert await index.count(filt) is None
        assert await coops.count(filt) == before + 1


class TestNeverStale:
    async def test_an_import_is_seen_by_the_next_search(
        self, services: Services, region: list[dict[str, Any]], store: Store
    ) -> None:
        coops = repo(services)
        await warm(coops)
        before, _ = await coops.near_page(SOLO, max_distance_m=2_000)
        new = {
            "name": "Koperasi Baru Sekali",
            "type": "konsumen",
            "latitude": str(SOLO.lat),
            "longitude": str(SOLO.lon),
            "registration_number": "NEW-1",
        }
        await services.importer.import_bytes(csv_bytes([new]))
        after, page = await coops.near_page(SOLO, max_distance_m=2_000)
        assert after == before + 1 and page[0].name == "Koperasi Baru Sekali"
        await warm(coops)  # rebuilt from the new directory, same answer
        assert (await coops.near_page(SOLO, max_distance_m=2_000))[0] == after

    async def test_another_process_sees_a_moved_cooperative(
        self, services: Services, settings: Settings, region: list[dict[str, Any]], store: Store
    ) -> None:
        other_store = Store(store.client, store.db.name)  # another process's store
        other = build_services(other_store, settings)
        mine, theirs = repo(services), repo(other)
        now = [1000.0]
        mine.spatial().clock = lambda: now[0]
        await warm(mine)
        await warm(theirs)
        total, page = await mine.near_page(SOLO, max_distance_m=100_000, limit=1)
        far = Point(-8.65, 115.22)  # Denpasar: nothing of the region is near
        assert (await mine.near_page(far, max_distance_m=5_000))[0] == 0
        moved = page[0]
        assert await theirs.set_fields(
            moved.id, {"loc": {"type": "Point", "coordinates": [far.lon, far.lat]}}
        )
        # Within the second the version read is trusted: the old answer, still consistent.
        assert (await mine.near_page(far, max_distance_m=5_000))[0] == 0
        now[0] += VERSION_FRESH_S
        count, near_far = await mine.near_page(far, max_distance_m=5_000)
        assert count == 1 and near_far[0].id == moved.id
        assert (await mine.near_page(SOLO, max_distance_m=100_000))[0] == total - 1

    async def test_edited_services_change_the_filter(
        self, services: Services, region: list[dict[str, Any]], store: Store
    ) -> None:
        coops = repo(services)
        await warm(coops)
        filt = CooperativeFilter(service="klinik")
        before, _ = await coops.near_page(SOLO, max_distance_m=200_000, filt=filt, limit=1)
        _, all_page = await coops.near_page(SOLO, max_distance_m=200_000, limit=50)
        target = next(c for c in all_page if "klinik" not in c.services)
        await coops.set_fields(target.id, {"services": [*target.services, "klinik"]})
        # This process's own change: seen at once, without waiting for the version to age.
        coops.spatial().clock = lambda: 0.0
        assert (await coops.near_page(SOLO, max_distance_m=200_000, filt=filt))[0] == before + 1


class TestListedFields:
    """A result list's fields are kept per process (``SpatialIndex.listed``) while no
    listed field changes: a list is then answered without reading its documents, and a
    badge, a verified mark or a name changed anywhere is still shown."""

    async def test_a_list_again_reads_nothing_and_a_badge_is_seen_at_once(
        self, services: Services, region: list[dict[str, Any]], store: Store
    ) -> None:
        coops, _, col = await warmed(services, store)
        _, first = await coops.near_page(SOLO, max_distance_m=20_000)
        target = first[0]
        # Behind the repository's back (no counter bumped): the kept fields answer, which
        # is how it shows that nothing was read.
        await col.update_one({"_id": parse_id(target.id)}, {"$set": {"name": "Diam-diam"}})
        _, again = await coops.near_page(SOLO, max_distance_m=20_000)
        assert [c.name for c in again] == [c.name for c in first]
        assert [c.distance_m for c in again] == [c.distance_m for c in first]
        # Through the repository: the verified mark, then the "on the platform" badge of
        # a board granted — both seen by the next list, with the fields read again.
        assert await coops.set_fields(target.id, {"verified": True})
        _, page = await coops.near_page(SOLO, max_distance_m=20_000)
        assert page[0].verified and page[0].name == "Diam-diam"
        assert not page[1].on_platform
        assert await services.admin.admins.add(page[1].id, 777)
        _, page = await coops.near_page(SOLO, max_distance_m=20_000)
        assert page[1].on_platform
        assert coops.spatial().builds == 1  # a badge does not rebuild the index

    async def test_another_process_change_is_seen_within_the_second(
        self, services: Services, settings: Settings, region: list[dict[str, Any]], store: Store
    ) -> None:
        other = build_services(Store(store.client, store.db.name), settings)
        mine, theirs = repo(services), repo(other)
        now = [1000.0]
        mine.spatial().clock = lambda: now[0]
        await warm(mine)
        _, page = await mine.near_page(SOLO, max_distance_m=20_000)
        assert not page[0].verified
        assert await theirs.set_fields(page[0].id, {"verified": True})
        assert not (await mine.near_page(SOLO, max_distance_m=20_000))[1][0].verified
        now[0] += VERSION_FRESH_S
        assert (await mine.near_page(SOLO, max_distance_m=20_000))[1][0].verified

    async def test_bounded_and_never_kept_from_before_a_change(
        self, services: Services, region: list[dict[str, Any]], store: Store
    ) -> None:
        coops, index, col = await warmed(services, store)
        index.docs_cached = 3
        total, page = await coops.near_page(SOLO, max_distance_m=50_000, limit=10)
        assert total >= 10 and len(page) == 10
        assert len(index._docs) == 3
        assert [
            c.id for c in (await coops.near_page(SOLO, max_distance_m=50_000, limit=10))[1]
        ] == [c.id for c in page]
        # A change seen while a page is being read: what that read returned is not kept
        # under the newer counter (it may be older than the change).
        index.docs_cached = 100
        ids = [parse_id(c.id) for c in page]

        async def read_with_a_change(missing: list[Any]) -> Any:
            docs = [doc async for doc in col.find({"_id": {"$in": missing}})]
            yield docs[0]
            await directory_changed(store, index=False)
            await index.listed([], read_with_a_change)  # another list sees the change
            for doc in docs[1:]:
                yield doc

        await directory_changed(store, index=False)
        found = await index.listed(ids, read_with_a_change)
        assert len(found) == 10 and len(index._docs) == 0
