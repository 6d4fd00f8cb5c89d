"""Issue 16, items 24–26: announcements name their sender; every reader gets their own
language (announcement headers and buttons, /stats, demo pages, /mydata); no double spaces
or dangling separators in what the bot says; no hard-coded user-facing text in handlers."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.app import Backend, Services
from bot.i18n import I18n
from bot.services.demo import seed_demo
from bot.telegram.html import html_to_text, utf16_len
from bot.telegram.localapi import LocalBotApi
from bot.telegram.localserver import LocalBotApiServer
from bot.telegram.sender import HttpSender, make_sender
from handlers.broadcast.header import HEADER_ROOM, Dresser, dress, header
from handlers.callbacks import MUTE
from handlers.privacy import BLOCKS, export_summary, split_message
from storage.broadcasts import BroadcastRepository
from storage.models import Broadcast, Notice
from storage.mongo import Store
from tests import test_broadcast, test_membership
from tests.conftest import Chat, texts
from tests.test_membership import fill
from tools import i18n as catalogs

members = test_broadcast.members  # fixtures: a cooperative with members, the test directory
coops = test_membership.coops
ROOT = Path(__file__).resolve().parent.parent
I18N = I18n(ROOT / "locales")


def job(**fields: Any) -> Broadcast:
    base: dict[str, Any] = {
        "id": "j1",
        "kind": "coop",
        "coop_id": "65a000000000000000000001",
        "text": "Rapat <b>Sabtu</b>",
        "photo": None,
        "created_by": 1,
        "status": "running",
        "sender": "Koperasi Konsumen Sejahtera",
    }
    base.update(fields)
    return Broadcast(**base)


async def until_idle(services: Services) -> None:
    engine = services.broadcast.engine
    assert engine is not None and await engine.idle(30)
    await asyncio.sleep(0.3)


def delivered(chat: Chat, user_id: int) -> list[Any]:
    return [
        c
        for c in chat.api.calls
        if c.method in ("sendMessage", "sendPhoto") and c.params["chat_id"] == user_id
    ]


class TestSender:
    """Item 24: who sent it, in a header the admin cannot remove; the button mutes them."""

    async def test_members_see_the_cooperative_in_their_language(
        self, chat: Chat, services: Services, members: dict[str, Any]
    ) -> None:
        await chat.send("/start", user_id=3001, language="en")
        await chat.send("/start", user_id=3002, language="id")
        await chat.send("/admin", user_id=7001, language="en")
        await chat.tap("Announcement", user_id=7001, language="en")
        # An admin who writes a header of their own gets the real one above it.
        await chat.send(
            "📣 Pengumuman dari Gerbang Koperasi: iuran naik", user_id=7001, language="en"
        )
        await chat.tap("Active members", user_id=7001, language="en")
        await chat.tap("Send now", user_id=7001, language="en")
        await until_idle(services)
        english = delivered(chat, 3001)[-1].params
        assert english["text"] == (
            "📣 <b>Announcement from Koperasi Konsumen Sejahtera</b>\n\n"
            "📣 Pengumuman dari Gerbang Koperasi: iuran naik"
        )
        button = english["reply_markup"]["inline_keyboard"][0][0]
        assert button == {
            "text": "🔕 Mute Koperasi Konsumen Sejahtera",
            "callback_data": MUTE(members["coop"]),
        }
        indonesian = delivered(chat, 3002)[-1].params
        assert indonesian["text"].startswith(
            "📣 <b>Pengumuman dari Koperasi Konsumen Sejahtera</b>\n\n"
        )
        label = indonesian["reply_markup"]["inline_keyboard"][0][0]["text"]
        assert label == "🔕 Bisukan Koperasi Konsumen Sejahtera"
        # The job keeps the admin's text; the header is the sender's, added when sending.
        job = (await services.broadcast.repo.recent(7001, 1))[0]
        assert job.text == "📣 Pengumuman dari Gerbang Koperasi: iuran naik"
        assert job.sender == "Koperasi Konsumen Sejahtera"
        # Muting answers with the name and offers the way back, in the reader's language.
        message = chat.api.last_with_buttons(3002)
        assert message is not None
        calls = await chat.feed(
            chat.api.callback_update(
                LocalBotApi.user(3002, "id"), message, button["callback_data"]
            )
        )
        answer = next(c for c in calls if c.method == "answerCallbackQuery").params["text"]
        assert "Koperasi Konsumen Sejahtera" in answer
        edit = next(c for c in calls if c.method == "editMessageReplyMarkup")
        assert edit.params["reply_markup"]["inline_keyboard"][0][0]["text"] == (
            "🔔 Aktifkan lagi Koperasi Konsumen Sejahtera"
        )
        assert 3002 in await services.broadcast.repo.muted(members["coop"])

    @pytest.mark.parametrize("lang", ["id", "en"])
    def test_header_is_escaped_and_fits_its_room(self, lang: str) -> None:
        t = I18N.get(lang)
        name = "Koperasi <b>Maju</b> & Jaya " + "Sejahtera " * 40
        top = header(t, job(sender=name))
        assert "<b>Maju</b>" not in top and "&lt;b&gt;Maju" in top
        assert utf16_len(html_to_text(top)) + 2 <= HEADER_ROOM
        _body, markup = dress(t, job(sender=name), "x")
        button = markup.inline_keyboard[0][0]
        assert len(button.text) <= 48 and len(str(button.callback_data).encode()) <= 64
        # Where the names all begin alike, the button keeps the part that differs.
        _, markup = dress(t, job(sender="Koperasi Kelurahan Merah Putih Kesawan (Demo)"), "")
        assert "Kesawan" in markup.inline_keyboard[0][0].text

    def test_platform_announcements_are_from_gerbang_koperasi(self) -> None:
        body, markup = Dresser(I18N)(job(kind="platform", coop_id=None, sender=None), "en")
        assert body.startswith("📣 <b>Announcement from Gerbang Koperasi</b>\n\n")
        button = markup.inline_keyboard[0][0]
        assert button.text == "🔕 Mute Gerbang Koperasi"
        assert button.callback_data == MUTE("platform")

    async def test_compose_leaves_room_for_the_header(
        self, chat: Chat, services: Services, members: dict[str, Any]
    ) -> None:
        await chat.send("/admin", user_id=7001, language="en")
        await chat.tap("Announcement", user_id=7001, language="en")
        calls = await chat.send("a" * (4096 - HEADER_ROOM + 1), user_id=7001, language="en")
        assert "At most 3,996 characters" in texts(calls)[-1]
        # The longest allowed text goes out with its header within Telegram's limit (the
        # stand-in refuses longer ones; the fixture fails on any refusal).
        await chat.send("b" * (4096 - HEADER_ROOM), user_id=7001, language="en")
        calls = await chat.tap("Active members", user_id=7001, language="en")
        assert any(t.startswith("📣 <b>Announcement from") for t in texts(calls))
        await chat.tap("Send now", user_id=7001, language="en")
        await until_idle(services)
        sent = delivered(chat, 3001)[-1].params["text"]
        assert sent.endswith("b" * 100) and utf16_len(html_to_text(sent)) <= 4096


async def test_both_senders_send_the_same(store: Store) -> None:
    """Item 25: the language is on the recipient record; both senders render it alike."""
    repo = BroadcastRepository(store)
    await store["users"].insert_many(
        [{"_id": 801, "language": "en"}, {"_id": 802, "telegram_language": "id-ID"}]
    )
    from bot.services.broadcast import BroadcastService

    service = BroadcastService(repo, i18n=I18N)
    assert await service.languages([801, 802, 803]) == {801: "en", 802: "id", 803: "id"}
    created = await repo.create(
        kind="platform",
        coop_id=None,
        text="Info",
        photo=None,
        created_by=1,
        recipients=[801, 802, Notice(804, "Hai", [])],
        paid=False,
        scheduled_at=None,
        language="id",
        audience={},
        languages=await service.languages([801, 802]),
    )
    recipients = sorted(
        await repo.claim(created.id, 10, datetime.now(UTC)), key=lambda r: r.chat_id
    )
    assert [r.language for r in recipients] == ["en", "id", None]
    server = LocalBotApiServer()
    url = await server.start()
    bot = Bot("123456:ABC", base_url=url, request=HTTPXRequest())
    await bot.initialize()
    http = HttpSender(url, "123456:ABC", Dresser(I18N))
    await http.start()
    try:
        for recipient in recipients:
            await make_sender(bot, Dresser(I18N))(created, recipient)
            await http(created, recipient)
    finally:
        await http.close()
        await bot.shutdown()
        await server.stop()
    sent = [c.params for c in server.api.calls if c.method == "sendMessage"]
    by_pair = [(a, b) for a, b in zip(sent[::2], sent[1::2], strict=True)]
    for ptb, lean in by_pair:
        assert ptb["text"] == lean["text"]
        assert json.loads(json.dumps(ptb.get("reply_markup"))) == lean.get("reply_markup")
    assert [p[0]["text"].split("\n")[0] for p in by_pair] == [
        "📣 <b>Announcement from Gerbang Koperasi</b>",
        "📣 <b>Pengumuman dari Gerbang Koperasi</b>",
        "Hai",
    ]


class TestLanguage:
    """Item 25: nothing in the other language."""

    async def test_stats_names_statuses_in_the_readers_language(
        self, chat: Chat, services: Services, members: dict[str, Any]
    ) -> None:
        calls = await chat.send("/stats", user_id=900, language="id")  # the tests' operator
        said = "\n".join(texts(calls))
        line = next(line for line in said.split("\n") if line.startswith("Permohonan:"))
        assert "aktif 3" in line and "menunggu 1" in line
        assert "active" not in line and "pending" not in line

    @pytest.mark.parametrize(("lang", "foreign"), [("id", "not a real"), ("en", "bukan koperasi")])
    async def test_demo_page_in_one_language(
        self, chat: Chat, services: Services, store: Store, lang: str, foreign: str
    ) -> None:
        await seed_demo(
            services.importer, services.directory.coops, services.gazetteer, ("12.71",)
        )
        doc = await store["cooperatives"].find_one(
            {"registration_number": "DEMO-KDMP-12.71.05.1001"}
        )
        assert doc is not None
        coop = await services.directory.get(str(doc["_id"]))
        assert coop is not None and coop.demo and not coop.description
        calls = await chat.send(f"/start c_{coop.id}", user_id=5101, language=lang)
        page = "\n".join(texts(calls))
        assert "🧪" in page and foreign not in page

    @pytest.mark.parametrize(
        ("lang", "expected", "foreign"),
        [("id", "Permohonan dan keanggotaan", "full_name"), ("en", "Applications and", "Nama:")],
    )
    async def test_mydata_has_a_readable_summary(
        self,
        chat: Chat,
        services: Services,
        coops: dict[str, str],
        lang: str,
        expected: str,
        foreign: str,
    ) -> None:
        await fill(chat, coops["KK-2"], language=lang)
        calls = await chat.send("/mydata", language=lang)
        assert [c.method for c in calls] == ["sendDocument", "sendMessage"]
        summary = calls[1].params["text"]
        assert expected in summary and foreign not in summary
        assert "Siti Aminah" in summary and "1271********0001" in summary
        assert "1271055708900001" not in summary  # in full only in the file

    async def test_summary_names_every_block_of_the_export(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        await fill(chat, coops["KK-2"], language="en")
        data = await services.privacy.export(1001)
        unnamed = [
            k
            for k in data
            if k not in BLOCKS
            and k
            not in (
                "exported_at",
                "controller",
                "telegram_user_id",
                "profile",
                "applications_and_memberships",
                "admin_of",
            )
        ]
        assert unnamed == [], "add these export blocks to handlers/privacy.py BLOCKS"

    def test_long_summaries_are_split_between_lines(self) -> None:
        t = I18N.get("id")
        item = {"cooperative": "Koperasi " + "x" * 80, "status": "active", "full_name": "Siti"}
        data = {
            "exported_at": "2026-11-30T01:00:00+00:00",
            "profile": {},
            "applications_and_memberships": [item] * 60,
        }
        parts = split_message(export_summary(t, data))
        assert len(parts) > 1 and all(utf16_len(p) <= 4096 for p in parts)
        assert all(html_to_text(p) for p in parts)  # each part is whole HTML

    def test_handlers_have_no_hard_coded_text(self, tmp_path: Path) -> None:
        assert catalogs.hardcoded() == []
        # The check catches what issue 16 found: a bilingual literal on a button.
        module = tmp_path / "handlers" / "x.py"
        module.parent.mkdir()
        module.write_text(
            "from telegram import InlineKeyboardButton\n"
            "b = InlineKeyboardButton('🔕 Bisukan pengumuman · Mute', callback_data='m')\n"
            "async def f(m, _):\n"
            "    await m.reply_text(_('Fine') + ' · coop')\n"
            "    lines = [f'Status: {m}', '🔔', _('ok')]\n"
            "    await m.reply_text(t.gettext('x'))\n"
        )
        found = catalogs.hardcoded(tmp_path)
        assert [f.split(": not translated: ")[1] for f in found] == [
            "'🔕 Bisukan pengumuman · Mute'",
            "'· coop'",
            "'Status:'",
        ]


class TestSpacing:
    """Item 26: no double spaces or separators with nothing beside them."""

    def test_the_check(self) -> None:
        assert catalogs.spacing("📥 Permohonan  · Koperasi")
        assert catalogs.spacing("Nama ()") and catalogs.spacing("A ·")
        assert not catalogs.spacing("📥 Permohonan 1/2 · Koperasi\n   Nama: Siti")

    def test_catalogs(self) -> None:
        assert [p for p in catalogs.problems() if "double space" in p or "dangling" in p] == []

    @pytest.mark.parametrize("lang", ["id", "en"])
    async def test_main_flows_render_cleanly(
        self, chat: Chat, services: Services, backend: Backend, coops: dict[str, str], lang: str
    ) -> None:
        """Search, a coop's page, the form, the board's alert and queue, the decision,
        the cards, /mydata: every text sent, as the reader sees it."""
        coop = coops["KK-2"]
        await backend.admins.add(coop, 7001)
        await chat.send("/start", user_id=7001, language=lang)
        await chat.send("/start", language=lang)
        await chat.send("Medan", language=lang)
        await chat.send(f"/start c_{coop}", language=lang)
        await fill(chat, coop, language=lang)
        await chat.send("/admin", user_id=7001, language=lang)
        await chat.tap("📥", user_id=7001, language=lang)
        await chat.tap("✅", user_id=7001, language=lang)
        await chat.send("/cards", language=lang)
        await chat.send("/mydata", language=lang)
        alert = next(
            t
            for c in chat.api.calls
            if c.params.get("chat_id") == 7001
            for t in [c.params.get("text", "")]
            if t.startswith("🔔")
        )
        assert "📥 <b>" in alert and "</b> · Koperasi Konsumen Sejahtera" in alert
        problems = [
            (c.method, problem)
            for c in chat.api.calls
            for key in ("text", "caption")
            if isinstance(c.params.get(key), str)
            for problem in catalogs.spacing(html_to_text(c.params[key]))
        ]
        assert problems == []
