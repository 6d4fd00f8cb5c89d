"""Cooperatives on the platform or not yet: what happens when one comes aboard or leaves.

A cooperative is *on the platform* while it has at least one admin (``BoardService`` keeps
``Cooperative.on_platform`` true to that). One that is not takes no applications here: a
way into its form ends at a contact card instead (the Telegram layer), and this service
records the attempt (the operators' demand list) and keeps the "🔔 notify me"
subscriptions. When the cooperative comes aboard, every subscriber is told once and its
pending applicants hear that their application is being reviewed again (its new admins
see them in their queue); when it goes off, its pending applicants are told that their
application keeps its place.

The notices' texts and buttons belong to the Telegram layer (:class:`PlatformNotices`,
``handlers/platform/notices.py``); each is rendered in its reader's language and goes
out through the broadcast engine (paced, crash-safe).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.i18n import Translator
from bot.services.broadcast import BroadcastService
from bot.services.phone import normalize_phone
from bot.services.users import UserService
from storage.base import Admins, Applications, Cooperatives, JoinAttempts, Subscriptions
from storage.models import Application, Cooperative, Notice, Subscription

log = logging.getLogger(__name__)

# A notice as the Telegram layer renders it: HTML text and Bot API inline buttons.
Rendered = tuple[str, list[list[dict[str, Any]]]]
PAGE = 500  # pending applications read per query


class PlatformNotices(Protocol):
    """The texts and buttons of the notices (``handlers/platform/notices.py``)."""

    def aboard(self, t: Translator, coop: Cooperative) -> Rendered:
        """To a subscriber: the cooperative now takes applications (with Join)."""
        ...

    def paused(self, t: Translator, coop: Cooperative, application: Application) -> Rendered:
        """To a pending applicant: the board left; the application keeps its place."""
        ...

    def resumed(self, t: Translator, coop: Cooperative, application: Application) -> Rendered:
        """To a pending applicant: the board is here (again) and reviews it."""
        ...

    def waiting(self, t: Translator, coop: Cooperative, count: int) -> Rendered:
        """To a new admin: applications are waiting in the queue."""
        ...


def whatsapp_number(phone: str | None) -> str | None:
    """The number for ``https://wa.me/<number>`` when ``phone`` is an Indonesian mobile
    (08…, +628…, 628… → 628…); None for a landline (021…, 0274…) or anything else."""
    e164 = normalize_phone(phone) if phone else None
    if e164 is None or not e164.startswith("+628") or len(e164) < 3 + 9:
        return None
    return e164[1:]


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach a cooperative that takes no applications here yet."""

    coop: Cooperative
    phone: str | None  # as the directory has it (E.164)
    whatsapp: str | None  # the wa.me number, for a mobile phone only
    subscribed: bool  # the viewer is waiting for it to come aboard


@dataclass(frozen=True, slots=True)
class Subscribed:
    """The outcome of "notify me": ``status`` is ``subscribed``, ``already`` (waiting
    already), ``on_platform`` (it takes applications now) or ``unknown``."""

    status: str
    coop: Cooperative | None = None


class PlatformService:
    """The :class:`bot.services.board.PlatformEvents` of the running bot, notify-me and
    the demand of cooperatives not on the platform."""

    def __init__(
        self,
        subscriptions: Subscriptions,
        attempts: JoinAttempts,
        coops: Cooperatives,
        apps: Applications,
        admins: Admins,
        users: UserService,
        broadcast: BroadcastService,
        notices: PlatformNotices | None = None,
    ) -> None:
        self.subscriptions = subscriptions
        self.attempts = attempts
        self.coops = coops
        self.apps = apps
        self.admins = admins
        self.users = users
        self.broadcast = broadcast
        self.notices = notices

    # --- a citizen at a cooperative that is not on the platform -----------------------

    async def contact(self, user_id: int, coop: Cooperative) -> Contact:
        """How to reach ``coop`` and whether ``user_id`` waits for it."""
        return Contact(
            coop=coop,
            phone=coop.phone,
            whatsapp=whatsapp_number(coop.phone),
            subscribed=await self.subscriptions.is_waiting(coop.id, user_id),
        )

    async def turned_away(self, user_id: int, coop: Cooperative) -> Contact:
        """``user_id`` tried to join ``coop``, which is not on the platform: count the
        attempt (the operators' demand list) and say how to reach it."""
        await self.attempts.record(coop.id, user_id)
        log.info("join attempt off the platform coop=%s", coop.id)
        return await self.contact(user_id, coop)

    async def subscribe(self, user_id: int, coop_id: str) -> Subscribed:
        """Tell ``user_id`` when ``coop_id`` comes aboard."""
        coop = await self.coops.get(coop_id)
        if coop is None:
            return Subscribed("unknown")
        if coop.on_platform:
            return Subscribed("on_platform", coop)
        added = await self.subscriptions.subscribe(coop_id, user_id)
        return Subscribed("subscribed" if added else "already", coop)

    async def cancel(self, user_id: int, coop_id: str) -> bool:
        """Stop waiting for ``coop_id``; False if ``user_id`` was not waiting."""
        return await self.subscriptions.cancel(coop_id, user_id)

    async def waiting_list(self, user_id: int) -> list[tuple[Subscription, Cooperative | None]]:
        """The cooperatives ``user_id`` waits for, oldest subscription first."""
        subs = await self.subscriptions.waiting_of(user_id)
        coops = {c.id: c for c in await self.coops.get_many({s.coop_id for s in subs})}
        return [(s, coops.get(s.coop_id)) for s in subs]

    # --- data-subject rights ----------------------------------------------------------

    async def export(self, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """The user's subscriptions and join attempts, for /mydata."""
        subs = await self.subscriptions.of_user(user_id)
        attempts = await self.attempts.of_user(user_id)
        ids = {s.coop_id for s in subs} | {a.coop_id for a in attempts}
        names = {c.id: c.name for c in await self.coops.get_many(ids)}
        return {
            "notify_me": [
                {
                    "cooperative_id": s.coop_id,
                    "cooperative": names.get(s.coop_id),
                    "subscribed_at": s.created_at.isoformat(),
                    "notified_at": s.notified_at.isoformat() if s.notified_at else None,
                }
                for s in subs
            ],
            "join_attempts": [
                {
                    "cooperative_id": a.coop_id,
                    "cooperative": names.get(a.coop_id),
                    "first_at": a.first_at.isoformat(),
                    "last_at": a.last_at.isoformat(),
                    "count": a.count,
                }
                for a in attempts
            ],
        }

    async def forget(self, user_id: int) -> None:
        """Erase the user's subscriptions and join attempts (/deletedata)."""
        await self.subscriptions.erase_user(user_id)
        await self.attempts.erase_user(user_id)

    # --- platform events (from BoardService) ------------------------------------------

    async def came_aboard(self, coop: Cooperative) -> None:
        """Tell each subscriber once, the pending applicants, and the new admins."""
        log.info("cooperative on the platform coop=%s", coop.id)
        if self.notices is None:
            return
        notices = self.notices
        pending = await self._pending(coop.id)
        applicants = {a.user_id for a in pending}
        # Marked first: a crash before the job is written loses a notice, never repeats one.
        taken = await self.subscriptions.take_waiting(coop.id, datetime.now(UTC))
        told = []
        for sub in taken:
            if sub.user_id in applicants:
                continue  # their application's notice says more
            t = await self._translator(sub.user_id)
            told.append(Notice(sub.user_id, *notices.aboard(t, coop)))
        await self._send("notice:aboard", told, coop)
        resumed = []
        for application in pending:
            t = await self._translator(application.user_id, application.language)
            resumed.append(Notice(application.user_id, *notices.resumed(t, coop, application)))
        await self._send("notice:resumed", resumed, coop)
        if pending:
            waiting = []
            for admin_id in await self.admins.admins_of(coop.id):
                t = await self._translator(admin_id)
                waiting.append(Notice(admin_id, *notices.waiting(t, coop, len(pending))))
            await self._send("notice:waiting", waiting, coop)

    async def went_off(self, coop: Cooperative) -> None:
        """Tell the pending applicants that their application keeps its place."""
        log.info("cooperative off the platform coop=%s", coop.id)
        if self.notices is None:
            return
        paused = []
        for application in await self._pending(coop.id):
            t = await self._translator(application.user_id, application.language)
            paused.append(Notice(application.user_id, *self.notices.paused(t, coop, application)))
        await self._send("notice:paused", paused, coop)

    async def _pending(self, coop_id: str) -> list[Application]:
        found: list[Application] = []
        skip = 0
        while True:
            page = await self.apps.for_coop(coop_id, "pending", skip=skip, limit=PAGE)
            skip += len(page)
            found += [a for a in page if a.user_id]  # an erased applicant has no id left
            if len(page) < PAGE:
                return found

    async def _translator(self, user_id: int, fallback: str | None = None) -> Translator:
        return self.users.i18n.get(await self.users.recipient_locale(user_id, fallback))

    async def _send(self, kind: str, notices: Sequence[Notice], coop: Cooperative) -> None:
        job = await self.broadcast.notify(kind, notices, coop_id=coop.id)
        if job is not None:
            log.info("%s coop=%s recipients=%s", kind, coop.id, job.total)
