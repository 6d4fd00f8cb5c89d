"""Every repository conforms to its protocol in storage/base.py and returns records.

mypy checks the types through ``conforming``; the tests check at run time that each
protocol names every public method of its repository with the same parameters, and that
the repositories hand back dataclasses, not documents.
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime, timedelta

import pytest

from storage import base
from storage.admins import AdminRepository
from storage.applications import ApplicationRepository
from storage.audit import AuditRepository
from storage.broadcasts import BroadcastRepository
from storage.cooperatives import CooperativeRepository
from storage.invites import InviteRepository
from storage.models import (
    AdminGrant,
    AuditEntry,
    Invite,
    Notification,
    Recipient,
    UserState,
)
from storage.mongo import Store
from storage.privacy import PrivacyRepository
from storage.searches import SearchRepository
from storage.state import StateRepository
from storage.updates import UpdateLog
from storage.users import UserRepository

PAIRS: list[tuple[type, type]] = [
    (base.Cooperatives, CooperativeRepository),
    (base.Users, UserRepository),
    (base.Searches, SearchRepository),
    (base.Applications, ApplicationRepository),
    (base.Admins, AdminRepository),
    (base.AuditLog, AuditRepository),
    (base.Invites, InviteRepository),
    (base.Broadcasts, BroadcastRepository),
    (base.Privacy, PrivacyRepository),
    (base.State, StateRepository),
    (base.Updates, UpdateLog),
]


def conforming(
    store: Store,
) -> tuple[
    base.Cooperatives,
    base.Users,
    base.Searches,
    base.Applications,
    base.Admins,
    base.AuditLog,
    base.Invites,
    base.Broadcasts,
    base.Privacy,
    base.State,
    base.Updates,
]:
    """Never called: mypy checks each repository against its protocol."""
    return (
        CooperativeRepository(store),
        UserRepository(store),
        SearchRepository(store),
        ApplicationRepository(store),
        AdminRepository(store),
        AuditRepository(store),
        InviteRepository(store),
        BroadcastRepository(store),
        PrivacyRepository(store),
        StateRepository(store),
        UpdateLog(store),
    )


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(getattr(cls, name))
        for name, value in vars(cls).items()
        if not name.startswith("_") and isinstance(value, (staticmethod, type(public_methods)))
    }


def shape(signature: inspect.Signature) -> list[tuple[str, object, object]]:
    """Names, kinds and defaults (mypy compares the types)."""
    return [(p.name, p.kind, p.default) for p in signature.parameters.values() if p.name != "self"]


class TestProtocols:
    @pytest.mark.parametrize("protocol, repository", PAIRS, ids=lambda c: c.__name__)
    def test_protocol_lists_every_method(self, protocol: type, repository: type) -> None:
        declared, implemented = public_methods(protocol), public_methods(repository)
        assert implemented and set(declared) == set(implemented)
        for name, signature in implemented.items():
            assert shape(declared[name]) == shape(signature), name


class TestRecords:
    async def test_admins(self, store: Store) -> None:
        repo = AdminRepository(store)
        await repo.add("c2", 7, added_by=900)
        await repo.add("c1", 8)
        grants = await repo.all()
        assert [(g.coop_id, g.user_id, g.added_by) for g in grants] == [
            ("c1", 8, None),
            ("c2", 7, 900),
        ]
        assert all(isinstance(g, AdminGrant) and g.added_at for g in grants)

    async def test_audit(self, store: Store) -> None:
        repo = AuditRepository(store)
        await repo.record(actor=5, action="approve", outcome="ok", coop_id="c", target="a")
        await repo.record(actor=6, action="invite", outcome="refused", details={"n": 1})
        newest, older = await repo.recent(10)
        assert isinstance(newest, AuditEntry) and newest.at >= older.at
        assert (newest.actor, newest.action, newest.outcome) == (6, "invite", "refused")
        assert newest.details == {"n": 1} and newest.coop_id is None
        assert (older.coop_id, older.target, older.details) == ("c", "a", {})
        assert [e.action for e in await repo.recent(coop_id="c")] == ["approve"]

    async def test_invites(self, store: Store) -> None:
        repo = InviteRepository(store)
        await repo.create("h", "c", 900, timedelta(days=7))
        invite = await repo.get("h")
        assert isinstance(invite, Invite) and invite.used_by is None
        assert (invite.token_hash, invite.coop_id, invite.created_by) == ("h", "c", 900)
        used = await repo.use("h", 42)
        assert used is not None and used.used_by == 42 and used.used_at is not None
        assert await repo.use("h", 43) is None and await repo.get("nothing") is None

    async def test_notifications(self, store: Store) -> None:
        repo = ApplicationRepository(store)
        await repo.notify("member_left", {"coop_id": "c", "application_id": "a"})
        await repo.mark_delivered("member_left", "a")
        (note,) = await repo.notifications("member_left")
        assert isinstance(note, Notification)
        assert (note.kind, note.coop_id, note.application_id, note.delivered) == (
            "member_left",
            "c",
            "a",
            True,
        )
        assert await repo.notifications("application_submitted") == []

    async def test_application_ids_round_trip(self, store: Store) -> None:
        repo = ApplicationRepository(store)
        application_id = "65f0a1b2c3d4e5f601234567"
        raw = repo.id_bytes(application_id)
        assert len(raw) == 12 and repo.id_from_bytes(raw) == application_id

    async def test_claimed_recipients(self, store: Store) -> None:
        repo = BroadcastRepository(store)
        job = await repo.create(
            kind="platform",
            coop_id=None,
            text="x",
            photo=None,
            created_by=900,
            recipients=[11, 12],
            paid=False,
            scheduled_at=None,
            language="id",
            audience={},
        )
        claimed = await repo.claim(job.id, 10, datetime.now(UTC) + timedelta(seconds=1))
        assert all(isinstance(r, Recipient) for r in claimed)
        assert [(r.id, r.chat_id, r.status, r.attempts) for r in claimed] == [
            (f"{job.id}:11", 11, "sending", 0),
            (f"{job.id}:12", 12, "sending", 0),
        ]
        assert {r.broadcast_id for r in claimed} == {job.id}

    async def test_user_state(self, store: Store) -> None:
        await StateRepository(store).set_user_data(5, {"forms": {"c": {"step": "name"}}})
        repo = PrivacyRepository(store)
        assert await repo.user_state(5) == UserState(5, {"forms": {"c": {"step": "name"}}})
        assert await repo.user_state(6) == UserState(6, {})

    def test_records_are_frozen(self) -> None:
        entry = AuditEntry(at=datetime.now(UTC), actor=1, action="a", outcome="ok")
        with pytest.raises(dataclasses.FrozenInstanceError):
            entry.action = "b"  # type: ignore[misc]
