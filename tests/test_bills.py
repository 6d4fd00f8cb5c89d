"""Members' money (issue 18, items 1 and 4): how a cooperative's members pay, set by its
board; how to pay after approval; one bill across all memberships (/tagihan); each card's
own status line (/kartu)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from babel.dates import format_date
from bson import ObjectId

from bot.app import Backend, Services
from bot.services.admin import Forbidden
from bot.services.dues import add_months, month_of
from bot.services.profile import InputError
from bot.services.timezones import WIB, local_date
from handlers.callbacks import APPROVE_YES, HOW_TO_PAY, PAY_EDIT, PAY_REMINDERS, PROOF_START
from tests.conftest import Chat, texts
from tests.factories import BOARD, import_rows
from tests.test_cards import apply
from tests.test_membership import ROWS

MEMBER = 1001
STRANGER = 5555


@pytest.fixture
async def coops(services: Services) -> dict[str, str]:
    return await import_rows(services, ROWS, on_platform=True)


def month_name(month: str, locale: str) -> str:
    return format_date(date(int(month[:4]), int(month[5:7]), 1), "LLLL y", locale=locale)


async def member_since(
    services: Services, backend: Backend, user_id: int, coop_id: str, nik: str, months_ago: int
) -> str:
    """An active membership approved on the 15th, ``months_ago`` months before this month."""
    application_id = await apply(services, user_id, coop_id, nik)
    await services.membership.approve(application_id)
    this = month_of(local_date(datetime.now(UTC), WIB))
    first = add_months(this, -months_ago)
    decided = datetime(int(first[:4]), int(first[5:7]), 15, 5, tzinfo=UTC)
    await backend.store["applications"].update_one(
        {"_id": ObjectId(application_id)}, {"$set": {"decided_at": decided}}
    )
    return application_id


async def pay(
    backend: Backend, coop_id: str, application_id: str, kind: str, amount: int, user_id: int
) -> None:
    await backend.ledger.add(
        {
            "coop_id": coop_id,
            "application_id": application_id,
            "user_id": user_id,
            "kind": kind,
            "amount": amount,
            "paid_on": local_date(datetime.now(UTC), WIB),
            "created_by": BOARD,
        }
    )


class TestPaymentSettings:
    async def test_the_board_sets_how_members_pay(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        coop_id = coops["KDMP-1"]
        await chat.send("/admin", user_id=BOARD)
        calls = await chat.callback(PAY_EDIT(coop_id, "bank"), user_id=BOARD)
        assert any("titik koma" in t for t in texts(calls))
        # A number with letters is refused, and asked again.
        calls = await chat.send("BRI; 0123-AB; Koperasi Kesawan", user_id=BOARD)
        assert any("hanya boleh berisi angka" in t for t in texts(calls))
        calls = await chat.send("BRI; 0123-01-000123-30-1; Koperasi Kesawan", user_id=BOARD)
        assert any("0123-01-000123-30-1" in t for t in texts(calls))
        await chat.callback(PAY_EDIT(coop_id, "due"), user_id=BOARD)
        calls = await chat.send("31", user_id=BOARD)
        assert any("1 sampai 28" in t for t in texts(calls))
        await chat.send("15", user_id=BOARD)
        await chat.callback(PAY_EDIT(coop_id, "cash"), user_id=BOARD)
        await chat.send("Kantor koperasi, Senin–Jumat 08.00–15.00", user_id=BOARD)
        await chat.callback(PAY_EDIT(coop_id, "qris"), user_id=BOARD)
        photo = [{"file_id": "QRIS-1", "file_unique_id": "q1", "width": 400, "height": 400}]
        calls = await chat.message(user_id=BOARD, photo=photo)
        assert any("QRIS: sudah diatur" in t for t in texts(calls))
        await chat.callback(PAY_REMINDERS(coop_id, "0"), user_id=BOARD)

        coop = await services.directory.get(coop_id)
        assert coop is not None and coop.payment is not None
        info = coop.payment
        assert [(a.bank, a.number, a.holder) for a in info.banks] == [
            ("BRI", "0123-01-000123-30-1", "Koperasi Kesawan")
        ]
        assert info.due_day == 15 and info.qris_file_id == "QRIS-1"
        assert info.cash == "Kantor koperasi, Senin–Jumat 08.00–15.00"
        assert info.reminders is False

    async def test_only_the_cooperatives_admins_and_every_change_audited(
        self, chat: Chat, services: Services, backend: Backend, coops: dict[str, str]
    ) -> None:
        coop_id = coops["KDMP-1"]
        with pytest.raises(Forbidden):
            await services.payments.add_account(STRANGER, coop_id, "BRI; 12345; X Y")
        await chat.send("/start", user_id=STRANGER)
        calls = await chat.callback(PAY_EDIT(coop_id, "bank"), user_id=STRANGER)
        assert any("tidak diizinkan" in str(c.params.get("text", "")) for c in calls), calls
        await services.payments.add_account(BOARD, coop_id, "BNI\n12345 678\nKoperasi Kesawan")
        with pytest.raises(InputError):
            await services.payments.add_account(BOARD, coop_id, "BNI; 1234; Koperasi")  # 4 digits
        audit = [
            (e["actor"], e["action"], e["outcome"])
            async for e in backend.store["audit"].find({"coop_id": coop_id})
        ]
        assert (BOARD, "edit_payment", "ok") in audit
        refused = [
            e async for e in backend.store["audit"].find({"actor": STRANGER, "outcome": "refused"})
        ]
        assert len(refused) == 2  # the service call and the button


class TestHowToPayAfterApproval:
    async def test_accounts_with_copy_buttons_and_the_qris_photo(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        coop_id = coops["KDMP-1"]
        qris = chat.api.register_file("qris.png", b"\x89PNG qris")
        await services.payments.add_account(BOARD, coop_id, "BRI; 0123 4567 890; Kop Kesawan")
        await services.payments.set_qris(BOARD, coop_id, qris)
        application_id = await apply(services, MEMBER, coop_id, "1271055708900001")
        await chat.send("/admin", user_id=BOARD)
        calls = await chat.callback(APPROVE_YES(application_id), user_id=BOARD)
        (welcome,) = [
            c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == MEMBER
        ]
        text = welcome.params["text"]
        assert "Cara bayar" in text and "Rp100.000" in text and "Rp10.000" in text
        assert "0123 4567 890" in text and "a.n. Kop Kesawan" in text
        buttons = [b for row in welcome.params["reply_markup"]["inline_keyboard"] for b in row]
        assert {"text": "📋 Salin BRI 0123 4567 890", "copy_text": {"text": "01234567890"}} in [
            {k: b[k] for k in ("text", "copy_text")} for b in buttons if "copy_text" in b
        ]
        (photo,) = [c for c in calls if c.method == "sendPhoto" and c.params["chat_id"] == MEMBER]
        assert photo.params["photo"] == qris

    async def test_nothing_set_asks_to_ask_the_board(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        application_id = await apply(services, MEMBER, coops["KK-2"], "1271055708900001")
        await chat.send("/admin", user_id=BOARD)
        calls = await chat.callback(APPROVE_YES(application_id), user_id=BOARD)
        welcome = [
            t
            for c in calls
            if c.method == "sendMessage" and c.params["chat_id"] == MEMBER
            for t in [c.params["text"]]
        ]
        assert any("Pengurus belum menentukan cara bayar" in t for t in welcome)
        assert not [c for c in calls if c.method == "sendPhoto"]


@pytest.fixture
async def two(services: Services, backend: Backend, coops: dict[str, str]) -> dict[str, Any]:
    """MEMBER of KDMP-1 for three months, all paid; of KK-2 for three months, nothing paid."""
    paid = await member_since(services, backend, MEMBER, coops["KDMP-1"], "1271055708900001", 2)
    await pay(backend, coops["KDMP-1"], paid, "pokok", 100_000, MEMBER)
    await pay(backend, coops["KDMP-1"], paid, "wajib", 30_000, MEMBER)
    owing = await member_since(services, backend, MEMBER, coops["KK-2"], "1271055708900001", 2)
    await services.payments.add_account(BOARD, coops["KK-2"], "Mandiri; 1234567890; KK Dua")
    return {"paid": paid, "owing": owing}


class TestBill:
    @pytest.mark.parametrize(
        ("language", "words"),
        [
            (
                "id",
                [
                    "Tagihan Anda",
                    "✅ Tidak ada tagihan",
                    "Simpanan pokok: lunas ✅",
                    "Rp15.000",
                    "Tunggakan: Rp80.000 (simpanan pokok Rp50.000 · 2 bulan simpanan wajib)",
                    "Total yang harus dibayar: Rp95.000",
                    "Cara bayar: Mandiri <code>1234567890</code>",
                    "Pembayaran terakhir: Simpanan wajib Rp30.000",
                ],
            ),
            (
                "en",
                [
                    "Your dues",
                    "✅ Nothing due",
                    "Simpanan pokok: paid ✅",
                    "Rp15,000",
                    "In arrears: Rp80,000 (simpanan pokok Rp50,000 · 2 months of simpanan wajib)",
                    "Total to pay: Rp95,000",
                    "How to pay: Mandiri <code>1234567890</code>",
                    "Last payment: Simpanan wajib Rp30,000",
                ],
            ),
        ],
    )
    async def test_two_cooperatives_one_paid_one_in_arrears(
        self, chat: Chat, two: dict[str, Any], language: str, words: list[str]
    ) -> None:
        calls = await chat.send("/tagihan", language=language)
        (text,) = texts(calls)
        for word in words:
            assert word in text, (word, text)
        this = month_of(local_date(datetime.now(UTC), WIB))
        assert month_name(this, language) in text  # this month, by name; paid through it
        data = [b["callback_data"] for b in chat.buttons() if "callback_data" in b]
        assert PROOF_START(two["paid"]) in data and PROOF_START(two["owing"]) in data

    async def test_how_to_pay_from_the_bill(
        self, chat: Chat, coops: dict[str, str], two: dict[str, Any]
    ) -> None:
        await chat.send("/tagihan")
        calls = await chat.callback(HOW_TO_PAY(coops["KK-2"]))
        (text,) = texts(calls)
        assert "Mandiri" in text and "1234567890" in text and "KK-000" not in text

    async def test_no_membership_and_all_paid(
        self, chat: Chat, services: Services, backend: Backend, coops: dict[str, str]
    ) -> None:
        (text,) = texts(await chat.send("/dues", language="en"))
        assert "no active memberships" in text
        application_id = await member_since(
            services, backend, MEMBER, coops["KDMP-1"], "1271055708900001", 0
        )
        await pay(backend, coops["KDMP-1"], application_id, "pokok", 100_000, MEMBER)
        await pay(backend, coops["KDMP-1"], application_id, "wajib", 10_000, MEMBER)
        (text,) = texts(await chat.send("/dues", language="en"))
        assert "All paid: nothing is due" in text and "Total to pay" not in text


class TestCardStatus:
    async def test_each_card_shows_its_own_status(
        self, chat: Chat, coops: dict[str, str], two: dict[str, Any]
    ) -> None:
        calls = await chat.send("/kartu")
        (photo,) = [c for c in calls if c.method == "sendPhoto"]
        first = photo.params["caption"]
        await chat.tap("▶")
        edits = [c for c in chat.api.calls if c.method == "editMessageMedia"]
        second = str(edits[-1].params["media"])
        this = month_name(month_of(local_date(datetime.now(UTC), WIB)), "id")
        captions = {first, second}
        assert any(
            "Simpanan pokok: lunas ✅" in c and f"lunas sampai {this}" in c for c in captions
        ), captions
        assert any(
            "Simpanan pokok: belum dibayar (Rp50.000)" in c and "belum ada bulan yang lunas" in c
            for c in captions
        ), captions
        assert HOW_TO_PAY(coops["KK-2"]) in [b.get("callback_data") for b in chat.buttons()] or (
            HOW_TO_PAY(coops["KDMP-1"]) in [b.get("callback_data") for b in chat.buttons()]
        )
