"""The board's side of proofs of payment: the notice to every admin, Confirm and Reject.

Every admin of the cooperative gets the proof at once, in their language: the receipt's
photo (or PDF) by its Telegram file id, with a caption and the buttons Confirm and Reject
(which asks for a reason). Each tap re-checks the role in
:class:`~bot.services.proofs.ProofService` (that cooperative's admins only; refusals
audited) through :func:`handlers.guard.guarded`. After a decision every admin's message
shows it, without buttons; a late tap hears that it was decided already.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.services.admin import Forbidden as Refused
from bot.services.proofs import ProofDecision, ProofError
from handlers.callbacks import PROOF_CONFIRM, PROOF_REJECT
from handlers.guard import actor, guarded, refuse
from handlers.money.proofs_states import Step
from handlers.money.proofs_texts import (
    board_caption,
    decision_keyboard,
    error_text,
    rejected_text,
)
from handlers.money.receipts import send_receipt
from storage.models import Cooperative, PaymentProof

log = logging.getLogger(__name__)

REASON_KEY = "proof_reject"  # user_data: the proof an admin is typing a reason for


async def notify_board(context: BotContext, proof: PaymentProof, coop: Cooperative) -> int:
    """Send the proof to every admin of its cooperative; how many got it."""
    services = context.services
    name = await services.proofs.member_name(proof)
    notices: list[dict[str, Any]] = []
    for admin_id in await services.proofs.admins_of(proof.coop_id):
        locale = await services.users.recipient_locale(admin_id)
        t = services.i18n.get(locale)
        caption = board_caption(t, proof, coop, name)
        markup = decision_keyboard(t, proof)
        try:
            if proof.file is not None and proof.file.kind == "photo":
                sent = await context.bot.send_photo(
                    admin_id,
                    proof.file.file_id,
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            elif proof.file is not None:
                sent = await context.bot.send_document(
                    admin_id,
                    proof.file.file_id,
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            else:
                sent = await context.bot.send_message(
                    admin_id, caption, parse_mode=ParseMode.HTML, reply_markup=markup
                )
        except (Forbidden, BadRequest) as error:
            log.warning("proof notice not delivered error=%s", type(error).__name__)
            continue
        notices.append({"chat_id": admin_id, "message_id": sent.message_id, "locale": locale})
    await services.proofs.remember_notices(proof.id, notices)
    return len(notices)


async def update_notices(context: BotContext, decision: ProofDecision) -> None:
    """Show the decision on every admin's message (the buttons go)."""
    proof, coop = decision.proof, decision.coop
    if coop is None:
        return
    services = context.services
    name = await services.proofs.member_name(proof)
    for notice in proof.notices:
        t = services.i18n.get(str(notice.get("locale") or "id"))
        text = board_caption(t, proof, coop, name)
        try:
            if proof.file is not None:
                await context.bot.edit_message_caption(
                    chat_id=notice["chat_id"],
                    message_id=notice["message_id"],
                    caption=text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=None,
                )
            else:
                await context.bot.edit_message_text(
                    text,
                    chat_id=notice["chat_id"],
                    message_id=notice["message_id"],
                    parse_mode=ParseMode.HTML,
                    reply_markup=None,
                )
        except TelegramError as error:  # deleted, too old, unchanged: nothing to fix
            log.info("proof notice not updated error=%s", type(error).__name__)


async def _already(update: Update, context: BotContext) -> None:
    text = context.gettext("This proof of payment was decided already.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


@guarded(PROOF_CONFIRM)
async def on_confirm(update: Update, context: BotContext, user_id: int, proof_id: str) -> None:
    """Confirm a proof: a ledger entry, the member's receipt, every admin's message."""
    decision = await context.services.proofs.confirm(user_id, proof_id)
    if decision is None:
        await _already(update, context)
        return
    assert update.callback_query is not None
    await update.callback_query.answer(context.gettext("✅ Confirmed and recorded."))
    if decision.entry is not None and decision.coop is not None:
        await send_receipt(context, decision.entry, decision.coop)
    await update_notices(context, decision)


@guarded(PROOF_REJECT, refused=ConversationHandler.END)
async def ask_reason(update: Update, context: BotContext, user_id: int, proof_id: str) -> Any:
    """Ask the admin why the proof is rejected."""
    proof = await context.services.proofs.may_reject(user_id, proof_id)
    if proof is None:
        await _already(update, context)
        return ConversationHandler.END
    assert context.user_data is not None and update.callback_query is not None
    context.user_data[REASON_KEY] = proof_id
    await update.callback_query.answer()
    assert update.effective_chat is not None
    _ = context.gettext
    await context.bot.send_message(
        update.effective_chat.id,
        _("Type the reason for rejecting this proof of payment (the member will see it):")
        + "\n"
        + _("(/cancel to stop)"),
    )
    return Step.REASON


async def on_reason(update: Update, context: BotContext) -> Any:
    """Take the reason, reject, and tell the member in their language."""
    message = update.effective_message
    assert message is not None and context.user_data is not None
    proof_id = context.user_data.get(REASON_KEY)
    if not isinstance(proof_id, str):
        return ConversationHandler.END
    services = context.services
    try:
        decision = await services.proofs.reject(actor(update), proof_id, message.text or "")
    except ProofError as error:
        await message.reply_text("❗ " + error_text(context.t, error))
        return None  # the same question: type it again
    except Refused:  # no longer an admin: audited by the service
        context.user_data.pop(REASON_KEY, None)
        await refuse(update, context)
        return ConversationHandler.END
    context.user_data.pop(REASON_KEY, None)
    if decision is None:
        await _already(update, context)
        return ConversationHandler.END
    proof = decision.proof
    coop_name = decision.coop.name if decision.coop else ""
    if proof.user_id is not None:
        t = services.i18n.get(await services.users.recipient_locale(proof.user_id))
        try:
            await context.bot.send_message(
                proof.user_id, rejected_text(t, proof, coop_name), parse_mode=ParseMode.HTML
            )
        except TelegramError as error:
            log.warning("proof rejection not delivered error=%s", type(error).__name__)
    await update_notices(context, decision)
    await message.reply_text(context.gettext("❌ Rejected; the member was told the reason."))
    return ConversationHandler.END


def forget(context: BotContext) -> None:
    """Drop the reason an admin was typing (cancel, timeout)."""
    if context.user_data is not None:
        context.user_data.pop(REASON_KEY, None)
