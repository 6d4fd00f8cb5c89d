"""The search service against a real database: order, radius, filters, pages, places."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.app import Services, build_services
from bot.config import Settings
from bot.services.gazetteer import Gazetteer, haversine_m
from bot.services.query import QueryParser
from bot.services.search import NAME_CANDIDATES, PAGE_SIZE, NoResults, PlaceChoice, ResultPage
from storage.models import CooperativeFilter, Point
from storage.mongo import Store
from tests.factories import (
    csv_bytes,
    directory,
    present,
    services_over,
    settings_for,
    shared_database,
)

SOLO = Point(-7.5666, 110.8167)  # Surakarta


# Most tests read one directory of 500 cooperatives around Surakarta: it is imported once
# for the module, and each test reaches it through ``services`` (saved searches are the only
# thing they write, each its own). Tests that import cooperatives of their own use ``fresh``.


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def solo_database(
    mongo_uri: str, gazetteer: Gazetteer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    rows = directory(gazetteer, region="33.72", n=500)

    async def fill(services: Services) -> None:
        report = await services.importer.import_bytes(csv_bytes(rows))
        assert report.errors == [] and report.created == 500

    settings = settings_for(tmp_path_factory.mktemp("var"))
    async with shared_database(mongo_uri, settings, fill) as name:
        yield name, rows


@pytest.fixture
def solo(solo_database: tuple[str, list[dict[str, str]]]) -> list[dict[str, str]]:
    return solo_database[1]


@pytest.fixture
async def services(
    solo_database: tuple[str, list[dict[str, str]]], mongo_uri: str, settings: Settings
) -> AsyncIterator[Services]:
    """The services over the shared directory (read it, never change it)."""
    async with services_over(mongo_uri, solo_database[0], settings) as services:
        yield services


@pytest.fixture
async def fresh(store: Store, settings: Settings) -> Services:
    """The services over an empty database of this test's own."""
    return build_services(store, settings)


async def all_pages(services: Services, first: ResultPage) -> list[str]:
    ids = [c.id for c in first.items]
    page = first
    while page.has_next:
        nxt = await services.search.page(page.search.id, page.page + 1)
        assert isinstance(nxt, ResultPage)
        ids += [c.id for c in nxt.items]
        page = nxt
    return ids


class TestNearest:
    async def test_order_equals_independent_haversine(self, services: Services, solo) -> None:
        outcome = await services.search.near(1, SOLO)
        assert isinstance(outcome, ResultPage)
        radius_m = present(outcome.search.radius_km) * 1000
        expected = sorted(
            (
                (haversine_m(SOLO, Point(float(r["latitude"]), float(r["longitude"]))), r["name"])
                for r in solo
            ),
        )
        expected_names = [name for dist, name in expected if dist <= radius_m - 50]
        coops = await services.directory.coops.nearest(SOLO, max_distance_m=radius_m, limit=1000)
        names = [c.name for c in coops]
        # Everything well inside the radius is listed, in the haversine order.
        assert names[: len(expected_names)] == expected_names
        assert len(expected_names) > 50
        distances = [present(c.distance_m) for c in coops]
        assert distances == sorted(distances)
        for coop in coops[:50]:
            assert coop.distance_m == pytest.approx(haversine_m(SOLO, coop.location), rel=0.01)

    async def test_pages_walk_the_same_order(self, services: Services, solo) -> None:
        outcome = await services.search.near(1, SOLO, type="konsumen")
        assert isinstance(outcome, ResultPage)
        ids = await all_pages(services, outcome)
        assert len(ids) == outcome.total == len(set(ids))
        coops = await services.directory.coops.nearest(
            SOLO,
            max_distance_m=present(outcome.search.radius_km) * 1000,
            filt=CooperativeFilter(type="konsumen"),
            limit=1000,
        )
        assert ids == [c.id for c in coops]

    async def test_radius_widens_when_too_few(self, services: Services, solo) -> None:
        # ~20 km outside the city the 5 km circle holds fewer than five cooperatives.
        far = Point(-7.40, 110.95)
        near_count = await services.directory.coops.count_near(far, max_distance_m=5000)
        assert near_count < PAGE_SIZE
        outcome = await services.search.near(1, far)
        assert isinstance(outcome, ResultPage)
        assert outcome.search.radius_km in (25.0, 100.0)
        assert outcome.widened
        assert outcome.total >= PAGE_SIZE

    async def test_no_widening_when_enough_close(self, services: Services, solo) -> None:
        outcome = await services.search.near(1, SOLO)
        assert isinstance(outcome, ResultPage)
        assert outcome.search.radius_km == 5.0 and not outcome.widened

    async def test_nothing_within_100_km(self, services: Services, solo) -> None:
        outcome = await services.search.near(1, Point(-2.5, 140.7))  # Jayapura
        assert isinstance(outcome, NoResults) and outcome.reason == "none_near"
        assert outcome.radius_km == 100.0

    @pytest.mark.parametrize(
        "point",
        [
            Point(51.5, -0.12),
            Point(90, 0),
            Point(-90, 180),
            Point(0, -180),
            Point(float("nan"), 110),
        ],
    )
    async def test_outside_indonesia(self, services: Services, point: Point) -> None:
        outcome = await services.search.near(1, point)
        assert isinstance(outcome, NoResults) and outcome.reason == "outside"


class TestFilters:
    async def test_type_filter(self, services: Services, solo) -> None:
        outcome = await services.search.near(1, SOLO, type="syariah")
        assert isinstance(outcome, ResultPage)
        coops = [present(await services.directory.get(c.id)) for c in outcome.items]
        assert coops and all(c.type == "syariah" for c in coops)

    async def test_type_matches_business_units(self, services: Services, solo) -> None:
        outcome = await services.search.near(1, SOLO, type="simpan_pinjam")
        assert isinstance(outcome, ResultPage)
        coops = [present(await services.directory.get(c.id)) for c in outcome.items]
        assert all(c.type == "simpan_pinjam" or "simpan_pinjam" in c.services for c in coops)

    async def test_service_filter_and_refine(self, services: Services, solo) -> None:
        first = await services.search.near(1, SOLO)
        assert isinstance(first, ResultPage)
        refined = await services.search.refine(first.search.id, service="apotek")
        assert isinstance(refined, ResultPage)
        assert refined.search.id != first.search.id
        assert refined.search.point == first.search.point
        assert all("apotek" in c.services for c in refined.items)
        cleared = await services.search.refine(refined.search.id, service=None)
        assert isinstance(cleared, ResultPage) and cleared.total == first.total


class TestPagination:
    async def test_first_middle_last(self, services: Services, solo) -> None:
        first = await services.search.near(1, SOLO)
        assert isinstance(first, ResultPage)
        assert not first.has_prev and first.has_next and len(first.items) == PAGE_SIZE
        last_index = first.pages - 1
        last = await services.search.page(first.search.id, last_index)
        assert isinstance(last, ResultPage)
        assert last.has_prev and not last.has_next
        assert len(last.items) == first.total - last_index * PAGE_SIZE

    async def test_exactly_five(self, fresh: Services, gazetteer: Gazetteer) -> None:
        rows = directory(gazetteer, region="33.72", n=5)
        await fresh.importer.import_bytes(csv_bytes(rows))
        outcome = await fresh.search.text(1, "Surakarta")
        assert isinstance(outcome, ResultPage)
        assert outcome.total == 5 and len(outcome.items) == 5
        assert not outcome.has_next and not outcome.has_prev and outcome.pages == 1

    async def test_page_past_the_end_is_empty_not_an_error(self, services: Services, solo) -> None:
        first = await services.search.near(1, SOLO)
        assert isinstance(first, ResultPage)
        beyond = await services.search.page(first.search.id, 999)
        assert isinstance(beyond, ResultPage) and beyond.items == []

    async def test_unknown_search_expired(self, services: Services) -> None:
        outcome = await services.search.page("nope1234", 0)
        assert isinstance(outcome, NoResults) and outcome.reason == "expired"


class TestPlaces:
    @pytest.mark.parametrize(
        ("query", "code"),
        [
            ("Sleman", "34.04"),
            ("sleman", "34.04"),
            ("KAB. SLEMAN", "34.04"),
            ("kec sleman", "34.04.13"),
            ("Kota Medan", "12.71"),
            ("medan baru", "12.71.17"),
            ("ksp di Medan Baru", "12.71.17"),
            ("kota bandung", "32.73"),
            ("Kabupaten Bandung", "32.04"),
            ("jogja", "34"),
            ("Kelurahan Kesawan", "12.71.05.1001"),
        ],
    )
    def test_parse_place(self, gazetteer: Gazetteer, query: str, code: str) -> None:
        parsed = QueryParser(gazetteer).parse(query)
        assert parsed.place is not None
        assert [r.code for r in parsed.place.candidates] == [code]

    @pytest.mark.parametrize(
        ("query", "codes"),
        [
            ("Bandung", {"32.04", "32.73", "35.04.17", "36.04.34"}),
            ("Depok", {"32.76", "32.09.31", "34.04.07"}),
            ("kec. depok", {"32.09.31", "34.04.07"}),
            ("Kupang", {"53.01", "53.71"}),
        ],
    )
    def test_ambiguous(self, gazetteer: Gazetteer, query: str, codes: set[str]) -> None:
        parsed = QueryParser(gazetteer).parse(query)
        assert parsed.place is not None
        assert {r.code for r in parsed.place.candidates} == codes

    def test_village_inside_named_regency(self, gazetteer: Gazetteer) -> None:
        parsed = QueryParser(gazetteer).parse("sembako desa sukamaju bogor")
        assert parsed.service == "sembako"
        assert parsed.place is not None
        assert all(
            r.code.startswith("32.01.") and r.level == "village" for r in parsed.place.candidates
        )

    async def test_ambiguous_asks_with_counts(self, fresh: Services, gazetteer: Gazetteer) -> None:
        rows = directory(gazetteer, region="32.73", n=6, seed=1) + directory(
            gazetteer, region="32.04", n=3, seed=2
        )
        for i, row in enumerate(rows):
            row["registration_number"] = f"BDG-{i}"
        await fresh.importer.import_bytes(csv_bytes(rows))
        outcome = await fresh.search.text(1, "koperasi di Bandung")
        assert isinstance(outcome, PlaceChoice)
        counts = {r.code: n for r, n in outcome.options}
        assert counts["32.73"] == 6 and counts["32.04"] == 3
        index = [r.code for r, _ in outcome.options].index("32.04")
        picked = await fresh.search.pick(outcome.search.id, index)
        assert isinstance(picked, ResultPage)
        assert picked.total == 3 and picked.area is not None and picked.area.code == "32.04"

    async def test_area_lists_only_that_area(self, services: Services, solo) -> None:
        outcome = await services.search.text(1, "apotek di Kec. Laweyan")
        assert isinstance(outcome, ResultPage)
        for item in outcome.items:
            coop = present(await services.directory.get(item.id))
            assert coop.areas[2] == "33.72.01" and "apotek" in coop.services


class TestNames:
    async def test_metacharacters_are_literal(self, fresh: Services) -> None:
        rows = [
            {
                "name": "Koperasi (Baru)+",
                "type": "konsumen",
                "latitude": "-7.56",
                "longitude": "110.82",
            },
            {
                "name": "Koperasi Baru Lagi",
                "type": "jasa",
                "latitude": "-7.57",
                "longitude": "110.83",
            },
            {
                "name": "KSP [a-z]* .* Sejahtera",
                "type": "simpan_pinjam",
                "latitude": "-7.58",
                "longitude": "110.84",
            },
        ]
        report = await fresh.importer.import_bytes(csv_bytes(rows))
        assert report.created == 3
        for query in ("Koperasi (Baru)+", ".*", "[a-z]*", "(Baru)+", "^$", "\\", "(((("):
            outcome = await fresh.search.text(1, query)
            assert isinstance(outcome, ResultPage | NoResults)
        outcome = await fresh.search.text(1, "Koperasi (Baru)+")
        assert isinstance(outcome, ResultPage)
        assert "Koperasi (Baru)+" in [c.name for c in outcome.items]
        outcome = await fresh.search.text(1, ".*")
        assert isinstance(outcome, NoResults)

    async def test_full_matches_are_not_crowded_out_by_a_common_word(
        self, fresh: Services
    ) -> None:
        # More "bersama" names than the candidates read at once, and the three that also
        # have "sejahtera" stored last: they must still be found, and only they.
        rows = [
            {
                "name": f"Koperasi Bersama {n}",
                "type": "konsumen",
                "latitude": f"{-7.50 - n * 0.0005:.6f}",
                "longitude": "110.80",
            }
            for n in range(NAME_CANDIDATES + 20)
        ]
        rows += [
            {
                "name": f"Koperasi Bersama Sejahtera {tail}",
                "type": "jasa",
                "latitude": "-7.40",
                "longitude": f"{110.70 + i * 0.01:.2f}",
            }
            for i, tail in enumerate(("Jaya", "Makmur", "Sentosa"))
        ]
        report = await fresh.importer.import_bytes(csv_bytes(rows))
        assert report.errors == [] and report.created == len(rows)
        for query in ("Bersama Sejahtera", "sejahtera bersama", "Bersama Sejahtra"):
            outcome = await fresh.search.text(1, query)
            assert isinstance(outcome, ResultPage), query
            assert outcome.total == 3, query
            assert all("Sejahtera" in c.name for c in outcome.items), query

    @pytest.mark.parametrize("variant", ["plain", "reversed", "upper", "swap", "drop", "prefix"])
    async def test_case_order_and_typos(self, services: Services, solo, variant: str) -> None:
        # "Koperasi <Word> <Village> <n>" with a one-word village name of 6+ letters.
        row = next(
            r
            for r in solo
            if len(r["name"].split()) == 4
            and len(r["name"].split()[2]) >= 6
            and r["name"].split()[2].isalpha()
        )
        word, village = row["name"].split()[1:3]
        query = {
            "plain": f"{word} {village}",
            "reversed": f"{village} {word}",
            "upper": f"{word} {village}".upper(),
            "swap": f"{word} {village[0] + village[2] + village[1] + village[3:]}",
            "drop": f"{word} {village[:-2] + village[-1]}",
            "prefix": f"{word} {village[:4]}",
        }[variant]
        outcome = await services.search.text(1, query)
        assert isinstance(outcome, ResultPage), query
        names = [c.name for c in outcome.items]
        page = outcome
        while row["name"] not in names and page.has_next:
            nxt = await services.search.page(page.search.id, page.page + 1)
            assert isinstance(nxt, ResultPage)
            page = nxt
            names += [c.name for c in page.items]
        assert row["name"] in names, query

    async def test_nothing_found_says_so(self, services: Services, solo) -> None:
        outcome = await services.search.text(1, "zzqxw vbnmq")
        assert isinstance(outcome, NoResults) and outcome.reason == "nothing"


class TestSynonyms:
    @pytest.mark.parametrize(
        ("query", "type_", "service"),
        [
            ("ksp", "simpan_pinjam", None),
            ("koperasi simpan pinjam", "simpan_pinjam", None),
            ("savings and loan", "simpan_pinjam", None),
            ("credit union", "simpan_pinjam", None),
            ("syariah", "syariah", None),
            ("sharia", "syariah", None),
            ("BMT", "syariah", None),
            ("apotek", None, "apotek"),
            ("pharmacy", None, "apotek"),
            ("obat", None, "apotek"),
            ("groceries", None, "sembako"),
            ("sembako", None, "sembako"),
            ("fertilizer", None, "pupuk"),
            ("klinik", None, "klinik"),
            ("clinic", None, "klinik"),
            ("consumer", "konsumen", None),
            ("multipurpose", "serba_usaha", None),
        ],
    )
    def test_words(
        self, gazetteer: Gazetteer, query: str, type_: str | None, service: str | None
    ) -> None:
        parsed = QueryParser(gazetteer).parse(query)
        assert (parsed.type, parsed.service) == (type_, service)
        assert parsed.terms == []

    async def test_english_and_indonesian_find_the_same(self, services: Services, solo) -> None:
        a = await services.search.text(1, "apotek di Surakarta")
        b = await services.search.text(1, "pharmacy in Surakarta")
        assert isinstance(a, ResultPage) and isinstance(b, ResultPage)
        assert [c.id for c in a.items] == [c.id for c in b.items] and a.total == b.total

    async def test_type_alone_asks_where(self, services: Services, solo) -> None:
        outcome = await services.search.text(1, "koperasi syariah")
        assert isinstance(outcome, NoResults) and outcome.reason == "need_location"


class TestInline:
    async def test_near_location(self, services: Services, solo) -> None:
        coops = await services.search.inline("", SOLO)
        assert 0 < len(coops) <= 50
        distances = [haversine_m(SOLO, c.location) for c in coops]
        assert distances == sorted(distances)

    async def test_query(self, services: Services, solo) -> None:
        coops = await services.search.inline("apotek Surakarta", None)
        assert coops and len(coops) <= 50

    async def test_empty_without_location(self, services: Services, solo) -> None:
        assert await services.search.inline("", None) == []


class TestDidYouMean:
    @pytest.mark.parametrize("query", ["Surakrta", "koperasi di Surakata", "apotek di Surakarat"])
    async def test_typo_in_place_offers_the_place(
        self, services: Services, solo, query: str
    ) -> None:
        outcome = await services.search.text(1, query)
        assert isinstance(outcome, PlaceChoice) and outcome.corrected
        assert outcome.options[0][0].code == "33.72"
        picked = await services.search.pick(outcome.search.id, 0)
        assert isinstance(picked, ResultPage) and present(picked.area).code == "33.72"
