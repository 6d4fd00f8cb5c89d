"""Bad input of every kind gets a clear, translated answer — never a traceback."""

from __future__ import annotations

import logging

import pytest

from bot.app import Services
from bot.services.gazetteer import Gazetteer
from tests.conftest import Chat
from tests.factories import csv_bytes, directory

CASES = [
    ("", "empty"),
    ("   ", "empty"),
    ("x" * 4000, "long"),
    ("😀😀😀", "empty"),
    ("<b>", "empty"),
    ("&", "empty"),
    ("_*[", "empty"),
    ("<script>alert(1)</script>", "nothing"),
    ("Koperasi <b>Sejahtera</b> & Co", "any"),
    ("\u202etxet\u200b", "nothing"),
    ("a\u0301\u0308", "empty"),
]


@pytest.fixture
async def some(services: Services, gazetteer: Gazetteer) -> None:
    await services.importer.import_bytes(csv_bytes(directory(gazetteer, region="12.71", n=20)))


class TestText:
    @pytest.mark.parametrize(("text", "kind"), CASES)
    @pytest.mark.parametrize("language", ["id", "en"])
    async def test_answered(
        self,
        chat: Chat,
        some,
        text: str,
        kind: str,
        language: str,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        if not text.strip():
            # Telegram never delivers an empty message; the console skips blank lines.
            return
        with caplog.at_level(logging.ERROR):
            calls = await chat.send(text, language=language)
        assert [c.method for c in calls] == ["sendMessage"]
        reply = calls[0].params["text"]
        assert "Traceback" not in reply and "⚠️" not in reply
        if kind == "long":
            assert ("terlalu panjang" if language == "id" else "too long") in reply
        elif kind == "empty":
            assert ("Ketik nama tempat" if language == "id" else "Type a place") in reply
        elif kind == "nothing":
            assert ("Tidak ada hasil" if language == "id" else "Nothing found") in reply
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    async def test_user_text_is_escaped_in_replies(self, chat: Chat, some) -> None:
        calls = await chat.send("zzz <b>&lt; & > qqq")
        assert "zzz &lt;b&gt;&amp;lt; &amp; &gt; qqq" in calls[0].params["text"]


class TestOtherMessages:
    @pytest.mark.parametrize(
        "content",
        [
            {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            },
            {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]},
            {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}},
            {"document": {"file_id": "d", "file_unique_id": "d", "file_name": "x.pdf"}},
            {"contact": {"phone_number": "+628123456789", "first_name": "X", "user_id": 5}},
            {"dice": {"emoji": "🎲", "value": 3}},
        ],
    )
    @pytest.mark.parametrize("language", ["id", "en"])
    async def test_unsupported(self, chat: Chat, content: dict, language: str) -> None:
        calls = await chat.message(language=language, **content)
        assert [c.method for c in calls] == ["sendMessage"]
        expected = "tidak bisa membaca" if language == "id" else "can't read"
        assert expected in calls[0].params["text"]

    @pytest.mark.parametrize(
        "command", ["/foo", "/cards", "/admin", "/start@OtherBot", "/" + "x" * 30]
    )
    async def test_unknown_commands(self, chat: Chat, command: str) -> None:
        calls = await chat.send(command)
        assert len(calls) <= 1
        if calls:
            assert calls[0].method == "sendMessage"

    async def test_cancel_with_nothing_to_cancel(self, chat: Chat) -> None:
        calls = await chat.send("/batal", language="en")
        assert calls[0].params["text"] == "There is nothing to cancel."

    @pytest.mark.parametrize(
        ("lat", "lon"), [(51.5072, -0.1276), (90, 0), (-90, 180), (0, -180), (-6.2, 106.8)]
    )
    async def test_locations_anywhere(self, chat: Chat, lat: float, lon: float) -> None:
        calls = await chat.location(lat, lon, language="en")
        assert [c.method for c in calls] == ["sendMessage"]


class TestButtons:
    @pytest.mark.parametrize(
        "data",
        [
            "pg:nope1234:0",
            "co:" + "0" * 24,
            "pk:nope1234:0",
            "ft:nope1234",
            "st:nope1234:konsumen",
            "zz",
            "x" * 64,
            "co:zz",
            "pg:abc:-1",
            "lg:fr",
            "mp:" + "f" * 24,
        ],
    )
    @pytest.mark.parametrize("language", ["id", "en"])
    async def test_stale_or_forged(self, chat: Chat, some, data: str, language: str) -> None:
        await chat.send("/start", language=language)
        await chat.send("Medan", language=language)
        calls = await chat.callback(data, language=language)
        answers = [c for c in calls if c.method == "answerCallbackQuery"]
        assert len(answers) == 1
        assert answers[0].params.get("show_alert") is True
        assert answers[0].params["text"]
        assert not [
            c
            for c in calls
            if c.method in ("sendMessage", "editMessageText") and "⚠️" in c.params.get("text", "")
        ]

    async def test_old_buttons_work_after_restart(
        self, backend, services: Services, settings, some
    ) -> None:
        from telegram import Update

        from bot.app import build_application
        from bot.telegram.localapi import LocalBotApi

        api = LocalBotApi()
        user = LocalBotApi.user(7, "id")
        app = build_application(settings, backend, services=services, request=api)
        async with app:
            await app.process_update(
                Update.de_json(api.message_update(user, text="Medan"), app.bot)
            )
        message = api.last_with_buttons(7)
        assert message is not None
        next_data = next(
            b["callback_data"]
            for row in message.payload["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"].startswith("Berikutnya")
        )
        # A new Application (a restart) on the same database answers the old button.
        app2 = build_application(settings, backend, services=services, request=api)
        async with app2:
            await app2.process_update(
                Update.de_json(api.callback_update(user, message, next_data), app2.bot)
            )
        assert api.calls[-1].method == "editMessageText"
        assert "<b>6. " in api.calls[-1].params["text"]
