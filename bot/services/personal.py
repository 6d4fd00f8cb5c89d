"""Personal data sealed with each person's own key wherever it is stored (crypto-shredding).

A copy of the database — the oplog of the embedded server or of a replica set, the
journal, a data file, a backup — must not tell who anyone is, and must stop telling it
for good once a person has used /deletedata, even though such copies outlive the delete.
So every personal value is written sealed with its person's key (``crypto.Keyring``), and
erasure destroys that key.

Sealed (personal): an application's full name, NIK (its DATA_KEY ciphertext, sealed
again), masked NIK, sex, birth date, birthplace, address, home village and shared point,
domicile declaration, phone, occupation, consent record, and the board's reasons (free
text about the person); every personal answer of an unfinished form (``draft.PERSONAL``).

In clear, because the database must find or count by them: the Telegram user id (it is
the key of the user's own documents and the address every message and announcement is
sent to; removed from applications on erasure), the NIK's keyed lookup hash (HMAC under
DATA_KEY, for the duplicate check; removed on erasure), the cooperative, status, dates,
application and member numbers, card version, language. See SECURITY.md.

Three pieces:

- :class:`SealedApplications`: the ``Applications`` storage protocol with sealing on every
  write and opening on every read, so services and handlers see plain records.
- :class:`SealedStates`: ``user_data`` as the Telegram layer persists it, drafts sealed.
- :func:`seal_existing`: the one-off, idempotent start-up backfill of documents written in
  clear before sealing existed (until it has run, such values are read as they are).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.services.crypto import DataKeyError, Keyring, PersonCipher
from bot.services.draft import open_forms, personal_in_clear, seal_forms, sealed_drafts
from storage.base import Applications
from storage.models import Application, LegacyFields, Notification
from storage.mongo import Store
from storage.state import StateRepository

log = logging.getLogger(__name__)

APPLICATION_FIELDS = (
    "full_name",
    "nik_enc",
    "nik_masked",
    "sex",
    "birth_date",
    "birth_place",
    "address",
    "domicile_village",
    "domicile_point",
    "domicile_declared",
    "phone",
    "occupation",
    "consent",
    "reason",
    "status_reason",
)
MIGRATION = "sealed-personal-data-1"
# The most members a cooperative's name search opens at once (it runs in the bot: names
# are sealed, so the database cannot match them).
SEARCH_LIMIT = 1_000_000


def open_record(application: Application, cipher: PersonCipher | None) -> Application:
    """Fill the record's personal fields from its sealed values (gone without a key)."""
    sealed, application.sealed = application.sealed, {}
    if cipher is None:
        return application
    for name, stored in sealed.items():
        if name not in APPLICATION_FIELDS:
            continue
        try:
            value = cipher.open(name, stored)
        except DataKeyError:
            log.warning("application %s: sealed %s does not open", application.id, name)
            continue
        setattr(application, name, value)
    application.domicile_declared = bool(application.domicile_declared)
    if not isinstance(application.consent, dict):
        application.consent = {}
    return application


def _seal(cipher: PersonCipher, values: dict[str, Any]) -> dict[str, str]:
    return {
        name: cipher.seal(name, value)
        for name, value in values.items()
        if name in APPLICATION_FIELDS and value is not None
    }


class SealedApplications:
    """The applications repository, with personal values sealed with their person's key.

    Writes (:meth:`create`, :meth:`set_fields`, :meth:`transition`) seal every personal
    field; reads return records with those fields opened. :meth:`with_stale_nik`,
    :meth:`replace_nik`, :meth:`in_clear` and :meth:`seal_in_place` pass stored values
    through unchanged: they are for key rotation and the backfill.
    """

    def __init__(self, repo: Applications, keyring: Keyring) -> None:
        self.repo = repo
        self.keyring = keyring

    async def _opened(self, applications: list[Application]) -> list[Application]:
        owners = {a.user_id for a in applications if a.sealed and a.user_id is not None}
        ciphers = await self.keyring.ciphers(owners) if owners else {}
        return [open_record(a, ciphers.get(a.user_id)) for a in applications]

    async def _one(self, application: Application | None) -> Application | None:
        if application is None:
            return None
        return (await self._opened([application]))[0]

    async def _sealed_fields(
        self, application_id: str, fields: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """``fields`` with the personal ones sealed for the application's owner (and
        dropped when the owner erased their data: nothing personal is written in clear)."""
        if not fields or not any(name in APPLICATION_FIELDS for name in fields):
            return fields
        out = {k: v for k, v in fields.items() if k not in APPLICATION_FIELDS}
        current = await self.repo.get(application_id)
        if current is None or current.user_id is None:
            return out
        cipher = await self.keyring.cipher(current.user_id, create=True)
        assert cipher is not None
        out.update({f"sealed.{k}": v for k, v in _seal(cipher, fields).items()})
        return out

    # --- numbering and ids --------------------------------------------------------------

    def id_bytes(self, application_id: str) -> bytes:
        return self.repo.id_bytes(application_id)

    def id_from_bytes(self, raw: bytes) -> str | None:
        return self.repo.id_from_bytes(raw)

    async def next_number(self, name: str) -> int:
        return await self.repo.next_number(name)

    # --- records ------------------------------------------------------------------------

    async def create(self, values: dict[str, Any]) -> Application:
        """Insert a pending application, its personal values sealed."""
        cipher = await self.keyring.cipher(int(values["user_id"]), create=True)
        assert cipher is not None
        clear = {k: v for k, v in values.items() if k not in APPLICATION_FIELDS}
        application = await self.repo.create({**clear, "sealed": _seal(cipher, values)})
        return open_record(application, cipher)

    async def get(self, application_id: str) -> Application | None:
        return await self._one(await self.repo.get(application_id))

    async def open_for(self, user_id: int, coop_id: str) -> Application | None:
        return await self._one(await self.repo.open_for(user_id, coop_id))

    async def open_with_nik(self, coop_id: str, nik_hash: str) -> Application | None:
        return await self._one(await self.repo.open_with_nik(coop_id, nik_hash))

    async def for_user(self, user_id: int) -> list[Application]:
        return await self._opened(await self.repo.for_user(user_id))

    async def for_coop(
        self, coop_id: str, status: str | None = None, *, skip: int = 0, limit: int = 50
    ) -> list[Application]:
        return await self._opened(
            await self.repo.for_coop(coop_id, status, skip=skip, limit=limit)
        )

    async def members(
        self,
        coop_id: str,
        statuses: tuple[str, ...],
        *,
        query: str | None = None,
        skip: int = 0,
        limit: int = 10,
    ) -> tuple[list[Application], int]:
        """Members by number; with ``query``, by name (case-insensitive, literal) or
        member number, matched here on the opened names."""
        if not query:
            page, total = await self.repo.members(coop_id, statuses, skip=skip, limit=limit)
            return await self._opened(page), total
        everyone, _ = await self.repo.members(coop_id, statuses, limit=SEARCH_LIMIT)
        wanted, number = query.casefold(), query.strip().upper()
        found = [
            m
            for m in await self._opened(everyone)
            if wanted in (m.full_name or "").casefold() or m.member_number == number
        ]
        return found[skip : skip + limit], len(found)

    async def transition(
        self,
        application_id: str,
        from_statuses: tuple[str, ...],
        status: str,
        fields: dict[str, Any] | None = None,
    ) -> Application | None:
        sealed = await self._sealed_fields(application_id, fields)
        return await self._one(
            await self.repo.transition(application_id, from_statuses, status, sealed)
        )

    async def set_fields(self, application_id: str, fields: dict[str, Any]) -> None:
        await self.repo.set_fields(
            application_id, await self._sealed_fields(application_id, fields) or {}
        )

    async def claim_approval(self, application_id: str) -> Application | None:
        return await self._one(await self.repo.claim_approval(application_id))

    # --- counts, card files, notifications: nothing personal ----------------------------

    async def count_by_status(self) -> dict[str, int]:
        return await self.repo.count_by_status()

    async def count_by_coop_and_status(self) -> dict[tuple[str, str], int]:
        return await self.repo.count_by_coop_and_status()

    async def count(self, query: dict[str, Any] | None = None) -> int:
        return await self.repo.count(query)

    async def card_file(self, key: str) -> str | None:
        return await self.repo.card_file(key)

    async def remember_card_file(self, key: str, file_id: str) -> None:
        await self.repo.remember_card_file(key, file_id)

    async def notify(self, kind: str, payload: dict[str, Any]) -> None:
        await self.repo.notify(kind, payload)

    async def mark_delivered(self, kind: str, application_id: str) -> None:
        await self.repo.mark_delivered(kind, application_id)

    async def notifications(self, kind: str | None = None) -> list[Notification]:
        return await self.repo.notifications(kind)

    # --- stored values as they are: key rotation and the backfill -----------------------

    async def with_stale_nik(
        self, current_key_id: str, limit: int = 200, after: str | None = None
    ) -> list[Application]:
        return await self.repo.with_stale_nik(current_key_id, limit, after)

    async def replace_nik(
        self, application_id: str, old_enc: str, new_enc: str, new_hash: str, key_id: str
    ) -> bool:
        return await self.repo.replace_nik(application_id, old_enc, new_enc, new_hash, key_id)

    async def in_clear(
        self, names: Sequence[str], after: str | None = None, limit: int = 200
    ) -> list[LegacyFields]:
        return await self.repo.in_clear(names, after, limit)

    async def seal_in_place(
        self,
        application_id: str,
        clear: dict[str, Any],
        sealed: dict[str, str],
        nik_key_id: str | None = None,
    ) -> bool:
        return await self.repo.seal_in_place(application_id, clear, sealed, nik_key_id)


class SealedStates(StateRepository):
    """``user_data`` with every draft's personal answers sealed where it is stored; plain
    for the Telegram layer, which keeps it in memory (``bot/persistence.py``)."""

    def __init__(self, store: Store, keyring: Keyring) -> None:
        super().__init__(store)
        self.keyring = keyring

    async def all_user_data(self) -> dict[int, dict[Any, Any]]:
        stored = await super().all_user_data()
        owners = [user_id for user_id, data in stored.items() if sealed_drafts(data)]
        ciphers = await self.keyring.ciphers(owners) if owners else {}
        return {
            user_id: open_forms(data, ciphers.get(user_id)) if user_id in owners else data
            for user_id, data in stored.items()
        }

    async def user_data(self, user_id: int) -> dict[Any, Any]:
        data = await super().user_data(user_id)
        if not sealed_drafts(data):
            return data
        return open_forms(data, await self.keyring.cipher(user_id))

    async def set_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        if personal_in_clear(data):
            cipher = await self.keyring.cipher(user_id, create=True)
            assert cipher is not None
            data = seal_forms(data, cipher)
        await super().set_user_data(user_id, data)


@dataclass(slots=True)
class Backfill:
    applications: int = 0
    drafts: int = 0
    skipped: int = 0  # changed while being sealed: sealed at the next start


def _nik_key_id(values: dict[str, Any]) -> str | None:
    nik_enc = values.get("nik_enc")
    return nik_enc.partition(":")[0] if isinstance(nik_enc, str) and ":" in nik_enc else None


async def seal_existing(apps: Applications, states: StateRepository, keyring: Keyring) -> Backfill:
    """Seal what was stored in clear before sealing existed: applications' personal fields
    and drafts' answers. Idempotent and resumable; once it ran to the end without a
    conflict, later starts skip it. ``states`` must store as it is given (not sealed)."""
    report = Backfill()
    if await keyring.keys.migrated(MIGRATION):
        return report
    after: str | None = None
    while batch := await apps.in_clear(APPLICATION_FIELDS, after):
        for legacy in batch:
            after = legacy.application_id
            sealed: dict[str, str] = {}
            if legacy.user_id is not None:  # else erased: nothing of it may stay
                cipher = await keyring.cipher(int(legacy.user_id), create=True)
                assert cipher is not None
                sealed = _seal(cipher, legacy.values)
            if await apps.seal_in_place(
                legacy.application_id, legacy.values, sealed, _nik_key_id(legacy.values)
            ):
                report.applications += 1
            else:
                report.skipped += 1
    for user_id, data in (await states.all_user_data()).items():
        if personal_in_clear(data):
            cipher = await keyring.cipher(user_id, create=True)
            assert cipher is not None
            await states.set_user_data(user_id, seal_forms(data, cipher))
            report.drafts += 1
    if not report.skipped:
        await keyring.keys.mark_migrated(MIGRATION)
    if report.applications or report.drafts:
        log.info(
            "sealed personal data written before sealing: applications=%s drafts=%s",
            report.applications,
            report.drafts,
        )
    return report
