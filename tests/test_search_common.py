"""Name words that narrow nothing (issue 17): a word in more names than the bot reads at
once is answered with "where should I look?" and how many names have it; the answer (a
place or a shared location) keeps the words; a distinctive word or a name typed in full is
still answered at once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from bot.app import Backend, Services
from bot.config import Settings
from bot.services.gazetteer import Gazetteer
from bot.services.search import NAME_CAP, QUESTION_TTL_S, NoResults, ResultPage
from storage.models import Point, SavedSearch
from storage.mongo import Store
from storage.searches import SearchRepository
from tests.conftest import Chat
from tests.factories import csv_bytes, services_over, settings_for, shared_database
from tests.test_search_examples import asks_where, is_results, sent

SLEMAN = (-7.7, 110.36)
PER_REGENCY = 60  # "Koperasi Sejahtera <n>" in Kab. Sleman and as many in Kota Surakarta
COMMON = 2 * PER_REGENCY + 2  # and "Koperasi Sejahtera", "Koperasi Sejahtera Zamrudwangi"
_ids = iter(range(7000, 8000))


def rows(gazetteer: Gazetteer) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for regency in ("34.04", "33.72"):
        villages = sorted(gazetteer.villages_of(regency), key=lambda r: r.code)
        for i in range(PER_REGENCY):
            village = villages[i % len(villages)]
            out.append(
                {
                    "name": f"Koperasi Sejahtera {len(out) + 1}",
                    "type": ("konsumen", "jasa")[i % 2],
                    "latitude": f"{village.lat + i * 1e-4:.6f}",
                    "longitude": f"{village.lon:.6f}",
                    "village_code": village.code,
                    "registration_number": f"S-{len(out) + 1}",
                }
            )
    solo = sorted(gazetteer.villages_of("33.72"), key=lambda r: r.code)[0]
    sleman = sorted(gazetteer.villages_of("34.04"), key=lambda r: r.code)[0]
    for name, village in (
        ("Koperasi Sejahtera", solo),
        ("Koperasi Sejahtera Zamrudwangi", sleman),
    ):
        out.append(
            {
                "name": name,
                "type": "serba_usaha",
                "latitude": f"{village.lat - 1e-3:.6f}",
                "longitude": f"{village.lon:.6f}",
                "village_code": village.code,
                "registration_number": f"S-{name}",
            }
        )
    return out


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def common_database(
    mongo_uri: str, gazetteer: Gazetteer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    async def fill(services: Services) -> None:
        report = await services.importer.import_bytes(csv_bytes(rows(gazetteer)))
        assert report.errors == [] and report.created == COMMON

    settings = settings_for(tmp_path_factory.mktemp("var"))
    async with shared_database(mongo_uri, settings, fill) as name:
        yield name


@pytest.fixture
async def backend(
    common_database: str, mongo_uri: str, settings: Settings
) -> AsyncIterator[Backend]:
    """The repositories over the shared directory (the chat fixture runs over them)."""
    store = Store.connect(mongo_uri, common_database)
    try:
        yield Backend.over(store, settings)
    finally:
        await store.close()


@pytest.fixture
async def direct(
    common_database: str, mongo_uri: str, settings: Settings
) -> AsyncIterator[Services]:
    async with services_over(mongo_uri, common_database, settings) as services:
        yield services


@pytest.fixture
def uid() -> Iterator[int]:
    yield next(_ids)


def first_number(text: str) -> int:
    return int(re.findall(r"\d[\d.,]*", text)[0].replace(",", "").replace(".", ""))


class TestService:
    @pytest.mark.parametrize("query", ["Sejahtera", "sejahtera", "Koperasi Sejahtra"])
    async def test_a_common_word_alone_asks_where(self, direct: Services, query: str) -> None:
        assert COMMON > NAME_CAP
        outcome = await direct.search.text(1, query)
        assert isinstance(outcome, NoResults), outcome
        assert outcome.reason == "need_location" and outcome.count == NAME_CAP
        assert outcome.parsed is not None and outcome.parsed.terms
        # A distinctive word beside it answers at once.
        outcome = await direct.search.text(1, query + " Zamrudwangi")
        assert isinstance(outcome, ResultPage) and outcome.total == 1
        assert outcome.items[0].name == "Koperasi Sejahtera Zamrudwangi"

    @pytest.mark.parametrize("query", ["Koperasi Sejahtera", "koperasi  SEJAHTERA"])
    async def test_a_name_typed_in_full_wins(self, direct: Services, query: str) -> None:
        outcome = await direct.search.text(1, query)
        assert isinstance(outcome, ResultPage) and outcome.total == 1
        assert outcome.items[0].name == "Koperasi Sejahtera"

    @pytest.mark.parametrize("place", ["Sleman", "di Sleman", "Kabupaten Sleman"])
    async def test_the_typed_place_keeps_the_words(self, direct: Services, place: str) -> None:
        outcome = await direct.search.text(1, place, terms=["sejahtera"])
        assert isinstance(outcome, ResultPage), outcome
        assert outcome.total == PER_REGENCY + 1
        assert all("Sejahtera" in c.name for c in outcome.items)
        assert all((c.village_code or "").startswith("34.04.") for c in outcome.items)

    async def test_a_shared_location_keeps_the_words(self, direct: Services) -> None:
        outcome = await direct.search.near(1, Point(*SLEMAN), terms=["sejahtera"])
        assert isinstance(outcome, ResultPage), outcome
        assert outcome.total == PER_REGENCY + 1
        distances = [c.distance_m for c in outcome.items]
        assert all(d is not None for d in distances)
        assert distances == sorted(d or 0.0 for d in distances)


class TestOpenQuestion:
    """The question "where should I look?" waits for its answer in memory and in the saved
    searches (written behind, like a list's search): a restart keeps it, the answer uses it
    once, an erasure drops it."""

    async def test_a_restart_keeps_the_question_and_it_is_answered_once(
        self, direct: Services, backend: Backend, uid: int
    ) -> None:
        outcome = await direct.search.text(uid, "Sejahtera")
        assert isinstance(outcome, NoResults) and outcome.reason == "need_location"
        await direct.search.ask_where(uid, outcome)
        await direct.search.settle()
        restarted = replace(direct.search, searches=SearchRepository(backend.store))
        assert await restarted.answer_to_where(uid) == (None, None, ["sejahtera"])
        assert await restarted.answer_to_where(uid) == (None, None, [])  # once
        # It is no list: a button forged with its id gets "expired".
        [doc] = (
            await backend.store["searches"].find({"user_id": uid, "kind": "question"}).to_list()
        )
        for outcome in (
            await restarted.page(doc["_id"], 1),
            await restarted.refine(doc["_id"], type="ksp"),
        ):
            assert isinstance(outcome, NoResults) and outcome.reason == "expired"

    async def test_a_question_answered_before_a_restart_stays_answered(
        self, direct: Services, backend: Backend, uid: int
    ) -> None:
        outcome = await direct.search.text(uid, "Sejahtera")
        assert isinstance(outcome, NoResults)
        await direct.search.ask_where(uid, outcome)
        type_, service, terms = await direct.search.answer_to_where(uid)
        answer = await direct.search.text(uid, "Sleman", type=type_, service=service, terms=terms)
        assert isinstance(answer, ResultPage) and answer.total == PER_REGENCY + 1
        await direct.search.settle()
        restarted = replace(direct.search, searches=SearchRepository(backend.store))
        assert await restarted.answer_to_where(uid) == (None, None, [])

    async def test_an_old_question_is_forgotten(
        self, direct: Services, backend: Backend, uid: int
    ) -> None:
        outcome = await direct.search.text(uid, "Sejahtera")
        assert isinstance(outcome, NoResults)
        await direct.search.ask_where(uid, outcome)
        await direct.search.settle()
        later = datetime.now(UTC) + timedelta(seconds=QUESTION_TTL_S)
        assert await direct.search.searches.take_question(uid, later) is None
        restarted = SearchRepository(backend.store)
        assert await restarted.take_question(uid, later) is None

    async def test_unanswered_questions_are_dropped_once_many(
        self, backend: Backend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("storage.searches.QUESTIONS_KEPT", 3)
        repo = SearchRepository(backend.store)
        repo._questions_read = True  # as after a start with none open (other tests' are)
        users = [next(_ids) for _ in range(4)]
        long_ago = datetime.now(UTC) - timedelta(seconds=QUESTION_TTL_S)
        asked = [
            await repo.ask(SavedSearch(id="", user_id=u, kind="question"), long_ago)
            for u in users[:3]
        ]
        assert asked[-1].created_at is not None
        await asyncio.sleep(0.002)
        await repo.ask(SavedSearch(id="", user_id=users[3], kind="question"), asked[-1].created_at)
        # The three asked before the cut are dropped, the one after it is kept.
        assert [await repo.take_question(u, long_ago) is not None for u in users] == [
            False,
            False,
            False,
            True,
        ]
        await repo.settle()

    async def test_erasure_drops_the_open_question(
        self, direct: Services, backend: Backend, uid: int
    ) -> None:
        outcome = await direct.search.text(uid, "Sejahtera")
        assert isinstance(outcome, NoResults)
        await direct.search.ask_where(uid, outcome)  # not written yet: the erasure waits
        await direct.privacy.erase(uid)
        assert await direct.search.answer_to_where(uid) == (None, None, [])
        assert await backend.store["searches"].count_documents({"user_id": uid}) == 0
        restarted = replace(direct.search, searches=SearchRepository(backend.store))
        assert await restarted.answer_to_where(uid) == (None, None, [])


class TestChat:
    @pytest.mark.parametrize(
        ("lang", "asked"),
        [
            ("en", "More than 100 cooperatives have a name like “Koperasi Sejahtra”"),
            ("id", "Lebih dari 100 koperasi memiliki nama seperti “Koperasi Sejahtra”"),
        ],
    )
    async def test_ask_then_answer_with_a_place(
        self, chat: Chat, lang: str, asked: str, uid: int
    ) -> None:
        params = sent(await chat.send("Koperasi Sejahtra", user_id=uid, language=lang))
        assert asks_where(params) and asked in params["text"], params["text"]
        params = sent(await chat.send("Sleman", user_id=uid, language=lang))
        assert is_results(params), params["text"]
        assert params["text"].startswith("🔎") and "sejahtra sleman" in params["text"].lower()
        assert first_number(params["text"]) == PER_REGENCY + 1
        # Once only: the next search is a new one (the area's list).
        params = sent(await chat.send("Sleman", user_id=uid, language=lang))
        assert params["text"].startswith("📍"), params["text"]

    @pytest.mark.parametrize("lang", ["en", "id"])
    async def test_ask_then_answer_with_a_location(self, chat: Chat, lang: str, uid: int) -> None:
        params = sent(await chat.send("sejahtera", user_id=uid, language=lang))
        assert asks_where(params), params["text"]
        params = sent(await chat.location(*SLEMAN, user_id=uid, language=lang))
        assert is_results(params), params["text"]
        assert first_number(params["text"]) == PER_REGENCY + 1
        assert "Sejahtera" in params["text"]
