"""/tagihan (/dues): one bill across every membership, how to pay a cooperative, and the
monthly reminder's words (``bot/services/reminders.py`` decides who gets one).

For each active membership the bill shows this month's simpanan wajib and what is in
arrears (an unpaid simpanan pokok included), the last payment, the month paid through
and, in one line, how to pay (a button opens the full how-to-pay); then the total. Money
is formatted with babel (``t.money``), months by their names in the reader's language.
"✅ I have paid" (``PROOF_START``) starts the proofs feature's flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.i18n import I18n, Translator
from bot.services.dues import Dues, Statement
from bot.services.users import UserService
from handlers.callbacks import (
    BILLS,
    DUES_MUTE,
    DUES_UNMUTE,
    HOW_TO_PAY,
    PROOF_START,
    any_of,
)
from handlers.money.paying import how_to_pay_short, month_text, send_how_to_pay
from handlers.money.receipts import kind_text
from storage.models import Notice


def _label(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


def arrears_text(t: Translator, dues: Dues) -> str:
    """ "Rp120.000 (simpanan pokok Rp100.000 · 2 months of simpanan wajib)"."""
    parts = []
    if dues.pokok_open:
        parts.append(t.gettext("simpanan pokok {amount}").format(amount=t.money(dues.pokok_open)))
    if dues.arrears_months:
        parts.append(
            t.ngettext(
                "{count} month of simpanan wajib",
                "{count} months of simpanan wajib",
                dues.arrears_months,
            ).format(count=dues.arrears_months)
        )
    return f"{t.money(dues.arrears)} ({' · '.join(parts)})" if parts else t.money(dues.arrears)


def status_lines(t: Translator, dues: Dues) -> list[str]:
    """Simpanan pokok paid or not; simpanan wajib paid through which month (plain text)."""
    _ = t.gettext
    lines = []
    if dues.pokok:
        lines.append(
            _("Simpanan pokok: paid ✅")
            if not dues.pokok_open
            else _("Simpanan pokok: not paid yet ({amount})").format(
                amount=t.money(dues.pokok_open)
            )
        )
    if dues.wajib:
        lines.append(
            _("Simpanan wajib: paid through {month}").format(
                month=month_text(t, dues.paid_through)
            )
            if dues.paid_through
            else _("Simpanan wajib: no month paid yet")
        )
    return lines


def membership_block(t: Translator, dues: Dues) -> list[str]:
    """One membership in the bill (HTML)."""
    _ = t.gettext
    number = dues.application.member_number
    head = f"<b>{escape(dues.coop.name)}</b>"
    if number:
        head += f" · <code>{escape(number)}</code>"
    lines = [head]
    if dues.settled:
        lines.append(_("✅ Nothing due"))
    if dues.this_month:
        lines.append(
            _("This month ({month}): {amount} · due {date}").format(
                month=month_text(t, f"{dues.today:%Y-%m}"),
                amount=t.money(dues.this_month),
                date=t.date(dues.due_date),
            )
        )
    if dues.arrears:
        lines.append(_("In arrears: {amount}").format(amount=arrears_text(t, dues)))
    lines += [escape(line) for line in status_lines(t, dues)]
    last = dues.last_payment
    if last is not None:
        lines.append(
            _("Last payment: {kind} {amount} on {date}").format(
                kind=escape(kind_text(t, last.kind)),
                amount=t.money(last.amount),
                date=t.date(last.paid_on),
            )
        )
    else:
        lines.append(_("Last payment: none recorded yet"))
    if dues.sukarela_paid:
        lines.append(
            _("Simpanan sukarela saved: {amount}").format(amount=t.money(dues.sukarela_paid))
        )
    if not dues.settled:
        lines.append(how_to_pay_short(t, dues.coop))
        if dues.total != dues.this_month and dues.total != dues.arrears:
            lines.append(_("To pay here: {amount}").format(amount=t.money(dues.total)))
    return lines


def bill_text(t: Translator, statement: Statement, now: datetime) -> str:
    _ = t.gettext
    if not statement.dues:
        return _(
            "You have no active memberships, so nothing is due. Find a cooperative near you "
            "with /search; your cards are in /cards."
        )
    lines = [_("🧾 <b>Your dues</b> · {date}").format(date=t.date(now)), ""]
    for dues in statement.dues:
        lines += membership_block(t, dues)
        lines.append("")
    if statement.total:
        lines.append(_("<b>Total to pay: {amount}</b>").format(amount=t.money(statement.total)))
        lines.append(_("Already paid? Tap “✅ I have paid” so the board can confirm it."))
    else:
        lines.append(_("✅ All paid: nothing is due. Thank you!"))
    return "\n".join(lines)


def bill_keyboard(t: Translator, statement: Statement) -> InlineKeyboardMarkup | None:
    _ = t.gettext
    rows = []
    for dues in statement.dues:
        name = dues.coop.name
        rows.append(
            [
                InlineKeyboardButton(
                    _label(_("💳 How to pay: {coop}").format(coop=name)),
                    callback_data=HOW_TO_PAY(dues.coop.id),
                )
            ]
        )
        rows.append(
            [
                InlineKeyboardButton(
                    _label(_("✅ I have paid: {coop}").format(coop=name)),
                    callback_data=PROOF_START(dues.application.id),
                )
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


async def send_bill(context: BotContext, chat_id: int, user_id: int) -> None:
    now = datetime.now(UTC)
    statement = await context.services.dues.statement(user_id, now)
    await context.bot.send_message(
        chat_id,
        bill_text(context.t, statement, now),
        parse_mode=ParseMode.HTML,
        reply_markup=bill_keyboard(context.t, statement),
    )


async def bills_command(update: Update, context: BotContext) -> None:
    """Show what is due in every membership, and the total."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    await send_bill(context, chat.id, user.id)


async def on_bills(update: Update, context: BotContext) -> None:
    """Send the bill (from a reminder)."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    await query.answer()
    await send_bill(context, chat.id, user.id)


async def on_how_to_pay(update: Update, context: BotContext) -> None:
    """Send a cooperative's how-to-pay message (accounts, QRIS, cash)."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    (coop_id,) = HOW_TO_PAY.parse(query.data)
    coop = await context.services.directory.get(coop_id)
    if coop is None:
        await query.answer(context.gettext("This cooperative is no longer listed."))
        return
    await query.answer()
    statement = await context.services.dues.statement(user.id, datetime.now(UTC))
    number = next(
        (d.application.member_number for d in statement.dues if d.coop.id == coop_id), None
    )
    await send_how_to_pay(context.bot, chat.id, context.t, coop, member_number=number)


def _swap(markup: InlineKeyboardMarkup | None, old: str, new: InlineKeyboardButton) -> Any:
    """The keyboard with the button whose data is ``old`` replaced by ``new``."""
    if markup is None:
        return None
    return InlineKeyboardMarkup(
        [[new if b.callback_data == old else b for b in row] for row in markup.inline_keyboard]
    )


async def on_mute(update: Update, context: BotContext) -> None:
    """Stop (or restart) dues reminders about one cooperative."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None and query.data is not None
    _ = context.gettext
    muting = DUES_MUTE.matches(query.data)
    (coop_id,) = (DUES_MUTE if muting else DUES_UNMUTE).parse(query.data)
    coop = await context.services.directory.get(coop_id)
    name = coop.name if coop else "–"
    if muting:
        await context.services.reminders.mute(user.id, coop_id)
        answer = _("You will get no more dues reminders for {coop}.").format(coop=name)
        button = InlineKeyboardButton(
            _label(_("🔔 Remind me again for {coop}").format(coop=name)),
            callback_data=DUES_UNMUTE(coop_id),
        )
    else:
        await context.services.reminders.unmute(user.id, coop_id)
        answer = _("Dues reminders for {coop} are on again.").format(coop=name)
        button = InlineKeyboardButton(
            _label(_("🔕 Don't remind me for {coop}").format(coop=name)),
            callback_data=DUES_MUTE(coop_id),
        )
    await query.answer(answer[:200])
    message = query.message
    if message is not None and hasattr(message, "reply_markup"):
        await query.edit_message_reply_markup(_swap(message.reply_markup, query.data, button))


# --- the monthly reminder's words ---------------------------------------------------------


class ReminderMessages:
    """:class:`bot.services.reminders.ReminderTexts` for the running bot."""

    def __init__(self, i18n: I18n, users: UserService) -> None:
        self.i18n = i18n
        self.users = users

    async def reminder(self, user_id: int, owed: Sequence[Dues]) -> Notice:
        t = self.i18n.get(await self.users.recipient_locale(user_id))
        _ = t.gettext
        lines = [_("⏰ <b>Dues reminder</b>"), ""]
        for dues in owed:
            lines.append(
                _("• <b>{coop}</b>: {amount} · due {date}").format(
                    coop=escape(dues.coop.name),
                    amount=t.money(dues.total),
                    date=t.date(dues.due_date),
                )
            )
        total = sum(d.total for d in owed)
        lines += [
            "",
            _("<b>Total: {amount}</b>").format(amount=t.money(total)),
            _(
                "How to pay and what each amount is for: /dues. Already paid? Tap “✅ I have "
                "paid” there so the board can confirm it."
            ),
        ]
        buttons: list[list[dict[str, Any]]] = [
            [{"text": _("🧾 Open my dues"), "callback_data": BILLS()}]
        ]
        for dues in owed:
            label = _label(_("🔕 Don't remind me for {coop}").format(coop=dues.coop.name))
            buttons.append([{"text": label, "callback_data": DUES_MUTE(dues.coop.id)}])
        return Notice(user_id, "\n".join(lines), buttons)


HANDLERS: list[BaseHandler] = [
    CommandHandler(["dues", "tagihan"], bills_command),
    CallbackQueryHandler(on_bills, pattern=BILLS.pattern),
    CallbackQueryHandler(on_how_to_pay, pattern=HOW_TO_PAY.pattern),
    CallbackQueryHandler(on_mute, pattern=any_of(DUES_MUTE, DUES_UNMUTE)),
]
