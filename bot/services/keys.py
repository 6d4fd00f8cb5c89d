"""Re-keying everything under a new DATA_KEY (``python -m bot rotate-key``).

Three steps, each resumable and without downtime (running bots, started with the new
DATA_KEY and the old one in DATA_KEY_PREVIOUS, read both kinds meanwhile):

1. every person's data key is re-wrapped under the new key-encryption key (the keys
   themselves do not change, so nothing sealed with them is rewritten);
2. every stored NIK is re-encrypted and re-hashed under the new key (inside its person's
   seal), each application swapped with a compare-and-set;
3. unfinished forms (:class:`~bot.services.draft.MembershipDraft` in each user's data) get
   their NIK re-encrypted too, sealed again if they were sealed.

A re-run continues where the last one stopped. Once the old key is dropped, whatever was
wrapped, encrypted or hashed under it — in old oplog entries, journals, backups — is
unreadable too, including the keys of people who erased their data since the last
rotation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.services.crypto import Keyring, Vault
from bot.services.draft import Forms, open_forms, seal_forms, sealed_drafts
from storage.base import Applications, PersonKeys, State
from storage.models import Application


@dataclass(slots=True)
class RotationReport:
    applications: int = 0
    drafts: int = 0
    keys: int = 0


async def _rewrap_keys(vault: Vault, keys: PersonKeys) -> int:
    moved = 0
    after: int | None = None
    while batch := await keys.stale(vault.key_id, after):
        for key in batch:
            after = key.user_id
            if await keys.rewrap(key.user_id, key.wrapped, vault.wrap(vault.unwrap(key.wrapped))):
                moved += 1
    return moved


async def _renik(
    vault: Vault, keyring: Keyring, apps: Applications, application: Application
) -> bool:
    """Re-encrypt and re-hash one application's NIK; False if it cannot be (now)."""
    stored = application.sealed.get("nik_enc")
    if stored is not None:
        if application.user_id is None:
            return False
        cipher = await keyring.cipher(application.user_id)
        if cipher is None:  # the person's key is gone: nothing to re-encrypt, ever
            return False
        nik = vault.decrypt(cipher.open("nik_enc", stored))
        new = cipher.seal("nik_enc", vault.encrypt(nik))
    elif application.nik_enc:  # written before sealing (the backfill seals it)
        stored = application.nik_enc
        nik = vault.decrypt(stored)
        new = vault.encrypt(nik)
    else:
        return False
    return await apps.replace_nik(
        application.id, stored, new, vault.lookup_hash(nik), vault.key_id
    )


async def rotate(
    vault: Vault,
    apps: Applications,
    states: State,
    progress: Callable[[int], None] | None = None,
    *,
    keys: PersonKeys,
) -> RotationReport:
    """Re-key what ``vault`` (the new key, with the old ones as previous) can read.

    ``apps`` and ``states`` must hand over values as stored (the repositories themselves,
    not their sealing views)."""
    report = RotationReport()
    report.keys = await _rewrap_keys(vault, keys)
    keyring = Keyring(vault, keys)
    after: str | None = None
    while batch := await apps.with_stale_nik(vault.key_id, after=after):
        for application in batch:
            after = application.id
            if await _renik(vault, keyring, apps, application):
                report.applications += 1
        if progress is not None:
            progress(report.applications)
    for user_id, stored in (await states.all_user_data()).items():
        sealed = sealed_drafts(stored)
        cipher = await keyring.cipher(user_id) if sealed else None
        if sealed and cipher is None:
            continue  # the person's key is gone: their draft can never be read again
        data = open_forms(stored, cipher)
        forms = Forms(data)
        changed = False
        for coop_id, draft in forms:
            if draft.nik_enc and vault.needs_rotation(draft.nik_enc):
                nik = vault.decrypt(draft.nik_enc)
                draft.nik_enc = vault.encrypt(nik)
                draft.nik_hash = vault.lookup_hash(nik)
                forms.put(coop_id, draft)
                changed = True
        if changed:
            await states.set_user_data(
                user_id, seal_forms(data, cipher) if cipher is not None else data
            )
            report.drafts += 1
    return report
