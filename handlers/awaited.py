"""Typed input a button or a command asked for: one small persistent conversation.

A button (a rejection reason, a member search, a profile field: ``handlers/admin/input.py``)
or /import (``handlers/operator/importing.py``) says what is expected, and the next message
provides it. Admins and operators share this one conversation ("admin_input", its name in
persistence), so a new request replaces the one waiting and /cancel stops whichever it is.
Permission is checked when the button is pressed and again when the answer arrives.

What is awaited is kept in ``user_data["admin_input"]``: ``kind`` (reject, suspend,
reinstate, search, profile, import, payment: ``handlers/money/settings.py``) and its target
(``target``, ``coop``, ``field``).
"""

from __future__ import annotations

import time
import warnings
from enum import IntEnum
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import BotContext
from bot.i18n import Translator
from handlers.guard import Handler

KEY = "admin_input"


class Wait(IntEnum):
    INPUT = 1


# Quiet minutes after which typed input is no longer awaited. The conversation's own
# timeout does the same while the process runs; this one also holds after a restart (the
# conversation's state is persisted, its timeout job is not), so a board member who left
# an input half way is never answered "type the reason…" days later.
IDLE_S = 600


def pending(context: BotContext) -> dict[str, Any] | None:
    """What is awaited, if anything (and not forgotten after :data:`IDLE_S` quiet seconds;
    each look counts as activity)."""
    assert context.user_data is not None
    waiting = context.user_data.get(KEY)
    if not isinstance(waiting, dict):
        return None
    now = time.time()
    at = waiting.get("at")
    if isinstance(at, (int, float)) and now - at > IDLE_S:
        clear(context)
        return None
    waiting["at"] = now
    return waiting


def clear(context: BotContext) -> None:
    assert context.user_data is not None
    context.user_data.pop(KEY, None)


async def expect(update: Update, context: BotContext, kind: str, **values: Any) -> int:
    """Remember what is awaited, ask for it, and wait."""
    assert context.user_data is not None
    context.user_data[KEY] = {"kind": kind, **values, "at": time.time()}
    query = update.callback_query
    if query is not None:
        await query.answer()
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, prompt_text(context.t, kind, values.get("field")))
    return Wait.INPUT


def prompt_text(t: Translator, kind: str, field: str | None = None) -> str:
    """What to type (or send) for each kind of awaited input."""
    _ = t.gettext
    prompts = {
        "reject": _("Type the reason for the rejection (the applicant will see it):"),
        "suspend": _("Type the reason for the suspension (the member will see it):"),
        "reinstate": _("Type the reason for reinstating the member:"),
        "search": _("Type a name or a member number to search for:"),
        "import": _(
            "Send the directory as a CSV (or GeoJSON) file, at most 10 MB. Columns: "
            "name,type,latitude,longitude,… (see the README)."
        ),
        "ledger": _("Answer the question above, or use its buttons."),  # the board's ledger
    }
    fields = {
        "description": _("Type the new description (up to 1,000 characters):"),
        "services": _(
            "Type the services, separated by commas (e.g. sembako, apotek, simpan_pinjam):"
        ),
        "phone": _("Type the cooperative's phone number:"),
        "opening_hours": _("Type the opening hours (e.g. Mon–Fri 08.00–16.00):"),
        "simpanan_pokok": _("Type the simpanan pokok in rupiah (e.g. 50000):"),
        "simpanan_wajib": _("Type the monthly simpanan wajib in rupiah (e.g. 10000):"),
        "rat_year": _("Type the year of the last annual members' meeting (RAT):"),
        "location": _("Share the cooperative's location (📎 → Location), or send a venue:"),
    }
    payment = {
        "bank": _(
            "Type the bank, the account number and the account holder, separated by "
            "semicolons (e.g. BRI; 0123-01-000123-30-1; Koperasi Maju):"
        ),
        "qris": _("Send the cooperative's QRIS code as a photo:"),
        "cash": _(
            "Type where and when members can pay in cash (e.g. Kantor koperasi, Jl. Mawar 1, "
            "Mon–Fri 08.00–15.00), or - to remove it:"
        ),
        "due": _("Type the day of the month simpanan wajib is due (1 to 28):"),
    }
    if kind == "profile":
        text = fields.get(field or "", "")
    elif kind == "payment":
        text = payment.get(field or "", "")
    else:
        text = prompts[kind]
    return text + "\n" + _("(/cancel to stop)")


async def on_cancel(update: Update, context: BotContext) -> int:
    """Stop waiting for input (/cancel)."""
    clear(context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.gettext("Cancelled."))
    return ConversationHandler.END


async def on_other(update: Update, context: BotContext) -> int | None:
    """Say what is expected when anything else arrives while input is awaited."""
    waiting = pending(context)
    assert update.effective_message is not None
    if waiting is None:
        return ConversationHandler.END
    await update.effective_message.reply_text(
        prompt_text(context.t, waiting["kind"], waiting.get("field"))
    )
    return None


async def on_timeout(update: Update, context: BotContext) -> None:
    """Forget what was awaited after ten quiet minutes."""
    clear(context)


def _alive(handler: Handler[int | None]) -> Handler[int | None]:
    """``handler``, unless the input it waits for was forgotten (:data:`IDLE_S`): then say
    so, so that the message is never met with silence, and end the wait."""

    async def callback(update: Update, context: BotContext) -> int | None:
        if pending(context) is None:
            if update.effective_message is not None:
                await update.effective_message.reply_text(
                    context.gettext(
                        "That earlier step was stopped after 10 quiet minutes. "
                        "Please send your message or command again."
                    )
                )
            return ConversationHandler.END
        return await handler(update, context)

    return callback


def build_conversation(
    entry_points: list[BaseHandler],
    *,
    text: Handler[int | None],
    location: Handler[int | None],
    document: Handler[int | None],
    photo: Handler[int | None],
) -> ConversationHandler:
    """The conversation: ``entry_points`` ask, the callbacks take the answer."""
    message = filters.UpdateType.MESSAGE
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message=False.*")
        return ConversationHandler(
            entry_points=entry_points,
            states={
                Wait.INPUT: [
                    MessageHandler(message & filters.TEXT & ~filters.COMMAND, _alive(text)),
                    MessageHandler(message & (filters.LOCATION | filters.VENUE), _alive(location)),
                    MessageHandler(message & filters.Document.ALL, _alive(document)),
                    # A photo: a cooperative's QRIS image (handlers/money/settings.py).
                    MessageHandler(message & filters.PHOTO, _alive(photo)),
                    MessageHandler(message & ~filters.COMMAND, _alive(on_other)),
                ],
                ConversationHandler.TIMEOUT: [MessageHandler(filters.ALL, on_timeout)],
            },
            fallbacks=[
                CommandHandler(["cancel", "batal"], on_cancel),
                MessageHandler(filters.COMMAND & message, _alive(on_other)),
            ],
            name=KEY,
            persistent=True,
            allow_reentry=True,
            conversation_timeout=600,
        )
