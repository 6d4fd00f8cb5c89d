"""The inbox: no update Telegram was told arrived is lost, none is handled twice on purpose.

The Telegram edge calls :meth:`UpdateService.receive` before it acknowledges an update
(the webhook's 200, polling's next offset), :meth:`UpdateService.done` after the update's
handlers ran, and :meth:`UpdateService.pending` once at start to replay what a crash left.
Updates hold what people type (a NIK in the middle of a form), so the inbox keeps them
sealed and drops them once done: a person's update with that person's own key (the
keyring of ``personal.py``), so that /deletedata makes even the oplog's copy of a pending
update unreadable; an update with no person behind it (a channel post) with the data key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.services.crypto import PersonCipher, is_sealed
from storage.batching import GroupCommit
from storage.models import InboxEntry

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # starts that replay one update before it is given up (a crash loop)


class Inbox(Protocol):
    async def receive_many(
        self, entries: Sequence[tuple[int, int | None, str]]
    ) -> list[bool | Exception]: ...
    async def done(self, *update_ids: int) -> None: ...
    async def pending(self) -> list[InboxEntry]: ...
    async def newest(self) -> int | None: ...


class Sealer(Protocol):
    def encrypt(self, plaintext: str) -> str: ...
    def decrypt(self, stored: str) -> str: ...


class People(Protocol):
    async def cipher(self, user_id: int, *, create: bool = False) -> PersonCipher | None: ...


SEAL_AS = "update"  # the field name bound to a sealed update body


@dataclass(frozen=True, slots=True)
class Pending:
    """An update to replay: its id and its JSON."""

    update_id: int
    body: str


@dataclass(slots=True)
class UpdateService:
    log: Inbox
    sealer: Sealer | None = None  # None: bodies kept as given (tests of the storage only)
    people: People | None = None  # each person's own key (None: the sealer's for everyone)
    max_attempts: int = MAX_ATTEMPTS
    _receiving: GroupCommit[tuple[int, int | None, str], bool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._receiving = GroupCommit(self.log.receive_many)

    async def _seal(self, key: int | None, body: str) -> str:
        if self.people is not None and key is not None and key > 0:  # a user (or a DM)
            cipher = await self.people.cipher(key, create=True)
            if cipher is not None:
                return cipher.seal(SEAL_AS, body)
        return self.sealer.encrypt(body) if self.sealer is not None else body

    async def _open(self, entry: InboxEntry) -> str:
        if is_sealed(entry.body):
            cipher = None
            if self.people is not None and entry.key is not None:
                cipher = await self.people.cipher(entry.key)
            if cipher is None:  # the person erased their data meanwhile
                raise LookupError("no key for a sealed update")
            body = cipher.open(SEAL_AS, entry.body)
            if not isinstance(body, str):
                raise ValueError("a sealed update is not text")
            return body
        return self.sealer.decrypt(entry.body) if self.sealer is not None else entry.body

    async def receive(self, update_id: int, key: int | None, body: str) -> bool:
        """Keep an update before it is acknowledged: True if new, False for a redelivery.

        Raises whatever the database raises: then the update must not be acknowledged.
        """
        return await (await self.keep(update_id, key, body))

    async def keep(self, update_id: int, key: int | None, body: str) -> asyncio.Future[bool]:
        """Seal the update now and start writing it: the future of :meth:`receive`'s answer.

        The webhook starts the update's handlers meanwhile (nothing they send leaves before
        the answer, ``bot/telegram/processing.py``); sealed first, so that an erasure among
        those handlers cannot come before the seal and leave a new key behind.
        """
        return self._receiving.submit((update_id, key, await self._seal(key, body)))

    async def newest(self) -> int | None:
        """The highest update id the inbox holds (a redelivery of what came before a
        restart has an id no higher than this)."""
        return await self.log.newest()

    async def done(self, *update_ids: int) -> None:
        """These updates' handlers ran: they will not be replayed (one write for all)."""
        await self.log.done(*update_ids)

    async def pending(self) -> list[Pending]:
        """The updates a crash left unhandled, oldest first (each user's in order).

        One that has been replayed ``max_attempts`` times already (it may be what crashes
        the bot) or cannot be read any more (its key is gone) is marked done and skipped.
        """
        replay: list[Pending] = []
        for entry in await self.log.pending():
            if entry.attempts > self.max_attempts:
                log.warning(
                    "inbox: update given up after %s attempts update_id=%s",
                    entry.attempts - 1,
                    entry.update_id,
                )
                await self.log.done(entry.update_id)
                continue
            try:
                body = await self._open(entry)
            except Exception as exc:  # a key no longer configured, a damaged entry
                log.warning(
                    "inbox: update unreadable, skipped update_id=%s error=%s",
                    entry.update_id,
                    type(exc).__name__,
                )
                await self.log.done(entry.update_id)
                continue
            replay.append(Pending(entry.update_id, body))
        return replay
