"""Claiming a cooperative through the real Application: the form, the operators' decisions,
authorization, one open claim per person, evidence checks, privacy, retention, restarts."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from telegram import Update

from bot.app import Backend, Services, build_application
from bot.config import Settings
from bot.telegram.localapi import LocalBotApi
from handlers.callbacks import (
    CLAIM_AGREE,
    CLAIM_APPROVE,
    CLAIM_ASK,
    CLAIM_QUEUE,
    CLAIM_REJECT,
    CLAIM_REPLY,
    CLAIM_RETURN,
    CLAIM_ROLE,
    CLAIM_SEND,
    CLAIM_SHOW,
    CLAIM_START,
    DELETE_DATA,
)
from storage import base
from storage.claims import ClaimRepository
from storage.models import Claim
from tests.conftest import Chat, texts
from tests.factories import import_rows
from tests.test_storage import public_methods, shape

OPERATOR = 900
OPERATOR_2 = 901
PDF = ("sk-pengurus.pdf", b"%PDF-1.4 synthetic SK pengurus", "application/pdf")
ROWS = [
    {
        "name": "Koperasi Konsumen Sejahtera",
        "type": "konsumen",
        "latitude": "3.59",
        "longitude": "98.67",
        "registration_number": "KK-2",
        "phone": "0812-3456-7890",
    },
    {
        "name": "KSP Maju Bersama",
        "type": "simpan_pinjam",
        "latitude": "3.58",
        "longitude": "98.66",
        "registration_number": "KSP-3",
    },
    {
        "name": "Koperasi Jasa Sejahtera",
        "type": "jasa",
        "latitude": "3.57",
        "longitude": "98.65",
        "registration_number": "KJ-4",
    },
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, admin_ids=frozenset({OPERATOR, OPERATOR_2}))


@pytest.fixture
async def coops(services: Services) -> dict[str, str]:
    return await import_rows(services, ROWS)


def contact(user_id: int, phone: str) -> dict[str, Any]:
    return {"phone_number": phone, "first_name": "Budi", "user_id": user_id}


async def send_file(
    chat: Chat, user_id: int, file: tuple[str, bytes, str], language: str = "en"
) -> list:
    return await chat.feed(chat.api.document_update(chat.user(user_id, language), *file))


async def claim(
    chat: Chat,
    coop_id: str,
    *,
    user_id: int = 1001,
    language: str = "en",
    name: str = "Budi Santoso",
    phone: str = "+62 812 3456 7890",
    role: str = "ketua",
    send: bool = True,
) -> list:
    """Fill in (and send) a claim the way a board member would."""
    await chat.send(f"/start claim_{coop_id}", user_id=user_id, language=language)
    await chat.callback(CLAIM_AGREE(), user_id=user_id, language=language)
    await chat.callback(CLAIM_ROLE(role), user_id=user_id, language=language)
    await chat.send(name, user_id=user_id, language=language)
    await chat.message(user_id=user_id, language=language, contact=contact(user_id, phone))
    calls = await send_file(chat, user_id, PDF, language)
    if send:
        calls = await chat.callback(CLAIM_SEND(), user_id=user_id, language=language)
    return calls


async def only_claim(backend: Backend, user_id: int) -> Claim:
    claims = await backend.claims.for_user(user_id)
    assert len(claims) == 1
    return claims[0]


def to(calls: list, chat_id: int) -> list[str]:
    return [
        c.params.get("text", "")
        for c in calls
        if c.method in ("sendMessage", "editMessageText") and int(c.params["chat_id"]) == chat_id
    ]


class TestForm:
    async def test_claim_approve_then_admin(self, chat: Chat, backend: Backend, coops) -> None:
        coop_id = coops["KK-2"]
        await chat.send("/start", user_id=OPERATOR, language="en")  # each in their language
        await chat.send("/start", user_id=OPERATOR_2, language="id")
        calls = await claim(chat, coop_id)
        assert "was sent" in to(calls, 1001)[0]
        assert "Pengklaim: Budi Santoso · Ketua" in to(calls, OPERATOR_2)[-1]
        # Each operator got the file (by its Telegram id) and the card with the decisions.
        docs = [c for c in calls if c.method == "sendDocument"]
        assert {int(c.params["chat_id"]) for c in docs} == {OPERATOR, OPERATOR_2}
        card = to(calls, OPERATOR)[-1]
        assert "KK-2" in card and "Claimant: Budi Santoso · Chair (ketua)" in card
        assert "+6281234567890" in card
        stored = await only_claim(backend, 1001)
        assert stored.status == "open" and stored.phone_matches and stored.role == "ketua"
        assert stored.name and stored.name.startswith("gk1.")  # sealed with the person's key
        assert [(e.kind, e.mime, e.name) for e in stored.evidence] == [
            ("document", "application/pdf", "sk-pengurus.pdf")
        ]

        calls = await chat.callback(CLAIM_APPROVE(stored.id), user_id=OPERATOR, language="en")
        told = to(calls, 1001)[0]
        assert "approved" in told and "/admin" in told and told.count("\n") == 3
        assert "Approved" in to(calls, OPERATOR)[0]
        coop = await backend.coops.get(coop_id)
        assert coop is not None and coop.on_platform
        assert (await only_claim(backend, 1001)).status == "approved"
        grants = await backend.audit.count(
            {"action": "admin_grant", "coop_id": coop_id, "details.how": "claim"}
        )
        assert grants == 1
        calls = await chat.send("/admin", language="en")
        assert "Koperasi Konsumen Sejahtera" in texts(calls)[0]
        assert "admin panel" in texts(calls)[0]

    async def test_indonesian_and_phone_mismatch(
        self, chat: Chat, backend: Backend, coops
    ) -> None:
        calls = await claim(chat, coops["KK-2"], language="id", phone="085711112222")
        assert "terkirim" in to(calls, 1001)[0]
        assert not (await only_claim(backend, 1001)).phone_matches
        card = to(calls, OPERATOR)[-1]
        assert "+62812•••••890" in card  # the directory's phone, masked, beside the claim

    async def test_claim_command_finds_by_number_or_name(self, chat: Chat, coops) -> None:
        calls = await chat.send("/klaim KSP-3", language="en")
        assert "Run KSP Maju Bersama" in texts(calls)[-1]
        calls = await chat.send("/cancel", language="en")
        assert "Cancelled" in texts(calls)[-1]
        calls = await chat.send("/claim", language="en")
        assert "Which cooperative" in texts(calls)[-1]
        calls = await chat.send("Maju Bersama", language="en")
        assert "Run KSP Maju Bersama" in texts(calls)[-1]
        await chat.send("/cancel", language="en")
        calls = await chat.send("/claim Sejahtera", language="en")
        assert "Which one" in texts(calls)[-1]
        calls = await chat.tap("Konsumen", language="en")
        assert "Run Koperasi Konsumen Sejahtera" in texts(calls)[-1]

    async def test_start_button(self, chat: Chat, coops) -> None:
        await chat.send("/start", language="en")
        calls = await chat.callback(CLAIM_START(coops["KSP-3"]), language="en")
        assert "Run KSP Maju Bersama" in texts(calls)[-1]

    async def test_evidence_type_and_size_refused_answers_kept(
        self, chat: Chat, backend: Backend, coops
    ) -> None:
        await claim(chat, coops["KK-2"], send=False, user_id=1001)
        # Back to the evidence question: a new claim for the other cooperative.
        await chat.send(f"/start claim_{coops['KSP-3']}", language="en")
        await chat.callback(CLAIM_AGREE(), language="en")
        await chat.callback(CLAIM_ROLE("bendahara"), language="en")
        await chat.send("Budi Santoso", language="en")
        await chat.message(language="en", contact=contact(1001, "081234567890"))
        word = ("sk.docx", b"PK\x03\x04", "application/vnd.openxmlformats")
        calls = await send_file(chat, 1001, word)
        assert "Only a photo or a PDF" in texts(calls)[-1]
        assert "Question 4 of 4" in texts(calls)[-1]
        big = chat.api.document_update(chat.user(1001, "en"), *PDF)
        big["message"]["document"]["file_size"] = 11 * 1024 * 1024
        calls = await chat.feed(big)
        assert "larger than 10 MB" in texts(calls)[-1]
        calls = await chat.send("here is my SK", language="en")
        assert "Only a photo or a PDF" in texts(calls)[-1]
        calls = await send_file(chat, 1001, PDF)
        review = texts(calls)[-1]
        assert "Budi Santoso" in review and "+6281234567890" in review and "Treasurer" in review
        photo = chat.api.register_file("sk.jpg", b"\xff\xd8 jpeg")
        calls = await chat.message(
            language="en",
            photo=[{"file_id": photo, "file_unique_id": "U" + photo, "width": 9, "height": 9}],
        )
        assert "Files: 2" in texts(calls)[-1]
        await chat.callback(CLAIM_SEND(), language="en")
        stored = await only_claim(backend, 1001)
        assert [e.kind for e in stored.evidence] == ["document", "photo"]

    async def test_phone_must_be_own_contact(self, chat: Chat, coops) -> None:
        await chat.send(f"/start claim_{coops['KK-2']}", language="en")
        await chat.callback(CLAIM_AGREE(), language="en")
        await chat.callback(CLAIM_ROLE("pengawas"), language="en")
        await chat.send("Budi Santoso", language="en")
        calls = await chat.message(language="en", contact=contact(5555, "081234567890"))
        assert "someone else's contact" in texts(calls)[-1]
        calls = await chat.send("081234567890", language="en")
        assert "Share my phone number" in texts(calls)[-1]
        calls = await chat.message(language="en", contact=contact(1001, "081234567890"))
        assert "Phone number saved" in texts(calls)[0]

    async def test_one_open_claim_per_person_and_cooperative(
        self, chat: Chat, backend: Backend, coops
    ) -> None:
        await claim(chat, coops["KK-2"])
        calls = await chat.send(f"/start claim_{coops['KK-2']}", language="en")
        assert "You already sent a claim" in texts(calls)[-1]
        assert "waiting for the operators" in texts(calls)[-1]
        calls = await chat.send("/klaim KK-2", language="en")
        assert "You already sent a claim" in texts(calls)[-1]
        assert len(await backend.claims.for_user(1001)) == 1


class TestDecisions:
    async def test_reject_with_reason(self, chat: Chat, backend: Backend, coops) -> None:
        await claim(chat, coops["KSP-3"], language="id")
        stored = await only_claim(backend, 1001)
        calls = await chat.callback(CLAIM_REJECT(stored.id), user_id=OPERATOR, language="en")
        assert "Type the reason" in texts(calls)[-1]
        calls = await chat.send(
            "The SK is for another cooperative", user_id=OPERATOR, language="en"
        )
        told = to(calls, 1001)[0]
        assert "tidak disetujui" in told and "The SK is for another cooperative" in told
        stored = await only_claim(backend, 1001)
        assert stored.status == "rejected" and stored.reason and stored.decided_by == OPERATOR
        coop = await backend.coops.get(coops["KSP-3"])
        assert coop is not None and not coop.on_platform
        # A second operator's Approve on the decided claim: nothing happens.
        calls = await chat.callback(CLAIM_APPROVE(stored.id), user_id=OPERATOR_2, language="en")
        assert any("decided already" in str(c.params.get("text")) for c in calls)

    async def test_competing_claims(self, chat: Chat, backend: Backend, coops) -> None:
        coop_id = coops["KK-2"]
        await chat.send("/start", user_id=OPERATOR, language="en")
        await claim(chat, coop_id, user_id=1001, language="id")
        calls = await claim(chat, coop_id, user_id=1002, name="Siti Rahma", role="sekretaris")
        card = to(calls, OPERATOR)[-1]
        assert "Other open claims for this cooperative: 1" in card and "Budi Santoso" in card
        second = await only_claim(backend, 1002)
        calls = await chat.callback(CLAIM_APPROVE(second.id), user_id=OPERATOR, language="en")
        assert "Terima kasih" in to(calls, 1001)[0]  # told politely, in their language
        assert "approved" in to(calls, 1002)[0]
        assert (await only_claim(backend, 1001)).status == "superseded"
        # A new claim for a cooperative already run here is refused with the way in.
        calls = await chat.send(f"/start claim_{coop_id}", user_id=1003, language="en")
        assert "already run on Gerbang Koperasi" in texts(calls)[-1]

    async def test_ask_for_more_round_trip(self, chat: Chat, backend: Backend, coops) -> None:
        await claim(chat, coops["KK-2"])
        stored = await only_claim(backend, 1001)
        await chat.callback(CLAIM_ASK(stored.id), user_id=OPERATOR, language="en")
        calls = await chat.send(
            "Please send the akta pendirian too", user_id=OPERATOR, language="en"
        )
        assert "need more" in to(calls, 1001)[0] and "akta pendirian" in to(calls, 1001)[0]
        assert (await only_claim(backend, 1001)).status == "more"
        calls = await chat.callback(CLAIM_REPLY(stored.id), language="en")
        assert "type your answer" in texts(calls)[-1]
        await send_file(chat, 1001, ("akta.pdf", b"%PDF-1.4 akta", "application/pdf"))
        await chat.send("This is our akta", language="en")
        calls = await chat.callback(CLAIM_RETURN(stored.id), language="en")
        assert "Sent" in to(calls, 1001)[0]
        card = to(calls, OPERATOR)[-1]
        assert "Answer: This is our akta" in card and "akta pendirian" in card
        again = await only_claim(backend, 1001)
        assert again.status == "open" and len(again.evidence) == 2
        assert again.answer and again.answer.startswith("gk1.")
        calls = await chat.callback(CLAIM_APPROVE(stored.id), user_id=OPERATOR_2, language="en")
        assert "approved" in to(calls, 1001)[0]

    async def test_queue_in_the_operator_menu(self, chat: Chat, backend: Backend, coops) -> None:
        await claim(chat, coops["KSP-3"])
        calls = await chat.send("/admin", user_id=OPERATOR, language="en")
        calls = await chat.tap("Platform operations", user_id=OPERATOR, language="en")
        assert any(CLAIM_QUEUE() in str(c.params.get("reply_markup")) for c in calls)
        calls = await chat.callback(CLAIM_QUEUE(), user_id=OPERATOR, language="en")
        assert "Claims waiting</b>: 1" in texts(calls)[-1]
        stored = await only_claim(backend, 1001)
        calls = await chat.callback(CLAIM_SHOW(stored.id), user_id=OPERATOR, language="en")
        assert any(c.method == "sendDocument" for c in calls)
        assert "KSP-3" in texts(calls)[-1] and "no phone number" in texts(calls)[-1]


class TestAuthorization:
    async def test_only_operators_decide(self, chat: Chat, backend: Backend, coops) -> None:
        await claim(chat, coops["KK-2"])
        stored = await only_claim(backend, 1001)
        await chat.send("/start", user_id=1004, language="en")
        for kind in (CLAIM_APPROVE, CLAIM_REJECT, CLAIM_ASK, CLAIM_SHOW):
            calls = await chat.callback(kind(stored.id), user_id=1004, language="en")
            answer = [c for c in calls if c.method == "answerCallbackQuery"]
            assert "not allowed" in answer[0].params["text"]
        calls = await chat.callback(CLAIM_QUEUE(), user_id=1004, language="en")
        assert "not allowed" in str(calls[-1].params.get("text"))
        refused = await backend.audit.count({"actor": 1004, "outcome": "refused"})
        assert refused == 5
        assert (await only_claim(backend, 1001)).status == "open"
        assert not await backend.admins.is_admin(coops["KK-2"], 1004)

    async def test_claimant_operator_cannot_approve_own_claim(
        self, chat: Chat, backend: Backend, coops
    ) -> None:
        await claim(chat, coops["KK-2"], user_id=OPERATOR_2)
        stored = await only_claim(backend, OPERATOR_2)
        calls = await chat.callback(CLAIM_APPROVE(stored.id), user_id=OPERATOR_2, language="en")
        answer = [c for c in calls if c.method == "answerCallbackQuery"]
        assert "not allowed" in answer[0].params["text"]
        calls = await chat.callback(CLAIM_REJECT(stored.id), user_id=OPERATOR_2, language="en")
        assert "not allowed" in str(calls[0].params.get("text"))
        own = await backend.audit.count(
            {"actor": OPERATOR_2, "action": "claim_approve_own", "outcome": "refused"}
        )
        assert own == 1
        assert not await backend.admins.is_admin(coops["KK-2"], OPERATOR_2)
        await chat.callback(CLAIM_APPROVE(stored.id), user_id=OPERATOR, language="en")
        assert await backend.admins.is_admin(coops["KK-2"], OPERATOR_2)


class TestPrivacy:
    async def test_mydata_and_deletedata(self, chat: Chat, backend: Backend, coops) -> None:
        import json

        await claim(chat, coops["KK-2"])
        calls = await chat.send("/mydata", language="en")
        sent = [c for c in calls if c.method == "sendDocument"]
        _name, body = next(iter(sent[0].files.values()))
        exported = json.loads(body)
        [item] = exported["claims"]
        assert item["full_name"] == "Budi Santoso" and item["phone"] == "+6281234567890"
        assert item["status"] == "open" and item["evidence_files"][0]["name"] == "sk-pengurus.pdf"

        await chat.send("/deletedata", language="en")
        await chat.callback(DELETE_DATA("yes"), language="en")
        assert await backend.claims.for_user(1001) == []
        docs = [d async for d in backend.store["claims"].find({})]
        assert len(docs) == 1
        [doc] = docs
        assert doc["user_id"] is None and doc["evidence"] == [] and doc["status"] == "withdrawn"
        assert "name" not in doc and "phone" not in doc

    async def test_retention_purges_evidence_after_the_decision(
        self, chat: Chat, backend: Backend, services: Services, coops, settings: Settings
    ) -> None:
        await claim(chat, coops["KK-2"], user_id=1001)
        await claim(chat, coops["KSP-3"], user_id=1002)
        approved, rejected = await only_claim(backend, 1001), await only_claim(backend, 1002)
        await chat.callback(CLAIM_APPROVE(approved.id), user_id=OPERATOR, language="en")
        await chat.callback(CLAIM_REJECT(rejected.id), user_id=OPERATOR, language="en")
        await chat.send("No evidence of the board", user_id=OPERATOR, language="en")
        decided = (await only_claim(backend, 1002)).decided_at
        assert decided is not None
        keep = decided + timedelta(days=settings.retention_days - 1)
        assert await services.claims.purge_expired(keep) == 0
        assert (await only_claim(backend, 1002)).evidence
        later = decided + timedelta(days=settings.retention_days, hours=1)
        assert await services.claims.purge_expired(later) == 2
        gone = await only_claim(backend, 1002)
        assert gone.evidence == [] and gone.name is None and gone.phone is None
        kept = await only_claim(backend, 1001)
        assert kept.evidence == [] and kept.name is not None  # the approved admin's name
        assert await services.claims.purge_expired(later) == 0


class TestRestart:
    async def test_form_survives_a_restart(
        self, backend: Backend, services: Services, settings: Settings, coops
    ) -> None:
        api = LocalBotApi()
        user = LocalBotApi.user(3003, "en")

        async def feed(app: Any, update: dict) -> None:
            await app.process_update(Update.de_json(update, app.bot))

        def buttons() -> Any:
            message = api.last_with_buttons(3003)
            assert message is not None
            return message

        app1 = build_application(settings, backend, services=services, request=api)
        await app1.initialize()
        assert app1.job_queue is not None
        await app1.job_queue.start()  # form timeouts need it
        await feed(app1, api.message_update(user, text=f"/start claim_{coops['KK-2']}"))
        await feed(app1, api.callback_update(user, buttons(), CLAIM_AGREE()))
        await feed(app1, api.callback_update(user, buttons(), CLAIM_ROLE("ketua")))
        await feed(app1, api.message_update(user, text="Rina Marlina"))
        # The process dies here: no stop(), no shutdown(), no final persistence flush.
        await app1.job_queue.stop(wait=False)
        del app1

        app2 = build_application(settings, backend, services=services, request=api)
        await app2.initialize()
        assert app2.job_queue is not None
        await app2.job_queue.start()
        stored = app2.user_data[3003]["claim"]
        assert stored["role"] == "ketua" and stored["name"].startswith("gk1.")  # sealed
        await feed(app2, api.message_update(user, contact=contact(3003, "081234567890")))
        assert "Question 4 of 4" in api.calls[-1].params["text"]
        await feed(app2, api.document_update(user, *PDF))
        assert "Rina Marlina" in api.calls[-1].params["text"]
        await feed(app2, api.callback_update(user, buttons(), CLAIM_SEND()))
        assert (await only_claim(backend, 3003)).status == "open"
        await app2.job_queue.stop()
        await app2.shutdown()


def test_protocol_lists_every_method() -> None:
    declared, implemented = public_methods(base.Claims), public_methods(ClaimRepository)
    assert implemented and set(declared) == set(implemented)
    for name, signature in implemented.items():
        assert shape(declared[name]) == shape(signature), name


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("sk.pdf", "application/pdf"),
        ("dir.csv", "text/csv"),
        ("x.bin", "application/octet-stream"),
    ],
)
def test_console_doc_sends_the_right_type(tmp_path: Path, name: str, mime: str) -> None:
    from bot.console import Console

    path = tmp_path / name
    path.write_bytes(b"%PDF-1.4 synthetic")
    console = Console(cast(Any, None), LocalBotApi(), user_id=1, lang="id", err=io.StringIO())
    update = console.parse(f"#doc {path}")
    assert isinstance(update, dict)
    assert update["message"]["document"]["mime_type"] == mime
