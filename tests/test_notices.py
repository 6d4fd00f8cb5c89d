"""Messages the bot starts itself reach each reader in the reader's language: the language
they chose, else the one their Telegram is in, else Indonesian (issue 14, finding 9)."""

from __future__ import annotations

import pytest

from bot.app import Backend, Services
from bot.telegram.localapi import Call
from tests.conftest import Chat
from tests.factories import csv_bytes, present
from tests.test_cards import apply
from tests.test_membership import ROWS, fill

ADMIN = 8100


@pytest.fixture
async def coop(services: Services, backend: Backend) -> str:
    await services.importer.import_bytes(csv_bytes(ROWS))
    coop_id = present(await services.directory.coops.get_by_key("reg:kj4")).id
    await backend.admins.add(coop_id, ADMIN)
    return coop_id


def sent_to(calls: list[Call], user_id: int) -> list[str]:
    return [
        c.params.get("text", "")
        for c in calls
        if c.method == "sendMessage" and c.params["chat_id"] == user_id
    ]


class TestAdminNotices:
    async def test_english_telegram_gets_the_new_application_in_english(
        self, chat: Chat, coop: str
    ) -> None:
        # The admin's Telegram is in English; they never chose a language.
        await chat.send("/help", user_id=ADMIN, language="en")
        calls = await fill(chat, coop, user_id=5556, language="id", nik="1271055708900010")
        notice = sent_to(calls, ADMIN)
        assert notice, "the admin was not told"
        assert "🔔 New application" in notice[0] and "Address:" in notice[0]
        assert "Permohonan baru" not in notice[0]

    async def test_member_left_in_english(self, chat: Chat, services: Services, coop: str) -> None:
        await chat.send("/help", user_id=ADMIN, language="en")
        member = await apply(services, 1003, coop, "1271055708900003", name="Rina Marlina")
        await services.membership.approve(member)
        await chat.send("/kartu", user_id=1003, language="id")
        await chat.tap("Keluar", user_id=1003, language="id")
        calls = await chat.tap("Ya, keluar", user_id=1003, language="id")
        notice = sent_to(calls, ADMIN)
        assert notice and " left " in notice[0] and "keluar dari" not in notice[0]

    async def test_a_chosen_language_wins_over_telegram(self, chat: Chat, coop: str) -> None:
        await chat.send("/language", user_id=ADMIN, language="en")
        await chat.tap("Bahasa Indonesia", user_id=ADMIN, language="en")
        calls = await fill(chat, coop, user_id=5557, language="en", nik="1271055708900011")
        assert "🔔 Permohonan baru" in sent_to(calls, ADMIN)[0]

    async def test_an_admin_never_seen_hears_indonesian_and_is_not_recorded(
        self, chat: Chat, backend: Backend, coop: str
    ) -> None:
        calls = await fill(chat, coop, user_id=5558, language="en", nik="1271055708900012")
        assert "🔔 Permohonan baru" in sent_to(calls, ADMIN)[0]
        # Being told something is not being seen: no profile is made up for the admin.
        assert await backend.users.get(ADMIN) is None


class TestApplicantNotices:
    async def test_decision_in_the_language_chosen_since_applying(
        self, chat: Chat, services: Services, coop: str
    ) -> None:
        application = await apply(services, 1005, coop, "1271055708900005", language="id")
        await chat.send("/language", user_id=1005, language="id")
        await chat.tap("English", user_id=1005, language="id")
        await chat.send("/admin", user_id=ADMIN, language="id")
        await chat.callback(f"aa:{application}", user_id=ADMIN, language="id")
        calls = await chat.callback(f"ay:{application}", user_id=ADMIN, language="id")
        told = sent_to(calls, 1005)
        assert told and "Welcome to" in told[0] and "Selamat bergabung" not in told[0]

    async def test_no_profile_keeps_the_language_of_the_form(
        self, chat: Chat, services: Services, coop: str
    ) -> None:
        application = await apply(services, 1006, coop, "1271055708900006", language="en")
        await chat.send("/admin", user_id=ADMIN, language="id")
        await chat.callback(f"aa:{application}", user_id=ADMIN, language="id")
        calls = await chat.callback(f"ay:{application}", user_id=ADMIN, language="id")
        assert "Welcome to" in sent_to(calls, 1006)[0]
