"""Member cards: numbers under concurrency, the wallet, images with a verifiable QR."""

from __future__ import annotations

import asyncio
import io
from urllib.parse import parse_qs, urlparse

import pytest
import zxingcpp
from PIL import Image

from bot.app import Backend, Services
from bot.services.draft import MembershipDraft
from bot.telegram.localapi import BOT_USER
from tests.conftest import Chat, texts
from tests.factories import import_rows, present
from tests.test_membership import ROWS


async def apply(
    services: Services,
    user_id: int,
    coop_id: str,
    nik: str,
    name: str = "Siti Aminah",
    language: str = "id",
) -> str:
    draft = MembershipDraft(
        full_name=name,
        birth_place="Medan",
        address="Jl. Mawar 1",
        phone="+6281234567890",
        occupation="pedagang",
        consent_version="t",
        domicile_declared=True,
    )
    draft.set_nik(await services.membership.nik_answer(user_id, coop_id, nik))
    application = await services.membership.submit(user_id, coop_id, draft, language)
    return application.id


def nik(i: int) -> str:
    return f"12710517089{i % 10}{i // 10 % 10}{(i % 9) + 1:03d}"[:12] + f"{i + 1:04d}"


@pytest.fixture
async def coops(services: Services) -> dict[str, str]:
    found = await import_rows(services, ROWS, on_platform=True)
    return found


class TestNumbers:
    async def test_fifty_concurrent_approvals_are_consecutive(
        self, services: Services, coops
    ) -> None:
        ids = [
            await apply(services, 10_000 + i, coops["KK-2"], f"127105170890{i + 1:04d}")
            for i in range(50)
        ]
        approved = await asyncio.gather(*[services.membership.approve(i) for i in ids])
        numbers = sorted(present(present(a).member_number) for a in approved)
        assert numbers == [f"KKS-{n:06d}" for n in range(1, 51)]
        # Approving again (a redelivered button) issues nothing and changes nothing.
        again = await asyncio.gather(*[services.membership.approve(i) for i in ids[:10]])
        assert again == [None] * 10
        coop = present(await services.directory.get(coops["KK-2"]))
        assert coop.member_count == 50
        next_one = await apply(services, 20_000, coops["KK-2"], "1271051708900099")
        assert present(await services.membership.approve(next_one)).member_number == "KKS-000051"

    async def test_numbers_are_per_cooperative(self, services: Services, coops) -> None:
        a = await apply(services, 1, coops["KK-2"], "1271051708900001")
        b = await apply(services, 1, coops["KSP-3"], "1271051708900001")
        assert present(await services.membership.approve(a)).member_number == "KKS-000001"
        assert present(await services.membership.approve(b)).member_number == "KMB-000001"


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


class TestVerification:
    async def test_qr_decodes_to_the_link_and_verifies(
        self, chat: Chat, services: Services, coops
    ) -> None:
        application_id = await apply(services, 1001, coops["KK-2"], "1271055708900001")
        await services.membership.approve(application_id)
        calls = await chat.send("/kartu")
        photo = calls[0]
        assert photo.method == "sendPhoto"
        png = photo.files["photo"][1]
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.size == (1000, 630)
        link = decode_qr(png)
        url = urlparse(link)
        assert url.netloc == "t.me" and url.path == f"/{BOT_USER['username']}"
        payload = parse_qs(url.query)["start"][0]
        assert payload.startswith("v_") and len(payload) <= 64
        assert payload == "v_" + services.cards.token(application_id)
        # A cashier (a stranger) scans it: valid, masked name, no number.
        calls = await chat.send(f"/start {payload}", user_id=5005)
        text = texts(calls)[0]
        assert "Kartu anggota sah" in text and "S*** A*****" in text
        assert "Siti Aminah" not in text and "KKS-" not in text
        # One changed character: not valid, and nothing revealed.
        token = payload[2:]
        for forged in (
            token[:-1] + ("A" if token[-1] != "A" else "B"),
            ("A" if token[0] != "A" else "B") + token[1:],
            token[:20],
            "x" * 32,
            "",
            "v" * 100,
        ):
            calls = await chat.send(f"/start v_{forged}".strip(), user_id=5005)
            reply = texts(calls)[0]
            assert "Tidak sah" in reply or "tidak berlaku" in reply
            assert "Konsumen" not in reply and "S***" not in reply

    async def test_who_sees_what(
        self, chat: Chat, services: Services, coops, backend: Backend
    ) -> None:
        application_id = await apply(services, 1001, coops["KK-2"], "1271055708900001")
        await services.membership.approve(application_id)
        await backend.admins.add(coops["KK-2"], 7001)
        await backend.admins.add(coops["KSP-3"], 7002)
        link = f"/start v_{services.cards.token(application_id)}"
        views = {}
        for viewer in (1001, 7001, 7002, 5005):
            views[viewer] = texts(await chat.send(link, user_id=viewer, language="en"))[0]
        for full in (1001, 7001):  # the owner, and an admin of this cooperative
            assert "Siti Aminah" in views[full] and "KKS-000001" in views[full]
        for masked in (7002, 5005):  # another cooperative's admin, a stranger
            assert "S*** A*****" in views[masked] and "KKS-" not in views[masked]
            assert "Valid member card" in views[masked]

    @pytest.mark.parametrize("end", ["leave", "suspend"])
    async def test_ended_membership_no_longer_verifies(
        self, chat: Chat, services: Services, coops, end: str
    ) -> None:
        application_id = await apply(services, 1001, coops["KK-2"], "1271055708900001")
        await services.membership.approve(application_id)
        if end == "leave":
            await services.membership.leave(1001, application_id)
        else:
            await services.membership.apps.transition(application_id, ("active",), "suspended")
        calls = await chat.send(f"/start v_{services.cards.token(application_id)}", language="en")
        assert "Not valid" in texts(calls)[0] and "Siti" not in texts(calls)[0]


class TestWallet:
    async def test_three_states_browse_list_copy_leave(
        self, chat: Chat, services: Services, coops
    ) -> None:
        a = await apply(services, 1001, coops["KK-2"], "1271055708900001")
        await apply(services, 1001, coops["KSP-3"], "1271055708900001")
        c = await apply(services, 1001, coops["KJ-4"], "1271055708900001")
        await services.membership.approve(a)
        await services.membership.reject(c, "Kuota anggota penuh")
        calls = await chat.send("/cards", language="en")
        first = calls[0]
        assert first.method == "sendPhoto"
        caption = first.params["caption"]
        assert caption.startswith("💳 1 of 3 · 1 active card, 1 waiting")
        assert "Koperasi Konsumen Sejahtera" in caption and "KKS-000001" in caption
        rows = first.params["reply_markup"]["inline_keyboard"]
        assert rows[0][1]["text"] == "1/3"
        assert rows[1][0]["copy_text"] == {"text": "KKS-000001"}
        message_id = first.result["message_id"]
        # ▶ edits the same message: the pending application, then the rejected one.
        calls = await chat.tap("▶", language="en")
        edit = next(x for x in calls if x.method == "editMessageMedia")
        assert edit.params["message_id"] == message_id
        assert "⏳ Waiting for the board since" in edit.params["media"]["caption"]
        calls = await chat.tap("▶", language="en")
        edit = next(x for x in calls if x.method == "editMessageMedia")
        assert "❌ Rejected: Kuota anggota penuh" in edit.params["media"]["caption"]
        # The compact list.
        calls = await chat.tap("List", language="en")
        listing = texts(calls)[0]
        assert (
            "1 active card, 1 waiting" in listing
            and listing.count("\n1. ") + listing.count("\n2. ") + listing.count("\n3. ") == 3
        )
        # Leave the active one, with confirmation.
        await chat.callback(f"wo:{a}", language="en")
        calls = await chat.tap("Leave", language="en")
        assert "Leave <b>Koperasi Konsumen Sejahtera</b>?" in calls[-1].params["caption"]
        calls = await chat.tap("Yes, leave", language="en")
        edit = next(x for x in calls if x.method == "editMessageMedia")
        assert "🚪 Left the cooperative" in edit.params["media"]["caption"]
        assert present(await services.membership.apps.get(a)).status == "left"
        notes = await services.membership.apps.notifications("member_left")
        assert [n.application_id for n in notes] == [a]
        assert present(await services.directory.get(coops["KK-2"])).member_count == 0

    async def test_withdraw_pending(self, chat: Chat, services: Services, coops) -> None:
        b = await apply(services, 1001, coops["KSP-3"], "1271055708900001")
        await chat.send("/kartu")
        await chat.tap("Batalkan permohonan")
        calls = await chat.tap("Ya, batalkan")
        assert present(await services.membership.apps.get(b)).status == "withdrawn"
        assert "Permohonan dibatalkan" in calls[-1].params["media"]["caption"]

    async def test_other_peoples_cards_are_refused(
        self, chat: Chat, services: Services, coops
    ) -> None:
        a = await apply(services, 2002, coops["KK-2"], "1271055708900001")
        await services.membership.approve(a)
        await chat.send("/kartu")  # user 1001 has no cards
        for data in (f"wl:{a}", f"lq:{a}", f"ly:{a}", f"wq:{a}", f"wy:{a}", f"wo:{a}"):
            await chat.send("/start")
            message = present(chat.api.last_with_buttons(1001))
            from bot.telegram.localapi import LocalBotApi

            calls = await chat.feed(
                chat.api.callback_update(LocalBotApi.user(1001, "en"), message, data)
            )
            assert not [x for x in calls if x.method in ("editMessageMedia", "sendPhoto")]
        assert present(await services.membership.apps.get(a)).status == "active"

    async def test_empty_wallet(self, chat: Chat) -> None:
        calls = await chat.send("/kartu", language="en")
        assert "You have no memberships yet" in texts(calls)[0]

    async def test_images_are_cached_per_version(
        self, chat: Chat, services: Services, coops
    ) -> None:
        a = await apply(services, 1001, coops["KK-2"], "1271055708900001")
        b = await apply(services, 1001, coops["KSP-3"], "1271055708900001")
        await services.membership.approve(a)
        await services.membership.approve(b)
        await chat.send("/kartu")
        for _ in range(4):
            await chat.tap("▶")
        assert services.cards.renders == 2
        uploads = [
            c for c in chat.api.calls if c.method in ("sendPhoto", "editMessageMedia") and c.files
        ]
        assert len(uploads) == 2  # afterwards Telegram's file id is reused


class TestTokenSpelling:
    async def test_only_the_issued_spelling_verifies(
        self, chat: Chat, services: Services, coops
    ) -> None:
        """A genuine token respelled with "+" and "/" (standard base64) or padded with "="
        is another string: refused, like any forgery."""
        token = ""
        for i in range(40):  # until a token has a "-" or "_" to respell
            application_id = await apply(services, 3000 + i, coops["KK-2"], nik(i + 1))
            await services.membership.approve(application_id)
            token = services.cards.token(application_id)
            if "-" in token or "_" in token:
                break
        assert "-" in token or "_" in token
        assert (await services.cards.verify(token, 5005)).valid
        respelled = token.replace("-", "+").replace("_", "/")
        for variant in (respelled, token + "=", token + "==", respelled + "="):
            assert not (await services.cards.verify(variant, 5005)).valid, variant
            calls = await chat.send(f"/start v_{variant}", user_id=5005, language="en")
            assert "Not valid" in texts(calls)[0] and "S***" not in texts(calls)[0]
        calls = await chat.send(f"/start v_{token}", user_id=5005, language="en")
        assert "Valid member card" in texts(calls)[0]
