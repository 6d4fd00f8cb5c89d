"""Cooperatives on the platform or not yet: no way into the form of one without a board
ends in silence (its contact card instead), notify-me is delivered once through the
engine in each subscriber's language, pending applicants hear when the board leaves and
returns, and /mydata and /deletedata cover subscriptions and join attempts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.app import Backend, Services
from bot.services.platform import whatsapp_number
from handlers.callbacks import (
    CARD_OPEN,
    CLAIM_START,
    JOIN,
    MAP,
    NOTIFY_CANCEL,
    NOTIFY_LIST,
    NOTIFY_ME,
    NOTIFY_UNLIST,
    QUEUE,
)
from storage.base import JoinAttempts, Subscriptions
from storage.join_attempts import JoinAttemptRepository
from storage.mongo import Store
from storage.subscriptions import SubscriptionRepository
from tests.conftest import Chat, texts
from tests.factories import BOARD, import_rows, put_on_platform
from tests.test_cards import apply
from tests.test_membership import ROWS, draft_of, fill

CITIZEN = 1001
OTHER = 1002
ENGLISH = 1003

PHONES = {"KK-2": "0812-3456-7890", "KSP-3": "(0274) 512345"}


@pytest.fixture
async def coops(services: Services) -> dict[str, str]:
    """KDMP-1 is on the platform (its board is ``BOARD``); the others are not. KK-2 has a
    mobile phone and an address, KSP-3 a landline, KJ-4 neither."""
    rows = [dict(row) for row in ROWS]
    for row in rows:
        if row["registration_number"] in PHONES:
            row["phone"] = PHONES[row["registration_number"]]
    rows[1]["address"] = "Jl. Gatot Subroto No. 1"
    ids = await import_rows(services, rows)
    await put_on_platform(services, [ids["KDMP-1"]])
    return ids


def buttons_of(call: Any) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def card_of(calls: list[Any]) -> Any:
    """The contact card among ``calls`` (the message with the notify-me or stop button)."""
    return next(
        c
        for c in calls
        if c.method in ("sendMessage", "editMessageText")
        and any(
            NOTIFY_ME.matches(b.get("callback_data"))
            or NOTIFY_CANCEL.matches(b.get("callback_data"))
            for b in buttons_of(c)
        )
    )


def no_form(calls: list[Any]) -> bool:
    return "mf:go" not in str([c.params for c in calls])


async def delivered(services: Services) -> None:
    engine = services.broadcast.engine
    assert engine is not None and await engine.idle(30)
    await asyncio.sleep(0.2)


def sent_to(chat: Chat, user_id: int, start: int = 0) -> list[Any]:
    return [
        c
        for c in chat.api.calls[start:]
        if c.method == "sendMessage" and c.params.get("chat_id") == user_id
    ]


class TestDeadEndIsGone:
    async def test_join_button_shows_the_contact_card(
        self, chat: Chat, services: Services, backend: Backend, coops: dict[str, str]
    ) -> None:
        await chat.send(f"/start c_{coops['KK-2']}", language="en")
        calls = await chat.tap("Join", language="en")
        assert no_form(calls)
        card = card_of(calls)
        text = card.params["text"]
        assert "does not take applications in Gerbang Koperasi yet" in text
        assert "Jl. Gatot Subroto No. 1" in text and "+6281234567890" in text
        data = [b.get("callback_data") for b in buttons_of(card)]
        assert CLAIM_START(coops["KK-2"]) in data and MAP(coops["KK-2"]) in data
        assert "forms" not in chat.app.user_data.get(CITIZEN, {})
        attempts = await backend.store["join_attempts"].find_one(
            {"_id": f"{coops['KK-2']}:{CITIZEN}"}
        )
        assert attempts["count"] == 1 and attempts["coop_id"] == coops["KK-2"]

    async def test_deep_link_indonesian(self, chat: Chat, coops: dict[str, str]) -> None:
        calls = await chat.send(f"/start join_{coops['KJ-4']}")
        assert no_form(calls)
        card = card_of(calls)
        assert "Koperasi ini belum menerima permohonan" in card.params["text"]
        labels = [b["text"] for b in buttons_of(card)]
        assert "🔔 Beri tahu saya" in labels and "Saya pengurus koperasi ini" in labels
        # No phone in the directory: no phone buttons, the map and the address still there.
        assert not any("copy_text" in b or "url" in b for b in buttons_of(card))

    async def test_the_page_shows_the_badge(self, chat: Chat, coops: dict[str, str]) -> None:
        calls = await chat.send(f"/start c_{coops['KK-2']}", language="en")
        assert "⚪ Not on Gerbang Koperasi yet" in texts(calls)[0]
        calls = await chat.send(f"/start c_{coops['KDMP-1']}", language="en")
        assert "🟢 On Gerbang Koperasi" in texts(calls)[0]
        calls = await chat.send("Medan", language="en")
        listing = texts(calls)[-1]
        assert listing.count("🟢 apply online") == 1

    async def test_resumed_draft_after_the_board_left(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        kdmp = coops["KDMP-1"]
        await chat.send(f"/start join_{kdmp}", language="en")
        await chat.callback("mf:go", language="en")
        await chat.callback("mf:agree", language="en")
        await chat.send("Siti Aminah", language="en")
        await services.board.revoke(kdmp, BOARD, actor=0, how="test")
        calls = await chat.callback(JOIN(kdmp), language="en")  # "Continue the form"
        assert no_form(calls) and "Welcome back" not in str(texts(calls))
        card_of(calls)
        assert draft_of(chat, CITIZEN)["full_name"] == "Siti Aminah"  # kept for later

    async def test_submit_after_the_board_left_then_came_back(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        kdmp = coops["KDMP-1"]
        await fill(chat, kdmp, submit=False)
        await services.board.revoke(kdmp, BOARD, actor=0, how="test")
        calls = await chat.callback("mf:submit", language="en")
        card = card_of(calls)
        assert card.params["text"].startswith("Your answers are kept")
        assert await services.membership.of_user(CITIZEN) == []
        # The board is back: the same answers go, from where the form stopped.
        await services.board.grant(kdmp, BOARD, actor=0, how="test")
        calls = await chat.callback(JOIN(kdmp), language="en")
        assert "Welcome back" in str(texts(calls))
        calls = await chat.callback("mf:submit", language="en")
        assert any("Application sent!" in t for t in texts(calls))
        (application,) = await services.membership.of_user(CITIZEN)
        assert application.status == "pending"

    async def test_services_refuse_an_application_without_a_board(
        self, services: Services, coops: dict[str, str]
    ) -> None:
        from bot.services.membership import FormError

        with pytest.raises(FormError) as caught:
            await apply(services, CITIZEN, coops["KK-2"], "1271055708900001")
        assert caught.value.code == "off_platform"
        status = await services.membership.eligibility(CITIZEN, coops["KK-2"])
        assert status.status == "off_platform"


class TestContactCard:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("0812-3456-7890", "6281234567890"),
            ("+62 812 3456 7890", "6281234567890"),
            ("6285712345678", "6285712345678"),
            ("(0274) 512345", None),
            ("021-5551234", None),
            ("not a phone", None),
            (None, None),
        ],
    )
    def test_whatsapp_only_for_mobiles(self, raw: str | None, expected: str | None) -> None:
        assert whatsapp_number(raw) == expected

    async def test_mobile_landline_and_map(self, chat: Chat, coops: dict[str, str]) -> None:
        calls = await chat.send(f"/start join_{coops['KK-2']}", language="en")
        reach = buttons_of(card_of(calls))
        assert {"text": "📋 Copy phone", "copy_text": {"text": "+6281234567890"}} in reach
        assert any(b.get("url") == "https://wa.me/6281234567890" for b in reach)
        calls = await chat.send(f"/start join_{coops['KSP-3']}", language="en")
        reach = buttons_of(card_of(calls))
        assert any(b.get("copy_text") == {"text": "+62274512345"} for b in reach)
        assert not any("url" in b for b in reach)  # a landline has no WhatsApp
        calls = await chat.tap("Show on map", language="en")
        venue = next(c for c in calls if c.method == "sendVenue").params
        assert abs(venue["latitude"] - 3.58) < 0.001


class TestNotifyMe:
    async def test_told_once_in_their_language(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        kk = coops["KK-2"]
        await chat.send(f"/start join_{kk}")
        calls = await chat.tap("Beri tahu saya")
        assert "Jangan beri tahu saya" in str(buttons_of(card_of(calls)))
        assert "Saya akan mengabari Anda" in card_of(calls).params["text"]
        await chat.send(f"/start join_{kk}", user_id=ENGLISH, language="en")
        await chat.tap("Notify me", user_id=ENGLISH, language="en")
        start = len(chat.api.calls)

        await services.board.grant(kk, 7100, actor=0, how="test")
        await delivered(services)
        (indonesian,) = sent_to(chat, CITIZEN, start)
        assert "kini bergabung di Gerbang Koperasi" in indonesian.params["text"]
        assert JOIN(kk) in str(indonesian.params["reply_markup"])
        (english,) = sent_to(chat, ENGLISH, start)
        assert "is now on Gerbang Koperasi" in english.params["text"]

        # Off and on again: nobody is told twice.
        await services.board.revoke(kk, 7100, actor=0, how="test")
        await services.board.grant(kk, 7100, actor=0, how="test")
        await delivered(services)
        assert len(sent_to(chat, CITIZEN, start)) == 1
        assert len(sent_to(chat, ENGLISH, start)) == 1

        # The Join button of the notice now opens the form.
        calls = await chat.callback(JOIN(kk))
        assert "mf:go" in str([c.params for c in calls])

    async def test_subscribing_again_after_being_told(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        kk = coops["KK-2"]
        assert (await services.platform.subscribe(CITIZEN, kk)).status == "subscribed"
        assert (await services.platform.subscribe(CITIZEN, kk)).status == "already"
        start = len(chat.api.calls)
        await services.board.grant(kk, 7100, actor=0, how="test")
        assert (await services.platform.subscribe(CITIZEN, kk)).status == "on_platform"
        await services.board.revoke(kk, 7100, actor=0, how="test")
        assert (await services.platform.subscribe(CITIZEN, kk)).status == "subscribed"
        await services.board.grant(kk, 7100, actor=0, how="test")
        await delivered(services)
        assert len(sent_to(chat, CITIZEN, start)) == 2  # one per subscription

    async def test_cancel_from_the_card_and_from_the_list(
        self, chat: Chat, services: Services, backend: Backend, coops: dict[str, str]
    ) -> None:
        for ref in ("KK-2", "KSP-3"):
            await chat.send(f"/start join_{coops[ref]}", language="en")
            await chat.tap("Notify me", language="en")
        calls = await chat.tap("Stop notifying me", language="en")
        assert "🔔 Notify me" in str(buttons_of(card_of(calls)))
        calls = await chat.send(f"/start join_{coops['KK-2']}", language="en")
        assert "I will tell you here" in card_of(calls).params["text"]  # still waiting
        calls = await chat.tap("My list", language="en")
        listing = texts(calls)[-1]
        assert "KSP" not in listing and "Koperasi Konsumen Sejahtera" in listing
        calls = await chat.callback(NOTIFY_UNLIST(coops["KK-2"]), language="en")
        assert "not waiting for any cooperative" in texts(calls)[-1]
        assert await backend.store["subscriptions"].count_documents({}) == 0
        start = len(chat.api.calls)
        await services.board.grant(coops["KK-2"], 7100, actor=0, how="test")
        await delivered(services)
        assert sent_to(chat, CITIZEN, start) == []

    async def test_buttons_act_for_the_one_who_taps(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        kk = coops["KK-2"]
        await chat.send(f"/start join_{kk}", language="en")
        await chat.tap("Notify me", language="en")
        card = chat.last_buttons(CITIZEN)
        other = chat.user(OTHER, "en")
        # Someone else taps "stop" and "stop from the list" on the citizen's card.
        for data in (NOTIFY_CANCEL(kk), NOTIFY_UNLIST(kk)):
            await chat.feed(chat.api.callback_update(other, card, data))
        assert await services.platform.subscriptions.is_waiting(kk, CITIZEN)
        # … and "notify me": it subscribes them, not anyone else.
        await chat.feed(chat.api.callback_update(other, card, NOTIFY_ME(coops["KJ-4"])))
        assert await services.platform.subscriptions.is_waiting(coops["KJ-4"], OTHER)
        assert not await services.platform.subscriptions.is_waiting(coops["KJ-4"], CITIZEN)
        calls = await chat.feed(chat.api.callback_update(other, card, NOTIFY_LIST()))
        assert "Koperasi Konsumen" not in texts(calls)[-1]  # the citizen's list stays theirs


class TestRights:
    async def test_mydata_lists_and_deletedata_erases(
        self, chat: Chat, services: Services, backend: Backend, coops: dict[str, str]
    ) -> None:
        await chat.send(f"/start join_{coops['KK-2']}", language="en")
        await chat.tap("Notify me", language="en")
        await chat.send(f"/start join_{coops['KJ-4']}", language="en")
        data = await services.privacy.export(CITIZEN)
        assert [s["cooperative"] for s in data["notify_me"]] == ["Koperasi Konsumen Sejahtera"]
        assert data["notify_me"][0]["notified_at"] is None
        assert {a["cooperative_id"] for a in data["join_attempts"]} == {
            coops["KK-2"],
            coops["KJ-4"],
        }
        calls = await chat.send("/mydata", language="en")
        document = next(c for c in calls if c.method == "sendDocument")
        assert NOTIFY_LIST() in str(document.params.get("reply_markup"))
        await chat.send("/deletedata", language="en")
        await chat.tap("Yes, delete everything", language="en")
        for name in ("subscriptions", "join_attempts"):
            assert await backend.store[name].count_documents({"user_id": CITIZEN}) == 0
        data = await services.privacy.export(CITIZEN)
        assert data["notify_me"] == [] and data["join_attempts"] == []


class TestPendingApplicants:
    async def test_told_when_the_board_leaves_and_returns(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        kk = coops["KK-2"]
        await put_on_platform(services, [kk])
        app_en = await apply(services, ENGLISH, kk, "1271055708900001", language="en")
        await apply(services, CITIZEN, kk, "1271055708900002", language="id")
        await chat.send("/start", user_id=CITIZEN)  # known, in Indonesian
        start = len(chat.api.calls)
        # The last admin erases their data: the cooperative goes off the platform.
        await services.privacy.erase(BOARD)
        assert not (await services.directory.get(kk)).on_platform
        await delivered(services)
        (paused,) = sent_to(chat, ENGLISH, start)
        assert "keeps its place" in paused.params["text"]
        assert CARD_OPEN(app_en) in str(paused.params["reply_markup"])
        (ditunda,) = sent_to(chat, CITIZEN, start)
        assert "tetap pada urutannya" in ditunda.params["text"]

        start = len(chat.api.calls)
        await services.board.grant(kk, 7200, actor=0, how="test")
        await delivered(services)
        (resumed,) = sent_to(chat, ENGLISH, start)
        assert "is reviewing your application" in resumed.params["text"]
        (waiting,) = sent_to(chat, 7200, start)
        assert QUEUE(kk, 0) in str(waiting.params["reply_markup"])
        calls = await chat.callback(QUEUE(kk, 0), user_id=7200, language="en")
        assert "Application 1/2" in texts(calls)[-1]


def test_repositories_conform(store: Store) -> None:
    subscriptions: Subscriptions = SubscriptionRepository(store)  # mypy checks the types
    attempts: JoinAttempts = JoinAttemptRepository(store)
    for repo, protocol in ((subscriptions, Subscriptions), (attempts, JoinAttempts)):
        names = [n for n in vars(protocol) if not n.startswith("_")]
        assert names and all(callable(getattr(repo, n, None)) for n in names)


async def test_demo_has_cooperatives_on_and_off(
    services: Services, backend: Backend, gazetteer: Any
) -> None:
    from bot.services.demo import DEMO_BOARD_ID, seed_demo

    coops, board = services.directory.coops, services.board
    await seed_demo(services.importer, coops, gazetteer, ("53.71",), board=board)
    run_by = await backend.admins.coops_of(DEMO_BOARD_ID)
    assert 1 <= len(run_by) <= 10  # the Merah Putih cooperatives near Kupang's centre
    total = await backend.store["cooperatives"].count_documents({})
    on = await backend.store["cooperatives"].count_documents({"on_platform": True})
    assert on == len(run_by) and total > on
    await seed_demo(services.importer, coops, gazetteer, ("53.71",), board=board)
    assert sorted(await backend.admins.coops_of(DEMO_BOARD_ID)) == sorted(run_by)
