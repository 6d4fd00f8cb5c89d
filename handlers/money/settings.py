"""The board's payment settings (admin profile → 💳 How members pay): bank accounts (add,
remove), a QRIS image (the board sends a photo), cash at the office with opening hours,
the due day and reminders on/off.

Typed parts and the QRIS photo go through the shared awaited-input conversation
(:mod:`handlers.awaited`, kind ``payment``): ``ask_part`` asks, :func:`on_text` (which
passes any other awaited text on to the admins' ``on_input_text``) and :func:`on_photo` take
the answer. Every change goes
through :class:`bot.services.payments.PaymentSettings`, which checks the role at that
moment and audits it.
"""

from __future__ import annotations

from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ConversationHandler

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.admin import Forbidden
from bot.services.profile import InputError
from bot.services.reminders import reminder_day
from handlers.admin import on_input_text
from handlers.admin.reply import respond
from handlers.awaited import clear, expect, pending, prompt_text
from handlers.callbacks import (
    HOW_TO_PAY,
    PAY_ACCOUNT_DEL,
    PAY_EDIT,
    PAY_QRIS_DEL,
    PAY_REMINDERS,
    PAY_SETTINGS,
    PROFILE,
)
from handlers.guard import actor, guarded, refuse
from storage.models import Cooperative, PaymentInfo


def _label(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


def settings_text(t: Translator, coop: Cooperative, info: PaymentInfo) -> str:
    _ = t.gettext
    lines = [
        _("💳 <b>How members pay</b> · {coop}").format(coop=escape(coop.name)),
        _("Members see this after approval, on their card, in /dues and in reminders."),
        "",
        _("🏦 Bank accounts:"),
    ]
    if info.banks:
        lines += [
            f"{n}. {escape(a.bank)} · <code>{escape(a.number)}</code> · {escape(a.holder)}"
            for n, a in enumerate(info.banks, start=1)
        ]
    else:
        lines.append("–")
    lines += [
        _("📱 QRIS: {value}").format(value=_("set ✅") if info.qris_file_id else "–"),
        _("🏢 Cash at the office: {value}").format(value=escape(info.cash or "–")),
        _("📅 Simpanan wajib is due on day {day} of each month.").format(day=info.due_day),
        _("🔔 Reminders: on, on day {day} (3 days before)").format(day=reminder_day(info.due_day))
        if info.reminders
        else _("🔕 Reminders: off"),
        "",
        _("Amounts (simpanan pokok and wajib) are in the profile."),
    ]
    return "\n".join(lines)


def settings_keyboard(t: Translator, coop: Cooperative, info: PaymentInfo) -> InlineKeyboardMarkup:
    _ = t.gettext
    rows = [
        [InlineKeyboardButton(_("🏦 Add a bank account"), callback_data=PAY_EDIT(coop.id, "bank"))]
    ]
    for n, account in enumerate(info.banks):
        rows.append(
            [
                InlineKeyboardButton(
                    _label(
                        _("🗑 Remove {bank} {number}").format(
                            bank=account.bank, number=account.number
                        )
                    ),
                    callback_data=PAY_ACCOUNT_DEL(coop.id, n),
                )
            ]
        )
    qris = [InlineKeyboardButton(_("📱 QRIS image"), callback_data=PAY_EDIT(coop.id, "qris"))]
    if info.qris_file_id:
        qris.append(InlineKeyboardButton(_("🗑 Remove QRIS"), callback_data=PAY_QRIS_DEL(coop.id)))
    rows.append(qris)
    rows.append(
        [
            InlineKeyboardButton(_("🏢 Cash and hours"), callback_data=PAY_EDIT(coop.id, "cash")),
            InlineKeyboardButton(_("📅 Due day"), callback_data=PAY_EDIT(coop.id, "due")),
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(
                _("🔕 Turn reminders off"), callback_data=PAY_REMINDERS(coop.id, "0")
            )
            if info.reminders
            else InlineKeyboardButton(
                _("🔔 Turn reminders on"), callback_data=PAY_REMINDERS(coop.id, "1")
            )
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(_("👁 As members see it"), callback_data=HOW_TO_PAY(coop.id)),
            InlineKeyboardButton(_("⬅ Profile"), callback_data=PROFILE(coop.id)),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def show(update: Update, context: BotContext, coop: Cooperative, info: PaymentInfo) -> None:
    await respond(
        update,
        context,
        settings_text(context.t, coop, info),
        settings_keyboard(context.t, coop, info),
    )


@guarded(PAY_SETTINGS)
async def on_settings(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Show how members pay, with a button per setting."""
    coop, info = await context.services.payments.get(user_id, coop_id)
    await show(update, context, coop, info)


@guarded(PAY_ACCOUNT_DEL)
async def on_remove_account(
    update: Update, context: BotContext, user_id: int, coop_id: str, index: int
) -> None:
    """Remove one bank account."""
    coop, info = await context.services.payments.remove_account(user_id, coop_id, index)
    await show(update, context, coop, info)


@guarded(PAY_QRIS_DEL)
async def on_remove_qris(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Remove the QRIS image."""
    coop, info = await context.services.payments.set_qris(user_id, coop_id, None)
    await show(update, context, coop, info)


@guarded(PAY_REMINDERS)
async def on_reminders(
    update: Update, context: BotContext, user_id: int, coop_id: str, value: str
) -> None:
    """Switch members' dues reminders on or off."""
    coop, info = await context.services.payments.set_reminders(user_id, coop_id, value == "1")
    await show(update, context, coop, info)


@guarded(PAY_EDIT, refused=ConversationHandler.END)
async def ask_part(
    update: Update, context: BotContext, user_id: int, coop_id: str, part: str
) -> int:
    """Ask for a bank account, the QRIS photo, the cash place and hours, or the due day."""
    await context.services.payments.get(user_id, coop_id)
    return await expect(update, context, "payment", coop=coop_id, field=part)


def error_text(t: Translator, error: InputError) -> str:
    _ = t.gettext
    messages = {
        "account_parts": _(
            "Type the bank, the account number and the account holder, separated by "
            "semicolons: BRI; 0123-01-000123-30-1; Koperasi Maju"
        ),
        "account_number": _(
            "The account number may have only digits, spaces and dashes (5 to 30 digits)."
        ),
        "account_bank": _("Type the bank's name (2 to 40 characters)."),
        "account_holder": _("Type the account holder's name (2 to 80 characters)."),
        "accounts_full": _("At most {max} accounts: remove one first."),
        "due_day": _("Type a day of the month from 1 to 28."),
        "too_long": _("Type 3 to {max} characters."),
        "qris_photo": _("Send the QRIS code as a photo."),
    }
    return "❗ " + messages.get(error.code, error.code).format(**error.params)


async def _take_text(
    update: Update, context: BotContext, waiting: dict[str, Any], text: str
) -> None:
    payments = context.services.payments
    user_id, coop_id, part = actor(update), waiting["coop"], waiting["field"]
    if part == "bank":
        coop, info = await payments.add_account(user_id, coop_id, text)
    elif part == "cash":
        coop, info = await payments.set_cash(user_id, coop_id, text)
    elif part == "due":
        coop, info = await payments.set_due_day(user_id, coop_id, text)
    else:  # the QRIS image is a photo, not text
        raise InputError("qris_photo")
    await show(update, context, coop, info)


async def on_text(update: Update, context: BotContext) -> int | None:
    """Take awaited text: a payment setting here, anything else as admins' typed input."""
    waiting = pending(context)
    if waiting is None or waiting["kind"] != "payment":
        return await on_input_text(update, context)
    message = update.effective_message
    assert message is not None
    try:
        await _take_text(update, context, waiting, message.text or "")
    except InputError as error:
        await message.reply_text(
            error_text(context.t, error)
            + "\n\n"
            + prompt_text(context.t, "payment", waiting.get("field"))
        )
        return None
    except Forbidden:
        await refuse(update, context)
    clear(context)
    return ConversationHandler.END


async def on_photo(update: Update, context: BotContext) -> int | None:
    """Take a photo as the cooperative's QRIS image."""
    message = update.effective_message
    assert message is not None
    waiting = pending(context)
    if waiting is None:
        return ConversationHandler.END
    if waiting["kind"] != "payment" or waiting.get("field") != "qris" or not message.photo:
        await message.reply_text(prompt_text(context.t, waiting["kind"], waiting.get("field")))
        return None
    try:
        coop, info = await context.services.payments.set_qris(
            actor(update), waiting["coop"], message.photo[-1].file_id
        )
    except Forbidden:
        await refuse(update, context)
        clear(context)
        return ConversationHandler.END
    clear(context)
    await show(update, context, coop, info)
    return ConversationHandler.END


ENTRY_POINTS: list[BaseHandler] = [CallbackQueryHandler(ask_part, pattern=PAY_EDIT.pattern)]

HANDLERS: list[BaseHandler] = [
    CallbackQueryHandler(on_settings, pattern=PAY_SETTINGS.pattern),
    CallbackQueryHandler(on_remove_account, pattern=PAY_ACCOUNT_DEL.pattern),
    CallbackQueryHandler(on_remove_qris, pattern=PAY_QRIS_DEL.pattern),
    CallbackQueryHandler(on_reminders, pattern=PAY_REMINDERS.pattern),
]
