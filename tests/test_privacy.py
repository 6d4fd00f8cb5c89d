"""Data rights (UU 27/2022): export, erasure that leaves no trace, retention, keys."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from bot.app import Services, build_services
from bot.config import ConfigError, Settings
from bot.services.crypto import Vault, load_or_create_key
from bot.services.keys import rotate
from storage.applications import ApplicationRepository
from storage.keys import KeyRepository
from storage.models import Point
from storage.searches import SearchRepository
from storage.state import StateRepository
from tests.conftest import Chat, texts
from tests.factories import import_rows, present
from tests.test_cards import apply
from tests.test_membership import ROWS, fill

ROOT = Path(__file__).resolve().parent.parent
USER = 987_654_321
NAME = "Kartika Wulandari"
NIK = "1271056203910007"  # female, 22-03-1991, Kec. Medan Barat
PHONE = "081398765432"


@pytest.fixture
async def coops(services: Services) -> dict[str, str]:
    ids = await import_rows(services, ROWS, on_platform=True)
    return ids


async def fill_everything(chat: Chat, services: Services, coops: dict[str, str]) -> None:
    """The user touches every feature that stores something."""
    await chat.send("/start", user_id=USER, language="en")
    await chat.send("Sejahtera", user_id=USER, language="en")  # a saved search
    await chat.location(3.5952, 98.6722, user_id=USER, language="en")
    await chat.tap(1, user_id=USER, language="en")  # opens a detail
    await fill(chat, coops["KK-2"], user_id=USER, nik=NIK, name=NAME, phone=PHONE)
    await fill(chat, coops["KSP-3"], user_id=USER, nik=NIK, name=NAME, phone=PHONE)
    await fill(chat, coops["KJ-4"], user_id=USER, nik=NIK, name=NAME, phone=PHONE)
    apps = {a.coop_id: a for a in await services.membership.of_user(USER)}
    await services.membership.approve(apps[coops["KK-2"]].id)
    await services.membership.reject(apps[coops["KJ-4"]].id, "Data tidak lengkap")
    await chat.send("/kartu", user_id=USER, language="en")  # renders and caches a card image
    # An unfinished form with the NIK already in it (encrypted) and a persisted state.
    await chat.send(f"/start join_{coops['KDMP-1']}", user_id=USER, language="en")
    await chat.callback("mf:go", user_id=USER, language="en")
    await chat.callback("mf:agree", user_id=USER, language="en")
    if chat.app.user_data[USER]["forms"][chat.app.user_data[USER]["form"]].get("step") == 14:
        await chat.callback("mf:fresh", user_id=USER, language="en")  # answer anew
    await chat.send(NAME, user_id=USER, language="en")
    await chat.send(NIK, user_id=USER, language="en")
    # The user is also an admin (by invitation) and did admin things (audited).
    token, _ = await services.admin.create_invite(900, coops["KDMP-1"])
    await chat.send(f"/start adm_{token}", user_id=USER, language="en")
    await chat.send("/admin", user_id=USER, language="en")
    await chat.send("/stats", user_id=USER, language="en")  # refused: audited too
    await chat.app.backend.store["mutes"].insert_one({"user_id": USER, "coop_id": coops["KK-2"]})
    await chat.app.update_persistence()


def secrets_in(value: object) -> list[str]:
    text = json.dumps(value, default=str)
    found = []
    for secret in (
        NAME,
        "Kartika",
        "Wulandari",
        NIK,
        NIK[:12],
        PHONE[1:],
        "1398765432",
        str(USER),
    ):
        if secret in text:
            found.append(secret)
    return found


class TestExport:
    async def test_mydata_has_everything(self, chat: Chat, services: Services, coops) -> None:
        await fill_everything(chat, services, coops)
        calls = await chat.send("/dataku", user_id=USER, language="en")
        document = next(c for c in calls if c.method == "sendDocument")
        assert document.params["document"]["file"] == "data-saya.json"
        data = json.loads(document.files["document"][1])
        assert data["telegram_user_id"] == USER
        items = data["applications_and_memberships"]
        assert {i["status"] for i in items} == {"active", "pending", "rejected"}
        assert all(i["nik"] == NIK and i["full_name"] == NAME for i in items)
        assert all(i["consent"]["version"] and i["consent"]["accepted_at"] for i in items)
        assert {i["phone"] for i in items} == {"+6281398765432"}
        assert data["admin_of"][0]["cooperative"] == "Koperasi Kelurahan Merah Putih Kesawan"
        assert data["announcement_mutes"] == [coops["KK-2"]]
        assert data["unfinished_forms"][0]["full_name"] == NAME
        assert data["profile"]["telegram_language"] == "en"


class TestErasure:
    async def test_nothing_remains_anywhere(
        self, chat: Chat, services: Services, coops, store
    ) -> None:
        await fill_everything(chat, services, coops)

        async def scan() -> dict[str, list[str]]:
            found: dict[str, list[str]] = {}
            for name in await store.db.list_collection_names():
                async for doc in store[name].find():
                    hits = secrets_in(doc)
                    if hits:
                        found.setdefault(name, []).extend(hits)
            return found

        before = await scan()  # the scan does find the user's data before the deletion
        assert {
            "applications",
            "users",
            "user_data",
            "conversations",
            "searches",
            "coop_admins",
            "audit",
            "mutes",
        } <= set(before)
        calls = await chat.send("/hapusdata", user_id=USER, language="en")
        assert "Pending applications are withdrawn" in texts(calls)[0]
        calls = await chat.tap("Yes, delete everything", user_id=USER, language="en")
        assert "1 applications withdrawn, 1 memberships ended" in texts(calls)[-2]
        await chat.app.update_persistence()
        # The cooperative of the ended membership heard about it.
        assert any(n.kind == "member_left" for n in await services.membership.apps.notifications())
        assert await scan() == {}
        # Only anonymous counts remain.
        assert await services.membership.apps.count({"coop_id": coops["KK-2"]}) == 1
        assert await services.membership.apps.count({"status": "left"}) == 1
        # And the bot's memory of the user is gone too: a new /kartu shows nothing.
        calls = await chat.send("/kartu", user_id=USER, language="en")
        assert "no memberships yet" in texts(calls)[0]

    async def test_a_search_written_late_does_not_outlive_the_erasure(
        self, services: Services, coops, store
    ) -> None:
        """A result list's search is written just after the list; an erasure meanwhile
        waits for that write, so the search (a location) is deleted with the rest."""
        repo = services.search.searches
        assert isinstance(repo, SearchRepository)
        gate, settling = asyncio.Event(), asyncio.Event()
        write, settle = repo._saving, repo.settle

        async def held(doc: Any) -> None:
            await gate.wait()
            await write(doc)

        async def noticed() -> None:
            settling.set()
            await settle()

        repo._saving = held  # type: ignore[assignment]
        repo.settle = noticed  # type: ignore[method-assign]
        await services.search.near(USER, Point(-7.78, 110.38))
        erasing = asyncio.create_task(services.privacy.erase(USER))
        waiting = asyncio.create_task(settling.wait())
        await asyncio.wait([erasing, waiting], return_when=asyncio.FIRST_COMPLETED)
        gate.set()  # the write lands now: before the erasure's delete, or after it
        await erasing
        waiting.cancel()
        await settle()
        assert await store["searches"].count_documents({"user_id": USER}) == 0

    async def test_cancel_keeps_data(self, chat: Chat, services: Services, coops) -> None:
        await fill(chat, coops["KK-2"], user_id=USER, nik=NIK, name=NAME)
        await chat.send("/deletedata", user_id=USER, language="en")
        calls = await chat.tap("No, keep it", user_id=USER, language="en")
        assert "Nothing was deleted" in texts(calls)[0]
        assert len(await services.membership.of_user(USER)) == 1


class TestRetention:
    async def test_old_rejections_are_purged(self, services: Services, coops, store) -> None:
        old = await apply(services, 11, coops["KK-2"], "1271056203910011", name="Lama Sekali")
        new = await apply(services, 12, coops["KK-2"], "1271056203910012", name="Baru Saja")
        kept = await apply(services, 13, coops["KK-2"], "1271056203910013", name="Masih Anggota")
        await services.membership.reject(old, "x" * 5)
        await services.membership.withdraw(12, new)
        await services.membership.approve(kept)
        await store["applications"].update_one(
            {"_id": ObjectId(old)},  # (names are sealed: the database cannot find them)
            {"$set": {"decided_at": datetime.now(UTC) - timedelta(days=91)}},
        )
        assert await services.privacy.purge_expired() == 1
        purged = present(await services.membership.apps.get(old))
        assert purged.full_name is None and purged.nik_enc is None and purged.phone is None
        assert present(await services.membership.apps.get(new)).full_name == "Baru Saja"
        assert present(await services.membership.apps.get(kept)).full_name == "Masih Anggota"
        assert await services.privacy.purge_expired() == 0  # idempotent

    async def test_job_is_scheduled(self, chat: Chat) -> None:
        jobs = chat.app.job_queue.get_jobs_by_name("retention")
        assert len(jobs) == 1


class TestKeys:
    def test_real_mongodb_requires_data_key(self) -> None:
        with pytest.raises(ConfigError):
            Settings.from_env({"MONGODB_URI": "mongodb://db"}).resolve_data_key()
        env = {k: v for k, v in os.environ.items() if k not in ("DATA_KEY",)}
        env.update({"MONGODB_URI": "mongodb://127.0.0.1:1", "TELEGRAM_BOT_TOKEN": "1:a"})
        result = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and "DATA_KEY is required" in result.stderr

    def test_embedded_key_file_is_private(self, tmp_path: Path) -> None:
        key = load_or_create_key(tmp_path)
        assert load_or_create_key(tmp_path) == key
        mode = stat.S_IMODE((tmp_path / "data.key").stat().st_mode)
        assert mode == 0o600

    async def test_rotation_resumable_and_readable(
        self, services: Services, settings, coops, store, backend
    ) -> None:
        old = backend.vault
        first = await apply(services, 21, coops["KK-2"], "1271056203910021")
        await apply(services, 22, coops["KSP-3"], "1271056203910022")
        await services.membership.approve(first)
        token = services.cards.token(first)
        await store["user_data"].insert_one(
            {
                "_id": 23,
                "data": {
                    "forms": {
                        "x": {"nik_enc": old.encrypt("1271056203910023"), "full_name": "Draf"}
                    }
                },
            }
        )
        new_vault = Vault("a-brand-new-data-key-0123456789", ["test-data-key-0123456789abcdef"])
        apps = ApplicationRepository(store)
        keys = KeyRepository(store)
        report = await rotate(new_vault, apps, StateRepository(store), keys=keys)
        assert (report.applications, report.drafts) == (2, 1)
        assert (await rotate(new_vault, apps, StateRepository(store), keys=keys)).applications == 0
        # A bot on the new key (old one kept for reading) sees everything.
        rotated = build_services(
            store,
            replace(
                settings,
                data_key="a-brand-new-data-key-0123456789",
                data_key_previous=("test-data-key-0123456789abcdef",),
            ),
        )
        app = present(await rotated.membership.apps.get(first))
        assert present(app.nik_enc).startswith(new_vault.key_id + ":")
        assert rotated.membership.reveal_nik(app) == "1271056203910021"
        assert (await rotated.cards.verify(token, 1)).valid  # printed before the rotation
        # Duplicate checks use the new hash.
        nik_hash = rotated.membership.vault.lookup_hash("1271056203910022")
        assert await rotated.membership.apps.open_with_nik(coops["KSP-3"], nik_hash) is not None
        state = await store["user_data"].find_one({"_id": 23})
        assert state["data"]["forms"]["x"]["nik_enc"].startswith(new_vault.key_id + ":")

    def test_cli_with_mongodb(self, mongo_uri: str, tmp_path: Path) -> None:
        env = {
            **os.environ,
            "MONGODB_URI": mongo_uri,
            "MONGODB_DB": f"rot_{uuid.uuid4().hex[:6]}",
            "DATA_KEY": "new-key-0123456789abcdef",
            "DATA_DIR": str(tmp_path),
        }
        result = subprocess.run(
            [sys.executable, "-m", "bot", "rotate-key"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and "DATA_KEY_PREVIOUS" in result.stderr
        env["DATA_KEY_PREVIOUS"] = "old-key-0123456789abcdef"
        result = subprocess.run(
            [sys.executable, "-m", "bot", "rotate-key"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0 and re.search(r"Re-encrypted 0 applications", result.stdout)
