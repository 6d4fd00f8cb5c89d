"""The membership form as a new user met it (issue 16, items 8–12): no question skipped,
a refusal that names what is missing, a typed address that names the village, answers
reused from the last application, a NIK that reveals nothing, ages in years, and help
that returns to the question."""

from __future__ import annotations

import pytest

from bot.app import Services
from bot.services.draft import MembershipDraft
from handlers.notify import application_text
from tests.conftest import Chat, texts
from tests.factories import import_rows
from tests.test_membership import NIK_F, NIK_M, ROWS, draft_of, fill

KESAWAN = (3.5928, 98.6762)


@pytest.fixture
async def coops(services: Services) -> dict[str, str]:
    return await import_rows(services, ROWS, on_platform=True)


async def start_form(chat: Chat, coop_id: str, *, user_id: int = 1001, lang: str = "en") -> None:
    await chat.send(f"/start join_{coop_id}", user_id=user_id, language=lang)
    await chat.callback("mf:go", user_id=user_id, language=lang)
    await chat.callback("mf:agree", user_id=user_id, language=lang)


async def to_address(chat: Chat, coop_id: str, nik: str, lang: str = "en") -> None:
    await start_form(chat, coop_id, lang=lang)
    await chat.send("Budi Santoso", language=lang)
    await chat.send(nik, language=lang)
    await chat.callback("mf:nik_ok", language=lang)
    await chat.send("Medan", language=lang)


class TestNoQuestionSkipped:
    async def test_changing_the_address_at_the_domicile_question(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        await to_address(chat, coops["KDMP-1"], NIK_M)
        calls = await chat.send("Jl. Merdeka 1, Jakarta Pusat", language="en")
        assert "is for people who live in Kel. Kesawan" in texts(calls)[-1]
        await chat.callback("mf:edit:address", language="en")
        calls = await chat.location(*KESAWAN, language="en")
        question = texts(calls)[-1]
        # Before: the review, with "Phone: – / Occupation: –".
        assert "phone number" in question and "Still missing: phone, occupation" in question
        await chat.send("0812 3456 7890", language="en")
        calls = await chat.callback("mf:occ:petani", language="en")
        assert "Check your application" in texts(calls)[-1]
        await chat.callback("mf:submit", language="en")
        (application,) = await services.membership.of_user(1001)
        assert application.phone and application.occupation == "petani"

    async def test_submit_refusal_names_the_missing_answer(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        await fill(chat, coops["KK-2"], submit=False)
        draft = draft_of(chat, 1001)
        del draft["phone"]  # a draft from an older version, or a path that lost it
        calls = await chat.callback("mf:submit", language="id")
        question = texts(calls)[-1]
        assert "Masih kurang: telepon" in question and "Nomor telepon" in question
        assert await services.membership.of_user(1001) == []
        assert draft_of(chat, 1001)["full_name"] == "Siti Aminah"  # nothing lost


class TestVillageNamedInAddress:
    async def test_typed_address_naming_the_village_is_enough(
        self, chat: Chat, coops: dict[str, str]
    ) -> None:
        await to_address(chat, coops["KDMP-1"], NIK_M)
        calls = await chat.send("Jl. Ahmad Yani No. 5, Kesawan", language="en")
        assert "phone number" in texts(calls)[-1]

    async def test_another_village_still_asks(self, chat: Chat, coops: dict[str, str]) -> None:
        await to_address(chat, coops["KDMP-1"], NIK_M)
        calls = await chat.send("Jl. Ahmad Yani No. 5, Kesawanbaru", language="en")
        assert "is for people who live in Kel. Kesawan" in texts(calls)[-1]


class TestNikRevealsNothing:
    async def test_other_accounts_nik_is_flagged_for_the_board(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        await fill(chat, coops["KK-2"], user_id=1001)
        await start_form(chat, coops["KK-2"], user_id=2002)
        await chat.send("Budi Santoso", user_id=2002, language="en")
        calls = await chat.send(NIK_F, user_id=2002, language="en")
        said = " ".join(texts(calls))
        assert "already used" not in said and "another Telegram account" not in said
        assert "Is that right?" in said  # the form goes on as for any NIK
        await chat.callback("mf:nik_ok", user_id=2002, language="en")
        await chat.send("Medan", user_id=2002, language="en")
        await chat.send("Jl. Gatot Subroto 9", user_id=2002, language="en")
        await chat.send("0813 1111 2222", user_id=2002, language="en")
        await chat.callback("mf:occ:guru", user_id=2002, language="en")
        calls = await chat.callback("mf:submit", user_id=2002, language="en")
        assert "already" not in " ".join(texts(calls))
        (first,) = await services.membership.of_user(1001)
        (second,) = await services.membership.of_user(2002)
        assert not first.nik_conflict and second.nik_conflict
        coop = await services.membership.coop(coops["KK-2"])
        assert coop is not None
        board = application_text(services.i18n.get("en"), second, coop, "", "")
        assert "same NIK" in board
        # The same account applying twice is still told it already applied.
        calls = await chat.send(f"/start join_{coops['KK-2']}", user_id=2002, language="en")
        assert "already" in texts(calls)[0]


class TestReuse:
    async def test_second_application_offers_the_last_answers(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        await fill(chat, coops["KK-2"], language="en")
        await start_form(chat, coops["KSP-3"])
        offer = draft_of(chat, 1001)
        assert offer["step"] == 14
        calls = chat.api.calls
        question = [c for c in calls if "Use these answers" in str(c.params.get("text", ""))]
        text = question[-1].params["text"]
        assert "S*** A*****" in text and "Siti Aminah" not in text
        assert "NIK" in text and NIK_F not in text and "7890" in text and "3456" not in text
        calls = await chat.callback("mf:reuse", language="en")
        review = texts(calls)[-1]
        assert "Check your application to KSP Maju Bersama" in review and "Siti Aminah" in review
        await chat.callback("mf:submit", language="en")
        applications = {a.coop_id: a for a in await services.membership.of_user(1001)}
        second = applications[coops["KSP-3"]]
        assert second.full_name == "Siti Aminah" and second.status == "pending"
        assert services.membership.reveal_nik(second) == NIK_F

    async def test_answer_again_asks_every_question(
        self, chat: Chat, coops: dict[str, str]
    ) -> None:
        await fill(chat, coops["KK-2"], language="en")
        await start_form(chat, coops["KSP-3"])
        calls = await chat.callback("mf:fresh", language="en")
        assert "full name" in texts(calls)[-1]
        assert "full_name" not in draft_of(chat, 1001)

    async def test_village_cooperative_still_checks_the_domicile(
        self, chat: Chat, coops: dict[str, str]
    ) -> None:
        await fill(chat, coops["KK-2"], language="en", nik=NIK_M)
        await start_form(chat, coops["KDMP-1"])
        calls = await chat.callback("mf:reuse", language="en")
        assert "is for people who live in Kel. Kesawan" in texts(calls)[-1]

    async def test_nothing_offered_after_erasure(
        self, chat: Chat, services: Services, coops: dict[str, str]
    ) -> None:
        await fill(chat, coops["KK-2"], language="en")
        await services.privacy.erase(1001)
        await start_form(chat, coops["KSP-3"])
        assert draft_of(chat, 1001)["step"] == 3  # the name question


class TestSmallThings:
    async def test_age_in_years(self, chat: Chat, coops: dict[str, str]) -> None:
        for lang, expected in (("id", "7 tahun"), ("en", "7 years")):
            await start_form(chat, coops["KK-2"], lang=lang)
            await chat.send("Budi Santoso", language=lang)
            calls = await chat.send("3171011708190002", language=lang)
            assert expected in texts(calls)[-1], texts(calls)
            await chat.send("/batal", language=lang)
            await chat.callback("mf:discard", language=lang)

    async def test_help_returns_to_the_question(self, chat: Chat, coops: dict[str, str]) -> None:
        await start_form(chat, coops["KK-2"])
        await chat.send("Budi Santoso", language="en")
        calls = await chat.send("/help", language="en")
        said = texts(calls)
        assert "How to use Gerbang Koperasi" in said[0]
        assert "NIK" in said[-1] and "You are filling in the form" in said[-1]
        calls = await chat.send(NIK_F, language="en")
        assert "Is that right?" in texts(calls)[-1]


def test_reuse_fields_survive_storage() -> None:
    draft = MembershipDraft(reuse_from="abc", reuse_summary=["a", "b"])
    again = MembershipDraft.from_dict(draft.to_dict())
    assert again.reuse_from == "abc" and again.reuse_summary == ["a", "b"]
    assert MembershipDraft.from_dict({"reuse_summary": [1, 2]}).reuse_summary is None
