"""Boards run themselves (issue 15, item 3): an admin sees the cooperative's admins, invites
a fellow board member with a one-time link, removes another admin (who is told and loses
the panel at the next tap), and leaves — except the last admin, who hands over first. At
most five admins; every button checks the role again and refusals are audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Backend, Services
from bot.telegram.localapi import Call
from handlers.callbacks import (
    BOARD,
    BOARD_INVITE,
    BOARD_LEAVE,
    BOARD_LEAVE_ASK,
    BOARD_REMOVE,
    BOARD_REMOVE_ASK,
    PANEL,
)
from tests.conftest import Chat, texts
from tests.factories import import_rows
from tests.test_membership import ROWS

ADMIN = 7001  # admin of KK-2
OTHER_ADMIN = 7002  # admin of KSP-3
NEWCOMER = 7101
REFUSED = "not allowed"


@pytest.fixture
async def world(services: Services) -> dict[str, str]:
    ids = await import_rows(services, ROWS)
    await services.board.grant(ids["KK-2"], ADMIN, actor=0, how="cli")
    await services.board.grant(ids["KSP-3"], OTHER_ADMIN, actor=0, how="cli")
    return ids


def alerts(calls: list[Call]) -> list[str]:
    return [c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery"]


def sent_to(calls: list[Call], user_id: int) -> list[str]:
    return [
        c.params.get("text", "")
        for c in calls
        if c.method == "sendMessage" and c.params["chat_id"] == user_id
    ]


async def invite_link(chat: Chat, admin: int = ADMIN, language: str = "en") -> str:
    """Open the board from /admin and make an invitation; returns the deep-link payload."""
    await chat.send("/admin", user_id=admin, language=language)
    await chat.tap("👤", user_id=admin, language=language)
    calls = await chat.tap("✉️", user_id=admin, language=language)
    text = texts(calls)[-1]
    link = next(word for word in text.split() if "start=adm_" in word)
    payload = link.split("start=")[1]
    assert payload.startswith("adm_") and len(payload) <= 64
    return payload


class TestInvite:
    async def test_invite_accept_and_the_newcomer_has_admin(
        self, chat: Chat, services: Services, world: dict[str, str]
    ) -> None:
        payload = await invite_link(chat)
        calls = await chat.send(f"/start {payload}", user_id=NEWCOMER, language="en")
        assert "You are now an admin of <b>Koperasi Konsumen Sejahtera</b>" in texts(calls)[0]
        assert await services.admin.is_admin(world["KK-2"], NEWCOMER)
        calls = await chat.send("/admin", user_id=NEWCOMER, language="en")
        assert "admin panel" in texts(calls)[0]
        # The board screen shows both, without names, the viewer marked.
        calls = await chat.tap("👤", user_id=NEWCOMER, language="en")
        board = texts(calls)[-1]
        assert "admins (2 of 5)" in board and "Admin 2 · since" in board and "(you)" in board
        assert "User" not in board  # no Telegram names
        # Audited: the invitation by the board, the grant with how it happened.
        audit = await services.admin.audit.recent(50)
        assert any(e.action == "board_invite" and e.actor == ADMIN for e in audit)
        grant = next(e for e in audit if e.action == "admin_grant" and e.target == str(NEWCOMER))
        assert grant.details == {"how": "board_invite"} and grant.actor == ADMIN

    async def test_used_expired_and_orphaned_invitations_are_refused(
        self, chat: Chat, services: Services, backend: Backend, world: dict[str, str]
    ) -> None:
        payload = await invite_link(chat)
        await chat.send(f"/start {payload}", user_id=NEWCOMER, language="en")
        calls = await chat.send(f"/start {payload}", user_id=7102, language="en")
        assert "not valid" in texts(calls)[0]
        assert not await services.admin.is_admin(world["KK-2"], 7102)
        # Expired.
        payload = await invite_link(chat)
        await backend.store["invites"].update_many(
            {"used_by": None}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(hours=1)}}
        )
        calls = await chat.send(f"/start {payload}", user_id=7103, language="en")
        assert "not valid" in texts(calls)[0]
        # Made by an admin who has left the board since: void.
        payload = await invite_link(chat, admin=NEWCOMER)
        await services.board.revoke(world["KK-2"], NEWCOMER, actor=ADMIN, how="board_remove")
        calls = await chat.send(f"/start {payload}", user_id=7104, language="en")
        assert "not valid" in texts(calls)[0]
        assert not await services.admin.is_admin(world["KK-2"], 7104)

    async def test_a_sixth_admin_is_refused(
        self, chat: Chat, services: Services, backend: Backend, world: dict[str, str]
    ) -> None:
        kk = world["KK-2"]
        for user in (7201, 7202, 7203):
            await services.board.grant(kk, user, actor=0, how="cli")
        # Four admins: one seat left, two invitations out.
        first = await invite_link(chat)
        second = await invite_link(chat)
        calls = await chat.send(f"/start {first}", user_id=7204, language="en")
        assert "You are now an admin" in texts(calls)[0]
        calls = await chat.send(f"/start {second}", user_id=7205, language="id")
        refusal = texts(calls)[0]
        assert "sudah memiliki 5 admin" in refusal, refusal
        assert await backend.admins.count(kk) == 5
        assert not await services.admin.is_admin(kk, 7205)
        # Refused, not spent: it still works once a seat is free.
        invite = await backend.store["invites"].find_one({"used_by": None})
        assert invite is not None
        # A full board offers no invitation, and a forged button is refused with the reason.
        await chat.send("/admin", user_id=ADMIN, language="en")
        calls = await chat.tap("👤", user_id=ADMIN, language="en")
        assert "The board is full: at most 5 admins." in texts(calls)[-1]
        assert not any("Invite" in b["text"] for b in chat.buttons(ADMIN))
        calls = await chat.callback(BOARD_INVITE(kk), user_id=ADMIN, language="en")
        assert any("already has 5 admins" in a for a in alerts(calls))
        await services.board.revoke(kk, 7201, actor=ADMIN, how="board_remove")
        calls = await chat.send(f"/start {second}", user_id=7205, language="en")
        assert "You are now an admin" in texts(calls)[0]


class TestRemoveAndLeave:
    async def test_remove_another_admin(
        self, chat: Chat, services: Services, world: dict[str, str]
    ) -> None:
        kk = world["KK-2"]
        payload = await invite_link(chat)
        await chat.send(f"/start {payload}", user_id=NEWCOMER, language="en")
        await chat.send("/admin", user_id=NEWCOMER, language="en")  # their panel, still open
        await chat.send("/admin", user_id=ADMIN, language="en")
        await chat.tap("👤", user_id=ADMIN, language="en")
        calls = await chat.tap("Remove Admin 2", user_id=ADMIN, language="en")
        assert "Remove Admin 2 from the admins of" in texts(calls)[-1]
        calls = await chat.tap("Yes, remove", user_id=ADMIN, language="en")
        assert not await services.admin.is_admin(kk, NEWCOMER)
        told = sent_to(calls, NEWCOMER)
        assert told and "no longer an admin of <b>Koperasi Konsumen Sejahtera</b>" in told[0]
        assert "admins (1 of 5)" in texts(calls)[-1]
        # The removed admin's old panel refuses at the next tap.
        calls = await chat.callback(PANEL(kk), user_id=NEWCOMER, language="en")
        assert any(REFUSED in a for a in alerts(calls))
        # A repeated confirmation (from an older message) removes nobody and says so.
        await chat.send("/admin", user_id=ADMIN, language="en")
        calls = await chat.callback(BOARD_REMOVE(kk, NEWCOMER), user_id=ADMIN, language="en")
        assert any("removed already" in a for a in alerts(calls))

    async def test_the_last_admin_hands_over_before_leaving(
        self, chat: Chat, services: Services, world: dict[str, str]
    ) -> None:
        kk = world["KK-2"]
        await chat.send("/admin", user_id=ADMIN, language="en")
        await chat.tap("👤", user_id=ADMIN, language="en")
        assert not any("Remove" in b["text"] for b in chat.buttons(ADMIN))
        calls = await chat.tap("Leave", user_id=ADMIN, language="en")
        assert "You are the only admin" in texts(calls)[-1]
        assert any("Invite a successor" in b["text"] for b in chat.buttons(ADMIN))
        # A forged confirmation does not leave the cooperative without an admin.
        await chat.tap("Admins", user_id=ADMIN, language="en")
        calls = await chat.callback(BOARD_LEAVE(kk), user_id=ADMIN, language="en")
        assert "You are the only admin" in texts(calls)[-1]
        assert await services.admin.is_admin(kk, ADMIN)
        audit = await services.admin.audit.recent(20)
        assert any(e.action == "board_leave" and e.outcome == "last_admin" for e in audit)
        # Hand over: invite a successor from that screen; once they accept, leave.
        calls = await chat.tap("Invite a successor", user_id=ADMIN, language="en")
        link = next(w for w in texts(calls)[-1].split() if "start=adm_" in w)
        await chat.send(f"/start {link.split('start=')[1]}", user_id=NEWCOMER, language="en")
        await chat.callback(BOARD_LEAVE_ASK(kk), user_id=ADMIN, language="en")
        calls = await chat.tap("Yes, leave", user_id=ADMIN, language="en")
        assert "You are no longer an admin" in texts(calls)[0]
        assert "An admin left" in sent_to(calls, NEWCOMER)[0]
        assert not await services.admin.is_admin(kk, ADMIN)
        assert await services.admin.is_admin(kk, NEWCOMER)
        coop = await services.directory.get(kk)
        assert coop is not None and coop.on_platform


class TestForged:
    async def test_another_cooperatives_board_is_refused_and_audited(
        self, chat: Chat, services: Services, backend: Backend, world: dict[str, str]
    ) -> None:
        kk = world["KK-2"]
        await chat.send("/admin", user_id=OTHER_ADMIN, language="en")
        for data in (
            BOARD(kk),
            BOARD_INVITE(kk),
            BOARD_REMOVE_ASK(kk, ADMIN),
            BOARD_REMOVE(kk, ADMIN),
            BOARD_LEAVE_ASK(kk),
            BOARD_LEAVE(kk),
        ):
            before = await backend.audit.count({"actor": OTHER_ADMIN, "outcome": "refused"})
            calls = await chat.callback(data, user_id=OTHER_ADMIN, language="en")
            assert any(REFUSED in a for a in alerts(calls)), data
            assert "Sejahtera" not in str([c.params for c in calls])
            after = await backend.audit.count({"actor": OTHER_ADMIN, "outcome": "refused"})
            assert after == before + 1, data
        assert await services.admin.is_admin(kk, ADMIN)
        assert await backend.store["invites"].count_documents({}) == 0
        # Removing oneself is leaving; a forged removal of oneself is refused too.
        await chat.send("/admin", user_id=ADMIN, language="en")
        calls = await chat.callback(BOARD_REMOVE(kk, ADMIN), user_id=ADMIN, language="en")
        assert any(REFUSED in a for a in alerts(calls))
        assert await services.admin.is_admin(kk, ADMIN)

    async def test_operator_invitations_stay_for_operators(
        self, services: Services, world: dict[str, str]
    ) -> None:
        """An admin's invitation is the board's (``board=True``); the platform's own
        invitation path still refuses them."""
        from bot.services.admin import Forbidden

        with pytest.raises(Forbidden):
            await services.admin.create_invite(ADMIN, world["KK-2"])
        with pytest.raises(Forbidden):
            await services.admin.create_invite(ADMIN, world["KSP-3"], board=True)
        token, coop = await services.admin.create_invite(ADMIN, world["KK-2"], board=True)
        assert coop.id == world["KK-2"] and token


class TestIndonesian:
    async def test_the_board_in_indonesian(self, chat: Chat, world: dict[str, str]) -> None:
        payload = await invite_link(chat, language="id")
        calls = await chat.send(f"/start {payload}", user_id=NEWCOMER, language="id")
        assert "Anda sekarang admin" in texts(calls)[0]
        await chat.send("/admin", user_id=ADMIN, language="id")
        calls = await chat.tap("👤", user_id=ADMIN, language="id")
        board = texts(calls)[-1]
        assert "Admin 2" in board and "(Anda)" in board
        calls = await chat.tap("Admin 2", user_id=ADMIN, language="id")
        calls = await chat.tap("Ya", user_id=ADMIN, language="id")
        assert "bukan lagi admin" in sent_to(calls, NEWCOMER)[0]
