"""How a cooperative's members pay, as its board sets it (``cooperatives.payment``): bank
transfer accounts, a QRIS image, cash at the office with opening hours, the due day of the
monthly simpanan wajib, and whether members are reminded.

The bot never handles money: it only tells members where to pay. Only the cooperative's
admins change these settings, checked at the moment of each change by
:meth:`AdminService.require_coop` (refusals are audited there); every change is audited
too (``edit_payment`` with the part changed, never the account number itself).
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.services.admin import AdminService
from bot.services.profile import InputError
from bot.services.text import clean_line
from storage.base import Cooperatives
from storage.models import BankAccount, Cooperative, PaymentInfo
from storage.payment import payment_doc

MAX_ACCOUNTS = 5
ACTION = "edit_payment"


def parse_account(raw: str) -> BankAccount:
    """ "BRI; 0123-01-000123-30-1; Koperasi Maju" (or one part per line, or commas) →
    an account; raises :class:`InputError` naming what is wrong."""
    text = raw.strip()
    parts = [p.strip() for p in re.split(r"[;\n]", text) if p.strip()]
    if len(parts) < 3:
        parts = [p.strip() for p in text.split(",", 2) if p.strip()]
    if len(parts) != 3:
        raise InputError("account_parts")
    bank, number, holder = (clean_line(p, 200) for p in parts)
    if not re.fullmatch(r"[0-9 \-]+", number):
        raise InputError("account_number")
    digits = re.sub(r"\D", "", number)
    if not 5 <= len(digits) <= 30:
        raise InputError("account_number")
    if not 2 <= len(bank) <= 40:
        raise InputError("account_bank")
    if not 2 <= len(holder) <= 80:
        raise InputError("account_holder")
    return BankAccount(bank=bank, number=re.sub(r"\s+", " ", number).strip(" -"), holder=holder)


def parse_cash(raw: str) -> str | None:
    """Where and when members pay in cash; "-" clears it."""
    text = clean_line(raw, 400)
    if text in ("-", "–"):
        return None
    if not 3 <= len(text) <= 200:
        raise InputError("too_long", max=200)
    return text


def parse_due_day(raw: str) -> int:
    text = raw.strip()
    day = int(text) if text.isdigit() and len(text) <= 2 else 0
    if not 1 <= day <= 28:
        raise InputError("due_day")
    return day


class PaymentSettings:
    """The board's payment settings; every method checks the role and audits."""

    def __init__(self, admin: AdminService, coops: Cooperatives) -> None:
        self.admin = admin
        self.coops = coops

    async def get(self, actor: int, coop_id: str) -> tuple[Cooperative, PaymentInfo]:
        """The cooperative and its settings (defaults when none were set)."""
        coop = await self.admin.require_coop(actor, coop_id, "view_payment")
        return coop, coop.payment or PaymentInfo()

    async def _save(
        self, actor: int, coop: Cooperative, info: PaymentInfo, part: str
    ) -> tuple[Cooperative, PaymentInfo]:
        await self.coops.set_fields(coop.id, {"payment": payment_doc(info)})
        await self.admin.record(actor, ACTION, coop_id=coop.id, part=part)
        coop = await self.coops.get(coop.id) or coop
        return coop, coop.payment or info

    async def _current(self, actor: int, coop_id: str) -> tuple[Cooperative, PaymentInfo]:
        coop = await self.admin.require_coop(actor, coop_id, ACTION)
        info = coop.payment or PaymentInfo()
        return coop, replace(info, banks=list(info.banks))

    async def add_account(
        self, actor: int, coop_id: str, raw: str
    ) -> tuple[Cooperative, PaymentInfo]:
        """Add a bank account typed as bank; number; holder."""
        coop, info = await self._current(actor, coop_id)
        account = parse_account(raw)
        if len(info.banks) >= MAX_ACCOUNTS:
            raise InputError("accounts_full", max=MAX_ACCOUNTS)
        info.banks.append(account)
        return await self._save(actor, coop, info, "account_added")

    async def remove_account(
        self, actor: int, coop_id: str, index: int
    ) -> tuple[Cooperative, PaymentInfo]:
        coop, info = await self._current(actor, coop_id)
        if 0 <= index < len(info.banks):  # a stale button: nothing to remove
            del info.banks[index]
            return await self._save(actor, coop, info, "account_removed")
        return coop, info

    async def set_qris(
        self, actor: int, coop_id: str, file_id: str | None
    ) -> tuple[Cooperative, PaymentInfo]:
        """The QRIS image (a Telegram photo's file id); None removes it."""
        coop, info = await self._current(actor, coop_id)
        info.qris_file_id = file_id
        return await self._save(actor, coop, info, "qris" if file_id else "qris_removed")

    async def set_cash(
        self, actor: int, coop_id: str, raw: str
    ) -> tuple[Cooperative, PaymentInfo]:
        coop, info = await self._current(actor, coop_id)
        info.cash = parse_cash(raw)
        return await self._save(actor, coop, info, "cash")

    async def set_due_day(
        self, actor: int, coop_id: str, raw: str
    ) -> tuple[Cooperative, PaymentInfo]:
        coop, info = await self._current(actor, coop_id)
        info.due_day = parse_due_day(raw)
        return await self._save(actor, coop, info, "due_day")

    async def set_reminders(
        self, actor: int, coop_id: str, on: bool
    ) -> tuple[Cooperative, PaymentInfo]:
        coop, info = await self._current(actor, coop_id)
        info.reminders = on
        return await self._save(actor, coop, info, "reminders_on" if on else "reminders_off")
