"""End to end through python-telegram-bot's Application: the exact Bot API calls."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from bot.app import Services
from bot.services.gazetteer import Gazetteer
from bot.telegram.localapi import BOT_USER
from tests.conftest import Chat
from tests.factories import csv_bytes, directory

MEDAN = (3.5952, 98.6722)


@pytest.fixture
async def medan(services: Services, gazetteer: Gazetteer) -> list[dict[str, str]]:
    rows = directory(gazetteer, region="12.71", n=60, seed=3)
    rows[0]["phone"] = "0812-3456-7890"
    rows[0]["address"] = "Jl. Gatot Subroto No. 1"
    report = await services.importer.import_bytes(csv_bytes(rows))
    assert not report.errors
    return rows


class TestStart:
    async def test_start_indonesian(self, chat: Chat) -> None:
        calls = await chat.send("/start")
        assert [c.method for c in calls] == ["sendMessage"]
        params = calls[0].params
        assert params["chat_id"] == 1001
        assert params["parse_mode"] == "HTML"
        assert params["text"].startswith("👋 Selamat datang di <b>Gerbang Koperasi</b>")
        keyboard = params["reply_markup"]
        assert keyboard["keyboard"] == [
            [{"text": "📍 Bagikan lokasi saya", "request_location": True}]
        ]
        assert keyboard["resize_keyboard"] is True and keyboard["is_persistent"] is True
        assert keyboard["input_field_placeholder"] == "Ketik tempat atau nama koperasi"

    async def test_start_english_from_telegram(self, chat: Chat) -> None:
        calls = await chat.send("/start", language="en")
        assert calls[0].params["text"].startswith("👋 Welcome to <b>Gerbang Koperasi</b>")
        assert calls[0].params["reply_markup"]["keyboard"][0][0]["text"] == "📍 Share my location"

    async def test_unknown_language_falls_back_to_indonesian(self, chat: Chat) -> None:
        calls = await chat.send("/start", language="ru")
        assert calls[0].params["text"].startswith("👋 Selamat datang")

    async def test_help_both_names(self, chat: Chat) -> None:
        a = await chat.send("/help")
        b = await chat.send("/bantuan")
        assert a[0].params["text"] == b[0].params["text"]
        for command in (
            "/cari",
            "/kartu",
            "/bahasa",
            "/privasi",
            "/dataku",
            "/hapusdata",
            "/batal",
        ):
            assert command in a[0].params["text"]

    async def test_command_menus_per_language(self, chat: Chat) -> None:
        menus = chat.api.calls_of("setMyCommands")
        by_lang = {c.params.get("language_code"): c.params["commands"] for c in menus}
        assert set(by_lang) == {None, "id", "en"}
        assert [c["command"] for c in by_lang["id"]][:3] == ["start", "cari", "kartu"]
        assert [c["command"] for c in by_lang["en"]][:3] == ["start", "search", "cards"]
        assert by_lang[None] == by_lang["id"]


class TestLanguage:
    async def test_switch_is_stored_and_used(self, chat: Chat, services: Services) -> None:
        calls = await chat.send("/bahasa")
        assert calls[0].params["reply_markup"]["inline_keyboard"] == [
            [{"text": "✔ 🇮🇩 Bahasa Indonesia", "callback_data": "lg:id"}],
            [{"text": "🇬🇧 English", "callback_data": "lg:en"}],
        ]
        calls = await chat.tap("English")
        methods = [c.method for c in calls]
        assert methods == [
            "answerCallbackQuery",
            "editMessageText",
            "sendMessage",
            "setMyCommands",
        ]
        assert calls[1].params["text"] == "✅ From now on I will speak English with you."
        assert calls[3].params["scope"] == {"type": "chat", "chat_id": 1001}
        assert calls[3].params["commands"][1]["command"] == "search"
        profile = await services.users.users.get(1001)
        assert profile is not None and profile.language == "en"
        # Telegram still says "id", the stored choice wins.
        calls = await chat.send("/start", language="id")
        assert calls[0].params["text"].startswith("👋 Welcome")
        await chat.send("/language")
        calls = await chat.tap("Bahasa Indonesia")
        assert calls[1].params["text"].startswith("✅ Mulai sekarang")


class TestLocationSearch:
    async def test_location_lists_nearest_with_keyboard(self, chat: Chat, medan) -> None:
        calls = await chat.location(*MEDAN)
        assert [c.method for c in calls] == ["sendMessage"]
        params = calls[0].params
        text = params["text"]
        assert text.startswith("📍 ")
        assert "terdekat lebih dulu" in text
        assert "Kec. Medan Barat" in text  # "you are near …"
        rows = params["reply_markup"]["inline_keyboard"]
        results = rows[:5]
        assert [len(r) for r in results] == [1] * 5
        assert all(r[0]["callback_data"].startswith("co:") for r in results)
        sid = results[0][0]["callback_data"].split(":")[2]
        assert rows[5] == [
            {"text": "1/" + rows[5][0]["text"].split("/")[1], "callback_data": "noop"},
            {"text": "Berikutnya ▶", "callback_data": f"pg:{sid}:1"},
        ]
        assert rows[6] == [
            {"text": "🔎 Jenis", "callback_data": f"ft:{sid}"},
            {"text": "🏷 Layanan", "callback_data": f"fs:{sid}"},
        ]
        # Distances in the Indonesian format ("850 m", "1,2 km"), nearest first.
        labels = [r[0]["text"].rsplit(" · ", 1)[1] for r in results]
        assert all(label.endswith((" m", " km")) and "." not in label for label in labels)

    async def test_live_location_counts_too(self, chat: Chat, medan) -> None:
        calls = await chat.location(*MEDAN, live=True)
        assert calls[0].params["text"].startswith("📍 ")

    async def test_next_page_edits_the_same_message(self, chat: Chat, medan) -> None:
        first = await chat.location(*MEDAN)
        message_id = first[0].result["message_id"]
        calls = await chat.tap("Berikutnya")
        assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
        assert calls[1].params["message_id"] == message_id
        assert "<b>6. " in calls[1].params["text"]
        nav = calls[1].params["reply_markup"]["inline_keyboard"][5]
        assert nav[0]["text"] == "◀ Sebelumnya"
        calls = await chat.tap("Sebelumnya")
        assert "<b>1. " in calls[1].params["text"]

    async def test_detail_venue_and_back(self, chat: Chat, medan) -> None:
        await chat.location(*MEDAN)
        calls = await chat.tap(1)
        assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
        text = calls[1].params["text"]
        assert "Jenis:" in text and "Simpanan pokok" in text and "Rp" in text
        assert "dari Anda" in text  # distance from the shared location
        buttons = calls[1].params["reply_markup"]["inline_keyboard"]
        coop_id = buttons[0][0]["callback_data"][3:]
        assert buttons[0] == [
            {"text": "📝 Gabung dengan koperasi ini", "callback_data": f"jn:{coop_id}"}
        ]
        assert buttons[1][0]["callback_data"] == f"mp:{coop_id}"
        share = urlparse(buttons[1][1]["url"])
        assert share.netloc == "t.me" and share.path == "/share/url"
        link = parse_qs(share.query)["url"][0]
        assert link == f"https://t.me/{BOT_USER['username']}?start=c_{coop_id}"
        assert buttons[2][0]["text"] == "◀ Kembali ke hasil"
        calls = await chat.tap("Lihat di peta")
        venue = next(c for c in calls if c.method == "sendVenue")
        assert venue.params["title"] and venue.params["address"]
        assert abs(venue.params["latitude"] - MEDAN[0]) < 0.2
        calls = await chat.callback(buttons[2][0]["callback_data"])
        assert calls[1].params["text"].startswith("📍 ")

    async def test_filter_by_type_reruns(self, chat: Chat, medan) -> None:
        await chat.location(*MEDAN)
        calls = await chat.tap("Jenis")
        keyboard = calls[1].params["reply_markup"]["inline_keyboard"]
        labels = [b["text"] for row in keyboard for b in row]
        assert any("Syariah" in label for label in labels)
        calls = await chat.tap("Syariah")
        text = calls[-1].params["text"]
        assert "Filter: 🌙 Syariah" in text
        assert calls[-1].params["reply_markup"]["inline_keyboard"][-1][0]["text"] == "🔎 ✔ Syariah"

    async def test_london(self, chat: Chat, medan) -> None:
        calls = await chat.location(51.5072, -0.1276)
        assert "di luar Indonesia" in calls[0].params["text"]


class TestDeepLinkAndInline:
    async def test_deep_link_opens_cooperative(
        self, chat: Chat, services: Services, medan
    ) -> None:
        coop = (
            await services.directory.coops.nearest(
                __import__("storage.models", fromlist=["Point"]).Point(*MEDAN),
                max_distance_m=None,
                limit=1,
            )
        )[0]
        calls = await chat.send(f"/start c_{coop.id}")
        assert [c.method for c in calls] == ["sendMessage"]
        assert calls[0].params["text"].startswith(f"<b>{coop.name}</b>")

    @pytest.mark.parametrize(
        "payload", ["c_000000000000000000000000", "c_nothex", "zzz", "c_" + "a" * 62]
    )
    async def test_bad_deep_links(self, chat: Chat, payload: str) -> None:
        calls = await chat.send(f"/start {payload}")
        assert len(calls) == 1 and calls[0].method == "sendMessage"

    async def test_inline_query(self, chat: Chat, medan) -> None:
        calls = await chat.inline("Medan")
        assert [c.method for c in calls] == ["answerInlineQuery"]
        results = calls[0].params["results"]
        assert 0 < len(results) <= 50
        assert all(r["type"] == "venue" for r in results)
        first = results[0]
        assert (
            first["reply_markup"]["inline_keyboard"][0][0]["url"]
            == f"https://t.me/{BOT_USER['username']}?start=c_{first['id']}"
        )

    async def test_inline_near_location(self, chat: Chat, medan) -> None:
        calls = await chat.inline("", location=MEDAN)
        results = calls[0].params["results"]
        assert results and calls[0].params["is_personal"] is True

    async def test_inline_empty(self, chat: Chat) -> None:
        calls = await chat.inline("")
        assert calls[0].params["results"] == []
        assert calls[0].params["button"]["start_parameter"] == "inline"


class TestTypedSearch:
    async def test_ambiguous_place_buttons(
        self, chat: Chat, services: Services, gazetteer: Gazetteer
    ) -> None:
        rows = directory(gazetteer, region="53.71", n=4) + directory(
            gazetteer, region="53.01", n=3, seed=9
        )
        for i, row in enumerate(rows):
            row["registration_number"] = f"KPG-{i}"
        await services.importer.import_bytes(csv_bytes(rows))
        calls = await chat.send("Kupang")
        params = calls[0].params
        assert "Kupang" in params["text"]
        buttons = [row[0] for row in params["reply_markup"]["inline_keyboard"]]
        assert [b["text"] for b in buttons] == [
            "Kota Kupang, Nusa Tenggara Timur (4)",
            "Kab. Kupang, Nusa Tenggara Timur (3)",
        ]
        calls = await chat.tap(2)
        assert "3 koperasi di Kab. Kupang" in calls[1].params["text"]

    async def test_results_then_detail(self, chat: Chat, medan) -> None:
        calls = await chat.send("Medan Barat")
        assert "koperasi di Kec. Medan Barat" in calls[0].params["text"]
        calls = await chat.tap(1)
        assert "dari Anda" not in calls[1].params["text"]


class TestPrivacy:
    @pytest.mark.parametrize(
        ("command", "language", "fragment"),
        [("/privacy", "en", "Data controller"), ("/privasi", "id", "Pengendali data")],
    )
    async def test_privacy(self, chat: Chat, command: str, language: str, fragment: str) -> None:
        calls = await chat.send(command, language=language)
        assert fragment in calls[0].params["text"] and "90" in calls[0].params["text"]
