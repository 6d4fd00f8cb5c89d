"""geopy's Nominatim client against a local HTTP server: user agent, pacing, cache."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import build_services
from bot.services.geocode import NominatimGeocoder
from bot.services.search import ResultPage
from storage.models import Point
from tests.factories import csv_bytes, directory


@pytest.fixture
async def nominatim() -> AsyncIterator[tuple[TestServer, list[dict]]]:
    seen: list[dict] = []

    async def search(request: web.Request) -> web.Response:
        seen.append(
            {
                "q": request.query.get("q"),
                "ua": request.headers.get("User-Agent"),
                "countrycodes": request.query.get("countrycodes"),
                "at": time.monotonic(),
            }
        )
        if "malioboro" in request.query.get("q", "").lower():
            return web.json_response(
                [
                    {
                        "lat": "-7.7926",
                        "lon": "110.3658",
                        "place_id": 1,
                        "display_name": "Jalan Malioboro, Yogyakarta",
                        "boundingbox": ["-7.8", "-7.7", "110.3", "110.4"],
                    }
                ]
            )
        return web.json_response([])

    app = web.Application()
    app.router.add_get("/search", search)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server, seen
    finally:
        await server.close()


async def test_geocode_paced_and_cached(nominatim) -> None:
    server, seen = nominatim
    geocoder = NominatimGeocoder(
        user_agent="gerbang-koperasi-tests/1 (ops@example.org)",
        domain=f"127.0.0.1:{server.port}",
        scheme="http",
        min_delay_seconds=0.3,
    )
    try:
        point = await geocoder.geocode("Jalan Malioboro")
        assert point == Point(-7.7926, 110.3658)
        assert await geocoder.geocode("Tempat Yang Tidak Ada") is None
        assert await geocoder.geocode("jalan  MALIOBORO") == point  # cached, same key
    finally:
        await geocoder.close()
    assert len(seen) == 2
    assert seen[0]["ua"] == "gerbang-koperasi-tests/1 (ops@example.org)"
    assert seen[0]["countrycodes"] == "id"
    assert seen[1]["at"] - seen[0]["at"] >= 0.3 * 0.9  # at most one request per delay


async def test_search_falls_back_to_nominatim(nominatim, store, settings, gazetteer) -> None:
    server, _ = nominatim
    geocoder = NominatimGeocoder(
        user_agent="gk-tests/1",
        domain=f"127.0.0.1:{server.port}",
        scheme="http",
        min_delay_seconds=0,
    )
    services = build_services(store, replace(settings, geocoder="nominatim"), geocoder=geocoder)
    try:
        await services.importer.import_bytes(csv_bytes(directory(gazetteer, region="34.71", n=30)))
        outcome = await services.search.text(1, "Jalan Malioboro")
        assert isinstance(outcome, ResultPage)
        assert outcome.search.kind == "near"
        assert outcome.search.point == Point(-7.7926, 110.3658)
    finally:
        await geocoder.close()
