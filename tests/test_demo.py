"""Demo data: synthetic, at real village coordinates, idempotent, and searchable."""

from __future__ import annotations

from bot.app import Services
from bot.services.demo import DEMO_REGIONS, demo_rows, seed_demo
from bot.services.gazetteer import Gazetteer, haversine_m
from bot.services.search import ResultPage
from storage.models import Point


def test_rows_are_clearly_synthetic(gazetteer: Gazetteer) -> None:
    rows = demo_rows(gazetteer)
    assert all(r["name"].endswith("(Demo)") for r in rows)
    assert all(r["registration_number"].startswith("DEMO-") for r in rows)
    villages = sum(len(gazetteer.villages_of(code)) for code in DEMO_REGIONS)
    kdmp = [r for r in rows if "Merah Putih" in r["name"]]
    assert len(kdmp) == villages  # one village cooperative per village
    for row in kdmp[:50]:
        village = gazetteer.get(row["village_code"])
        assert village is not None
        assert (float(row["latitude"]), float(row["longitude"])) == (village.lat, village.lon)
    assert demo_rows(gazetteer) == rows  # deterministic


async def test_seed_twice_and_search_medan(services: Services, gazetteer: Gazetteer) -> None:
    first = await seed_demo(services.importer, services.directory.coops, gazetteer)
    again = await seed_demo(services.importer, services.directory.coops, gazetteer)
    assert first.report.created == first.report.rows and not first.report.errors
    assert again.report.created == 0
    assert await services.directory.count() == first.report.rows
    medan = Point(3.5952, 98.6722)
    outcome = await services.search.near(1, medan)
    assert isinstance(outcome, ResultPage)
    distances = [haversine_m(medan, c.location) for c in outcome.items]
    assert distances == sorted(distances)
    for coop in outcome.items:
        full = await services.directory.get(coop.id)
        assert full is not None and full.areas[1] == "12.71" and full.demo
