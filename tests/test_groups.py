"""Personal and admin features answer only in private chats (issue 14, finding 4).

In a group the bot must not post a NIK, a card, a membership form or an admin's screen. The
walk below sends EVERY command the Application answers and presses EVERY kind of button in
``handlers/callbacks.py`` in a group, as an operator who also runs a cooperative (for whom
every admin screen would open) and as a member (whose card and data would show): nothing
personal reaches the group, nothing happens anywhere else, private features answer with one
line and a link to the private chat, and the public ones (search, a cooperative's page, the
map, help) still work there.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram.ext import ConversationHandler

from bot.app import Backend, Services
from bot.services.broadcast import Audience
from bot.telegram.localapi import Call, LocalBotApi, StoredMessage
from handlers import callbacks
from handlers.callbacks import (
    APPROVE,
    APPROVE_YES,
    CARD,
    CARD_OPEN,
    JOB_CANCEL,
    JOB_PAUSE,
    JOB_RESUME,
    JOIN,
    LEAVE,
    LEAVE_ASK,
    MAP,
    MEMBER,
    OPEN,
    REINSTATE,
    REJECT_MENU,
    REJECT_PRESET,
    REJECT_TYPED,
    REVEAL,
    SUSPEND,
    WITHDRAW,
    WITHDRAW_ASK,
    Callback,
)
from handlers.private import PUBLIC_BUTTONS, PUBLIC_COMMANDS, commands_of
from tests.conftest import Chat
from tests.factories import import_rows, present, put_on_platform
from tests.test_cards import apply
from tests.test_membership import ROWS

GROUP = -100777
OPERATOR = 900  # ADMIN_IDS in the test settings; also an admin of KK-2 here
RINA = 1003  # Rina: an active member of KK-2, with a card
STRANGER = 4242
BOT = "https://t.me/GerbangKoperasiBot?start="
PRIVATE_LINE = "That works only in a private chat with me"
# Nothing of the applicant (Siti), the member (Rina) or the board's work may reach a group.
SECRETS = (
    "Siti",
    "Aminah",
    "Rina",
    "Marlina",
    "1271055708900001",
    "1271055708900003",
    "1271********0001",
    "1271********0003",
    "Jl. Mawar",
    "81234567890",
    "KKS-",
    "GK-",
)


@pytest.fixture
async def world(services: Services, backend: Backend) -> dict[str, str]:
    ids = await import_rows(services, ROWS)
    kk = ids["KK-2"]
    await backend.admins.add(kk, OPERATOR)
    await put_on_platform(services, [ids["KJ-4"]])  # its board takes applications here
    ids["app"] = await apply(services, 1001, kk, "1271055708900001", name="Siti Aminah")
    member = await apply(services, RINA, kk, "1271055708900003", name="Rina Marlina")
    await services.membership.approve(member)
    ids["member"] = member
    job = await services.broadcast.create(
        Audience("coop", coop_id=kk),
        text="Rapat anggota",
        photo=None,
        created_by=OPERATOR,
        paid=False,
        scheduled_at=datetime.now(UTC) + timedelta(days=1),
        language="en",
    )
    ids["job"] = job.id
    token, _ = await services.admin.create_invite(OPERATOR, ids["KJ-4"])
    ids["invite"] = token
    return ids


def in_chat(update: dict[str, Any], kind: str) -> dict[str, Any]:
    """The update as if it came from a chat of ``kind`` (the stand-in makes groups)."""
    message = update.get("message") or update["callback_query"]["message"]
    message["chat"] = {**message["chat"], "type": kind}
    return update


def command_trials(w: dict[str, str], commands: frozenset[str]) -> list[tuple[str, str]]:
    """Every command (and every /start payload) with the link it must point to, or None
    for public ones. Unknown commands are the fallback's; every known one is tried."""
    args = {"search": " Medan", "cari": " Medan", "invite": " KJ-4"}
    trials: list[tuple[str, str]] = [
        ("/start", "public"),
        (f"/start c_{w['KK-2']}", "public"),
        (f"/start join_{w['KK-2']}", f"join_{w['KK-2']}"),
        (f"/start adm_{w['invite']}", f"adm_{w['invite']}"),
        ("/start v_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "v_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        (f"/start claim_{w['KK-2']}", f"claim_{w['KK-2']}"),
        (f"/start@GerbangKoperasiBot join_{w['KJ-4']}", f"join_{w['KJ-4']}"),
    ]
    for command in sorted(commands - {"start"}):
        expected = "public" if command in PUBLIC_COMMANDS else ""
        trials.append((f"/{command}{args.get(command, '')}", expected))
    trials.append(("/mydata@GerbangKoperasiBot", ""))
    return trials


def sample(kind: Callback, w: dict[str, str]) -> str:
    """Data for one button of ``kind``, pointing at real things where it matters."""
    targets = {
        **dict.fromkeys(
            (APPROVE, APPROVE_YES, REJECT_MENU, REJECT_PRESET, REJECT_TYPED, REVEAL), w["app"]
        ),
        **dict.fromkeys((MEMBER, SUSPEND, REINSTATE, CARD, CARD_OPEN), w["member"]),
        **dict.fromkeys((LEAVE_ASK, LEAVE, WITHDRAW_ASK, WITHDRAW), w["member"]),
        **dict.fromkeys((JOB_PAUSE, JOB_RESUME, JOB_CANCEL), w["job"]),
    }
    values = []
    for field in kind.fields:
        candidates = [
            targets.get(kind, w["KK-2"]),
            *(re.sub(r"\\(.)", r"\1", v) for v in field.regex.split("|")),
            "0",
            "desc",
            "abc",
        ]
        values.append(next(c for c in candidates if re.fullmatch(field.regex, c)))
    return kind(*values)


def to_group(calls: list[Call]) -> list[Call]:
    return [c for c in calls if str(c.params.get("chat_id")) == str(GROUP)]


def elsewhere(calls: list[Call]) -> list[Call]:
    """Calls that reach a chat other than the group (a private chat, say)."""
    return [c for c in calls if "chat_id" in c.params and str(c.params["chat_id"]) != str(GROUP)]


def link_of(call: Call) -> str | None:
    markup = call.params.get("reply_markup") or {}
    urls = [b.get("url") for row in markup.get("inline_keyboard", []) for b in row]
    return urls[0] if len(urls) == 1 else None


def check_group_output(calls: list[Call], problems: list[str], what: str) -> None:
    """Nothing personal, no file and no card reaches the group; no location keyboard."""
    for call in to_group(calls):
        sent = str(call.params)
        problems += [f"{what}: {s!r} sent to the group" for s in SECRETS if s in sent]
        if call.method in ("sendPhoto", "sendDocument", "editMessageMedia"):
            problems.append(f"{what}: {call.method} to the group")
        markup = call.params.get("reply_markup") or {}
        if any(
            b.get("request_location") or b.get("request_contact")
            for row in markup.get("keyboard", [])
            for b in row
            if isinstance(b, dict)
        ):
            problems.append(f"{what}: a location keyboard in the group (Telegram refuses it)")
        if "adm_" in sent and "adm_" not in what:
            problems.append(f"{what}: an invitation link in the group")


@pytest.mark.parametrize("kind", ["group", "supergroup"])
@pytest.mark.parametrize("user", [OPERATOR, RINA, STRANGER])
async def test_nothing_personal_or_admin_in_a_group(
    chat: Chat, services: Services, world: dict[str, str], user: int, kind: str
) -> None:
    commands = commands_of(chat.app.handlers[0])
    # Every command of DESIGN.md is walked (and whatever a feature registered since).
    assert commands >= {"mydata", "dataku", "deletedata", "kartu", "cards", "admin", "import"}
    assert commands >= {"stats", "invite", "broadcast", "language", "bahasa", "start", "cari"}
    problems: list[str] = []
    sender = chat.user(user, "en")
    for text, expected in command_trials(world, commands):
        update = in_chat(chat.api.message_update(sender, text=text, chat_id=GROUP), kind)
        calls = await chat.feed(update)
        check_group_output(calls, problems, text)
        if elsewhere(calls):
            problems.append(f"{text}: {[c.method for c in elsewhere(calls)]} outside the group")
        lines = [c.params.get("text", "") for c in to_group(calls)]
        if expected == "public":
            if not lines or any(PRIVATE_LINE in t for t in lines):
                problems.append(f"{text}: public, but answered {lines}")
            continue
        if [c.method for c in calls] != ["sendMessage"] or PRIVATE_LINE not in lines[0]:
            problems.append(f"{text}: expected one line to the group, got {calls}")
        elif link_of(calls[0]) != BOT + expected:
            problems.append(f"{text}: links to {link_of(calls[0])}, not {BOT + expected}")
    # Every kind of button, pressed under a message in the group.
    await chat.feed(
        in_chat(chat.api.message_update(sender, text="/cari Medan", chat_id=GROUP), kind)
    )
    message = chat.api.last_with_buttons(GROUP)
    assert message is not None
    kinds = [k for k in vars(callbacks).values() if isinstance(k, Callback)]
    assert len(kinds) > 50
    for button in kinds:
        data = sample(button, world)
        update = in_chat(chat.api.callback_update(sender, message, data), kind)
        calls = await chat.feed(update)
        check_group_output(calls, problems, data)
        if elsewhere(calls):
            problems.append(f"{data}: {[c.method for c in elsewhere(calls)]} outside the group")
        alerts = [c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery"]
        gated = any(PRIVATE_LINE in a for a in alerts)
        if button in PUBLIC_BUTTONS:
            if gated:
                problems.append(f"{data}: public, but pointed to the private chat")
        elif [c.method for c in calls] != ["answerCallbackQuery"] or not gated:
            problems.append(f"{data}: expected only an alert, got {calls}")
        elif not calls[0].params.get("show_alert"):
            problems.append(f"{data}: the answer is not an alert")
    assert not problems, "\n".join(problems)
    # Nothing changed either.
    assert present(await services.membership.apps.get(world["app"])).status == "pending"
    assert present(await services.membership.apps.get(world["member"])).status == "active"
    assert present(await services.broadcast.get(world["job"])).status == "scheduled"


def last_in_group(chat: Chat) -> StoredMessage:
    message = chat.api.last_with_buttons(GROUP)
    assert message is not None
    return message


class TestFindings:
    """The four cases of the finding, one by one."""

    async def test_mydata_sends_no_nik_to_the_group(self, chat: Chat, world) -> None:
        calls = await chat.send("/mydata", user_id=RINA, language="en", chat_id=GROUP)
        assert [c.method for c in calls] == ["sendMessage"]
        assert "1271055708900003" not in str(calls[0].params)
        assert link_of(calls[0]) == BOT
        # In the private chat it works as before (the file, then its readable summary).
        calls = await chat.send("/mydata", user_id=RINA, language="en")
        assert [c.method for c in calls] == ["sendDocument", "sendMessage"]

    async def test_kartu_posts_no_card(self, chat: Chat, world) -> None:
        calls = await chat.send("/kartu", user_id=RINA, language="id", chat_id=GROUP)
        assert [c.method for c in calls] == ["sendMessage"]
        assert "obrolan pribadi" in calls[0].params["text"]  # Indonesian for a member in id

    async def test_join_link_opens_the_form_in_private(self, chat: Chat, world) -> None:
        coop = world["KJ-4"]
        calls = await chat.send(f"/start join_{coop}", user_id=STRANGER, chat_id=GROUP)
        assert [c.method for c in calls] == ["sendMessage"]
        assert link_of(calls[0]) == f"{BOT}join_{coop}"
        assert "NIK" not in str(calls[0].params)
        # The same link in the private chat starts the form.
        calls = await chat.send(f"/start join_{coop}", user_id=STRANGER, language="en")
        assert "mf:go" in str(calls[-1].params)  # the form's first question

    async def test_admin_panel_stays_out_of_the_group(self, chat: Chat, world) -> None:
        calls = await chat.send("/admin", user_id=OPERATOR, language="en", chat_id=GROUP)
        assert [c.method for c in calls] == ["sendMessage"] and link_of(calls[0]) == BOT
        # A panel button forwarded or pressed in the group: an alert, nothing posted.
        calls = await chat.feed(
            chat.api.callback_update(
                LocalBotApi.user(OPERATOR, "en"), last_in_group(chat), f"aq:{world['KK-2']}:0"
            )
        )
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert calls[0].params["show_alert"] and "@GerbangKoperasiBot" in calls[0].params["text"]

    async def test_public_features_work_in_the_group(self, chat: Chat, world) -> None:
        calls = await chat.send("/cari Medan", user_id=STRANGER, language="en", chat_id=GROUP)
        assert "Koperasi Konsumen Sejahtera" in str(calls[0].params)
        calls = await chat.send(f"/start c_{world['KK-2']}", user_id=OPERATOR, chat_id=GROUP)
        page = calls[0].params
        assert "Koperasi Konsumen Sejahtera" in page["text"]
        buttons = [b for row in page["reply_markup"]["inline_keyboard"] for b in row]
        # "Join" opens the form in the private chat; no operator buttons in a group.
        join = next(b for b in buttons if "Gabung" in b["text"] or "Join" in b["text"])
        assert join == {**join, "url": f"{BOT}join_{world['KK-2']}"}
        assert not any(b.get("callback_data", "").startswith(("ov:", "oi:")) for b in buttons)
        calls = await chat.feed(
            chat.api.callback_update(
                LocalBotApi.user(STRANGER, "en"), last_in_group(chat), MAP(world["KK-2"])
            )
        )
        assert [c.method for c in calls] == ["answerCallbackQuery", "sendVenue"]
        calls = await chat.feed(
            chat.api.callback_update(
                LocalBotApi.user(STRANGER, "en"), last_in_group(chat), OPEN(world["KSP-3"])
            )
        )
        assert "KSP Maju Bersama" in str(calls[-1].params)
        calls = await chat.send("/help", user_id=STRANGER, language="en", chat_id=GROUP)
        assert "How to use" in calls[0].params["text"] and "reply_markup" not in calls[0].params
        calls = await chat.inline("Medan", user_id=STRANGER, language="en")
        assert calls[0].method == "answerInlineQuery" and calls[0].params["results"]

    async def test_join_button_pressed_in_a_group(self, chat: Chat, world) -> None:
        await chat.send(f"/start c_{world['KK-2']}", user_id=STRANGER, chat_id=GROUP)
        calls = await chat.feed(
            chat.api.callback_update(
                LocalBotApi.user(STRANGER, "en"), last_in_group(chat), JOIN(world["KK-2"])
            )
        )
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert calls[0].params["show_alert"]

    async def test_another_bots_command_is_not_answered(self, chat: Chat, world) -> None:
        calls = await chat.send("/mydata@SomeOtherBot", user_id=RINA, chat_id=GROUP)
        assert not [c for c in calls if PRIVATE_LINE in str(c.params)]

    async def test_plain_messages_in_a_group_reach_no_feature(self, chat: Chat, world) -> None:
        """A form left open in a group (before this fix) must not take a NIK there."""
        from handlers.membership.steps import Step

        form = next(
            h
            for h in chat.app.handlers[0]
            if isinstance(h, ConversationHandler) and h.name == "membership"
        )
        form._conversations[(GROUP, STRANGER)] = Step.NIK
        calls = await chat.send("1271055708900009", user_id=STRANGER, chat_id=GROUP)
        assert calls == []
        location = {"latitude": 3.59, "longitude": 98.67}
        update = chat.api.message_update(chat.user(STRANGER), location=location, chat_id=GROUP)
        assert await chat.feed(update) == []


class TestThroughTheWebhook:
    """The same guarantee end to end: updates posted to the real webhook server (aiohttp,
    live delivery through the inbox and the per-user processor) from a group chat."""

    async def test_personal_commands_from_a_group_reach_only_a_pointer(
        self, backend: Backend, services: Services, settings: Any, world: dict[str, str]
    ) -> None:
        from tests.test_web import HEADERS, serving

        group = -100_777
        async with serving(backend, services, settings) as (client, api):
            commands = ["/mydata", "/kartu", f"/start join_{world['KK-2']}", "/admin", "/stats"]
            for text in commands:
                body = api.message_update(LocalBotApi.user(RINA, "id"), text=text, chat_id=group)
                response = await client.post("/telegram", json=body, headers=HEADERS)
                assert response.status == 200
            deadline = asyncio.get_running_loop().time() + 15
            while True:
                to_group = [c for c in api.calls if c.params.get("chat_id") == group]
                if len(to_group) >= len(commands) or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.05)
            assert [c.method for c in to_group] == ["sendMessage"] * len(commands)
            for call in to_group:
                shown = call.params["text"] + str(call.params.get("reply_markup"))
                assert "Rina" not in shown and "1271" not in shown, shown
                buttons = call.params["reply_markup"]["inline_keyboard"]
                assert len(buttons) == 1 and buttons[0][0]["url"].startswith("https://t.me/")
            assert not [c for c in api.calls if c.params.get("chat_id") == RINA]
