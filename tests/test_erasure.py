"""Erasure that reaches every copy (crypto-shredding).

The test module runs its own SecantusDB server, so it can read that server's oplog
(``local.oplog.rs``) and scan its data files and journal on disk byte by byte. A person
fills in forms through the real Application, becomes a member, is seen by the board
(member list, export, card), and deletes their data with /deletedata. Afterwards no
personal value of theirs — plain or masked, in any format the bot stores — may be found
anywhere: not in the oplog, not in the collection files, not in the WiredTiger journal.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import Backend, Services
from bot.dbserver import EmbeddedMongo
from bot.services.cards import mask_name
from storage.mongo import Store
from tests.conftest import Chat, texts
from tests.factories import csv_bytes, present
from tests.test_membership import ROWS, draft_of

USER = 555_000_111
ADMIN = 7001
NAME = "Prameswari Kusumawardhani"
NIK = "1271056203910007"  # female, 22-03-1991, Kec. Medan Barat
MASKED_NIK = "1271********0007"
PHONE_TYPED = "0813-2468-1357"
ADDRESS = "Jl. Cempaka Wangi No. 17"
OTHER_ADDRESS = "Gang Melati Ujung No. 9"
BIRTH_PLACE = "Sidikalang"
OTHER_BIRTH_PLACE = "Pangururan"

# Every personal value of the person, plain and masked, in every spelling the bot stores or
# shows (the phone as typed, national, E.164 with and without "+", without the trunk 0).
PERSONAL = (
    NAME,
    "Prameswari",
    "Kusumawardhani",
    mask_name(NAME),
    NIK,
    MASKED_NIK,
    "1271********",
    PHONE_TYPED,
    "081324681357",
    "+6281324681357",
    "6281324681357",
    "81324681357",
    ADDRESS,
    "Cempaka Wangi",
    OTHER_ADDRESS,
    "Melati Ujung",
    BIRTH_PLACE,
    OTHER_BIRTH_PLACE,
)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db"


@pytest.fixture
def mongo_uri(db_path: Path) -> Iterator[str]:
    """This module's own embedded server (its files are scanned), one per test."""
    server = EmbeddedMongo(db_path)
    server.start()
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture
async def coops(services: Services, backend: Backend) -> dict[str, str]:
    await services.importer.import_bytes(csv_bytes(ROWS))
    ids = {}
    for row in ROWS:
        key = "reg:" + row["registration_number"].lower().replace("-", "")
        ids[row["registration_number"]] = present(
            await services.directory.coops.get_by_key(key)
        ).id
    await backend.admins.add(ids["KK-2"], ADMIN)
    return ids


async def form(
    chat: Chat,
    coop_id: str,
    *,
    address: str,
    birth_place: str,
    submit: bool = True,
) -> None:
    """The whole form, as the person types it."""
    say = {"user_id": USER, "language": "en"}
    await chat.send(f"/start join_{coop_id}", **say)
    await chat.callback("mf:go", **say)
    await chat.callback("mf:agree", **say)
    await chat.send(NAME, **say)
    await chat.send(NIK, **say)
    await chat.callback("mf:nik_ok", **say)
    await chat.send(birth_place, **say)
    await chat.send(address, **say)
    if draft_of(chat, USER).get("step") == 8:  # the domicile question
        await chat.callback("mf:declare", **say)
    if not submit:
        return
    await chat.send(PHONE_TYPED, **say)
    await chat.callback("mf:occ:pedagang", **say)
    await chat.callback("mf:submit", **say)


def hits(blob: bytes) -> dict[str, int]:
    """How often each personal value occurs in ``blob`` (case-insensitive bytes)."""
    low = blob.lower()
    found = {}
    for value in PERSONAL:
        n = low.count(value.lower().encode())
        if n:
            found[value] = n
    return found


async def oplog_hits(store: Store, canary: str) -> tuple[int, int, int, dict[str, int]]:
    """In the server's ``local.oplog.rs``, for this test's database: (entries, entries with
    the canary, entries with a personal value, how often each personal value occurs)."""
    ns = {"$regex": f"^{store.db.name}\\."}
    entries = canary_entries = personal_entries = 0
    found: dict[str, int] = {}
    async for entry in store.client["local"]["oplog.rs"].find({"ns": ns}):
        blob = json.dumps(entry, default=repr).encode()
        entries += 1
        canary_entries += canary.encode() in blob
        in_entry = hits(blob)
        personal_entries += bool(in_entry)
        for value, n in in_entry.items():
            found[value] = found.get(value, 0) + n
    return entries, canary_entries, personal_entries, found


def file_hits(path: Path, canary: str) -> tuple[int, dict[str, dict[str, int]]]:
    """(files with the canary, personal values found per file) in the raw database files,
    journal included."""
    with_canary = 0
    found: dict[str, dict[str, int]] = {}
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        blob = file.read_bytes()
        with_canary += canary.lower().encode() in blob.lower()
        per_file = hits(blob)
        if per_file:
            found[file.name] = per_file
    return with_canary, found


class TestEveryCopy:
    async def test_nothing_readable_after_deletedata(
        self, chat: Chat, services: Services, coops, store: Store, db_path: Path
    ) -> None:
        # The person joins one cooperative (approved: a member with a card), applies to a
        # second, and leaves a third form half done (a persisted draft).
        await chat.send("/start", user_id=USER, language="en")
        await form(chat, coops["KK-2"], address=ADDRESS, birth_place=BIRTH_PLACE)
        await form(chat, coops["KSP-3"], address=OTHER_ADDRESS, birth_place=OTHER_BIRTH_PLACE)
        applications = {a.coop_id: a for a in await services.membership.of_user(USER)}
        assert set(applications) == {coops["KK-2"], coops["KSP-3"]}
        await chat.send("/admin", user_id=ADMIN, language="en")
        await chat.callback(f"aa:{applications[coops['KK-2']].id}", user_id=ADMIN, language="en")
        await form(
            chat, coops["KDMP-1"], address=ADDRESS, birth_place=BIRTH_PLACE, submit=False
        )
        await chat.app.update_persistence()
        # While the person is a member the board reads everything: list, export, card.
        members, _ = await services.admin.members(ADMIN, coops["KK-2"])
        assert [m.full_name for m in members] == [NAME]
        assert members[0].phone == "+6281324681357" and members[0].address == ADDRESS
        assert members[0].nik_masked == MASKED_NIK and members[0].birth_place == BIRTH_PLACE
        assert services.membership.reveal_nik(members[0]) == NIK
        exported = await services.admin.export_members(ADMIN, coops["KK-2"])
        (row,) = csv.DictReader(io.StringIO(exported.decode("utf-8-sig")))
        assert (row["full_name"], row["nik"], row["phone"]) == (NAME, NIK, "+6281324681357")
        calls = await chat.send("/kartu", user_id=USER, language="en")
        assert calls[0].method == "sendPhoto" and NAME in calls[0].params["caption"]

        # The person deletes their data.
        await chat.send("/deletedata", user_id=USER, language="en")
        calls = await chat.tap("Yes, delete everything", user_id=USER, language="en")
        assert "1 applications withdrawn, 1 memberships ended" in texts(calls)[-2]
        await chat.app.update_persistence()

        # A canary written the same way proves the scans can see what is there.
        canary = f"canary-{uuid.uuid4().hex}"
        await store["canary"].insert_one({"value": canary})
        await store.client.admin.command("fsync")  # everything written reaches the files

        entries, canary_entries, personal_entries, in_oplog = await oplog_hits(store, canary)
        canary_files, on_disk = file_hits(db_path, canary)
        assert entries > 20 and canary_entries == 1
        assert canary_files >= 2  # the oplog's file and the journal at least
        assert (personal_entries, in_oplog, on_disk) == (0, {}, {}), (
            f"{personal_entries} of {entries} oplog entries hold personal values: {in_oplog}; "
            f"database files: {on_disk}"
        )
