"""The board's view of its ledger: the savings screen (from the /admin panel), a member's
ledger with its entries, one entry (correct, void), who owes, totals, the .xlsx export.

Every screen asks :class:`bot.services.ledger.LedgerService`, which checks that the user
runs that cooperative now (refusals audited); entering a payment is ``ledger.py``.
"""

from __future__ import annotations

import re
from datetime import date
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.dues import Dues
from handlers.admin.reply import respond
from handlers.awaited import clear, pending
from handlers.callbacks import (
    LEDGER_ENTRY,
    LEDGER_EXPORT,
    LEDGER_FIND,
    LEDGER_FIX,
    LEDGER_IMPORT,
    LEDGER_MENU,
    LEDGER_OWING,
    LEDGER_PICK,
    LEDGER_RECORD,
    LEDGER_TOTALS,
    LEDGER_VIEW,
    LEDGER_VOID,
    PANEL,
)
from handlers.guard import actor, guarded
from handlers.money.receipts import kind_text
from storage.models import Application, LedgerEntry

OWING_PAGE = 10
ENTRIES_SHOWN = 15
ENTRY_BUTTONS = 8


def month_text(t: Translator, month: str) -> str:
    return t.date(date(int(month[:4]), int(month[5:7]), 1), "MMMM y")


def member_title(member: Application) -> str:
    number = escape(member.member_number or "–")
    return f"<code>{number}</code> {escape(member.full_name or '')}".strip()


def dues_lines(t: Translator, dues: Dues) -> list[str]:
    """What the member owes, as the board sees it."""
    _ = t.gettext
    if dues.settled:
        lines = [_("✅ Nothing owed.")]
    else:
        lines = [
            _("Owes {total}: this month {this}, arrears {arrears}").format(
                total=t.money(dues.total),
                this=t.money(dues.this_month),
                arrears=t.money(dues.arrears),
            )
        ]
        if dues.arrears_months:
            lines.append(
                t.ngettext(
                    "{n} month of simpanan wajib in arrears",
                    "{n} months of simpanan wajib in arrears",
                    dues.arrears_months,
                ).format(n=dues.arrears_months)
            )
    if dues.pokok:
        lines.append(
            _("Simpanan pokok: paid")
            if not dues.pokok_open
            else _("Simpanan pokok: {amount} open").format(amount=t.money(dues.pokok_open))
        )
    if dues.wajib:
        lines.append(
            _("Simpanan wajib paid through {month}").format(month=month_text(t, dues.paid_through))
            if dues.paid_through
            else _("Simpanan wajib: no month paid yet")
        )
    if dues.sukarela_paid:
        lines.append(
            _("Simpanan sukarela saved: {amount}").format(amount=t.money(dues.sukarela_paid))
        )
    return lines


def entry_line(t: Translator, entry: LedgerEntry) -> str:
    icon = "🚫" if entry.status == "void" else "✅"
    parts = [t.date(entry.paid_on, "medium"), kind_text(t, entry.kind), t.money(entry.amount)]
    if entry.reference:
        parts.append(entry.reference)
    line = f"{icon} " + escape(" · ".join(parts))
    if entry.status == "void":
        line = f"<s>{line}</s>"
        if entry.void_reason:
            line += " " + escape(t.gettext("(void: {reason})").format(reason=entry.void_reason))
    return line


def entry_button(t: Translator, entry: LedgerEntry) -> InlineKeyboardButton:
    parts = (t.date(entry.paid_on, "short"), kind_text(t, entry.kind), t.money(entry.amount))
    label = "✏️ " + " · ".join(parts)
    return InlineKeyboardButton(label[:60], callback_data=LEDGER_ENTRY(entry.id))


async def menu_text(context: BotContext, user_id: int, coop_id: str) -> tuple[str, str]:
    """The savings screen's text, and the cooperative's id."""
    t = context.t
    _ = t.gettext
    ledger = context.services.ledger
    coop = await ledger.coop(user_id, coop_id)
    owing = await ledger.owing(user_id, coop_id)
    in_arrears = sum(1 for o in owing if o.dues.arrears > 0)
    totals = await ledger.totals(user_id, coop_id)
    lines = [
        _("💰 <b>Savings</b> · {coop}").format(coop=escape(coop.name)),
        "",
        t.ngettext(
            "{n} member owes {amount} in total; {late} of them in arrears",
            "{n} members owe {amount} in total; {late} of them in arrears",
            len(owing),
        ).format(
            n=t.number(len(owing)),
            amount=t.money(sum(o.dues.total for o in owing)),
            late=t.number(in_arrears),
        ),
        _("Received this month: {amount}").format(amount=t.money(totals.per_month[-1])),
    ]
    if not (coop.simpanan_pokok or coop.simpanan_wajib):
        lines.append(_("Set the simpanan pokok and wajib in the profile to see what members owe."))
    return "\n".join(lines), coop.id


def menu_keyboard(t: Translator, coop_id: str) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("🧾 Record a payment"), callback_data=LEDGER_RECORD(coop_id))],
            [InlineKeyboardButton(_("📒 A member's ledger"), callback_data=LEDGER_FIND(coop_id))],
            [
                InlineKeyboardButton(_("⚠️ Who owes"), callback_data=LEDGER_OWING(coop_id, 0)),
                InlineKeyboardButton(_("📈 Totals"), callback_data=LEDGER_TOTALS(coop_id)),
            ],
            [
                InlineKeyboardButton(
                    _("📥 Import (Excel/CSV)"), callback_data=LEDGER_IMPORT(coop_id)
                ),
                InlineKeyboardButton(_("📊 Export (Excel)"), callback_data=LEDGER_EXPORT(coop_id)),
            ],
            [InlineKeyboardButton(_("⬅ Panel"), callback_data=PANEL(coop_id))],
        ]
    )


@guarded(LEDGER_MENU)
async def on_menu(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Show the cooperative's savings screen."""
    text, coop = await menu_text(context, user_id, coop_id)
    await respond(update, context, text, menu_keyboard(context.t, coop))


async def show_member(
    update: Update, context: BotContext, application_id: str, *, fresh: bool = False
) -> None:
    """A member's ledger: what they owe, the latest entries, buttons to change them (in a
    new message when ``fresh``: the button's message is kept, e.g. a confirmation)."""
    user_id = actor(update)
    member, coop, entries, dues = await context.services.ledger.history(user_id, application_id)
    t = context.t
    _ = t.gettext
    lines = [
        _("📒 {member} · {coop}").format(member=member_title(member), coop=escape(coop.name)),
        "",
        *dues_lines(t, dues),
        "",
    ]
    lines += [entry_line(t, e) for e in entries[:ENTRIES_SHOWN]] or [_("No payments recorded.")]
    if len(entries) > ENTRIES_SHOWN:
        lines.append(
            _("… and {n} earlier (all of them are in the export).").format(
                n=len(entries) - ENTRIES_SHOWN
            )
        )
    valid = [e for e in entries if e.status == "valid"][:ENTRY_BUTTONS]
    rows = [[entry_button(t, e)] for e in valid]
    rows.append(
        [InlineKeyboardButton(_("🧾 Record a payment"), callback_data=LEDGER_PICK(member.id))]
    )
    rows.append([InlineKeyboardButton(_("⬅ Savings"), callback_data=LEDGER_MENU(coop.id))])
    text, markup = "\n".join(lines)[:4000], InlineKeyboardMarkup(rows)
    if fresh:
        await context.bot.send_message(
            user_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    else:
        await respond(update, context, text, markup)


@guarded(LEDGER_VIEW)
async def on_view(update: Update, context: BotContext, user_id: int, application_id: str) -> None:
    """Show a member's ledger."""
    waiting = pending(context)
    if waiting is not None and waiting.get("kind") == "ledger" and waiting.get("step") == "member":
        clear(context)  # the member was chosen from a search's buttons
    await show_member(update, context, application_id)


@guarded(LEDGER_ENTRY)
async def on_entry(update: Update, context: BotContext, user_id: int, entry_id: str) -> None:
    """Show one entry, with correct and void."""
    entry, _coop = await context.services.ledger.entry(user_id, entry_id)
    t = context.t
    _ = t.gettext
    lines = [
        entry_line(t, entry),
        _("Member number: {number}").format(
            number=f"<code>{escape(entry.member_number or '–')}</code>"
        ),
    ]
    if entry.note:
        lines.append(_("Note: {note}").format(note=escape(entry.note)))
    lines.append(_("Recorded: {moment}").format(moment=t.datetime(entry.created_at, "short")))
    rows = []
    if entry.status == "valid":
        rows.append(
            [
                InlineKeyboardButton(_("✏️ Correct"), callback_data=LEDGER_FIX(entry.id)),
                InlineKeyboardButton(_("🚫 Void"), callback_data=LEDGER_VOID(entry.id)),
            ]
        )
    rows.append(
        [InlineKeyboardButton(_("⬅ Back"), callback_data=LEDGER_VIEW(entry.application_id))]
    )
    await respond(update, context, "\n".join(lines), InlineKeyboardMarkup(rows))


@guarded(LEDGER_OWING)
async def on_owing(
    update: Update, context: BotContext, user_id: int, coop_id: str, page: int
) -> None:
    """Show the members who owe, the largest amount first."""
    owing = await context.services.ledger.owing(user_id, coop_id)
    t = context.t
    _ = t.gettext
    shown = owing[page * OWING_PAGE : (page + 1) * OWING_PAGE]
    lines = [
        _("⚠️ <b>Who owes</b> ({n}), the largest amount first").format(n=t.number(len(owing))),
        "",
    ]
    for o in shown:
        months = (
            " "
            + t.ngettext(
                "({n} month in arrears)", "({n} months in arrears)", o.dues.arrears_months
            ).format(n=o.dues.arrears_months)
            if o.dues.arrears_months
            else ""
        )
        lines.append(f"• {member_title(o.member)} — {t.money(o.dues.total)}{escape(months)}")
    if not owing:
        lines.append(_("Nobody owes anything. 🎉"))
    rows = [
        [
            InlineKeyboardButton(
                f"{o.member.member_number or '–'} · {t.money(o.dues.total)}",
                callback_data=LEDGER_VIEW(o.member.id),
            )
        ]
        for o in shown
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀", callback_data=LEDGER_OWING(coop_id, page - 1)))
    if (page + 1) * OWING_PAGE < len(owing):
        nav.append(InlineKeyboardButton("▶", callback_data=LEDGER_OWING(coop_id, page + 1)))
    if nav:
        rows.append(nav)
    rows.append([InlineKeyboardButton(_("⬅ Savings"), callback_data=LEDGER_MENU(coop_id))])
    await respond(update, context, "\n".join(lines), InlineKeyboardMarkup(rows))


@guarded(LEDGER_TOTALS)
async def on_totals(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Show the payments received per month (the last 12) and per kind."""
    totals = await context.services.ledger.totals(user_id, coop_id)
    t = context.t
    _ = t.gettext
    lines = [_("📈 <b>Payments received</b>"), "", _("<b>Per month</b>")]
    lines += [
        f"• {escape(month_text(t, m))}: {t.money(amount)}"
        for m, amount in zip(totals.months, totals.per_month, strict=True)
    ]
    lines += ["", _("<b>Per kind</b> (all time)")]
    lines += [f"• {escape(kind_text(t, k))}: {t.money(v)}" for k, v in totals.per_kind.items()]
    lines += ["", _("Total: {amount}").format(amount=t.money(totals.total))]
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("⬅ Savings"), callback_data=LEDGER_MENU(coop_id))]]
    )
    await respond(update, context, "\n".join(lines), markup)


@guarded(LEDGER_EXPORT)
async def on_export(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Send the whole ledger as an Excel workbook (written to the audit log)."""
    coop = await context.services.ledger.coop(user_id, coop_id, "ledger_export")
    data = await context.services.ledger.export(user_id, coop_id, context.t)
    assert update.callback_query is not None
    await update.callback_query.answer()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", coop.registration_number or coop.id).strip("-")
    # TRANSLATORS: the start of the ledger export's file name (ASCII, no spaces).
    stem = context.gettext("ledger")
    await context.bot.send_document(
        user_id,
        InputFile(data, filename=f"{stem}-{name}.xlsx"),
        caption=context.gettext(
            "📊 The savings ledger of {coop}, voided entries included."
        ).format(coop=escape(coop.name)),
        parse_mode=ParseMode.HTML,
    )


HANDLERS: list[BaseHandler] = [
    CallbackQueryHandler(callback, pattern=kind.pattern)
    for callback, kind in (
        (on_menu, LEDGER_MENU),
        (on_view, LEDGER_VIEW),
        (on_entry, LEDGER_ENTRY),
        (on_owing, LEDGER_OWING),
        (on_totals, LEDGER_TOTALS),
        (on_export, LEDGER_EXPORT),
    )
]
