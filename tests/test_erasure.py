"""Erasure that reaches every copy (crypto-shredding).

:class:`TestEveryCopy` runs its own SecantusDB server, so it can read that server's oplog
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
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from bot.app import Backend, Services, build_services, open_services
from bot.config import Settings
from bot.dbserver import EmbeddedMongo
from bot.services.cards import mask_name
from bot.services.crypto import DataKeyError, Keyring, PersonCipher, Vault
from bot.services.draft import MembershipDraft
from bot.services.keys import rotate
from bot.services.personal import MIGRATION, SealedApplications, SealedStates, seal_existing
from storage.applications import ApplicationRepository
from storage.base import Applications, PersonKeys
from storage.keys import KeyRepository
from storage.mongo import Store
from tests.conftest import Chat, texts
from tests.factories import import_rows, present
from tests.test_cards import apply
from tests.test_membership import ROWS, draft_of
from tests.test_storage import public_methods, shape

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
async def coops(services: Services, backend: Backend) -> dict[str, str]:
    ids = await import_rows(services, ROWS, on_platform=True)
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
    await chat.send(f"/start join_{coop_id}", user_id=USER, language="en")
    await chat.callback("mf:go", user_id=USER, language="en")
    await chat.callback("mf:agree", user_id=USER, language="en")
    if chat.app.user_data[USER]["forms"][chat.app.user_data[USER]["form"]].get("step") == 14:
        await chat.callback("mf:fresh", user_id=USER, language="en")  # answer anew
    await chat.send(NAME, user_id=USER, language="en")
    await chat.send(NIK, user_id=USER, language="en")
    await chat.callback("mf:nik_ok", user_id=USER, language="en")
    await chat.send(birth_place, user_id=USER, language="en")
    await chat.send(address, user_id=USER, language="en")
    if draft_of(chat, USER).get("step") == 8:  # the domicile question
        await chat.callback("mf:declare", user_id=USER, language="en")
    if not submit:
        return
    await chat.send(PHONE_TYPED, user_id=USER, language="en")
    await chat.callback("mf:occ:pedagang", user_id=USER, language="en")
    await chat.callback("mf:submit", user_id=USER, language="en")


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
    """On a server of its own, whose oplog and files hold nothing but this test's data."""

    @pytest.fixture
    def db_path(self, tmp_path: Path) -> Path:
        return tmp_path / "db"

    @pytest.fixture
    def mongo_uri(self, db_path: Path) -> Iterator[str]:
        server = EmbeddedMongo(db_path)
        server.start()
        try:
            yield server.uri
        finally:
            server.stop()

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
        await chat.callback(f"ay:{applications[coops['KK-2']].id}", user_id=ADMIN, language="en")
        await form(chat, coops["KDMP-1"], address=ADDRESS, birth_place=BIRTH_PLACE, submit=False)
        await chat.app.update_persistence()
        # While the person is a member the board reads everything: list, export, card.
        members, _ = await services.admin.members(ADMIN, coops["KK-2"])
        assert [m.full_name for m in members] == [NAME]
        assert members[0].phone == "+6281324681357" and members[0].address == ADDRESS
        assert members[0].nik_masked == MASKED_NIK and members[0].birth_place == BIRTH_PLACE
        assert services.membership.reveal_nik(members[0]) == NIK
        english = services.i18n.get("en")
        exported = await services.admin.export_members(ADMIN, coops["KK-2"], english, "csv")
        (row,) = csv.DictReader(io.StringIO(exported.decode("utf-8-sig")))
        assert (row["Full name"], row["NIK"], row["Phone"]) == (
            NAME,
            f'="{NIK}"',
            '="+6281324681357"',
        )
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


E164 = "+6281324681357"
# What erasure removed before sealing existed.
OLD_ERASED = (
    "full_name",
    "nik_enc",
    "nik_masked",
    "sex",
    "birth_date",
    "birth_place",
    "address",
    "domicile_village",
    "domicile_point",
    "phone",
    "occupation",
    "consent",
    "status_reason",
)
NEW_KEY = "a-brand-new-data-key-0123456789"
OLD_KEY = "test-data-key-0123456789abcdef"  # the test settings' DATA_KEY


def clear_application(vault: Vault, coop_id: str, **values: Any) -> dict[str, Any]:
    """An application as the version before sealing stored it: personal values in clear."""
    now = datetime.now(UTC)
    return {
        "number": "GK-2025-000001",
        "coop_id": coop_id,
        "user_id": USER,
        "status": "active",
        "created_at": now,
        "updated_at": now,
        "full_name": NAME,
        "nik_enc": vault.encrypt(NIK),
        "nik_hash": vault.lookup_hash(NIK),
        "nik_masked": MASKED_NIK,
        "sex": "F",
        "birth_date": "1991-03-22",
        "birth_place": BIRTH_PLACE,
        "address": ADDRESS,
        "domicile_village": None,
        "domicile_point": None,
        "phone": E164,
        "occupation": "pedagang",
        "domicile_declared": True,
        "language": "en",
        "consent": {"version": "2025-01-01", "accepted_at": now.isoformat()},
        "member_number": "KKS-000001",
        "decided_at": now,
        "card_version": 1,
        **values,
    }


async def raw_text(store: Store, *collections: str) -> str:
    """The stored documents of ``collections``, as text (to look for values in clear)."""
    docs = [doc for name in collections async for doc in store[name].find()]
    return json.dumps(docs, default=str)


class TestSealedAtRest:
    async def test_stored_sealed_read_plain(
        self, chat: Chat, services: Services, coops, store: Store
    ) -> None:
        await form(chat, coops["KK-2"], address=ADDRESS, birth_place=BIRTH_PLACE)
        await form(chat, coops["KSP-3"], address=ADDRESS, birth_place=BIRTH_PLACE, submit=False)
        await chat.app.update_persistence()
        stored = await raw_text(store, "applications", "user_data", "person_keys")
        assert hits(stored.encode()) == {}
        doc = present(await store["applications"].find_one({"user_id": USER}))
        assert set(doc["sealed"]) >= {"full_name", "nik_enc", "phone", "address", "consent"}
        assert doc["user_id"] == USER and doc["nik_hash"] and doc["nik_kid"]
        # The services (and so the board and the person) read plain values.
        (application,) = await services.membership.of_user(USER)
        assert (application.full_name, application.phone) == (NAME, E164)
        assert application.domicile_declared is False and application.consent["version"]
        assert services.membership.reveal_nik(application) == NIK
        assert draft_of(chat, USER)["full_name"] == NAME  # the form in memory: plain
        exported = await services.privacy.export(USER)
        assert exported["unfinished_forms"][0]["address"] == ADDRESS

    async def test_board_searches_sealed_names(
        self, services: Services, backend: Backend, coops
    ) -> None:
        for i, name in enumerate(("Siti Aminah", NAME, "Budi Kusumo")):
            nik = NIK[:12] + f"{i + 1:04d}"
            application_id = await apply(services, 100 + i, coops["KK-2"], nik, name)
            await services.membership.approve(application_id)
        await backend.admins.add(coops["KK-2"], ADMIN)
        found, total = await services.admin.members(ADMIN, coops["KK-2"], query="KUSUM")
        assert total == 2 and sorted(m.full_name or "" for m in found) == ["Budi Kusumo", NAME]
        found, total = await services.admin.members(ADMIN, coops["KK-2"], query="kusum", limit=1)
        assert total == 2 and len(found) == 1
        found, total = await services.admin.members(ADMIN, coops["KK-2"], query="KKS-000001")
        assert [m.full_name for m in found] == ["Siti Aminah"]
        assert (await services.admin.members(ADMIN, coops["KK-2"], query="(.*"))[1] == 0

    async def test_board_reasons_are_sealed(self, services: Services, store: Store, coops) -> None:
        application_id = await apply(services, 77, coops["KK-2"], NIK)
        await services.membership.reject(application_id, "Alamat Jl. Cempaka Wangi tidak cocok")
        assert present(await services.membership.apps.get(application_id)).reason == (
            "Alamat Jl. Cempaka Wangi tidak cocok"
        )
        assert "Cempaka" not in await raw_text(store, "applications")

    def test_one_cipher_per_person_and_field(self) -> None:
        mine, other = PersonCipher(b"k" * 32), PersonCipher(b"o" * 32)
        sealed = mine.seal("phone", E164)
        assert E164 not in sealed and mine.open("phone", sealed) == E164
        assert mine.seal("phone", E164) != sealed  # a fresh nonce every time
        with pytest.raises(DataKeyError):
            other.open("phone", sealed)  # another person's key
        with pytest.raises(DataKeyError):
            mine.open("full_name", sealed)  # moved to another field
        assert mine.open("point", mine.seal("point", [3.5, 98.6])) == [3.5, 98.6]


class TestErasureShreds:
    async def test_backup_copies_become_unreadable(
        self, services: Services, backend: Backend, store: Store, coops
    ) -> None:
        application_id = await apply(services, USER, coops["KK-2"], NIK, NAME)
        await services.membership.approve(application_id)
        backup = {
            name: [doc async for doc in store[name].find()]
            for name in ("applications", "person_keys")
        }
        (copy,) = [d for d in backup["applications"] if d["user_id"] == USER]
        assert NAME not in json.dumps(copy, default=str)  # a backup holds no plain value

        await services.privacy.erase(USER)
        assert await backend.keys.count() == 0
        # The live key store has no key for the person: the backup's seals stay shut.
        assert await backend.keyring.cipher(USER) is None
        # Until the next rotation, a backup that also holds person_keys opens with
        # DATA_KEY (SECURITY.md); once rotated and the old key dropped, it never does.
        (wrapped,) = [k["wrapped"] for k in backup["person_keys"] if k["_id"] == USER]
        cipher = PersonCipher(backend.vault.unwrap(wrapped))
        assert cipher.open("full_name", copy["sealed"]["full_name"]) == NAME
        await rotate(Vault(NEW_KEY, [OLD_KEY]), backend.apps, backend.states, keys=backend.keys)
        with pytest.raises(DataKeyError):
            Vault(NEW_KEY).unwrap(wrapped)

    async def test_erasure_that_stopped_halfway(
        self, services: Services, backend: Backend, store: Store, coops
    ) -> None:
        """The key goes first: if the bot stops right after, nothing is readable, and
        /deletedata again finishes the clean-up."""
        application_id = await apply(services, USER, coops["KK-2"], NIK, NAME)
        await backend.keyring.destroy(USER)
        application = present(await services.membership.apps.get(application_id))
        assert application.full_name is None and application.nik_enc is None
        assert application.status == "pending" and application.user_id == USER
        await services.privacy.erase(USER)
        doc = present(await store["applications"].find_one({"_id": ObjectId(application_id)}))
        assert "sealed" not in doc and doc["user_id"] is None and "nik_hash" not in doc


class TestBackfill:
    async def test_clear_documents_read_then_sealed(
        self, services: Services, backend: Backend, store: Store, coops
    ) -> None:
        vault = backend.vault
        coop = coops["KK-2"]
        live = await store["applications"].insert_one(
            clear_application(
                vault,
                coop,
                open_user=f"{coop}:{USER}",
                open_nik=f"{coop}:{vault.lookup_hash(NIK)}",
            )
        )
        # Erased before sealing existed: what that erasure left (not thought personal then).
        old = clear_application(
            vault, coops["KSP-3"], user_id=None, status="rejected", reason="Data tidak lengkap"
        )
        for name in (*OLD_ERASED, "nik_hash"):
            old.pop(name, None)
        erased = await store["applications"].insert_one(old)
        draft = MembershipDraft(step=5, full_name=NAME, birth_place=BIRTH_PLACE, address=ADDRESS)
        await store["user_data"].insert_one(
            {"_id": USER, "data": {"form": coop, "forms": {coop: draft.to_dict()}}}
        )
        # Before the backfill, what is in clear is read as it is.
        (application,) = await services.membership.of_user(USER)
        assert (application.full_name, application.phone) == (NAME, E164)
        assert services.membership.reveal_nik(application) == NIK

        report = await seal_existing(backend.apps, backend.states, backend.keyring)
        assert (report.applications, report.drafts, report.skipped) == (2, 1, 0)
        assert hits((await raw_text(store, "applications", "user_data")).encode()) == {}
        doc = present(await store["applications"].find_one({"_id": live.inserted_id}))
        assert "full_name" not in doc and doc["nik_kid"] == vault.key_id
        gone = present(await store["applications"].find_one({"_id": erased.inserted_id}))
        assert "reason" not in gone and "domicile_declared" not in gone and "sealed" not in gone
        # Read the same as before, and the duplicate check still finds the NIK.
        (application,) = await services.membership.of_user(USER)
        assert (application.full_name, application.phone) == (NAME, E164)
        assert application.consent["version"] == "2025-01-01" and application.domicile_declared
        assert services.membership.reveal_nik(application) == NIK
        nik_hash = services.membership.vault.lookup_hash(NIK)
        assert await services.membership.apps.open_with_nik(coop, nik_hash) is not None
        exported = await services.privacy.export(USER)
        assert exported["unfinished_forms"][0]["full_name"] == NAME
        # Once is enough (a marker), and a forced re-run finds nothing left.
        assert await backend.keys.migrated(MIGRATION)
        assert (
            await seal_existing(backend.apps, backend.states, backend.keyring)
        ).applications == 0
        await store["meta"].delete_many({})
        again = await seal_existing(backend.apps, backend.states, backend.keyring)
        assert (again.applications, again.drafts) == (0, 0)

    async def test_the_start_runs_it(
        self, settings: Settings, backend: Backend, store: Store, coops
    ) -> None:
        await store["applications"].insert_one(clear_application(backend.vault, coops["KK-2"]))
        services = await open_services(settings, backend)
        try:
            assert NAME not in await raw_text(store, "applications")
            (application,) = await services.membership.of_user(USER)
            assert application.full_name == NAME
        finally:
            await services.close()


class TestRotation:
    async def test_keys_rewrapped_and_old_key_can_go(
        self, services: Services, backend: Backend, settings: Settings, store: Store, coops
    ) -> None:
        first = await apply(services, USER, coops["KK-2"], NIK, NAME)
        await apply(services, 42, coops["KSP-3"], "1271055708900001")
        draft = MembershipDraft(step=5, full_name=NAME, nik_enc=backend.vault.encrypt(NIK))
        await backend.sealed_states.set_user_data(
            43, {"form": coops["KJ-4"], "forms": {coops["KJ-4"]: draft.to_dict()}}
        )
        vault = Vault(NEW_KEY, [OLD_KEY])
        keys = KeyRepository(store)
        # An interrupted run (only some keys re-wrapped) is finished by the next one.
        (stale, *_) = await keys.stale(vault.key_id)
        await keys.rewrap(stale.user_id, stale.wrapped, vault.wrap(vault.unwrap(stale.wrapped)))
        report = await rotate(vault, backend.apps, backend.states, keys=keys)
        assert (report.keys, report.applications, report.drafts) == (2, 2, 1)
        again = await rotate(vault, backend.apps, backend.states, keys=keys)
        assert (again.keys, again.applications, again.drafts) == (0, 0, 0)
        # A bot with only the new key (the old one destroyed) reads everything.
        rotated = build_services(store, replace(settings, data_key=NEW_KEY, data_key_previous=()))
        application = present(await rotated.membership.apps.get(first))
        assert application.full_name == NAME and rotated.membership.reveal_nik(application) == NIK
        nik_hash = rotated.membership.vault.lookup_hash(NIK)
        assert await rotated.membership.apps.open_with_nik(coops["KK-2"], nik_hash) is not None
        only_new = Keyring(Vault(NEW_KEY), keys)
        for user_id in (USER, 42, 43):
            assert await only_new.cipher(user_id) is not None
        data = await SealedStates(store, only_new).user_data(43)
        kept = data["forms"][coops["KJ-4"]]
        assert kept["full_name"] == NAME and kept["nik_enc"].startswith(vault.key_id + ":")
        # The draft is sealed again, as it was.
        assert NAME not in json.dumps(await store["user_data"].find_one({"_id": 43}), default=str)


def conforming(store: Store, keyring: Keyring) -> tuple[PersonKeys, Applications]:
    """Never called: mypy checks the key store and the sealing view against their protocols."""
    return KeyRepository(store), SealedApplications(ApplicationRepository(store), keyring)


class TestProtocols:
    @pytest.mark.parametrize(
        "protocol, implementation",
        [(PersonKeys, KeyRepository), (Applications, SealedApplications)],
        ids=lambda c: c.__name__,
    )
    def test_protocol_lists_every_method(self, protocol: type, implementation: type) -> None:
        declared, implemented = public_methods(protocol), public_methods(implementation)
        assert set(declared) == set(implemented)
        for name, signature in implemented.items():
            assert shape(declared[name]) == shape(signature), name
