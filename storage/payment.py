"""How a cooperative's members pay, as stored on its document (``cooperatives.payment``)."""

from __future__ import annotations

from storage.models import BankAccount, PaymentInfo
from storage.mongo import Document


def payment_info(raw: object) -> PaymentInfo | None:
    """The board's payment settings as stored (``payment``), tolerating partial ones."""
    if not isinstance(raw, dict):
        return None
    banks = [
        BankAccount(str(b.get("bank", "")), str(b.get("number", "")), str(b.get("holder", "")))
        for b in raw.get("banks") or []
        if isinstance(b, dict)
    ]
    due_day = raw.get("due_day")
    return PaymentInfo(
        banks=banks,
        qris_file_id=raw.get("qris_file_id") if isinstance(raw.get("qris_file_id"), str) else None,
        cash=raw.get("cash") if isinstance(raw.get("cash"), str) else None,
        due_day=due_day if isinstance(due_day, int) and 1 <= due_day <= 28 else 10,
        reminders=raw.get("reminders") is not False,
    )


def payment_doc(info: PaymentInfo) -> Document:
    """How :class:`PaymentInfo` is stored on the cooperative."""
    return {
        "banks": [{"bank": b.bank, "number": b.number, "holder": b.holder} for b in info.banks],
        "qris_file_id": info.qris_file_id,
        "cash": info.cash,
        "due_day": info.due_day,
        "reminders": info.reminders,
    }
