"""Who runs a cooperative: grants and removals keep ``on_platform`` true to the admins,
tell the platform when a cooperative comes aboard or leaves, and are audited; notices
(one text and keyboard per recipient) go through the broadcast engine."""

from __future__ import annotations

from typing import Any

from bot.app import Backend
from bot.services.board import BoardService
from bot.services.broadcast import BroadcastService
from storage.models import Cooperative, Notice
from tests.factories import import_rows
from tests.test_broadcast import Harness, harness  # noqa: F401  (the fixture)
from tests.test_membership import ROWS


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def came_aboard(self, coop: Cooperative) -> None:
        self.seen.append(("aboard", coop.id))

    async def went_off(self, coop: Cooperative) -> None:
        self.seen.append(("off", coop.id))


async def test_grants_follow_the_admins(backend: Backend, services: Any) -> None:
    ids = await import_rows(services, ROWS)
    coop_id = next(iter(ids.values()))
    events = Events()
    board = BoardService(backend.admins, backend.coops, backend.audit, events)
    coop = await backend.coops.get(coop_id)
    assert coop is not None and not coop.on_platform

    assert await board.grant(coop_id, 7001, actor=1, how="cli")
    assert not await board.grant(coop_id, 7001, actor=1, how="cli")  # already
    assert await board.grant(coop_id, 7002, actor=7001, how="board")
    assert (await backend.coops.get(coop_id)).on_platform
    assert events.seen == [("aboard", coop_id)]  # once, for the first admin

    assert await board.revoke(coop_id, 7001, actor=7002, how="board")
    assert (await backend.coops.get(coop_id)).on_platform
    assert not await board.revoke(coop_id, 7001, actor=7002, how="board")
    assert await board.revoke(coop_id, 7002, actor=0, how="cli")
    assert not (await backend.coops.get(coop_id)).on_platform
    assert events.seen == [("aboard", coop_id), ("off", coop_id)]

    grants = await backend.audit.count({"action": "admin_grant", "coop_id": coop_id})
    revokes = await backend.audit.count({"action": "admin_revoke", "coop_id": coop_id})
    assert (grants, revokes) == (3, 3)


async def test_flags_repaired_at_start(backend: Backend, services: Any) -> None:
    ids = list((await import_rows(services, ROWS)).values())
    await backend.admins.add(ids[0], 7001)
    # A crash between a grant and its flag, or a directory from before the flag:
    await backend.store["cooperatives"].update_many({}, {"$set": {"on_platform": False}})
    await backend.store["coop_admins"].insert_one(
        {"_id": f"{ids[1]}:7002", "coop_id": ids[1], "user_id": 7002}
    )
    await backend.store["cooperatives"].update_one(
        {"name": (await backend.coops.get(ids[2])).name},
        {"$set": {"on_platform": True}},
    )
    assert await backend.admins.sync_all() == 3
    on = {c.id for c in await backend.coops.get_many(ids) if c.on_platform}
    assert on == {ids[0], ids[1]}
    assert await backend.admins.sync_all() == 0


async def test_notices_carry_their_own_text_and_buttons(
    harness: Harness,  # noqa: F811
) -> None:
    service = BroadcastService(harness.repo, harness.clock)
    button = {"text": "Gabung", "callback_data": "x"}
    job = await service.notify(
        "notice:test",
        [
            Notice(6001, "<b>Halo</b> 6001", [[button]]),
            Notice(6002, "Hello 6002", [[{"text": "Join", "url": "https://t.me/x"}]]),
            Notice(6001, "twice", []),  # the first notice per chat wins
        ],
    )
    assert job is not None and job.total == 2
    assert await service.notify("notice:test", []) is None
    engine = harness.engine(rate=20)
    await engine.start()
    try:
        await harness.wait_done(job.id)
    finally:
        await engine.stop()
    sent = {
        int(c.params["chat_id"]): c.params
        for c in harness.server.api.calls
        if c.method == "sendMessage"
    }
    assert sent[6001]["text"] == "<b>Halo</b> 6001"
    assert "Gabung" in str(sent[6001]["reply_markup"])
    assert sent[6002]["text"] == "Hello 6002" and "t.me/x" in str(sent[6002]["reply_markup"])
    assert harness.received() == {6001: 1, 6002: 1}
