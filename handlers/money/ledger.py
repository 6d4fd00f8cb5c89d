"""Entering the board's ledger in the chat: record a payment, correct or void an entry.

Record: member (number or name; several matches → buttons) → kind (buttons) → amount
(typed: "50000", "50.000", "Rp 50.000", "50rb", "50 ribu") → date (Today / Yesterday, or
typed) → note (or Skip) → confirm → recorded, and the member gets a receipt. Correct: a
reason, then the same questions; the old entry is voided and the corrected one replaces it
(the member gets a corrected receipt). Void: a reason.

The steps run in the shared awaited-input conversation (:mod:`handlers.awaited`, kind
``"ledger"``): every button here is one of its entry points, so a new request replaces
whatever was awaited and /cancel stops it. The draft (:class:`PaymentDraft`) lives in
``user_data["admin_input"]``; a wrong answer is refused with the reason and the question
again, and nothing answered before is lost. The service checks the role at every step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, ConversationHandler

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.admin import Forbidden
from bot.services.ledgerinput import LedgerInputError, parse_day, parse_money
from handlers.awaited import KEY, Wait, clear, pending
from handlers.callbacks import (
    LEDGER_DAY,
    LEDGER_FIND,
    LEDGER_FIX,
    LEDGER_KIND,
    LEDGER_PICK,
    LEDGER_RECORD,
    LEDGER_SAVE,
    LEDGER_SKIP,
    LEDGER_STOP,
    LEDGER_VIEW,
    LEDGER_VOID,
)
from handlers.guard import Handler, actor, guarded, refuse
from handlers.money.ledger_view import entry_line, show_member
from handlers.money.receipts import kind_text, send_receipt
from storage.models import LEDGER_KINDS

KIND = "ledger"  # the awaited-input kind of every step here


@dataclass(slots=True)
class PaymentDraft:
    """A payment being entered (or an entry being corrected or voided)."""

    coop: str
    purpose: str = "record"  # record | view (find a member) | correct | void
    step: str = "member"  # member | kind | amount | date | note | confirm | reason | file
    application: str | None = None
    number: str | None = None  # the member number, to show
    saving: str | None = None  # the kind of savings: pokok, wajib, sukarela
    amount: int | None = None
    paid_on: str | None = None  # ISO date
    note: str | None = None
    entry: str | None = None  # the entry corrected or voided
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": KIND, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PaymentDraft:
        names = cls.__slots__
        return cls(**{k: v for k, v in data.items() if k in names})


def current(context: BotContext) -> PaymentDraft | None:
    waiting = pending(context)
    if waiting is None or waiting.get("kind") != KIND:
        return None
    return PaymentDraft.from_dict(waiting)


def keep(context: BotContext, draft: PaymentDraft) -> int:
    assert context.user_data is not None
    context.user_data[KEY] = draft.to_dict()
    return Wait.INPUT


# --- the questions -----------------------------------------------------------------------


def question(t: Translator, draft: PaymentDraft) -> tuple[str, InlineKeyboardMarkup | None]:
    """The step's question and its buttons."""
    _ = t.gettext
    stop = [InlineKeyboardButton(_("✖ Cancel"), callback_data=LEDGER_STOP())]
    number = escape(draft.number or "")
    if draft.step == "member":
        return _("Type the member number or the member's name:") + "\n" + _(
            "(/cancel to stop)"
        ), None
    if draft.step == "file":
        return _(
            "Send the payments as an Excel (.xlsx) or CSV file, at most 10 MB, with the "
            "columns nomor_anggota, tanggal, jenis, jumlah, referensi (or member_number, "
            "date, kind, amount, reference) and optionally catatan (note). Jenis is pokok, "
            "wajib or sukarela; a payment already imported (same reference) is skipped."
        ) + "\n" + _("(/cancel to stop)"), None
    if draft.step == "reason":
        text = (
            _("Why is this entry voided? Type the reason (it stays in the ledger):")
            if draft.purpose == "void"
            else _("Why is this entry corrected? Type the reason (it stays in the ledger):")
        )
        return text, InlineKeyboardMarkup([stop])
    if draft.step == "kind":
        rows = [
            [InlineKeyboardButton(kind_text(t, k), callback_data=LEDGER_KIND(k))]
            for k in LEDGER_KINDS
        ]
        return _("Payment of <code>{number}</code>: which savings?").format(
            number=number
        ), InlineKeyboardMarkup([*rows, stop])
    if draft.step == "amount":
        return (
            _("How much was paid? Type the amount in rupiah (e.g. 50000, 50.000 or 50rb):"),
            InlineKeyboardMarkup([stop]),
        )
    if draft.step == "date":
        return _(
            "When was it paid? Tap a button or type the date (dd/mm/yyyy):"
        ), InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(_("Today"), callback_data=LEDGER_DAY("0")),
                    InlineKeyboardButton(_("Yesterday"), callback_data=LEDGER_DAY("1")),
                ],
                stop,
            ]
        )
    if draft.step == "note":
        return _("Type a note (e.g. “cash at the office”), or skip:"), InlineKeyboardMarkup(
            [[InlineKeyboardButton(_("Skip ➡"), callback_data=LEDGER_SKIP())], stop]
        )
    return summary(t, draft), InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("✅ Record"), callback_data=LEDGER_SAVE())], stop]
    )


def summary(t: Translator, draft: PaymentDraft) -> str:
    _ = t.gettext
    assert draft.saving and draft.amount and draft.paid_on
    lines = [
        _("Record this correction?") if draft.purpose == "correct" else _("Record this payment?"),
        "",
        _("Member number: {number}").format(number=f"<code>{escape(draft.number or '–')}</code>"),
        _("Payment: {kind}").format(kind=escape(kind_text(t, draft.saving))),
        _("Amount: {amount}").format(amount=t.money(draft.amount)),
        _("Date: {date}").format(date=t.date(date.fromisoformat(draft.paid_on))),
    ]
    if draft.note:
        lines.append(_("Note: {note}").format(note=escape(draft.note)))
    if draft.reason:
        lines.append(_("Reason for the correction: {reason}").format(reason=escape(draft.reason)))
    return "\n".join(lines)


async def ask(
    update: Update, context: BotContext, draft: PaymentDraft, error: str | None = None
) -> int:
    """Keep the draft and ask its step's question (after the reason an answer was refused)."""
    keep(context, draft)
    text, markup = question(context.t, draft)
    if error:
        text = "❗ " + error + "\n\n" + text
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup)
    return Wait.INPUT


def error_text(t: Translator, error: LedgerInputError) -> str:
    _ = t.gettext
    messages = {
        "amount_invalid": _("That is not an amount in rupiah."),
        "amount_fraction": _("Payments are recorded in whole rupiah, without cents."),
        "amount_zero": _("The amount must be more than zero."),
        "amount_too_large": _("That is more than Rp1.000.000.000: please check the zeros."),
        "date_invalid": _("That is not a date."),
        "date_future": _("That date is still to come: record a payment once it is received."),
        "date_too_old": _("That date is too long ago."),
        "reason_short": _("Please type a reason of a few words."),
        "kind_unknown": _("Choose the kind of savings with the buttons."),
    }
    return messages.get(error.code, error.code)


# --- the buttons (entry points of the awaited-input conversation) -----------------------


async def expired(update: Update, context: BotContext) -> int:
    """A button of a payment no longer being entered."""
    assert update.callback_query is not None
    await update.callback_query.answer(
        context.gettext("That payment is no longer being entered. Start again from /admin."),
        show_alert=True,
    )
    return ConversationHandler.END


@guarded(LEDGER_RECORD, refused=ConversationHandler.END)
async def ask_record(update: Update, context: BotContext, user_id: int, coop_id: str) -> int:
    """Start recording a payment: ask for the member."""
    await context.services.ledger.coop(user_id, coop_id, "ledger_record")
    return await ask(update, context, PaymentDraft(coop=coop_id))


@guarded(LEDGER_FIND, refused=ConversationHandler.END)
async def ask_find(update: Update, context: BotContext, user_id: int, coop_id: str) -> int:
    """Ask which member's ledger to open."""
    await context.services.ledger.coop(user_id, coop_id)
    return await ask(update, context, PaymentDraft(coop=coop_id, purpose="view"))


@guarded(LEDGER_PICK, refused=ConversationHandler.END)
async def on_pick(update: Update, context: BotContext, user_id: int, application_id: str) -> int:
    """Record a payment of this member: ask the kind."""
    member, coop = await context.services.ledger.membership(
        user_id, application_id, "ledger_record"
    )
    draft = PaymentDraft(
        coop=coop.id, application=member.id, number=member.member_number, step="kind"
    )
    return await ask(update, context, draft)


@guarded(LEDGER_KIND, refused=ConversationHandler.END)
async def on_kind(update: Update, context: BotContext, user_id: int, kind: str) -> int:
    """Take the kind of savings; ask the amount."""
    draft = current(context)
    if draft is None or draft.application is None:
        return await expired(update, context)
    await context.services.ledger.membership(user_id, draft.application, "ledger_record")
    draft.saving, draft.step = kind, "amount"
    return await ask(update, context, draft)


@guarded(LEDGER_DAY, refused=ConversationHandler.END)
async def on_day(update: Update, context: BotContext, user_id: int, days_ago: str) -> int:
    """Take today or yesterday as the day paid; ask for a note."""
    draft = current(context)
    if draft is None or draft.amount is None:
        return await expired(update, context)
    coop = await context.services.ledger.coop(user_id, draft.coop, "ledger_record")
    today = context.services.ledger.today(coop)
    draft.paid_on = (today - timedelta(days=int(days_ago))).isoformat()
    draft.step = "note"
    return await ask(update, context, draft)


@guarded(LEDGER_SKIP, refused=ConversationHandler.END)
async def on_skip(update: Update, context: BotContext, user_id: int) -> int:
    """No note: show the payment to confirm."""
    draft = current(context)
    if draft is None or draft.paid_on is None:
        return await expired(update, context)
    draft.note, draft.step = None, "confirm"
    return await ask(update, context, draft)


@guarded(LEDGER_STOP, refused=ConversationHandler.END)
async def on_stop(update: Update, context: BotContext, user_id: int) -> int:
    """Forget the payment being entered."""
    if current(context) is not None:
        clear(context)
    assert update.callback_query is not None
    await update.callback_query.answer()
    await context.bot.send_message(user_id, context.gettext("Cancelled."))
    return ConversationHandler.END


@guarded(LEDGER_SAVE, refused=ConversationHandler.END)
async def on_save(update: Update, context: BotContext, user_id: int) -> int:
    """Record the payment (or the correction) and send the member their receipt."""
    draft = current(context)
    if draft is None or draft.step != "confirm" or draft.application is None:
        return await expired(update, context)
    assert draft.saving and draft.amount and draft.paid_on
    ledger = context.services.ledger
    values: dict[str, Any] = {
        "kind": draft.saving,
        "amount": draft.amount,
        "paid_on": date.fromisoformat(draft.paid_on),
        "note": draft.note,
    }
    _ = context.gettext
    try:
        if draft.purpose == "correct":
            assert draft.entry and draft.reason
            entry, coop = await ledger.correct(user_id, draft.entry, draft.reason, **values)
        else:
            entry, coop = await ledger.record(user_id, draft.application, **values)
    except LedgerInputError as error:  # the day passed midnight into the future? re-ask
        draft.step = "date" if error.code.startswith("date") else "amount"
        return await ask(update, context, draft, error_text(context.t, error))
    clear(context)
    assert update.callback_query is not None
    await update.callback_query.answer()
    if entry is None:
        await context.bot.send_message(
            user_id, _("That entry was already voided (by another admin?): nothing changed.")
        )
    else:
        told = await send_receipt(context, entry, coop)
        text = (
            _("✅ Recorded.")
            + " "
            + (
                _("The member got a receipt.")
                if told
                else _("The member could not be sent a receipt.")
            )
        )
        await context.bot.send_message(user_id, text)
    await show_member(update, context, draft.application, fresh=True)
    return ConversationHandler.END


@guarded(LEDGER_VOID, refused=ConversationHandler.END)
async def ask_void(update: Update, context: BotContext, user_id: int, entry_id: str) -> int:
    """Ask why the entry is voided."""
    entry, coop = await context.services.ledger.entry(user_id, entry_id, "ledger_void")
    if entry.status != "valid":
        return await expired(update, context)
    draft = PaymentDraft(
        coop=coop.id,
        purpose="void",
        step="reason",
        application=entry.application_id,
        number=entry.member_number,
        entry=entry.id,
    )
    return await ask(update, context, draft)


@guarded(LEDGER_FIX, refused=ConversationHandler.END)
async def ask_fix(update: Update, context: BotContext, user_id: int, entry_id: str) -> int:
    """Ask why the entry is corrected, then the corrected payment."""
    entry, coop = await context.services.ledger.entry(user_id, entry_id, "ledger_correct")
    if entry.status != "valid":
        return await expired(update, context)
    draft = PaymentDraft(
        coop=coop.id,
        purpose="correct",
        step="reason",
        application=entry.application_id,
        number=entry.member_number,
        entry=entry.id,
        note=entry.note,
    )
    return await ask(update, context, draft)


ENTRY_POINTS: list[BaseHandler] = [
    CallbackQueryHandler(callback, pattern=kind.pattern)
    for callback, kind in (
        (ask_record, LEDGER_RECORD),
        (ask_find, LEDGER_FIND),
        (on_pick, LEDGER_PICK),
        (on_kind, LEDGER_KIND),
        (on_day, LEDGER_DAY),
        (on_skip, LEDGER_SKIP),
        (on_stop, LEDGER_STOP),
        (on_save, LEDGER_SAVE),
        (ask_void, LEDGER_VOID),
        (ask_fix, LEDGER_FIX),
    )
]


# --- typed answers -----------------------------------------------------------------------


async def on_text(update: Update, context: BotContext) -> int | None:
    """Take a typed answer to the step's question."""
    message = update.effective_message
    draft = current(context)
    assert message is not None and draft is not None
    text = (message.text or "").strip()
    user_id = actor(update)
    try:
        return await answer(update, context, user_id, draft, text)
    except LedgerInputError as error:
        return await ask(update, context, draft, error_text(context.t, error))
    except Forbidden:
        await refuse(update, context)
        clear(context)
        return ConversationHandler.END


async def answer(
    update: Update, context: BotContext, user_id: int, draft: PaymentDraft, text: str
) -> int | None:
    ledger = context.services.ledger
    t = context.t
    if draft.step == "member":
        return await find_member(update, context, user_id, draft, text)
    if draft.step == "amount":
        draft.amount = parse_money(text)
        draft.step = "date"
    elif draft.step == "date":
        coop = await ledger.coop(user_id, draft.coop, "ledger_record")
        draft.paid_on = parse_day(text, ledger.today(coop)).isoformat()
        draft.step = "note"
    elif draft.step == "note":
        draft.note = text[:200] or None
        draft.step = "confirm"
    elif draft.step == "reason" and draft.purpose == "void":
        assert draft.entry is not None
        entry, _ = await ledger.void(user_id, draft.entry, text)
        clear(context)
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            t.gettext("🚫 Voided: {entry}").format(entry=entry_line(t, entry))
            if entry
            else t.gettext("That entry was already voided (by another admin?): nothing changed."),
            parse_mode=ParseMode.HTML,
        )
        assert draft.application is not None
        await show_member(update, context, draft.application)
        return ConversationHandler.END
    elif draft.step == "reason":
        if len(text) < 3:
            raise LedgerInputError("reason_short")
        draft.reason = text[:300]
        draft.step = "kind"
    elif draft.step in ("kind", "confirm"):
        return await ask(update, context, draft, t.gettext("Please use the buttons."))
    return await ask(update, context, draft)  # the next question


async def find_member(
    update: Update, context: BotContext, user_id: int, draft: PaymentDraft, text: str
) -> int | None:
    """One match: go on; several: buttons; none: ask again."""
    t = context.t
    members, total = await context.services.ledger.find_members(user_id, draft.coop, text)
    if not members:
        error = t.gettext("No member matches “{query}”.").format(query=escape(text[:100]))
        return await ask(update, context, draft, error)
    if len(members) == 1 and total == 1:
        if draft.purpose == "view":
            clear(context)
            await show_member(update, context, members[0].id)
            return ConversationHandler.END
        draft.application, draft.number = members[0].id, members[0].member_number
        draft.step = "kind"
        return await ask(update, context, draft)
    target = LEDGER_VIEW if draft.purpose == "view" else LEDGER_PICK
    rows = [
        [
            InlineKeyboardButton(
                f"{m.member_number or '–'} · {(m.full_name or '')[:40]}",
                callback_data=target(m.id),
            )
        ]
        for m in members
    ]
    lines = [t.gettext("Several members match: choose one.")]
    if total > len(members):
        lines.append(
            t.gettext("Showing {shown} of {total}: type more of the name to narrow it.").format(
                shown=len(members), total=total
            )
        )
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(rows)
    )
    keep(context, draft)
    return None


def route(own: Handler[int | None], other: Handler[int | None]) -> Handler[int | None]:
    """The awaited conversation's callback: ``own`` for the ledger's steps, else ``other``."""

    async def callback(update: Update, context: BotContext) -> int | None:
        waiting = pending(context)
        if waiting is not None and waiting.get("kind") == KIND:
            return await own(update, context)
        return await other(update, context)

    return callback
