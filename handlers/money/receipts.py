"""The receipt a member gets for every payment the board records or confirms."""

from __future__ import annotations

import logging
from html import escape

from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.catalog import N_
from storage.models import Cooperative, LedgerEntry

log = logging.getLogger(__name__)

KIND_LABELS = {
    "pokok": N_("Simpanan pokok"),
    "wajib": N_("Simpanan wajib"),
    "sukarela": N_("Simpanan sukarela"),
}


def kind_text(t: Translator, kind: str) -> str:
    return t.gettext(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def receipt_text(t: Translator, entry: LedgerEntry, coop: Cooperative) -> str:
    """Cooperative, member number, kind, amount, date and reference, in ``t``'s language."""
    _ = t.gettext
    lines = [
        _("🧾 <b>Receipt</b> · {coop}").format(coop=escape(coop.name)),
        "",
        _("Member number: {number}").format(
            number=f"<code>{escape(entry.member_number or '–')}</code>"
        ),
        _("Payment: {kind}").format(kind=escape(kind_text(t, entry.kind))),
        _("Amount: {amount}").format(amount=t.money(entry.amount)),
        _("Date: {date}").format(date=t.date(entry.paid_on)),
    ]
    # A proof's reference ("proof:<id>") is the bot's own bookkeeping, not the member's.
    if entry.reference and entry.source != "proof":
        lines.append(_("Reference: {reference}").format(reference=escape(entry.reference)))
    if entry.replaces:
        lines.append(_("This receipt corrects an earlier one."))
    lines += [
        "",
        _("Recorded by the board of {coop}. Your dues: /dues").format(coop=escape(coop.name)),
    ]
    return "\n".join(lines)


async def send_receipt(context: BotContext, entry: LedgerEntry, coop: Cooperative) -> bool:
    """Send the member their receipt in their language; False when they cannot be told
    (erased, blocked the bot): the payment stays recorded either way."""
    if entry.user_id is None:
        return False
    services = context.services
    t = services.i18n.get(await services.users.recipient_locale(entry.user_id))
    try:
        await context.bot.send_message(
            entry.user_id, receipt_text(t, entry, coop), parse_mode=ParseMode.HTML
        )
    except TelegramError as exc:
        log.warning("receipt not delivered entry=%s error=%s", entry.id, type(exc).__name__)
        return False
    return True
