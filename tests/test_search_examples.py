"""Every search example the bot and the README give works in the demo directory, in both
languages; and the search faults a new user met (issue 16, items 1–7) stay fixed."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import Backend, Services
from bot.config import Settings
from bot.services.demo import seed_demo
from bot.services.gazetteer import Gazetteer
from bot.services.query import QueryParser
from bot.services.search import NoResults, PlaceChoice, ResultPage
from bot.telegram.localapi import Call
from handlers.callbacks import OPEN_FROM, PICK_PLACE
from storage.models import CooperativeFilter
from storage.mongo import Store
from tests.conftest import Chat, texts
from tests.factories import import_rows, settings_for, shared_database

ROOT = Path(__file__).resolve().parent.parent
SLEMAN = (-7.7, 110.36)
LANGS = ("id", "en")
_ids = itertools.count(5000)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo_database(
    mongo_uri: str, gazetteer: Gazetteer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """The demo directory ``python -m bot`` loads, seeded once for the module."""

    async def fill(services: Services) -> None:
        await seed_demo(services.importer, services.directory.coops, gazetteer)

    settings = settings_for(tmp_path_factory.mktemp("var"))
    async with shared_database(mongo_uri, settings, fill) as name:
        yield name


@pytest.fixture
async def backend(
    demo_database: str, mongo_uri: str, settings: Settings
) -> AsyncIterator[Backend]:
    """The repositories over the shared demo directory (the chat fixture runs over them)."""
    store = Store.connect(mongo_uri, demo_database)
    try:
        yield Backend.over(store, settings)
    finally:
        await store.close()


@pytest.fixture
def uid() -> Iterator[int]:
    """A user of this test's own: the chat state is kept in the shared database."""
    yield next(_ids)


def sent(calls: list[Call]) -> dict:
    """The last message sent or edited."""
    found = [c.params for c in calls if c.method in ("sendMessage", "editMessageText")]
    assert found, [c.method for c in calls]
    return found[-1]


def callback_data(params: dict) -> list[str]:
    rows = (params.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b.get("callback_data", "") for row in rows for b in row]


def is_results(params: dict) -> bool:
    """A result list: a button per cooperative (not a choice of places, not advice)."""
    data = callback_data(params)
    return any(re.match(OPEN_FROM.pattern, d) for d in data) and not any(
        re.match(PICK_PLACE.pattern, d) for d in data
    )


def asks_where(params: dict) -> bool:
    keyboard = (params.get("reply_markup") or {}).get("keyboard") or []
    return any(b.get("request_location") for row in keyboard for b in row)


def examples_in(text: str) -> list[str]:
    """The examples a text quotes: “…” and <i>…</i>."""
    found = re.findall(r"“([^”]+)”", text) + re.findall(r"<i>([^<]+)</i>", text)
    return [e for e in found if not e.startswith("/")]


async def run_example(chat: Chat, example: str, lang: str, uid: int) -> dict:
    """Type the example; a type or service alone is asked "where?": answer with a location."""
    params = sent(await chat.send(example, user_id=uid, language=lang))
    if asks_where(params):
        params = sent(await chat.location(*SLEMAN, user_id=uid, language=lang))
        assert "Filter" in params["text"], (example, params["text"])
    assert is_results(params), (lang, example, params["text"])
    return params


class TestBotExamples:
    @pytest.mark.parametrize("lang", LANGS)
    async def test_every_example_the_bot_gives_finds_cooperatives(
        self, chat: Chat, lang: str, uid: int
    ) -> None:
        shown: list[str] = []
        for command in ("/start", "/help", "/cari"):
            shown += texts(await chat.send(command, user_id=uid, language=lang))
        # The advice after nothing was found, and after a service with no place.
        shown += texts(await chat.send("zzzz qqqq", user_id=uid, language=lang))
        # (As another user: this one's next message would answer "where?".)
        shown += texts(await chat.send("apotek", user_id=uid + 100_000, language=lang))
        examples = list(
            dict.fromkeys(e for text in shown for e in examples_in(text) if e != "zzzz qqqq")
        )
        assert len(examples) >= 8, examples
        for example in examples:
            await run_example(chat, example, lang, uid)

    @pytest.mark.parametrize("lang", LANGS)
    async def test_examples_are_in_the_users_language(
        self, chat: Chat, lang: str, uid: int
    ) -> None:
        welcome = texts(await chat.send("/start", user_id=uid, language=lang))[0]
        if lang == "en":
            assert "savings and loan in Medan Baru" in welcome and " di " not in welcome
        else:
            assert "ksp di Medan Baru" in welcome and "apotek desa" in welcome

    @pytest.mark.parametrize("lang", LANGS)
    async def test_inline_example_of_the_help(self, chat: Chat, lang: str, uid: int) -> None:
        help_text = texts(await chat.send("/help", user_id=uid, language=lang))[0]
        (query,) = re.findall(r"<code>@\S+ ([^<]+)</code>", help_text)
        calls = await chat.inline(query, user_id=uid, language=lang)
        (answer,) = [c for c in calls if c.method == "answerInlineQuery"]
        assert len(answer.params["results"]) > 0


class TestReadmeAndConsoleExamples:
    @staticmethod
    def readme_examples() -> list[str]:
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        (offer,) = re.findall(r"they offer \(([^)]*)\)", readme)
        found = re.findall(r'"([^"]+)"', offer)
        (tried,) = re.findall(r"Try (`#loc.*?`)\.", readme, flags=re.DOTALL)
        found += [e for e in re.findall(r"`([^`]+)`", tried) if not e.startswith("#")]
        console = (ROOT / "bot" / "console.py").read_text(encoding="utf-8")
        console = re.sub(r'"\s*\n\s*"', "", console)  # the hint's string literals joined
        found += re.findall(r"type “([^”]+)”", console)
        return list(dict.fromkeys(found))

    def test_the_examples_are_found(self) -> None:
        examples = self.readme_examples()
        assert "Sleman" in examples and "ksp di Medan Baru" in examples, examples

    @pytest.mark.parametrize("lang", LANGS)
    async def test_each_works(self, chat: Chat, lang: str, uid: int) -> None:
        for example in self.readme_examples():
            await run_example(chat, example, lang, uid)
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        lat, lon = re.findall(r"`#loc ([\d.-]+) ([\d.-]+)`", readme)[0]
        assert is_results(sent(await chat.location(float(lat), float(lon), user_id=uid)))


class TestPlaces:
    """Items 2 and 3: misspelled places of several words; names people use for places."""

    @pytest.mark.parametrize(
        ("query", "code"),
        [
            ("Yogyakarta", "34"),
            ("Daerah Istimewa Yogyakarta", "34"),
            ("DI Yogyakarta", "34"),
            ("Jogja", "34"),
            ("DKI Jakarta", "31"),
            ("Jakarta", "31"),
            ("Bali", "51"),
            ("Provinsi Bali", "51"),
            ("Solo", "33.72"),
            ("Jaksel", "31.74"),
            ("South Jakarta", "31.74"),
            ("West Java", "32"),
            ("Kota Yogyakarta", "34.71"),
            ("Yogyakarta City", "34.71"),
            ("Sleman Regency", "34.04"),
            ("Kabupaten Sleman", "34.04"),
            ("Jakarta Pusat", "31.71"),
            ("pharmacy in East Java", "35"),
        ],
    )
    def test_common_names_resolve(self, gazetteer: Gazetteer, query: str, code: str) -> None:
        place = QueryParser(gazetteer).parse(query).place
        assert place is not None and [c.code for c in place.candidates] == [code]

    @pytest.mark.parametrize("lang", LANGS)
    async def test_yogyakarta_finds_cooperatives(self, chat: Chat, lang: str, uid: int) -> None:
        params = sent(await chat.send("Yogyakarta", user_id=uid, language=lang))
        assert is_results(params), params["text"]
        assert "Yogyakarta" in params["text"]

    async def test_misspelled_place_of_two_words(self, services: Services) -> None:
        outcome = await services.search.text(1, "Medn Baru")
        assert isinstance(outcome, PlaceChoice) and outcome.corrected
        assert [r.code for r, _ in outcome.options] == ["12.71.17"]  # Kec. Medan Baru
        picked = await services.search.pick(outcome.search.id, 0)
        assert isinstance(picked, ResultPage) and picked.area is not None
        assert picked.area.code == "12.71.17"

    @pytest.mark.parametrize(
        ("query", "code"), [("Medan Barru", "12.71.17"), ("Jakarta Selatn", "31.74")]
    )
    async def test_known_name_beside_a_misspelled_word(
        self, services: Services, query: str, code: str
    ) -> None:
        # Not the names with "baru" inside Kota Medan: the longer place, misspelled.
        outcome = await services.search.text(1, query)
        assert isinstance(outcome, PlaceChoice) and outcome.corrected
        assert outcome.options[0][0].code == code

    async def test_misspelled_place_with_a_filter(self, services: Services) -> None:
        outcome = await services.search.text(1, "apotek di Medn Baru")
        assert isinstance(outcome, PlaceChoice) and outcome.corrected
        assert outcome.search.service == "apotek"
        assert [r.code for r, _ in outcome.options] == ["12.71.17"]

    @pytest.mark.parametrize("lang", LANGS)
    async def test_the_programmes_own_name_asks_where_then_finds_them(
        self, chat: Chat, lang: str, uid: int
    ) -> None:
        # "Desa Merah" also reads as a village; with nothing there, the name words win:
        # they are in hundreds of names, so the bot asks where (it said "no cooperatives
        # in any place called Merah").
        params = sent(await chat.send("Koperasi Desa Merah Putih", user_id=uid, language=lang))
        assert asks_where(params) and "100" in params["text"], params["text"]
        params = sent(await chat.location(*SLEMAN, user_id=uid, language=lang))
        assert is_results(params) and "Merah Putih" in params["text"]

    async def test_an_existing_place_with_nothing_is_not_called_unknown(
        self, chat: Chat, uid: int
    ) -> None:
        # The demo has nothing in Kota Yogyakarta (it has Sleman, in the same province).
        text = sent(await chat.send("Kota Yogyakarta", user_id=uid, language="en"))["text"]
        assert "I found no" not in text and "No cooperatives found in" in text

    async def test_a_real_area_with_nothing_says_so(self, services: Services) -> None:
        # Not the names that share a word with "West Java" somewhere else.
        outcome = await services.search.text(1, "West Java")
        assert isinstance(outcome, NoResults) and outcome.area is not None
        assert outcome.area.code == "32"

    async def test_same_named_places_offer_only_those_with_matches(
        self, services: Services
    ) -> None:
        # Kec. Depok exists in Sleman and in Cirebon; only Sleman's holds cooperatives.
        outcome = await services.search.text(1, "Kec. Depok")
        assert isinstance(outcome, ResultPage) and outcome.area is not None
        assert outcome.area.code == "34.04.07"


class TestPromisedFilter:
    """Item 4: "apotek" → "where should I look?" → the answer keeps the apotek filter."""

    @pytest.mark.parametrize("lang", LANGS)
    async def test_typed_place_keeps_the_filter(
        self, chat: Chat, services: Services, lang: str, uid: int
    ) -> None:
        assert asks_where(sent(await chat.send("apotek", user_id=uid, language=lang)))
        answer = sent(await chat.send("Sleman", user_id=uid, language=lang))
        direct = sent(await chat.send("apotek di Sleman", user_id=uid + 100_000, language=lang))
        assert answer["text"] == direct["text"]
        coops = services.directory.coops
        filtered = await coops.count(CooperativeFilter(service="apotek", area_code="34.04"))
        everything = await coops.count(CooperativeFilter(area_code="34.04"))
        assert 0 < filtered < everything
        assert f" {filtered} " in answer["text"].splitlines()[0]
        # Once only: the next search is a new one.
        again = sent(await chat.send("Sleman", user_id=uid, language=lang))
        assert f" {everything} " in again["text"].splitlines()[0]

    @pytest.mark.parametrize("lang", LANGS)
    async def test_shared_location_keeps_the_filter(
        self, chat: Chat, services: Services, lang: str, uid: int
    ) -> None:
        await chat.send("pharmacy", user_id=uid, language=lang)
        answer = sent(await chat.location(*SLEMAN, user_id=uid, language=lang))
        assert is_results(answer) and "Filter" in answer["text"]
        plain = sent(await chat.location(*SLEMAN, user_id=uid, language=lang))
        assert "Filter" not in plain["text"]
        count = int(re.findall(r"\d+", answer["text"].splitlines()[0])[0])
        unfiltered = int(re.findall(r"\d+", plain["text"].splitlines()[0])[0])
        assert count < unfiltered

    async def test_a_new_filter_replaces_the_promised_one(self, chat: Chat, uid: int) -> None:
        await chat.send("apotek", user_id=uid)
        params = sent(await chat.send("ksp di Sleman", user_id=uid))
        assert "Apotek" not in params["text"].split("\n\n")[0]


class TestTypeFilter:
    """Item 5: a type filter also lists other types offering that business: say so."""

    @pytest.mark.parametrize(
        ("lang", "note", "offers"),
        [
            ("id", "melayani simpan pinjam", "🏷 Layanan"),
            ("en", "offers savings & loan", "🏷 Offers"),
        ],
    )
    async def test_rows_of_other_types_say_why(
        self, chat: Chat, lang: str, note: str, offers: str, uid: int
    ) -> None:
        params = sent(await chat.send("ksp di Medan", user_id=uid, language=lang))
        assert is_results(params)
        blocks = params["text"].split("\n\n")[1:-1]
        assert blocks
        for block in blocks:
            meta = html.unescape(block.splitlines()[1])
            # A savings & loan cooperative needs no note; any other type says why it is here.
            assert (note in meta) == (not meta.startswith("💰")), block
        labels = [b["text"] for row in params["reply_markup"]["inline_keyboard"] for b in row]
        assert offers in labels

    async def test_service_type_and_offers_filter_read_differently(
        self, chat: Chat, uid: int
    ) -> None:
        await chat.send("Medan Baru", user_id=uid, language="en")
        buttons = [b["text"] for b in chat.buttons(uid)]
        assert "🏷 Offers" in buttons and "🏷 Service" not in buttons
        await chat.tap("Type", user_id=uid, language="en")
        types = [b["text"] for b in chat.buttons(uid)]
        assert "🛠 Service cooperative" in types


class TestWholeName:
    """Item 6: a full name that starts with a type word is found when typed."""

    async def test_full_name_wins_over_type_word(
        self, store: Store, settings: Settings, gazetteer: Gazetteer
    ) -> None:
        from bot.app import build_services

        services = build_services(Backend.over(store, settings), settings)
        kesawan = gazetteer.get("12.71.05.1001")
        assert kesawan is not None
        base = {
            "latitude": f"{kesawan.lat:.6f}",
            "longitude": f"{kesawan.lon:.6f}",
            "village_code": kesawan.code,
        }
        rows = [
            {**base, "name": "KSP Maju Bersama Kesawan", "type": "konsumen"}
            | {"registration_number": "R-1", "services": "sembako"},
        ] + [
            {**base, "name": f"KSP Maju Bersama {n}", "type": "simpan_pinjam"}
            | {"registration_number": f"R-{n + 10}", "services": "simpan_pinjam"}
            for n in range(8)
        ]
        await import_rows(services, rows)
        for typed in (
            "KSP Maju Bersama Kesawan",
            "ksp maju bersama kesawan",
            "KSP Maju Bersma Kesawan",
        ):
            outcome = await services.search.text(1, typed)
            assert isinstance(outcome, ResultPage), typed
            assert outcome.items[0].name == "KSP Maju Bersama Kesawan", typed
            assert outcome.search.type is None

    async def test_demo_names_typed_in_full(self, services: Services) -> None:
        for name in (
            "Koperasi Desa Merah Putih Caturtunggal",
            "Kopdit Harapan Baru Fontein (Demo)",
            "Koperasi Kelurahan Merah Putih Kesawan",
        ):
            outcome = await services.search.text(1, name)
            assert isinstance(outcome, ResultPage), name
            assert outcome.items[0].name.startswith(name.removesuffix(" (Demo)")), name


class TestInline:
    """Item 7: an inline query that finds nothing says so."""

    @pytest.mark.parametrize(
        ("lang", "nothing", "empty"),
        [
            ("en", "Nothing found for “zzzz”", "Type a place or a cooperative name"),
            ("id", "Tidak ada hasil untuk “zzzz”", "Ketik tempat atau nama koperasi"),
        ],
    )
    async def test_nothing_found(
        self, chat: Chat, lang: str, nothing: str, empty: str, uid: int
    ) -> None:
        (answer,) = [
            c
            for c in await chat.inline("zzzz", user_id=uid, language=lang)
            if c.method == "answerInlineQuery"
        ]
        assert answer.params["results"] == []
        assert answer.params["button"]["text"] == nothing
        (answer,) = [
            c
            for c in await chat.inline("", user_id=uid, language=lang)
            if c.method == "answerInlineQuery"
        ]
        assert answer.params["button"]["text"] == empty

    @pytest.mark.parametrize(("lang", "hint"), [("en", "Add a place"), ("id", "Tambahkan")])
    async def test_a_service_alone_asks_for_a_place(
        self, chat: Chat, lang: str, hint: str, uid: int
    ) -> None:
        (answer,) = [
            c
            for c in await chat.inline("apotek", user_id=uid, language=lang)
            if c.method == "answerInlineQuery"
        ]
        text = answer.params["button"]["text"]
        assert text.startswith(hint)
        (example,) = re.findall(r"“([^”]+)”", text)
        (answer,) = [
            c
            for c in await chat.inline(example, user_id=uid, language=lang)
            if c.method == "answerInlineQuery"
        ]
        assert answer.params["results"]

    async def test_the_inline_button_opens_a_plain_welcome(self, chat: Chat, uid: int) -> None:
        text = sent(await chat.send("/start inline", user_id=uid, language="en"))["text"]
        assert text.startswith("👋") and "not valid" not in text
