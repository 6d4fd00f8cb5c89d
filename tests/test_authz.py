"""Every admin and operator action re-checks the role when it runs, and every refusal is
written to the audit log exactly once (issue 14, finding 7).

Three kinds of people who must be refused try every action through the real Application: a
stranger, an admin who was removed (after creating an announcement), and the admin of another
cooperative. Then the creator of an announcement who is still an admin, and an operator,
still control it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import Backend, Services
from bot.services.broadcast import Audience
from bot.telegram.localapi import Call, LocalBotApi
from storage.models import AuditEntry
from tests.conftest import Chat, texts
from tests.factories import import_rows, present
from tests.test_cards import apply
from tests.test_membership import ROWS

OPERATOR = 900  # ADMIN_IDS in the test settings
ADMIN = 7001  # admin of KK-2, stays
REMOVED = 7003  # was an admin of KK-2, created an announcement, was removed
OTHER_ADMIN = 7002  # admin of KSP-3
STRANGER = 4242
REFUSALS = ("not allowed", "for cooperative admins")


@pytest.fixture
async def world(services: Services, backend: Backend) -> dict[str, str]:
    ids = await import_rows(services, ROWS)
    kk = ids["KK-2"]
    await backend.admins.add(kk, ADMIN)
    await backend.admins.add(kk, REMOVED)
    await backend.admins.add(ids["KSP-3"], OTHER_ADMIN)
    ids["app"] = await apply(services, 1001, kk, "1271055708900001", name="Siti Aminah")
    member = await apply(services, 1003, kk, "1271055708900003", name="Rina Marlina")
    await services.membership.approve(member)
    ids["member"] = member
    later = datetime.now(UTC) + timedelta(days=1)
    for who in (REMOVED, ADMIN):
        job = await services.broadcast.create(
            Audience("coop", coop_id=kk),
            text="Rapat anggota",
            photo=None,
            created_by=who,
            paid=False,
            scheduled_at=later,
            language="en",
        )
        ids[f"job_{who}"] = job.id
    platform = await services.broadcast.create(
        Audience("platform"),
        text="Pengumuman",
        photo=None,
        created_by=OPERATOR,
        paid=False,
        scheduled_at=later,
        language="en",
    )
    ids["platform_job"] = platform.id
    await backend.admins.remove(kk, REMOVED)
    return ids


def buttons(w: dict[str, str]) -> dict[str, str]:
    """Every admin or operator button, with data pointing at KK-2's things."""
    kk, app, member, job = w["KK-2"], w["app"], w["member"], w[f"job_{REMOVED}"]
    return {
        "panel": f"ad:{kk}",
        "queue": f"aq:{kk}:0",
        "approve": f"aa:{app}",
        "approve_confirm": f"ay:{app}",
        "reject_menu": f"ar:{app}",
        "reject_preset": f"rr:{app}:quota",
        "reject_forged_preset": f"rr:{app}:bogus",
        "reject_typed": f"rt:{app}",
        "reveal": f"av:{app}",
        "members": f"am:{kk}:0",
        "member": f"mo:{member}",
        "member_search": f"ams:{kk}",
        "export": f"ax:{kk}",
        "export_csv": f"axc:{kk}",
        "suspend": f"su:{member}",
        "reinstate": f"ri:{member}",
        "profile": f"ap:{kk}",
        "profile_edit": f"pe:{kk}:desc",
        "profile_forged_field": f"pe:{kk}:bogus",
        "loop": f"pl:{kk}:c",
        "profile_services": f"ps:{kk}",
        "service_toggle": f"pt:{kk}:apotek",
        "stats": f"as:{kk}",
        "operator_menu": "op",
        "platform_stats": "os",
        "audit": "oa",
        "import": "oim",
        "verify": f"ov:{kk}:1",
        "invite": f"oi:{kk}",
        "compose": f"bc:{kk}",
        "compose_platform": "bcp",
        "pause": f"bp:{job}",
        "resume": f"br:{job}",
        "cancel": f"bx:{job}",
        "cancel_platform": f"bx:{w['platform_job']}",
    }


COMMANDS = ("/broadcast", "/invite KK-2", "/stats", "/import", "/admin")


async def refused_entries(services: Services, user: int) -> list[AuditEntry]:
    return [e for e in await services.admin.audit.recent(1000) if e.actor == user]


def refused(calls: list[Call]) -> bool:
    said = [c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery"]
    said += texts(calls)
    return any(r in s for s in said for r in REFUSALS)


@pytest.mark.parametrize("role", ["stranger", "removed_admin", "other_admin"])
async def test_every_refusal_is_audited_once(
    chat: Chat, services: Services, world: dict[str, str], role: str
) -> None:
    user = {"stranger": STRANGER, "removed_admin": REMOVED, "other_admin": OTHER_ADMIN}[role]
    await chat.send("/start", user_id=user, language="en")
    message = chat.api.last_with_buttons(user)
    assert message is not None
    trials: list[tuple[str, Any]] = [
        (name, chat.api.callback_update(LocalBotApi.user(user, "en"), message, data))
        for name, data in buttons(world).items()
    ]
    for command in COMMANDS:
        if command == "/admin" and role == "other_admin":
            continue  # it opens their own cooperative's panel
        trials.append((command, chat.api.message_update(chat.user(user, "en"), text=command)))
    problems = []
    for name, update in trials:
        before = len(await refused_entries(services, user))
        calls = await chat.feed(update)
        entries = await refused_entries(services, user)
        new = entries[: len(entries) - before]  # newest first
        if not refused(calls):
            problems.append(f"{name}: not refused: {texts(calls)}")
        if len(new) != 1 or new[0].outcome != "refused":
            problems.append(f"{name}: audit {[(e.action, e.outcome) for e in new]}")
        sent = " ".join(str(c.params) for c in calls)
        for secret in ("Siti", "Rina", "1271055708900001", "KKS-"):
            if secret in sent:
                problems.append(f"{name}: {secret} leaked")
    assert not problems, "\n".join(problems)
    # Nothing changed.
    assert present(await services.membership.apps.get(world["app"])).status == "pending"
    assert present(await services.membership.apps.get(world["member"])).status == "active"
    for key in (f"job_{REMOVED}", "platform_job"):
        assert present(await services.broadcast.get(world[key])).status == "scheduled"
    assert not await services.admin.is_admin(world["KK-2"], user)


class TestAnnouncementControls:
    async def test_removed_admin_cannot_cancel_what_they_created(
        self, chat: Chat, services: Services, world: dict[str, str]
    ) -> None:
        await chat.send("/start", user_id=REMOVED, language="en")
        calls = await chat.callback(
            f"bx:{world[f'job_{REMOVED}']}", user_id=REMOVED, language="en"
        )
        alert = next(c for c in calls if c.method == "answerCallbackQuery").params["text"]
        assert "not allowed" in alert and "Cancelled" not in alert
        job = present(await services.broadcast.get(world[f"job_{REMOVED}"]))
        assert job.status == "scheduled"
        entry = (await refused_entries(services, REMOVED))[0]
        assert (entry.action, entry.outcome, entry.target) == (
            "broadcast_cancel",
            "refused",
            world[f"job_{REMOVED}"],
        )

    async def test_another_admin_of_the_cooperative_can_stop_it(
        self, chat: Chat, services: Services, world: dict[str, str]
    ) -> None:
        """A colleague on the board may pause or cancel; the removed creator may not."""
        await chat.send("/start", user_id=ADMIN, language="en")
        calls = await chat.callback(f"bx:{world[f'job_{REMOVED}']}", user_id=ADMIN, language="en")
        alert = next(c for c in calls if c.method == "answerCallbackQuery").params["text"]
        assert alert == "Cancelled."
        assert present(await services.broadcast.get(world[f"job_{REMOVED}"])).status == (
            "cancelled"
        )

    async def test_creator_still_admin_and_operators_control(
        self, chat: Chat, services: Services, world: dict[str, str]
    ) -> None:
        await chat.send("/start", user_id=ADMIN, language="en")
        calls = await chat.callback(f"bx:{world[f'job_{ADMIN}']}", user_id=ADMIN, language="en")
        alert = next(c for c in calls if c.method == "answerCallbackQuery").params["text"]
        assert alert == "Cancelled."
        await chat.send("/start", user_id=OPERATOR, language="en")
        for key in (f"job_{REMOVED}", "platform_job"):
            calls = await chat.callback(f"bx:{world[key]}", user_id=OPERATOR, language="en")
            alert = next(c for c in calls if c.method == "answerCallbackQuery").params["text"]
            assert alert == "Cancelled."
        audit = await services.admin.audit.recent(10)
        assert [e.outcome for e in audit if e.action == "broadcast_cancel"] == ["ok"] * 3


async def _a_member_of_ksp3(services: Services, world: dict[str, str]) -> None:
    member = await apply(services, 1004, world["KSP-3"], "1271055708900004", name="Tono")
    await services.membership.approve(member)


async def test_paid_mode_refused_to_an_admin_and_audited(
    chat: Chat, services: Services, world: dict[str, str]
) -> None:
    """``bs:paid`` (operators only) forged while an admin previews their announcement."""
    await _a_member_of_ksp3(services, world)  # an audience of nobody is refused earlier
    await chat.send("/admin", user_id=OTHER_ADMIN, language="en")
    await chat.tap("Announcement", user_id=OTHER_ADMIN, language="en")
    await chat.send("Rapat anggota", user_id=OTHER_ADMIN, language="en")
    await chat.tap("Active members", user_id=OTHER_ADMIN, language="en")
    calls = await chat.callback("bs:paid", user_id=OTHER_ADMIN, language="en")
    assert refused(calls)
    entry = (await refused_entries(services, OTHER_ADMIN))[0]
    assert (entry.action, entry.outcome) == ("broadcast_paid", "refused")


async def test_admin_removed_while_composing_is_refused_at_send(
    chat: Chat, services: Services, backend: Backend, world: dict[str, str]
) -> None:
    await _a_member_of_ksp3(services, world)  # an audience of nobody is refused earlier
    await chat.send("/admin", user_id=OTHER_ADMIN, language="en")
    await chat.tap("Announcement", user_id=OTHER_ADMIN, language="en")
    await chat.send("Rapat anggota", user_id=OTHER_ADMIN, language="en")
    await chat.tap("Active members", user_id=OTHER_ADMIN, language="en")
    await backend.admins.remove(world["KSP-3"], OTHER_ADMIN)
    calls = await chat.tap("Send now", user_id=OTHER_ADMIN, language="en")
    assert refused(calls)
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert len(answers) == 1  # a callback query is answered once
    entry = (await refused_entries(services, OTHER_ADMIN))[0]
    assert (entry.action, entry.outcome) == ("broadcast", "refused")
