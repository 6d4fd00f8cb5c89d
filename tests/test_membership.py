"""Joining through the real Application: consent, the form, checks, restarts, privacy."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import date
from typing import Any, ClassVar

import pytest
from telegram import Update

from bot.app import Backend, Services, build_application, running
from bot.config import Settings
from bot.services.draft import QUESTIONS, Forms, MembershipDraft
from bot.telegram.localapi import LocalBotApi, StoredMessage
from handlers.callbacks import FORM_EDIT
from handlers.membership.conversation import states
from handlers.membership.steps import EDIT, NUMBERED, Step, following, number
from tests.conftest import Chat, texts
from tests.factories import csv_bytes, put_on_platform

NIK_F = "1271055708900001"  # Kel. Kesawan's district (12.71.05), female, 17-08-1990
NIK_M = "3171011708850002"  # Jakarta Pusat, male, 17-08-1985
ROWS = [
    {
        "name": "Koperasi Kelurahan Merah Putih Kesawan",
        "type": "serba_usaha",
        "latitude": "3.592794",
        "longitude": "98.676191",
        "registration_number": "KDMP-1",
        "village_code": "12.71.05.1001",
        "simpanan_pokok": "100000",
        "simpanan_wajib": "10000",
        "services": "sembako;apotek",
    },
    {
        "name": "Koperasi Konsumen Sejahtera",
        "type": "konsumen",
        "latitude": "3.59",
        "longitude": "98.67",
        "registration_number": "KK-2",
        "simpanan_pokok": "50000",
        "simpanan_wajib": "15000",
    },
    {
        "name": "KSP Maju Bersama",
        "type": "simpan_pinjam",
        "latitude": "3.58",
        "longitude": "98.66",
        "registration_number": "KSP-3",
        "simpanan_pokok": "25000",
    },
    {
        "name": "Koperasi Jasa Abadi",
        "type": "jasa",
        "latitude": "3.57",
        "longitude": "98.65",
        "registration_number": "KJ-4",
    },
]


@pytest.fixture
async def coops(services: Services) -> dict[str, str]:
    report = await services.importer.import_bytes(csv_bytes(ROWS))
    assert not report.errors
    ids = {}
    for row in ROWS:
        coop = await services.directory.coops.get_by_key(
            "reg:" + row["registration_number"].lower().replace("-", " ").replace(" ", "")
        )
        assert coop is not None
        ids[row["registration_number"]] = coop.id
    await put_on_platform(services, ids.values())  # their boards take applications here
    return ids


def draft_of(chat: Chat, user_id: int) -> dict[str, Any]:
    data = chat.app.user_data[user_id]
    return data["forms"][data["form"]]


async def fill(
    chat: Chat,
    coop_id: str,
    *,
    user_id: int = 1001,
    language: str = "en",
    nik: str = NIK_F,
    name: str = "Siti Aminah",
    phone: str = "0812-3456-7890",
    address: str | tuple[float, float] = "Jl. Ahmad Yani No. 5, RT 01/RW 02",
    submit: bool = True,
) -> list:
    await chat.send(f"/start join_{coop_id}", user_id=user_id, language=language)
    await chat.callback("mf:go", user_id=user_id, language=language)
    await chat.callback("mf:agree", user_id=user_id, language=language)
    if draft_of(chat, user_id).get("step") == 14:  # answers of an earlier application
        await chat.callback("mf:fresh", user_id=user_id, language=language)
    await chat.send(name, user_id=user_id, language=language)
    await chat.send(nik, user_id=user_id, language=language)
    await chat.callback("mf:nik_ok", user_id=user_id, language=language)
    await chat.send("Medan", user_id=user_id, language=language)
    if isinstance(address, tuple):
        await chat.location(*address, user_id=user_id, language=language)
    else:
        await chat.send(address, user_id=user_id, language=language)
    if draft_of(chat, user_id).get("step") == 8:  # the domicile question
        await chat.callback("mf:declare", user_id=user_id, language=language)
    await chat.send(phone, user_id=user_id, language=language)
    calls = await chat.callback("mf:occ:pedagang", user_id=user_id, language=language)
    if submit:
        calls = await chat.callback("mf:submit", user_id=user_id, language=language)
    return calls


class TestJoin:
    async def test_two_cooperatives(self, chat: Chat, services: Services, coops) -> None:
        calls = await fill(chat, coops["KK-2"])
        done = texts([c for c in calls if c.params.get("chat_id") == 1001])[0]  # not the board's
        assert "Application sent!" in done and "GK-" in done
        assert "simpanan pokok Rp50,000 once and simpanan wajib Rp15,000 a month" in done
        await fill(chat, coops["KSP-3"])
        apps = await services.membership.of_user(1001)
        assert sorted(a.coop_id for a in apps) == sorted([coops["KK-2"], coops["KSP-3"]])
        first = next(a for a in apps if a.coop_id == coops["KK-2"])
        assert first.status == "pending" and first.full_name == "Siti Aminah"
        assert first.nik_masked == "1271********0001" and first.sex == "F"
        assert first.birth_date == "1990-08-17" and first.phone == "+6281234567890"
        assert first.consent["version"] and first.language == "en"
        assert first.nik_enc is not None
        assert NIK_F not in first.nik_enc and services.membership.reveal_nik(first) == NIK_F
        notes = await services.membership.apps.notifications("application_submitted")
        assert {n.application_id for n in notes} == {a.id for a in apps}
        assert "forms" not in chat.app.user_data[1001]  # drafts are gone after submit

    async def test_terms_and_consent_before_any_question(self, chat: Chat, coops) -> None:
        calls = await chat.send(f"/start join_{coops['KDMP-1']}", language="en")
        terms = calls[-1].params["text"]
        assert "Simpanan pokok (one-time deposit): Rp100,000" in terms
        assert "Simpanan wajib (monthly deposit): Rp10,000" in terms
        assert "Living in Kel. Kesawan" in terms
        calls = await chat.callback("mf:go", language="en")
        consent = calls[-1].params["text"]
        for part in (
            "NIK",
            "Koperasi Kelurahan Merah Putih Kesawan",
            "/privacy",
            "/mydata",
            "/deletedata",
            "90 days",
            "encrypted",
        ):
            assert part in consent

    async def test_declining_stores_nothing(
        self, chat: Chat, services: Services, coops, store
    ) -> None:
        await chat.send(f"/start join_{coops['KK-2']}", language="en")
        await chat.callback("mf:go", language="en")
        calls = await chat.callback("mf:decline", language="en")
        assert "Nothing was stored" in texts(calls)[0]
        assert await services.membership.of_user(1001) == []
        assert await store["user_data"].count_documents({"data.forms": {"$exists": True}}) == 0
        assert "forms" not in chat.app.user_data.get(1001, {})

    async def test_join_button_on_detail(self, chat: Chat, coops) -> None:
        await chat.send(f"/start c_{coops['KK-2']}", language="en")
        calls = await chat.tap("Join", language="en")
        assert "Join Koperasi Konsumen Sejahtera" in texts(calls)[0]

    async def test_already_pending_or_member(self, chat: Chat, services: Services, coops) -> None:
        await fill(chat, coops["KK-2"])
        calls = await chat.send(f"/start join_{coops['KK-2']}", language="en")
        assert "You already applied to Koperasi Konsumen Sejahtera" in texts(calls)[0]
        application = (await services.membership.of_user(1001))[0]
        await services.membership.approve(application.id)
        calls = await chat.send(f"/start join_{coops['KK-2']}", language="en")
        assert "You are already a member" in texts(calls)[0]

    async def test_same_nik_other_account_not_revealed(
        self, chat: Chat, services: Services, coops
    ) -> None:
        await fill(chat, coops["KK-2"], user_id=1001)
        await chat.send(f"/start join_{coops['KK-2']}", user_id=2002, language="en")
        await chat.callback("mf:go", user_id=2002, language="en")
        await chat.callback("mf:agree", user_id=2002, language="en")
        await chat.send("Budi Santoso", user_id=2002, language="en")
        calls = await chat.send(NIK_F, user_id=2002, language="en")
        # Not refused, so as not to tell a stranger where the NIK's owner applied; the
        # board sees the conflict (tests/test_form16.py).
        assert "already used" not in texts(calls)[0] and "Is that right?" in texts(calls)[0]
        assert draft_of(chat, 2002)["full_name"] == "Budi Santoso"

    async def test_double_submit_creates_one(self, chat: Chat, services: Services, coops) -> None:
        await fill(chat, coops["KK-2"], submit=False)
        draft = MembershipDraft.from_dict(draft_of(chat, 1001))
        results = await asyncio.gather(
            *[services.membership.submit(1001, coops["KK-2"], draft, "en") for _ in range(5)],
            return_exceptions=True,
        )
        created = [r for r in results if not isinstance(r, Exception)]
        assert len(created) == 1
        assert await services.membership.apps.count({"coop_id": coops["KK-2"]}) == 1
        # The button pressed again after the submission ends politely, no duplicate.
        await chat.callback("mf:submit", language="en")
        assert await services.membership.apps.count({"coop_id": coops["KK-2"]}) == 1


class TestVillageCooperative:
    async def test_resident_by_nik_is_not_asked(
        self, chat: Chat, services: Services, coops
    ) -> None:
        await fill(chat, coops["KDMP-1"], nik=NIK_F)
        application = (await services.membership.of_user(1001))[0]
        assert application.domicile_declared is False

    async def test_resident_by_shared_location(
        self, chat: Chat, services: Services, coops
    ) -> None:
        await fill(chat, coops["KDMP-1"], nik=NIK_M, address=(3.5928, 98.6762))
        application = (await services.membership.of_user(1001))[0]
        assert application.domicile_declared is False
        assert application.domicile_village == "12.71.05.1001"
        assert application.address is not None
        assert "Kel. Kesawan" in application.address

    async def test_other_region_must_declare(self, chat: Chat, services: Services, coops) -> None:
        await chat.send(f"/start join_{coops['KDMP-1']}", language="en")
        await chat.callback("mf:go", language="en")
        await chat.callback("mf:agree", language="en")
        await chat.send("Budi Santoso", language="en")
        await chat.send(NIK_M, language="en")
        await chat.callback("mf:nik_ok", language="en")
        await chat.send("Jakarta", language="en")
        calls = await chat.send("Jl. Merdeka 1, Jakarta Pusat", language="en")
        question = texts(calls)[-1]
        assert "is for people who live in Kel. Kesawan" in question
        calls = await chat.callback("mf:declare", language="en")
        assert "phone number" in texts(calls)[-1]
        await chat.send("+62 812 3456 7890", language="en")
        calls = await chat.callback("mf:occ:petani", language="en")
        assert "You declared that you live in Kel. Kesawan" in texts(calls)[-1]
        await chat.callback("mf:submit", language="en")
        application = (await services.membership.of_user(1001))[0]
        assert application.domicile_declared is True


class TestReviewAndNavigation:
    async def test_edit_back_and_nik_reconfirm(
        self, chat: Chat, services: Services, coops
    ) -> None:
        await fill(chat, coops["KK-2"], submit=False)
        await chat.callback("mf:edit:name", language="en")
        calls = await chat.send("Siti Aminah Lubis", language="en")
        assert "Name: Siti Aminah Lubis" in texts(calls)[-1]
        await chat.callback("mf:edit:nik", language="en")
        calls = await chat.send("1271051708900002", language="en")
        assert "male" in texts(calls)[-1]
        calls = await chat.callback("mf:nik_ok", language="en")
        assert "NIK: <code>1271********0002</code>" in texts(calls)[-1]
        calls = await chat.callback("mf:back", language="en")
        assert "occupation" in texts(calls)[-1]
        calls = await chat.callback("mf:occ:guru", language="en")
        assert "Occupation: Teacher" in texts(calls)[-1]
        await chat.callback("mf:submit", language="en")
        application = (await services.membership.of_user(1001))[0]
        assert application.full_name == "Siti Aminah Lubis" and application.sex == "M"
        assert application.occupation == "guru"

    async def test_other_occupation(self, chat: Chat, services: Services, coops) -> None:
        await fill(chat, coops["KK-2"], submit=False)
        await chat.callback("mf:back", language="en")
        await chat.callback("mf:occ:other", language="en")
        calls = await chat.send("Penjahit", language="en")
        assert "Occupation: Penjahit" in texts(calls)[-1]

    async def test_cancel_halfway(self, chat: Chat, services: Services, coops) -> None:
        await chat.send(f"/start join_{coops['KJ-4']}", language="en")
        await chat.callback("mf:go", language="en")
        await chat.callback("mf:agree", language="en")
        await chat.send("Siti Aminah", language="en")
        calls = await chat.send("/batal", language="en")
        assert "answers you gave so far will be deleted" in texts(calls)[-1]
        calls = await chat.callback("mf:keep", language="en")
        assert "NIK" in texts(calls)[-1]  # back to the question it was at
        await chat.send("/cancel", language="en")
        calls = await chat.callback("mf:discard", language="en")
        assert "Your answers were deleted" in texts(calls)[0]
        assert "forms" not in chat.app.user_data[1001]
        assert await services.membership.of_user(1001) == []
        # After the form, text is a search again.
        calls = await chat.send("Sejahtera", language="en")
        assert "Koperasi Konsumen Sejahtera" in texts(calls)[0]

    async def test_join_again_resumes(self, chat: Chat, coops) -> None:
        await chat.send(f"/start join_{coops['KK-2']}", language="en")
        await chat.callback("mf:go", language="en")
        await chat.callback("mf:agree", language="en")
        await chat.send("Siti Aminah", language="en")
        calls = await chat.send(f"/start join_{coops['KK-2']}", language="en")
        assert "Welcome back" in texts(calls)[-1] and "NIK" in texts(calls)[-1]
        assert draft_of(chat, 1001)["full_name"] == "Siti Aminah"

    async def test_commands_and_search_buttons_mid_form(self, chat: Chat, coops) -> None:
        await chat.send(f"/start join_{coops['KK-2']}", language="en")
        await chat.callback("mf:go", language="en")
        await chat.callback("mf:agree", language="en")
        calls = await chat.send("/foo", language="en")
        assert "You are filling in the form to join" in texts(calls)[-1]
        assert "full name" in texts(calls)[-1]
        # Help, privacy and the rights keep working; the form waits.
        calls = await chat.send("/help", language="en")
        assert texts(calls)[0].startswith("<b>How to use")
        assert "full name" in texts(calls)[-1]  # then the question still waiting
        calls = await chat.send("Siti Aminah", language="en")
        assert "NIK" in texts(calls)[-1]


class TestRestart:
    async def test_crash_mid_form_loses_nothing(
        self, backend: Backend, services: Services, settings: Settings, coops
    ) -> None:
        api = LocalBotApi()
        user = LocalBotApi.user(3003, "en")

        async def feed(app: Any, update: dict) -> None:
            await app.process_update(Update.de_json(update, app.bot))

        def buttons() -> StoredMessage:
            message = api.last_with_buttons(3003)
            assert message is not None
            return message

        app1 = build_application(settings, backend, services=services, request=api)
        await app1.initialize()
        assert app1.job_queue is not None
        await app1.job_queue.start()  # form timeouts need it
        await feed(app1, api.message_update(user, text=f"/start join_{coops['KK-2']}"))
        await feed(app1, api.callback_update(user, buttons(), "mf:go"))
        await feed(app1, api.callback_update(user, buttons(), "mf:agree"))
        await feed(app1, api.message_update(user, text="Rina Marlina"))
        await feed(app1, api.message_update(user, text=NIK_F))
        # The process dies here: no stop(), no shutdown(), no final persistence flush.
        await app1.job_queue.stop(wait=False)
        del app1

        app2 = build_application(settings, backend, services=services, request=api)
        await app2.initialize()
        assert app2.job_queue is not None
        await app2.job_queue.start()
        draft = app2.user_data[3003]["forms"][coops["KK-2"]]
        assert draft["full_name"] == "Rina Marlina" and draft["nik_masked"] == "1271********0001"
        assert draft["step"] == 5  # confirming the NIK's birth date
        start = len(api.calls)
        await feed(app2, api.callback_update(user, buttons(), "mf:nik_ok"))
        assert "place of birth" in api.calls[start:][-1].params["text"]
        await app2.job_queue.stop()
        await app2.shutdown()


class TestTimeout:
    async def test_idle_form_pauses_and_keeps_answers(
        self, backend: Backend, services: Services, settings: Settings, coops
    ) -> None:
        api = LocalBotApi()
        app = build_application(
            replace(settings, form_timeout_s=0.3), backend, services=services, request=api
        )
        chat = Chat(app, api)
        async with running(app):
            await chat.send(f"/start join_{coops['KK-2']}", language="en")
            await chat.callback("mf:go", language="en")
            await chat.callback("mf:agree", language="en")
            await chat.send("Siti Aminah", language="en")
            await asyncio.sleep(1.0)
            paused = [c for c in api.calls if "paused" in c.params.get("text", "")]
            assert (
                paused
                and paused[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
                == f"jn:{coops['KK-2']}"
            )
            calls = await chat.tap("Continue", language="en")
            assert "Welcome back" in texts(calls)[-1] and "NIK" in texts(calls)[-1]
            await app.stop()


class TestPrivacyOfLogs:
    async def test_no_nik_or_phone_in_logs(
        self, chat: Chat, coops, caplog: pytest.LogCaptureFixture
    ) -> None:
        from bot.logs import configure

        root = logging.getLogger()
        saved = (list(root.handlers), root.level)
        configure("DEBUG")  # the most verbose the bot can be configured to log
        root.addHandler(caplog.handler)
        with caplog.at_level(logging.DEBUG):
            await fill(chat, coops["KK-2"], nik=NIK_F, phone="081234567890")
            await fill(chat, coops["KSP-3"], nik=NIK_M, phone="+6285711112222", user_id=4004)
            calls = await chat.send("3171011708850002")  # a NIK typed outside a form
            assert "tampak seperti NIK" in texts(calls)[0] and NIK_M not in texts(calls)[0]
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name in ("telegram", "pymongo", "httpx", "apscheduler", "aiohttp.access", "geopy"):
            logging.getLogger(name).setLevel(logging.NOTSET)
        logged = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records)
        assert logged  # something was logged at all
        for secret in (NIK_F, NIK_M, "81234567890", "85711112222"):
            assert secret not in logged
        assert not await chat.app.backend.store["searches"].count_documents(
            {"query": {"$regex": "3171"}}
        )


class TestDraft:
    STORED: ClassVar[dict[str, Any]] = {
        "started_at": "2026-01-02T03:04:05.123456+00:00",
        "updated_at": "2026-01-02T03:09:00+00:00",
        "step": 12,
        "consent_version": "2026-11-27",
        "consent_at": "2026-01-02T03:04:30+00:00",
        "full_name": "Siti Aminah",
        "nik_enc": "k1:abc",
        "nik_hash": "h",
        "nik_masked": "1271********0001",
        "sex": "F",
        "birth_date": "1990-08-17",
        "nik_district": "12.71.05",
        "birth_place": "Medan",
        "address": "Kel. Kesawan, Medan Barat",
        "domicile_village": "12.71.05.1001",
        "domicile_point": [3.5928, 98.6762],
        "domicile_declared": True,
        "phone": "+6281234567890",
        "occupation": "other:Penjahit",
    }

    def test_round_trip_is_exact(self) -> None:
        draft = MembershipDraft.from_dict(self.STORED)
        assert draft.birth_date == date(1990, 8, 17) and draft.domicile_point == (3.5928, 98.6762)
        assert draft.to_dict() == self.STORED
        assert "nik_enc" not in draft.export() and "nik_hash" not in draft.export()

    def test_unknown_and_bad_values_tolerated(self) -> None:
        stored = {
            "full_name": "Budi",
            "editing": False,
            "step": "seven",
            "birth_date": "17-08-1990",
            "domicile_point": ["a", "b"],
            "from_a_newer_version": {"x": 1},
        }
        draft = MembershipDraft.from_dict(stored)
        assert draft.full_name == "Budi" and draft.step is None and draft.birth_date is None
        assert draft.to_dict() == {"full_name": "Budi", "from_a_newer_version": {"x": 1}}
        assert draft.missing() == [
            "nik_enc",
            "nik_hash",
            "birth_place",
            "address",
            "phone",
            "occupation",
        ]

    def test_forms_in_user_data(self) -> None:
        user_data: dict[str, Any] = {}
        forms = Forms(user_data)
        assert forms.active() is None and list(forms) == [] and user_data == {}
        forms.open("c1")
        forms.put("c1", MembershipDraft(full_name="A B", step=3))
        assert user_data == {"form": "c1", "forms": {"c1": {"full_name": "A B", "step": 3}}}
        coop_id, draft = forms.active() or ("", None)
        assert coop_id == "c1" and draft is not None and draft.full_name == "A B"
        forms.drop("c1")
        assert user_data == {}


class TestStateMachine:
    def test_questions_numbered_from_the_steps(self) -> None:
        assert [number(s) for s in NUMBERED] == [(n, len(QUESTIONS)) for n in range(1, 7)]
        assert [following(s) for s in (Step.NAME, Step.NIK, Step.NIK_CONFIRM)] == [
            Step.NIK,
            Step.NIK_CONFIRM,
            Step.BIRTH_PLACE,
        ]
        assert following(Step.OCCUPATION) == Step.REVIEW
        assert {FORM_EDIT.parse(FORM_EDIT(q))[0] for q in QUESTIONS} == set(EDIT)

    def test_every_state_has_its_own_handlers(self) -> None:
        table = states()
        assert set(Step) <= set(table)
        for step in Step:
            assert table[step], step

    async def test_question_labels(self, chat: Chat, coops) -> None:
        await chat.send(f"/start join_{coops['KK-2']}", language="en")
        await chat.callback("mf:go", language="en")
        calls = await chat.callback("mf:agree", language="en")
        assert texts(calls)[-1].startswith("Question 1 of 6\n")
        calls = await chat.send("Siti Aminah", language="en")
        assert texts(calls)[-1].startswith("Question 2 of 6\n")

    async def test_button_of_another_question(self, chat: Chat, coops) -> None:
        await chat.send(f"/start join_{coops['KK-2']}", language="en")
        await chat.callback("mf:go", language="en")
        await chat.callback("mf:agree", language="en")
        calls = await chat.callback("mf:submit", language="en")
        answers = [c for c in calls if c.method == "answerCallbackQuery"]
        assert answers[0].params["text"] == "This button belongs to an earlier question."
        assert draft_of(chat, 1001)["step"] == Step.NAME
        calls = await chat.send("Siti Aminah", language="en")
        assert "NIK" in texts(calls)[-1]

    async def test_stop_question_wants_a_button(self, chat: Chat, coops) -> None:
        await chat.send(f"/start join_{coops['KK-2']}", language="en")
        await chat.callback("mf:go", language="en")
        await chat.callback("mf:agree", language="en")
        await chat.send("Siti Aminah", language="en")
        await chat.send("/batal", language="en")
        calls = await chat.send("Budi", language="en")
        assert texts(calls)[-1].startswith("❗ Please answer with the buttons below.")
        assert "will be deleted" in texts(calls)[-1]
        calls = await chat.callback("mf:keep", language="en")
        assert "NIK" in texts(calls)[-1] and draft_of(chat, 1001)["full_name"] == "Siti Aminah"

    async def test_stored_draft_of_the_previous_version_resumes(self, chat: Chat, coops) -> None:
        coop_id = coops["KK-2"]
        chat.app.user_data[1001].update(
            {
                "form": coop_id,
                "forms": {
                    coop_id: {
                        "started_at": "2026-01-02T03:04:05+00:00",
                        "step": int(Step.BIRTH_PLACE),
                        "editing": False,
                        "consent_version": "2026-11-27",
                        "full_name": "Siti Aminah",
                        "legacy": 1,
                    }
                },
            }
        )
        calls = await chat.send(f"/start join_{coop_id}", language="en")
        assert "Welcome back" in texts(calls)[-1] and "place of birth" in texts(calls)[-1]
        await chat.send("Medan", language="en")
        draft = draft_of(chat, 1001)
        assert draft["birth_place"] == "Medan" and draft["legacy"] == 1
        assert draft["step"] == Step.ADDRESS
