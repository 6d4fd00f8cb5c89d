"""Proofs of payment through the real Application: the member's form, the board's decision,
one ledger entry whatever happens, authorization, restarts, and the privacy of payments."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import Update

from bot.app import Backend, Services, build_application
from bot.config import Settings
from bot.services.proofs import ProofError, parse_amount
from bot.telegram.localapi import LocalBotApi
from handlers.callbacks import (
    PROOF_CONFIRM,
    PROOF_KIND,
    PROOF_REJECT,
    PROOF_SEND,
    PROOF_START,
    PROOF_SUGGESTED,
)
from storage import base
from storage.models import PaymentProof
from storage.proofs import ProofRepository
from tests.conftest import Chat, texts
from tests.factories import BOARD, import_rows, present, put_on_platform
from tests.test_cards import apply
from tests.test_storage import public_methods, shape

MEMBER = 1001
NEIGHBOUR = 1002  # a member of the same cooperative
BOARD_2 = 8801  # a second admin of the member's cooperative
OTHER_ADMIN = 8802  # runs another cooperative
STRANGER = 4242
ROWS = [
    {
        "name": "Koperasi Konsumen Sejahtera",
        "type": "konsumen",
        "latitude": "3.59",
        "longitude": "98.67",
        "registration_number": "KK-2",
        "simpanan_pokok": "100000",
        "simpanan_wajib": "10000",
    },
    {
        "name": "KSP Maju Bersama",
        "type": "simpan_pinjam",
        "latitude": "3.58",
        "longitude": "98.66",
        "registration_number": "KSP-3",
    },
]


@pytest.fixture
async def world(services: Services) -> dict[str, str]:
    ids = await import_rows(services, ROWS[:1], on_platform=True)
    ids.update(await import_rows(services, ROWS[1:]))
    await services.board.grant(ids["KK-2"], BOARD_2, actor=0, how="test")
    await put_on_platform(services, [ids["KSP-3"]], admin=OTHER_ADMIN)
    ids["member"] = await apply(services, MEMBER, ids["KK-2"], "1271055708900001", "Siti Aminah")
    ids["neighbour"] = await apply(
        services, NEIGHBOUR, ids["KK-2"], "1271055708900002", "Budi Santoso"
    )
    for key in ("member", "neighbour"):
        await services.membership.approve(ids[key])
    return ids


async def as_user(chat: Chat, user_id: int, data: str, language: str = "en") -> list[Any]:
    """Press a button with ``data`` (built or forged) under the user's latest message."""
    if chat.api.last_with_buttons(user_id) is None:
        await chat.send("/start", user_id=user_id, language=language)
    return await chat.callback(data, user_id=user_id, language=language)


async def photo(chat: Chat, user_id: int = MEMBER, language: str = "en") -> list[Any]:
    file_id = chat.api.register_file("struk.jpg", b"\xff\xd8 synthetic transfer receipt")
    item = {"file_id": file_id, "file_unique_id": "U" + file_id, "width": 9, "height": 9}
    return await chat.message(user_id=user_id, language=language, photo=[item])


async def prove(
    chat: Chat,
    application_id: str,
    *,
    kind: str = "pokok",
    amount: str = "Rp100.000",
    user_id: int = MEMBER,
    send: bool = True,
) -> list[Any]:
    """Fill in (and send) a proof the way a member would."""
    await as_user(chat, user_id, PROOF_START(application_id))
    await chat.callback(PROOF_KIND(kind), user_id=user_id, language="en")
    await chat.send(amount, user_id=user_id, language="en")
    calls = await photo(chat, user_id)
    if send:
        calls = await chat.callback(PROOF_SEND(), user_id=user_id, language="en")
    return calls


async def only_proof(backend: Backend, application_id: str) -> PaymentProof:
    proof = await backend.proofs.open_for(application_id)
    if proof is None:
        proofs = [p for p in await backend.proofs.for_user(MEMBER)]
        assert len(proofs) == 1
        proof = proofs[0]
    return proof


def to(calls: list[Any], chat_id: int, method: str | None = None) -> list[Any]:
    return [
        c
        for c in calls
        if c.params.get("chat_id") == chat_id and (method is None or c.method == method)
    ]


def alerts(calls: list[Any]) -> list[str]:
    return [c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery"]


class TestAmounts:
    @pytest.mark.parametrize(
        ("typed", "amount"),
        [
            ("50000", 50_000),
            ("50.000", 50_000),
            ("50,000", 50_000),
            ("Rp50.000", 50_000),
            ("Rp 50.000,-", 50_000),
            ("rp. 1.250.000", 1_250_000),
            ("50rb", 50_000),
            ("50 ribu", 50_000),
            ("1,5jt", 1_500_000),
        ],
    )
    def test_accepted(self, typed: str, amount: int) -> None:
        assert parse_amount(typed) == amount

    @pytest.mark.parametrize(
        ("typed", "code"),
        [
            ("lima puluh", "amount_format"),
            ("50.5", "amount_format"),
            ("0", "amount_positive"),
            ("-5000", "amount_format"),
            ("Rp0", "amount_positive"),
            ("99999999999", "amount_large"),
        ],
    )
    def test_refused(self, typed: str, code: str) -> None:
        with pytest.raises(ProofError) as caught:
            parse_amount(typed)
        assert caught.value.code == code


class TestConfirm:
    async def test_proof_confirm_records_one_entry_and_sends_a_receipt(
        self, chat: Chat, services: Services, backend: Backend, world
    ) -> None:
        calls = await as_user(chat, MEMBER, PROOF_START(world["member"]))
        # The open amounts are suggested on the kinds.
        labels = [b["text"] for b in chat.buttons(MEMBER)]
        assert any("Rp100,000" in label for label in labels), labels
        await chat.callback(PROOF_KIND("pokok"), user_id=MEMBER, language="en")
        calls = await chat.callback(PROOF_SUGGESTED(), user_id=MEMBER, language="en")
        assert "photo of the transfer receipt" in texts(calls)[-1]
        calls = await photo(chat)
        assert "Please check" in texts(calls)[-1] and "Rp100,000" in texts(calls)[-1]
        calls = await chat.callback(PROOF_SEND(), user_id=MEMBER, language="en")
        assert "Sent to the board" in " ".join(texts(calls))
        # Both admins got the photo with the member, the amount and the buttons.
        for admin in (BOARD, BOARD_2):
            (notice,) = to(calls, admin, "sendPhoto")
            assert "Siti Aminah" in notice.params["caption"]
            assert "100.000" in notice.params["caption"]
        assert not to(calls, OTHER_ADMIN)
        proof = await only_proof(backend, world["member"])
        assert proof.status == "open" and proof.amount == 100_000 and proof.file is not None

        calls = await as_user(chat, BOARD, PROOF_CONFIRM(proof.id))
        entries = await backend.ledger.for_memberships([world["member"]])
        assert [(e.kind, e.amount, e.source, e.reference) for e in entries] == [
            ("pokok", 100_000, "proof", f"proof:{proof.id}")
        ]
        assert entries[0].user_id == MEMBER
        (receipt,) = to(calls, MEMBER, "sendMessage")
        assert "Receipt" in receipt.params["text"] and "Rp100,000" in receipt.params["text"]
        edited = [c.params["chat_id"] for c in calls if c.method == "editMessageCaption"]
        assert sorted(edited) == [BOARD, BOARD_2]
        application = present(await services.membership.apps.get(world["member"]))
        dues = present(await services.dues.of_membership(application, datetime.now(UTC)))
        assert dues.pokok_open == 0

        # A second admin's tap, and the same admin's again: decided already, one entry.
        for admin in (BOARD_2, BOARD):
            calls = await as_user(chat, admin, PROOF_CONFIRM(proof.id))
            assert any("decided already" in a for a in alerts(calls))
        assert len(await backend.ledger.for_memberships([world["member"]])) == 1

    async def test_two_admins_at_once_make_one_entry(
        self, chat: Chat, services: Services, backend: Backend, world
    ) -> None:
        await prove(chat, world["member"], kind="wajib", amount="10.000")
        proof = await only_proof(backend, world["member"])
        results = await asyncio.gather(
            services.proofs.confirm(BOARD, proof.id), services.proofs.confirm(BOARD_2, proof.id)
        )
        assert sum(r is not None for r in results) == 1
        assert len(await backend.ledger.for_memberships([world["member"]])) == 1

    async def test_finishing_a_confirmation_twice_at_once_tells_once(
        self, chat: Chat, services: Services, backend: Backend, world
    ) -> None:
        """A confirmation decided but not yet linked to its entry (in flight, or stopped
        by a crash): two admins tapping then both finish it; one entry, one of them tells
        (before, both were told it was theirs and the member twice)."""
        await prove(chat, world["member"], kind="wajib", amount="10.000")
        proof = await only_proof(backend, world["member"])
        assert await backend.proofs.decide(proof.id, "confirmed", {"decided_by": BOARD})
        results = await asyncio.gather(
            services.proofs.confirm(BOARD, proof.id), services.proofs.confirm(BOARD_2, proof.id)
        )
        assert sum(r is not None for r in results) == 1
        assert len(await backend.ledger.for_memberships([world["member"]])) == 1
        linked = present(await backend.proofs.get(proof.id))
        assert linked.ledger_entry_id is not None

    async def test_one_open_proof_per_membership(
        self, chat: Chat, backend: Backend, world
    ) -> None:
        await prove(chat, world["member"])
        calls = await as_user(chat, MEMBER, PROOF_START(world["member"]))
        assert "already sent a proof of payment" in texts(calls)[-1]
        assert (await backend.proofs.for_user(MEMBER))[0].status == "open"
        assert len(await backend.proofs.for_user(MEMBER)) == 1


class TestReject:
    async def test_reject_asks_a_reason_and_tells_the_member(
        self, chat: Chat, backend: Backend, world
    ) -> None:
        await prove(chat, world["member"])
        proof = await only_proof(backend, world["member"])
        calls = await as_user(chat, BOARD, PROOF_REJECT(proof.id), language="id")
        assert "alasan" in texts(calls)[-1].lower()
        calls = await chat.send("no", user_id=BOARD, language="id")
        assert "3" in texts(calls)[-1]  # too short: asked again
        calls = await chat.send("Transfer tidak ditemukan", user_id=BOARD, language="id")
        (told,) = to(calls, MEMBER, "sendMessage")
        assert "did not confirm" in told.params["text"]  # the member's language
        assert "Transfer tidak ditemukan" in told.params["text"]
        stored = present(await backend.proofs.get(proof.id))
        assert stored.status == "rejected" and stored.reason == "Transfer tidak ditemukan"
        assert await backend.ledger.for_memberships([world["member"]]) == []
        edited = [c.params["chat_id"] for c in calls if c.method == "editMessageCaption"]
        assert sorted(edited) == [BOARD, BOARD_2]
        # Decided: confirming now changes nothing; a new proof may be sent.
        calls = await as_user(chat, BOARD_2, PROOF_CONFIRM(proof.id))
        assert any("decided already" in a for a in alerts(calls))
        calls = await as_user(chat, MEMBER, PROOF_START(world["member"]))
        assert "What did you pay?" in texts(calls)[-1]


class TestAuthorization:
    async def test_a_stranger_or_another_cooperatives_admin_cannot_decide(
        self, chat: Chat, services: Services, backend: Backend, world
    ) -> None:
        await prove(chat, world["member"])
        proof = await only_proof(backend, world["member"])
        for user in (STRANGER, OTHER_ADMIN, MEMBER):
            for data in (PROOF_CONFIRM(proof.id), PROOF_REJECT(proof.id)):
                calls = await as_user(chat, user, data)
                assert any("not allowed" in a for a in alerts(calls)), (user, data)
        assert present(await backend.proofs.get(proof.id)).status == "open"
        assert await backend.ledger.for_memberships([world["member"]]) == []
        refused = await backend.audit.recent(50)
        actions = {(e.actor, e.action) for e in refused if e.outcome == "refused"}
        assert {(STRANGER, "proof_confirm"), (OTHER_ADMIN, "proof_reject")} <= actions

    async def test_no_proof_for_someone_elses_membership(
        self, chat: Chat, backend: Backend, world
    ) -> None:
        calls = await as_user(chat, NEIGHBOUR, PROOF_START(world["member"]))
        assert any("not allowed" in a for a in alerts(calls))
        assert chat.app.user_data[NEIGHBOUR].get("proof") is None
        refused = await backend.audit.recent(10)
        assert any(e.actor == NEIGHBOUR and e.action == "proof_start" for e in refused)


class TestForm:
    async def test_bad_amount_keeps_the_kind(self, chat: Chat, world) -> None:
        await as_user(chat, MEMBER, PROOF_START(world["member"]))
        await chat.callback(PROOF_KIND("wajib"), user_id=MEMBER, language="en")
        for typed, says in (("lima puluh", "whole rupiah"), ("0", "more than Rp0")):
            calls = await chat.send(typed, user_id=MEMBER, language="en")
            assert says in texts(calls)[-1]
            assert "Simpanan wajib" in texts(calls)[-1]
            assert chat.app.user_data[MEMBER]["proof"]["kind"] == "wajib"
        calls = await chat.send("20rb", user_id=MEMBER, language="en")
        assert "photo of the transfer receipt" in texts(calls)[-1]
        assert chat.app.user_data[MEMBER]["proof"]["amount"] == 20_000
        calls = await chat.send("here it is", user_id=MEMBER, language="en")
        assert "Only a photo or a PDF" in texts(calls)[-1]
        assert chat.app.user_data[MEMBER]["proof"]["amount"] == 20_000

    async def test_restart_mid_proof_keeps_the_answers(
        self, backend: Backend, services: Services, settings: Settings, world
    ) -> None:
        api = LocalBotApi()
        user = LocalBotApi.user(MEMBER, "en")

        async def feed(app: Any, update: dict[str, Any]) -> None:
            await app.process_update(Update.de_json(update, app.bot))

        def buttons() -> Any:
            message = api.last_with_buttons(MEMBER)
            assert message is not None
            return message

        app1 = build_application(settings, backend, services=services, request=api)
        await app1.initialize()
        assert app1.job_queue is not None
        await app1.job_queue.start()
        await feed(app1, api.message_update(user, text="/start"))
        await feed(app1, api.callback_update(user, buttons(), PROOF_START(world["member"])))
        await feed(app1, api.callback_update(user, buttons(), PROOF_KIND("sukarela")))
        await feed(app1, api.message_update(user, text="75.000"))
        # The process dies here: no stop(), no shutdown(), no final persistence flush.
        await app1.job_queue.stop(wait=False)
        del app1

        app2 = build_application(settings, backend, services=services, request=api)
        await app2.initialize()
        assert app2.job_queue is not None
        await app2.job_queue.start()
        stored = app2.user_data[MEMBER]["proof"]
        assert stored["kind"] == "sukarela" and stored["amount"] == 75_000
        file_id = api.register_file("struk.jpg", b"\xff\xd8 synthetic")
        item = {"file_id": file_id, "file_unique_id": "U" + file_id, "width": 9, "height": 9}
        await feed(app2, api.message_update(user, photo=[item]))
        assert "Rp75,000" in api.calls[-1].params["text"]
        await feed(app2, api.callback_update(user, buttons(), PROOF_SEND()))
        proof = present(await backend.proofs.open_for(world["member"]))
        assert (proof.kind, proof.amount) == ("sukarela", 75_000)
        await app2.job_queue.stop()
        await app2.shutdown()


class TestPrivacy:
    async def test_mydata_lists_payments_and_proofs(
        self, chat: Chat, services: Services, backend: Backend, world
    ) -> None:
        await prove(chat, world["member"])
        proof = await only_proof(backend, world["member"])
        await services.proofs.confirm(BOARD, proof.id)
        data = await services.privacy.export(MEMBER)
        assert [(p["kind"], p["amount"]) for p in data["payments"]] == [("pokok", 100_000)]
        assert [(p["status"], p["amount"]) for p in data["payment_proofs"]] == [
            ("confirmed", 100_000)
        ]
        calls = await chat.send("/mydata", user_id=MEMBER, language="en")
        summary = " ".join(texts(calls))
        assert "Payments recorded by the cooperatives" in summary
        assert "Proofs of payment sent to the cooperatives" in summary

    async def test_deletedata_keeps_amounts_and_dates_without_the_person(
        self, chat: Chat, services: Services, backend: Backend, world
    ) -> None:
        await prove(chat, world["member"])
        first = await only_proof(backend, world["member"])
        await services.proofs.confirm(BOARD, first.id)
        await prove(chat, world["member"], kind="wajib", amount="10000")  # left open
        calls = await chat.send("/deletedata", user_id=MEMBER, language="en")
        assert "no longer linked to you" in texts(calls)[-1]
        await chat.callback("dd:yes", user_id=MEMBER, language="en")
        entries = await backend.ledger.for_coop(world["KK-2"])
        assert [(e.kind, e.amount, e.user_id) for e in entries] == [("pokok", 100_000, None)]
        assert entries[0].paid_on == first.paid_on
        assert await backend.ledger.for_user(MEMBER) == []
        assert await backend.proofs.for_user(MEMBER) == []
        kept = present(await backend.proofs.get(first.id))
        assert (kept.amount, kept.paid_on, kept.user_id, kept.file) == (
            100_000,
            first.paid_on,
            None,
            None,
        )
        assert await backend.proofs.open_for(world["member"]) is None  # withdrawn

    async def test_privacy_says_so(self, chat: Chat, world) -> None:
        calls = await chat.send("/privacy", user_id=MEMBER, language="en")
        assert "no longer linked to you" in texts(calls)[-1]

    async def test_retention_erases_the_images_after_the_decision(
        self, chat: Chat, services: Services, backend: Backend, settings: Settings, world
    ) -> None:
        await prove(chat, world["member"])
        decided = await only_proof(backend, world["member"])
        await services.proofs.confirm(BOARD, decided.id)
        await prove(chat, world["neighbour"], user_id=NEIGHBOUR)  # open: kept
        now = datetime.now(UTC)
        days = settings.retention_days
        assert await services.proofs.purge(now + timedelta(days=days - 1)) == 0
        assert await services.proofs.purge(now + timedelta(days=days + 1)) == 1
        assert present(await backend.proofs.get(decided.id)).file is None
        still = present(await backend.proofs.open_for(world["neighbour"]))
        assert still.file is not None
        assert await services.proofs.purge(now + timedelta(days=days + 2)) == 0
        # The amounts stay: only the image went.
        assert present(await backend.proofs.get(decided.id)).amount == 100_000


def test_protocol_lists_every_method() -> None:
    declared, implemented = public_methods(base.Proofs), public_methods(ProofRepository)
    assert implemented and set(declared) == set(implemented)
    for name, signature in implemented.items():
        assert shape(declared[name]) == shape(signature), name
