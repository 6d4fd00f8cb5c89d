"""Every bad answer at every step: a clear, translated re-prompt; earlier answers stay."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import Services
from tests.conftest import Chat, texts
from tests.factories import csv_bytes, put_on_platform
from tests.test_membership import NIK_F, ROWS, draft_of

STICKER = {
    "sticker": {
        "file_id": "s",
        "file_unique_id": "s",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
}
PHOTO = {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]}
VOICE = {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}}
DOCUMENT = {"document": {"file_id": "d", "file_unique_id": "d", "file_name": "ktp.pdf"}}
LOCATION = {"location": {"latitude": 3.59, "longitude": 98.67}}

# step reached → (answers given before it, draft fields that must survive)
STEPS: dict[str, tuple[list[Any], list[str]]] = {
    "name": ([], ["consent_version"]),
    "nik": (["Siti Aminah"], ["full_name"]),
    "birth_place": (["Siti Aminah", NIK_F, "mf:nik_ok"], ["full_name", "nik_enc"]),
    "address": (["Siti Aminah", NIK_F, "mf:nik_ok", "Medan"], ["full_name", "birth_place"]),
    "phone": (
        ["Siti Aminah", NIK_F, "mf:nik_ok", "Medan", "Jl. Sisingamangaraja 12"],
        ["full_name", "nik_enc", "address"],
    ),
}

CASES = [
    # step, input, English fragment, Indonesian fragment
    ("name", "Siti 123", "cannot contain digits", "tidak boleh berisi angka"),
    ("name", "😀😀😀", "only contain letters", "hanya boleh berisi huruf"),
    ("name", "<b>Siti</b>", "only contain letters", "hanya boleh berisi huruf"),
    ("name", "S" * 101, "longer than 100 characters", "lebih dari 100 karakter"),
    ("name", "X", "too short", "terlalu pendek"),
    ("name", PHOTO, "answer with text", "jawab dengan teks"),
    ("name", STICKER, "answer with text", "jawab dengan teks"),
    ("name", VOICE, "answer with text", "jawab dengan teks"),
    ("name", DOCUMENT, "answer with text", "jawab dengan teks"),
    ("name", LOCATION, "location is not an answer", "Lokasi bukan jawaban"),
    ("name", "/foo", "You are filling in the form", "Anda sedang mengisi formulir"),
    ("nik", "127105570890001", "16 digits; you typed 15", "16 angka; Anda mengetik 15"),
    ("nik", "12710557089000011", "16 digits; you typed 17", "16 angka; Anda mengetik 17"),
    ("nik", "12710557O8900001", "only digits", "hanya berisi angka"),
    ("nik", "1271 0557 0890 0001", "without spaces", "tanpa spasi"),
    ("nik", "9971055708900001", "not an Indonesian province", "bukan kode provinsi"),
    ("nik", "1271993108900001", "not a district code", "bukan kode kecamatan"),
    ("nik", "1271053102900001", "does not exist", "tidak ada"),
    ("nik", "1271057208900001", "not a day of birth", "bukan tanggal lahir"),
    ("nik", "1271051712250001", "at least 17", "minimal 17"),
    ("nik", "1271051708160001", "at least 17", "minimal 17"),
    ("nik", STICKER, "answer with text", "jawab dengan teks"),
    ("birth_place", "Medan 2", "only contain letters", "hanya boleh berisi huruf"),
    ("address", "ab", "type your address", "ketik alamat"),
    (
        "address",
        PHOTO,
        "type your address, or share your location",
        "ketik alamat Anda, atau bagikan lokasi",
    ),
    ("phone", "12345", "not an Indonesian phone number", "bukan nomor telepon Indonesia"),
    (
        "phone",
        "+44 20 7946 0958",
        "not an Indonesian phone number",
        "bukan nomor telepon Indonesia",
    ),
    (
        "phone",
        {"contact": {"phone_number": "+6281299998888", "first_name": "Teman", "user_id": 777}},
        "your own phone number",
        "nomor telepon Anda sendiri",
    ),
    (
        "phone",
        STICKER,
        "share your phone number with the button",
        "bagikan nomor telepon Anda dengan tombol",
    ),
]


@pytest.fixture
async def coop_id(services: Services) -> str:
    await services.importer.import_bytes(csv_bytes(ROWS[1:2]))
    coop_id = (await services.directory.coops.by_tokens(["sejahtera"]))[0].id
    await put_on_platform(services, [coop_id])  # its board takes applications here
    return coop_id


async def reach(chat: Chat, coop_id: str, step: str, language: str) -> None:
    await chat.send(f"/start join_{coop_id}", language=language)
    await chat.callback("mf:go", language=language)
    await chat.callback("mf:agree", language=language)
    for answer in STEPS[step][0]:
        if answer.startswith("mf:"):
            await chat.callback(answer, language=language)
        else:
            await chat.send(answer, language=language)


@pytest.mark.parametrize("language", ["en", "id"])
@pytest.mark.parametrize(
    ("step", "answer", "english", "indonesian"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
async def test_bad_answer(
    chat: Chat, coop_id: str, language: str, step: str, answer: Any, english: str, indonesian: str
) -> None:
    await reach(chat, coop_id, step, language)
    before = dict(draft_of(chat, 1001))
    if isinstance(answer, dict):
        calls = await chat.message(language=language, **answer)
    else:
        calls = await chat.send(answer, language=language)
    reply = texts(calls)[-1]
    assert reply.startswith("❗ ")
    assert (english if language == "en" else indonesian) in reply, reply
    after = draft_of(chat, 1001)
    assert after["step"] == before["step"]
    for field in STEPS[step][1]:
        assert after[field] == before[field]


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("081234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(0274) 512345", "+62274512345"),
    ],
)
async def test_phone_formats(chat: Chat, coop_id: str, typed: str, e164: str) -> None:
    await reach(chat, coop_id, "phone", "en")
    await chat.send(typed, language="en")
    assert draft_of(chat, 1001)["phone"] == e164


async def test_own_contact_accepted(chat: Chat, coop_id: str) -> None:
    await reach(chat, coop_id, "phone", "en")
    calls = await chat.message(
        language="en",
        contact={"phone_number": "6281234567890", "first_name": "Siti", "user_id": 1001},
    )
    assert "Phone number saved" in texts(calls)[0]
    assert draft_of(chat, 1001)["phone"] == "+6281234567890"
