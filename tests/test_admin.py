"""Admins and operators through the real Application: roles, decisions, exports, import."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest

from bot.app import Backend, Services
from tests.conftest import Chat, texts
from tests.factories import COLUMNS, csv_bytes, import_rows, present, put_on_platform
from tests.test_cards import apply
from tests.test_membership import ROWS

OPERATOR = 900  # ADMIN_IDS in the test settings
ADMIN = 7001  # admin of KK-2
OTHER_ADMIN = 7002  # admin of KSP-3
PLAIN = 1001  # a user with an application at KK-2
UNKNOWN = 424242  # never seen before


@pytest.fixture
async def world(services: Services, backend: Backend) -> dict[str, str]:
    ids = await import_rows(services, ROWS)
    await backend.admins.add(ids["KK-2"], ADMIN)
    await backend.admins.add(ids["KSP-3"], OTHER_ADMIN)
    await put_on_platform(services, [ids["KJ-4"]])  # run by a board member of its own
    ids["app"] = await apply(
        services, PLAIN, ids["KK-2"], "1271055708900001", name="Siti Aminah", language="en"
    )
    ids["app2"] = await apply(
        services, 1002, ids["KK-2"], "1271055708900002", name="Budi Santoso", language="id"
    )
    member = await apply(services, 1003, ids["KK-2"], "1271055708900003", name="Rina Marlina")
    await services.membership.approve(member)
    ids["member"] = member
    ids["other_app"] = await apply(services, 1004, ids["KSP-3"], "1271055708900004", name="Tono")
    return ids


def actions(w: dict[str, str]) -> dict[str, list[str]]:
    """Every admin action as the callback data (or command) that triggers it."""
    kk, app, member = w["KK-2"], w["app"], w["member"]
    return {
        "panel": [f"ad:{kk}"],
        "queue": [f"aq:{kk}:0"],
        "approve": [f"aa:{app}", f"ay:{app}"],
        "reject_menu": [f"ar:{app}"],
        "reject": [f"rr:{app}:quota"],
        "reveal": [f"av:{app}"],
        "members": [f"am:{kk}:0"],
        "member": [f"mo:{member}"],
        "export": [f"ax:{kk}", f"axc:{kk}"],
        "profile": [f"ap:{kk}"],
        "loop": [f"pl:{kk}:c"],
        "stats": [f"as:{kk}"],
        "suspend": [f"su:{member}"],
        "search": [f"ams:{kk}"],
        "edit": [f"pe:{kk}:desc"],
        "verify": [f"ov:{kk}:1"],
        "invite": [f"oi:{kk}"],
        "audit": ["oa"],
        "platform_stats": ["os"],
        "import": ["oim"],
    }


COOP_ACTIONS = {
    "panel",
    "queue",
    "approve",
    "reject_menu",
    "reject",
    "reveal",
    "members",
    "member",
    "export",
    "profile",
    "loop",
    "stats",
    "suspend",
    "search",
    "edit",
}
OPERATOR_ACTIONS = {"verify", "invite", "audit", "platform_stats", "import"}
ROLES = {
    "operator": OPERATOR,
    "admin": ADMIN,
    "other_admin": OTHER_ADMIN,
    "plain": PLAIN,
    "unknown": UNKNOWN,
}
REFUSAL = ("not allowed", "tidak diizinkan")


def allowed(role: str, action: str) -> bool:
    if action in OPERATOR_ACTIONS:
        return role == "operator"
    return role == "admin"


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("action", sorted(COOP_ACTIONS | OPERATOR_ACTIONS))
async def test_authorization_matrix(
    chat: Chat, services: Services, world, role: str, action: str
) -> None:
    user = ROLES[role]
    await chat.send("/start", user_id=user, language="en")
    await chat.send("/help", user_id=user, language="en")
    message = chat.api.last_with_buttons(user)
    assert message is not None
    from bot.telegram.localapi import LocalBotApi

    before = present(await services.membership.apps.get(world["app"]))
    for data in actions(world)[action]:
        calls = await chat.feed(
            chat.api.callback_update(LocalBotApi.user(user, "en"), message, data)
        )
        alerts = [c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery"]
        refused = any(r in a for a in alerts for r in REFUSAL)
        assert refused is not allowed(role, action), (role, action, alerts)
        if refused:
            # Nothing about the target leaks: no names, numbers or NIKs anywhere.
            sent = " ".join(str(c.params) for c in calls)
            for secret in ("Siti", "Rina", "1271055708900001", "GK-", "KKS-"):
                assert secret not in sent
    after = present(await services.membership.apps.get(world["app"]))
    if not allowed(role, action):
        assert after.status == before.status
    audit = await services.admin.audit.recent(50)
    if not allowed(role, action) and action not in ("panel",):
        assert any(e.outcome == "refused" and e.actor == user for e in audit)


async def test_forged_callbacks_across_cooperatives(chat: Chat, services: Services, world) -> None:
    """The admin of KSP-3 points its buttons at KK-2's application and member."""
    await chat.send("/admin", user_id=OTHER_ADMIN, language="en")
    for data in (
        f"aa:{world['app']}",
        f"ay:{world['app']}",
        f"rr:{world['app']}:quota",
        f"av:{world['app']}",
        f"mo:{world['member']}",
        f"su:{world['member']}",
        f"ax:{world['KK-2']}",
        f"aq:{world['KK-2']}:0",
        f"pl:{world['KK-2']}:o",
    ):
        calls = await chat.callback(data, user_id=OTHER_ADMIN, language="en")
        assert any(
            "not allowed" in c.params.get("text", "")
            for c in calls
            if c.method == "answerCallbackQuery"
        )
    assert present(await services.membership.apps.get(world["app"])).status == "pending"
    # Its own application works.
    await chat.callback(f"aa:{world['other_app']}", user_id=OTHER_ADMIN, language="en")
    assert present(await services.membership.apps.get(world["other_app"])).status == "pending"
    await chat.callback(f"ay:{world['other_app']}", user_id=OTHER_ADMIN, language="en")
    assert present(await services.membership.apps.get(world["other_app"])).status == "active"


class TestInvites:
    async def test_invite_is_single_use_and_expires(
        self, chat: Chat, services: Services, world, backend: Backend
    ) -> None:
        await chat.send(f"/start c_{world['KJ-4']}", user_id=OPERATOR, language="en")
        calls = await chat.tap("Invite admin", user_id=OPERATOR, language="en")
        text = texts(calls)[-1]
        link = text.split("\n")[1]
        payload = link.split("start=")[1]
        assert payload.startswith("adm_") and len(payload) <= 64
        calls = await chat.send(f"/start {payload}", user_id=8001, language="en")
        assert "You are now an admin of" in texts(calls)[0]
        assert await backend.admins.is_admin(world["KJ-4"], 8001)
        calls = await chat.send(f"/start {payload}", user_id=8002, language="en")
        assert "not valid" in texts(calls)[0]
        assert not await backend.admins.is_admin(world["KJ-4"], 8002)
        # An expired one.
        token, _ = await services.admin.create_invite(OPERATOR, world["KJ-4"])
        await backend.store["invites"].update_many(
            {"used_by": None}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(hours=1)}}
        )
        calls = await chat.send(f"/start adm_{token}", user_id=8003, language="en")
        assert "not valid" in texts(calls)[0]
        calls = await chat.send("/start adm_" + "A" * 32, user_id=8004, language="en")
        assert "not valid" in texts(calls)[0]

    async def test_invite_command(self, chat: Chat, world) -> None:
        calls = await chat.send("/invite KJ-4", user_id=OPERATOR, language="en")
        assert "Admin invitation for <b>Koperasi Jasa Abadi</b>" in texts(calls)[0]
        calls = await chat.send("/invite KJ-4", user_id=ADMIN, language="en")
        assert "not allowed" in texts(calls)[0]


class TestDecisions:
    async def test_new_application_notifies_admins(
        self, chat: Chat, services: Services, world, backend: Backend
    ) -> None:
        from tests.test_membership import fill

        calls = await fill(chat, world["KJ-4"], user_id=5555, nik="1271055708900009")
        await backend.admins.add(world["KJ-4"], 8100)
        calls = await fill(chat, world["KJ-4"], user_id=5556, nik="1271055708900010")
        to_admin = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == 8100]
        assert to_admin and "🔔" in to_admin[0].params["text"]
        buttons = [
            b["callback_data"]
            for row in to_admin[0].params["reply_markup"]["inline_keyboard"]
            for b in row
            if "callback_data" in b
        ]
        assert any(b.startswith("aa:") for b in buttons) and any(
            b.startswith("ar:") for b in buttons
        )

    async def test_approve_and_reject_round_trip(
        self, chat: Chat, services: Services, world
    ) -> None:
        await chat.send("/admin", user_id=ADMIN, language="en")
        calls = await chat.tap("Applications", user_id=ADMIN, language="en")
        assert "Siti Aminah" in texts(calls)[-1] and "1271********0001" in texts(calls)[-1]
        calls = await chat.tap("Approve", user_id=ADMIN, language="en")
        assert not [c for c in calls if c.params.get("chat_id") == PLAIN]  # asked first
        calls = await chat.tap("Yes, approve", user_id=ADMIN, language="en")
        told = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == PLAIN]
        assert "Welcome to Koperasi Konsumen Sejahtera" in told[0].params["text"]
        assert "KKS-000002" in told[0].params["text"]
        # Budi applied in Indonesian: he hears in Indonesian; the typed reason is kept.
        await chat.tap("Next application", user_id=ADMIN, language="en")
        await chat.tap("Reject", user_id=ADMIN, language="en")
        await chat.tap("Type a reason", user_id=ADMIN, language="en")
        calls = await chat.send("Alamat di luar wilayah desa", user_id=ADMIN, language="en")
        told = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == 1002]
        assert "tidak disetujui" in told[0].params["text"]
        assert "Alamat di luar wilayah desa" in told[0].params["text"]
        # Both see the outcome in /cards.
        calls = await chat.send("/cards", user_id=PLAIN, language="en")
        assert "KKS-000002" in calls[0].params["caption"]
        calls = await chat.send("/kartu", user_id=1002, language="id")
        assert "Ditolak: Alamat di luar wilayah desa" in calls[0].params["caption"]
        audit = await services.admin.audit.recent(50)
        assert {e.action for e in audit if e.actor == ADMIN} >= {"approve", "reject"}

    async def test_typed_input_left_half_way_is_forgotten_even_after_a_restart(
        self, chat: Chat, world
    ) -> None:
        await chat.send("/admin", user_id=ADMIN, language="en")
        await chat.tap("Applications", user_id=ADMIN, language="en")
        await chat.tap("Reject", user_id=ADMIN, language="en")
        calls = await chat.tap("Type a reason", user_id=ADMIN, language="en")
        assert "Type the reason" in texts(calls)[-1]
        # Eleven quiet minutes, across a restart: the conversation's own timeout job is
        # gone, the stored wait says when it was last touched.
        chat.app.user_data[ADMIN]["admin_input"]["at"] -= 11 * 60
        calls = await chat.send("/admin", user_id=ADMIN, language="en")
        assert "stopped after 10 quiet minutes" in texts(calls)[-1]  # never silence
        calls = await chat.send("/admin", user_id=ADMIN, language="en")
        assert "admin panel" in texts(calls)[-1]  # and the next command works
        assert "admin_input" not in chat.app.user_data[ADMIN]

    async def test_preset_reason_in_each_language(
        self, chat: Chat, services: Services, world
    ) -> None:
        await chat.send("/admin", user_id=ADMIN, language="en")
        calls = await chat.callback(f"rr:{world['app2']}:quota", user_id=ADMIN, language="en")
        told = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == 1002]
        assert "sedang tidak menerima anggota baru" in told[0].params["text"]
        assert "not accepting new members" in texts(calls)[-1]

    async def test_reveal_is_audited_and_not_in_history(
        self, chat: Chat, services: Services, world
    ) -> None:
        await chat.send("/admin", user_id=ADMIN, language="en")
        calls = await chat.callback(f"av:{world['app']}", user_id=ADMIN, language="en")
        alert = next(c for c in calls if c.method == "answerCallbackQuery")
        assert "1271055708900001" in alert.params["text"] and alert.params["show_alert"]
        assert not [c for c in calls if c.method in ("sendMessage", "editMessageText")]
        audit = await services.admin.audit.recent(5)
        assert audit[0].action == "reveal_nik" and audit[0].target == world["app"]


class TestMembers:
    async def test_search_suspend_reinstate_export(
        self, chat: Chat, services: Services, world
    ) -> None:
        await chat.send("/admin", user_id=ADMIN, language="en")
        calls = await chat.tap("Members", user_id=ADMIN, language="en")
        assert "1 members" in texts(calls)[-1] and "Rina Marlina" in texts(calls)[-1]
        await chat.tap("Search", user_id=ADMIN, language="en")
        calls = await chat.send("rina (", user_id=ADMIN, language="en")  # literal, no regex
        assert "matching “rina (”: 0" in texts(calls)[-1]
        await chat.tap("Search", user_id=ADMIN, language="en")
        calls = await chat.send("KKS-000001", user_id=ADMIN, language="en")
        assert "Rina Marlina" in texts(calls)[-1]
        calls = await chat.tap("KKS-000001", user_id=ADMIN, language="en")
        await chat.tap("Suspend", user_id=ADMIN, language="en")
        calls = await chat.send("x", user_id=ADMIN, language="en")
        assert "reason of a few words" in texts(calls)[-1]
        calls = await chat.send(
            "Simpanan wajib belum dibayar 6 bulan", user_id=ADMIN, language="en"
        )
        member = present(await services.membership.apps.get(world["member"]))
        assert member.status == "suspended"
        assert any(
            c.params.get("chat_id") == 1003 and "dibekukan" in c.params.get("text", "")
            for c in calls
        )
        verify = await services.cards.verify(services.cards.token(member.id), 5)
        assert not verify.valid
        await chat.tap("Reinstate", user_id=ADMIN, language="en")
        await chat.send("Sudah dibayar lunas", user_id=ADMIN, language="en")
        assert present(await services.membership.apps.get(world["member"])).status == "active"
        # Export.
        await chat.send("/admin", user_id=ADMIN, language="en")
        await chat.tap("Members", user_id=ADMIN, language="en")
        calls = await chat.tap("Export (Excel)", user_id=ADMIN, language="en")
        document = next(c for c in calls if c.method == "sendDocument")
        name, content = document.files["document"][:2]
        assert name == "members-KK-2.xlsx"
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        assert sheet is not None
        rows = [[c.value for c in row] for row in sheet.iter_rows()]
        assert rows[0][:4] == ["Member number", "Full name", "NIK", "Sex"]
        member_since = rows[1][10]
        assert rows[1] == [
            "KKS-000001",
            "Rina Marlina",
            "1271055708900003",
            "female",
            datetime(1990, 8, 17),
            "Medan",
            "Jl. Mawar 1",
            "+6281234567890",
            "Trader",
            "active",
            member_since,
            "yes",
        ]
        assert isinstance(member_since, datetime)
        assert sheet["C2"].data_type == "s" and sheet["C2"].number_format == "@"
        audit = await services.admin.audit.recent(20)
        assert any(e.action == "export_members" and e.actor == ADMIN for e in audit)


class TestProfileAndStats:
    async def test_profile_edits_show_in_search(
        self, chat: Chat, services: Services, world
    ) -> None:
        await chat.send("/admin", user_id=ADMIN, language="en")
        await chat.tap("Profile", user_id=ADMIN, language="en")
        await chat.tap("Simpanan pokok", user_id=ADMIN, language="en")
        calls = await chat.send("lima puluh", user_id=ADMIN, language="en")
        assert "amount in rupiah" in texts(calls)[-1]
        calls = await chat.send("75.000", user_id=ADMIN, language="en")
        assert "Simpanan pokok: Rp75,000" in texts(calls)[-1]
        await chat.tap("Services offered", user_id=ADMIN, language="en")  # toggles
        await chat.tap("Basic goods shop", user_id=ADMIN, language="en")
        await chat.tap("Clinic", user_id=ADMIN, language="en")
        await chat.tap("Done", user_id=ADMIN, language="en")
        await chat.tap("Last RAT year", user_id=ADMIN, language="en")
        calls = await chat.send("2031", user_id=ADMIN, language="en")
        assert "between 1945 and" in texts(calls)[-1]
        await chat.send("2025", user_id=ADMIN, language="en")
        await chat.tap("Closed-loop", user_id=ADMIN, language="en")
        await chat.tap("Location", user_id=ADMIN, language="en")
        await chat.location(-7.7956, 110.3695, user_id=ADMIN, language="en")
        coop = present(await services.directory.get(world["KK-2"]))
        assert coop.simpanan_pokok == 75_000 and coop.services == ["sembako", "klinik"]
        assert coop.rat_year == 2025 and coop.closed_loop is True
        assert coop.areas[:2] == ["34", "34.71"]  # moved to Yogyakarta
        calls = await chat.send("klinik di Yogyakarta", user_id=2, language="en")
        assert "Koperasi Konsumen Sejahtera" in texts(calls)[0]

    async def test_stats_text_and_chart(self, chat: Chat, world) -> None:
        await chat.send("/admin", user_id=ADMIN, language="en")
        calls = await chat.tap("Statistics", user_id=ADMIN, language="en")
        text = next(c for c in calls if c.method == "sendMessage").params["text"]
        assert "Members now: 1" in text and "waiting: 2" in text
        photo = next(c for c in calls if c.method == "sendPhoto")
        assert photo.files["photo"][1].startswith(b"\x89PNG")


class TestOperator:
    async def test_verify_badge_and_platform_stats(
        self, chat: Chat, services: Services, world
    ) -> None:
        await chat.send(f"/start c_{world['KJ-4']}", user_id=OPERATOR, language="en")
        await chat.tap("Verify", user_id=OPERATOR, language="en")
        calls = await chat.send(f"/start c_{world['KJ-4']}", user_id=3, language="en")
        assert "✅ Verified by Gerbang Koperasi" in texts(calls)[0]
        calls = await chat.send("Abadi", user_id=3, language="en")
        assert "Koperasi Jasa Abadi</b> ✅" in texts(calls)[0]
        calls = await chat.send("/stats", user_id=OPERATOR, language="en")
        text = texts(calls)[0]
        assert "Cooperatives: 4" in text and "Active memberships: 1" in text
        assert "Sumatera Utara" in text and "Consumer" in text
        calls = await chat.send("/stats", user_id=ADMIN, language="en")
        assert "not allowed" in texts(calls)[0]


def report_rows(call) -> list[dict]:
    return list(csv.DictReader(io.StringIO(call.files["document"][1].decode("utf-8-sig"))))


class TestImportThroughChat:
    @pytest.mark.parametrize("variant", ["bom", "crlf", "semicolon", "latin1"])
    async def test_import_variants_with_bad_rows(
        self, chat: Chat, services: Services, variant: str
    ) -> None:
        rows = [
            {
                "name": "Koperasi Café Sejahtera",
                "type": "konsumen",
                "latitude": "3.59",
                "longitude": "98.67",
            },
            {"name": "Koperasi Salah", "type": "bank", "latitude": "3.59", "longitude": "98.67"},
            {"name": "Koperasi Jauh", "type": "jasa", "latitude": "51.5", "longitude": "-0.1"},
        ]
        options: dict[str, dict[str, Any]] = {
            "bom": {"bom": True},
            "crlf": {"newline": "\r\n"},
            "semicolon": {"delimiter": ";"},
            "latin1": {"encoding": "latin-1"},
        }
        kwargs = options[variant]
        data = csv_bytes(rows, columns=COLUMNS[:4], **kwargs)
        await chat.send("/import", user_id=OPERATOR, language="en")
        calls = await chat.feed(
            chat.api.document_update(chat.user(OPERATOR, "en"), "koperasi.csv", data)
        )
        edits = [c.params["text"] for c in calls if c.method == "editMessageText"]
        assert any("Importing…" in e for e in edits)
        assert "3 rows, 1 created, 0 updated, 2 rejected" in edits[-1]
        report = report_rows(next(c for c in calls if c.method == "sendDocument"))
        assert [r["line"] for r in report] == ["3", "4"]
        assert "unknown type “bank”" in report[0]["reason"]
        assert await services.directory.count() == 1
        coop = (await services.directory.coops.by_tokens(["cafe"]))[0]
        assert coop.name == "Koperasi Café Sejahtera"

    async def test_not_csv_and_too_large(self, chat: Chat, services: Services) -> None:
        await chat.send("/import", user_id=OPERATOR, language="en")
        calls = await chat.feed(
            chat.api.document_update(
                chat.user(OPERATOR, "en"), "ktp.pdf", b"%PDF-1.7", "application/pdf"
            )
        )
        assert "not a CSV or GeoJSON file" in texts(calls)[-1]
        calls = await chat.feed(
            chat.api.document_update(chat.user(OPERATOR, "en"), "x.csv", b"\x00\x01\x02" * 10)
        )
        assert "not a CSV or GeoJSON text file" in texts(calls)[-1]
        big = b"name,type,latitude,longitude\n" + b"x" * (10 * 1024 * 1024 + 10)
        calls = await chat.feed(
            chat.api.document_update(chat.user(OPERATOR, "en"), "big.csv", big)
        )
        assert "too large" in texts(calls)[-1]
        calls = await chat.send("/cancel", user_id=OPERATOR, language="en")
        assert "Cancelled" in texts(calls)[-1]
        assert await services.directory.count() == 0

    async def test_import_refused_to_others(self, chat: Chat, world) -> None:
        calls = await chat.send("/import", user_id=ADMIN, language="en")
        assert "not allowed" in texts(calls)[0]
