"""How to pay a cooperative, as its board set it: shown after approval
(:func:`handlers.notify.tell_applicant`), from a card ("💳 How to pay"), in every bill
(``/tagihan``) and reminder. Bank accounts come with copy buttons (the number, digits
only, as banking apps want it), the QRIS image follows as a photo, cash says where and
when. When the board has set nothing, the member is told to ask it, with its phone.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from html import escape

from babel.dates import format_date
from telegram import Bot, CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.i18n import Translator
from storage.models import BankAccount, Cooperative, PaymentInfo

log = logging.getLogger(__name__)


def month_text(t: Translator, month: str) -> str:
    """ "2026-11" → "November 2026" in the reader's language."""
    return format_date(date(int(month[:4]), int(month[5:7]), 1), "LLLL y", locale=t.locale)


def has_ways(info: PaymentInfo | None) -> bool:
    return info is not None and bool(info.banks or info.qris_file_id or info.cash)


def amounts_lines(t: Translator, coop: Cooperative) -> list[str]:
    """The deposits a member pays: simpanan pokok once, simpanan wajib every month."""
    _ = t.gettext
    lines = []
    if coop.simpanan_pokok:
        lines.append(
            _("• Simpanan pokok (once): {amount}").format(amount=t.money(coop.simpanan_pokok))
        )
    if coop.simpanan_wajib:
        due_day = coop.payment.due_day if coop.payment else 10
        lines.append(
            _("• Simpanan wajib (every month, due on day {day}): {amount}").format(
                amount=t.money(coop.simpanan_wajib), day=due_day
            )
        )
    return lines


def _account_line(t: Translator, account: BankAccount) -> str:
    return t.gettext("• {bank} · {number} · in the name of {holder}").format(
        bank=escape(account.bank),
        number=f"<code>{escape(account.number)}</code>",
        holder=escape(account.holder),
    )


def ask_board_text(t: Translator, coop: Cooperative) -> str:
    if coop.phone:
        return t.gettext("The board has not said yet how to pay: please ask it ({phone}).").format(
            phone=escape(coop.phone)
        )
    return t.gettext("The board has not said yet how to pay: please ask it at the office.")


def how_to_pay_text(
    t: Translator, coop: Cooperative, *, member_number: str | None = None, amounts: bool = True
) -> str:
    """The full how-to-pay message (HTML)."""
    _ = t.gettext
    info = coop.payment
    lines = [_("💳 <b>How to pay</b> · {coop}").format(coop=escape(coop.name))]
    if amounts:
        lines += amounts_lines(t, coop)
    lines.append("")
    if info is None or not has_ways(info):
        lines.append(ask_board_text(t, coop))
        return "\n".join(lines)
    if info.banks:
        lines.append(_("🏦 Bank transfer:"))
        lines += [_account_line(t, a) for a in info.banks]
    if info.qris_file_id:
        lines.append(_("📱 QRIS: scan the code in the picture below with any banking app."))
    if info.cash:
        lines.append(_("🏢 Cash at the office: {where}").format(where=escape(info.cash)))
    lines.append("")
    if member_number:
        lines.append(
            _("Write your member number {number} in the transfer's note.").format(
                number=f"<code>{escape(member_number)}</code>"
            )
        )
    lines.append(_("After paying, tap “✅ I have paid” in /dues so the board can confirm it."))
    return "\n".join(lines)


def how_to_pay_short(t: Translator, coop: Cooperative) -> str:
    """One line for a bill: the first account, QRIS, cash (HTML)."""
    _ = t.gettext
    info = coop.payment
    if info is None or not has_ways(info):
        return ask_board_text(t, coop)
    ways = []
    if info.banks:
        first = info.banks[0]
        way = f"{escape(first.bank)} <code>{escape(first.number)}</code>"
        if len(info.banks) > 1:
            way += " " + _("(+{count} more)").format(count=len(info.banks) - 1)
        ways.append(way)
    if info.qris_file_id:
        ways.append("QRIS")
    if info.cash:
        ways.append(_("cash at the office"))
    return _("How to pay: {ways}").format(ways=", ".join(ways))


def copy_buttons(t: Translator, coop: Cooperative) -> list[list[InlineKeyboardButton]]:
    """One copy button per bank account (the digits of its number)."""
    info = coop.payment
    if info is None:
        return []
    rows = []
    for account in info.banks:
        label = t.gettext("📋 Copy {bank} {number}").format(
            bank=account.bank, number=account.number
        )
        digits = re.sub(r"\D", "", account.number)
        rows.append(
            [
                InlineKeyboardButton(
                    label if len(label) <= 60 else label[:59] + "…",
                    copy_text=CopyTextButton(digits),
                )
            ]
        )
    return rows


async def send_qris(bot: Bot, chat_id: int, t: Translator, coop: Cooperative) -> None:
    """The QRIS image, when the board set one (a photo already on Telegram)."""
    info = coop.payment
    if info is None or not info.qris_file_id:
        return
    try:
        await bot.send_photo(
            chat_id,
            info.qris_file_id,
            caption=t.gettext("📱 QRIS · {coop}").format(coop=escape(coop.name)),
            parse_mode=ParseMode.HTML,
        )
    except (Forbidden, BadRequest) as exc:
        log.info("qris not sent coop=%s error=%s", coop.id, type(exc).__name__)


async def send_how_to_pay(
    bot: Bot,
    chat_id: int,
    t: Translator,
    coop: Cooperative,
    *,
    member_number: str | None = None,
) -> None:
    """The how-to-pay message with copy buttons, then the QRIS image if any."""
    rows = copy_buttons(t, coop)
    await bot.send_message(
        chat_id,
        how_to_pay_text(t, coop, member_number=member_number),
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(rows) if rows else None,
    )
    await send_qris(bot, chat_id, t, coop)
