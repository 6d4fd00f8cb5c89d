"""Re-encrypting every stored NIK under a new DATA_KEY (``python -m bot rotate-key``).

Resumable and without downtime: each application is swapped with a compare-and-set, so
a re-run continues where the last one stopped, and running bots (started with the new
DATA_KEY and the old one in DATA_KEY_PREVIOUS) read both kinds meanwhile. Unfinished
forms (:class:`~bot.services.draft.MembershipDraft` in each user's data) are re-encrypted
too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.services.crypto import Vault
from bot.services.draft import Forms
from storage.applications import ApplicationRepository
from storage.state import StateRepository


@dataclass(slots=True)
class RotationReport:
    applications: int = 0
    drafts: int = 0


async def rotate(
    vault: Vault,
    apps: ApplicationRepository,
    states: StateRepository,
    progress: Callable[[int], None] | None = None,
) -> RotationReport:
    """Re-encrypt what ``vault`` (the new key, with the old ones as previous) can read."""
    report = RotationReport()
    while True:
        batch = await apps.with_stale_nik(vault.key_id)
        if not batch:
            break
        moved = 0
        for application in batch:
            assert application.nik_enc is not None
            nik = vault.decrypt(application.nik_enc)
            if await apps.replace_nik(
                application.id, application.nik_enc, vault.encrypt(nik), vault.lookup_hash(nik)
            ):
                moved += 1
        report.applications += moved
        if progress is not None:
            progress(report.applications)
        if moved == 0:
            break  # changed under us repeatedly: the next run picks them up
    for user_id, data in (await states.all_user_data()).items():
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
            await states.set_user_data(user_id, data)
            report.drafts += 1
    return report
