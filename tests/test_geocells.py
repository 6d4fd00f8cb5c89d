"""Grid-cell nearest-first search (the embedded engine's path) against ``$geoNear``."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import Services
from bot.services.gazetteer import Gazetteer
from storage.geocells import LEVELS_DEG, MAX_CELLS, cell_keys, covering, great_circle_m
from storage.models import CooperativeFilter, Point
from storage.mongo import Store
from tests.factories import csv_bytes, directory

SOLO = Point(-7.5666, 110.8167)


class TestCovering:
    @settings(max_examples=400, deadline=None)
    @given(
        lat=st.floats(-60, 60),
        lon=st.floats(-170, 170),
        radius=st.floats(5, 600_000),
        u=st.floats(-1.2, 1.2),
        v=st.floats(-1.2, 1.2),
    )
    def test_every_point_within_the_radius_is_in_a_covered_cell(
        self, lat: float, lon: float, radius: float, u: float, v: float
    ) -> None:
        cells = covering(lat, lon, radius)
        if cells is None:
            return
        assert len(cells) <= MAX_CELLS
        # A point somewhere in the box around the circle; if it is inside the circle, the
        # covering must hold its cell.
        dlat = radius / 111_000
        plat = lat + u * dlat
        plon = lon + v * dlat / max(0.05, math.cos(math.radians(plat)))
        if not -180 <= plon <= 180:
            return
        if great_circle_m(lat, lon, plat, plon) <= radius:
            assert set(cell_keys(plat, plon)) & set(cells)

    def test_a_village_radius_reads_about_nine_fine_cells(self) -> None:
        cells = covering(SOLO.lat, SOLO.lon, 5_000)
        assert cells is not None and 4 <= len(cells) <= 9
        assert all(key.startswith(f"{LEVELS_DEG[0]:g}:") for key in cells)

    @pytest.mark.parametrize(
        "lat, lon, radius",
        [
            (89.5, 0.0, 1_000),  # reaches the pole
            (-88.9, 10.0, 50_000),
            (0.0, 179.99, 5_000),  # crosses the antimeridian
            (0.0, -179.99, 5_000),
            (float("nan"), 110.0, 5_000),
            (0.0, float("inf"), 5_000),
            (0.0, 110.0, float("inf")),
            (0.0, 110.0, 5_000_000),  # more cells than reading them is worth
        ],
    )
    def test_cells_decline_what_they_cannot_answer(
        self, lat: float, lon: float, radius: float
    ) -> None:
        assert covering(lat, lon, radius) is None


@pytest.fixture
async def two_regions(services: Services, gazetteer: Gazetteer) -> None:
    rows = directory(gazetteer, region="33.72", n=300)
    for row in directory(gazetteer, region="35.78", n=200, seed=9):
        rows.append({**row, "registration_number": "SBY-" + row["registration_number"]})
    report = await services.importer.import_bytes(csv_bytes(rows))
    assert report.errors == []


async def both_ways(store: Store, call):
    saved = store.geo_mode
    try:
        store.geo_mode = "geonear"
        by_geonear = await call()
        store.geo_mode = "cells"
        by_cells = await call()
    finally:
        store.geo_mode = saved
    return by_geonear, by_cells


def same_ranking(a: list, b: list) -> None:
    assert [c.distance_m for c in b] == sorted(c.distance_m for c in b)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.distance_m == pytest.approx(y.distance_m, rel=1e-6, abs=0.01)

    # Equal distances may come in either order; as sets per distance they agree.
    def groups(items: list) -> list[tuple[float, frozenset[str]]]:
        out: dict[float, set[str]] = {}
        for c in items:
            out.setdefault(round(c.distance_m, 1), set()).add(c.id)
        return sorted((d, frozenset(ids)) for d, ids in out.items())

    assert groups(a) == groups(b)


class TestSameAnswersAsGeoNear:
    async def test_nearest_and_counts_agree(
        self, services: Services, two_regions: None, gazetteer: Gazetteer, store: Store
    ) -> None:
        coops = services.directory.coops
        rng = random.Random(5)
        compared = 0
        filters = [
            None,
            CooperativeFilter(type="konsumen"),
            CooperativeFilter(service="simpan_pinjam"),
            CooperativeFilter(type="produsen", service="toko"),
        ]
        for _ in range(12):
            point = Point(SOLO.lat + rng.uniform(-0.3, 0.3), SOLO.lon + rng.uniform(-0.3, 0.3))
            for radius in (1_000, 5_000, 25_000, 100_000):
                filt = rng.choice(filters)
                skip = rng.choice((0, 0, 5, 10))
                a, b = await both_ways(
                    store,
                    lambda p=point, r=radius, f=filt, k=skip: coops.nearest(
                        p, max_distance_m=r, filt=f, skip=k, limit=20
                    ),
                )
                same_ranking(a, b)
                compared += len(b)
                n_geo, n_cells = await both_ways(
                    store,
                    lambda p=point, r=radius, f=filt: coops.count_near(
                        p, max_distance_m=r, filt=f
                    ),
                )
                assert n_geo == n_cells
                (t_geo, page_geo), (t_cells, page_cells) = await both_ways(
                    store,
                    lambda p=point, r=radius, f=filt, k=skip: coops.near_page(
                        p, max_distance_m=r, filt=f, skip=k, limit=5
                    ),
                )
                assert t_geo == t_cells == n_cells
                same_ranking(page_geo, page_cells)
        assert compared > 300  # most searches found something to compare

    async def test_area_without_distance_agrees(
        self, services: Services, two_regions: None, store: Store
    ) -> None:
        coops = services.directory.coops
        for code in ("33.72", "35.78"):
            filt = CooperativeFilter(area_code=code)
            a, b = await both_ways(
                store,
                lambda f=filt: coops.nearest(SOLO, max_distance_m=None, filt=f, skip=3, limit=50),
            )
            same_ranking(a, b)
            assert len(b) == 50

    async def test_unnarrowed_search_falls_back_to_geonear(
        self, services: Services, two_regions: None, store: Store
    ) -> None:
        store.geo_mode = "cells"
        found = await services.directory.coops.nearest(SOLO, max_distance_m=None, limit=3)
        assert len(found) == 3 and found[0].distance_m is not None

    async def test_the_store_picks_cells_on_the_embedded_engine(self, store: Store) -> None:
        store.geo_mode = None
        assert await store.resolve_geo_mode() == "cells"  # the tests run on SecantusDB


class TestCellsFollowTheData:
    async def test_backfill_gives_old_documents_their_cells(
        self, services: Services, two_regions: None, store: Store
    ) -> None:
        col = store["cooperatives"]
        await col.update_many({}, {"$unset": {"geo_cells": "", "kinds": ""}})
        await store["meta"].delete_many({})
        coops = services.directory.coops
        assert await coops.ensure_derived_fields() == 500
        assert await coops.ensure_derived_fields() == 0  # once per set of levels
        doc = await col.find_one({})
        lon, lat = doc["loc"]["coordinates"]
        assert doc["geo_cells"] == cell_keys(lat, lon)
        assert doc["kinds"] == sorted({doc["type"], *doc["services"]})
        store.geo_mode = "cells"
        assert await coops.count_near(SOLO, max_distance_m=100_000) > 0

    async def test_a_type_filter_follows_edited_services(
        self, services: Services, two_regions: None
    ) -> None:
        coops = services.directory.coops
        konsumen = CooperativeFilter(type="konsumen")
        before = {
            c.id
            for c in await coops.nearest(SOLO, max_distance_m=25_000, filt=konsumen, limit=1000)
        }
        other = next(
            c
            for c in await coops.nearest(SOLO, max_distance_m=25_000, limit=1000)
            if c.id not in before and "konsumen" not in c.services
        )
        # A cooperative of another type that opens a shop unit of that kind now matches.
        await coops.set_fields(other.id, {"services": [*other.services, "konsumen"]})
        after = {
            c.id
            for c in await coops.nearest(SOLO, max_distance_m=25_000, filt=konsumen, limit=1000)
        }
        assert after == before | {other.id}
        await coops.set_fields(other.id, {"services": other.services})
        assert {
            c.id
            for c in await coops.nearest(SOLO, max_distance_m=25_000, filt=konsumen, limit=1000)
        } == before

    async def test_a_moved_cooperative_is_found_at_its_new_place(
        self, services: Services, two_regions: None, store: Store
    ) -> None:
        store.geo_mode = "cells"
        coops = services.directory.coops
        far = Point(-8.65, 115.22)  # Denpasar: nothing imported there
        assert await coops.count_near(far, max_distance_m=5_000) == 0
        coop = (await coops.nearest(SOLO, max_distance_m=5_000, limit=1))[0]
        await coops.set_fields(
            coop.id, {"loc": {"type": "Point", "coordinates": [far.lon, far.lat]}}
        )
        found = await coops.nearest(far, max_distance_m=5_000)
        assert [c.id for c in found] == [coop.id]
        assert found[0].distance_m == pytest.approx(0, abs=0.01)
        near_solo = await coops.nearest(SOLO, max_distance_m=5_000, limit=1000)
        assert coop.id not in {c.id for c in near_solo}
