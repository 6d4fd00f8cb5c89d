"""The operators' side of claims, and the claimant's answer to their question.

Operators get each claim at once, in their language, with its files (sent again by their
Telegram file ids) and the buttons Approve, Reject (asks the reason) and Ask for more (asks
what is missing); /admin → platform operations → claims lists those waiting. Every button
re-checks the role in :class:`~bot.services.claims.ClaimService` (operators only, never on
their own claim; refusals audited) through :func:`handlers.guard.guarded`.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.services.admin import Forbidden as Refused
from bot.services.claims import ClaimError, Decision
from handlers.callbacks import (
    CLAIM_APPROVE,
    CLAIM_ASK,
    CLAIM_QUEUE,
    CLAIM_REJECT,
    CLAIM_REPLY,
    CLAIM_RETURN,
    CLAIM_SHOW,
)
from handlers.claims.form import State, evidence_of
from handlers.claims.keyboards import (
    queue_keyboard,
    reply_keyboard,
    return_keyboard,
)
from handlers.claims.notify import notify_operators, send, send_claim
from handlers.claims.states import Step
from handlers.claims.texts import (
    approved_text,
    error_text,
    question_to_claimant,
    rejected_text,
    role_label,
    superseded_text,
)
from handlers.guard import actor, guarded, refuse
from storage.models import Claim, Evidence

log = logging.getLogger(__name__)

DECIDE = "claim_decide"  # user_data: what an operator is typing (reject | ask) and for which
ANSWER = "claim_answer"  # user_data: the claimant's answer being put together


def _data(context: BotContext) -> dict[Any, Any]:
    assert context.user_data is not None
    return context.user_data


async def _tell(context: BotContext, claim: Claim, text_of: Any) -> None:
    """Tell a claimant, in their language (``text_of(t)`` builds the message)."""
    if claim.user_id is None:
        return
    services = context.services
    t = services.i18n.get(await services.users.recipient_locale(claim.user_id))
    await send(context, claim.user_id, text_of(t))


def _coop_name(decision: Decision) -> str:
    return decision.coop.name if decision.coop is not None else decision.claim.coop_id


async def _already(update: Update, context: BotContext) -> None:
    text = context.gettext("This claim was decided already.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


# --- deciding ----------------------------------------------------------------------------


@guarded(CLAIM_APPROVE)
async def on_approve(update: Update, context: BotContext, user_id: int, claim_id: str) -> None:
    """Approve a claim: the claimant runs the cooperative; competing claimants are told."""
    decision = await context.services.claims.approve(user_id, claim_id)
    if decision is None:
        await _already(update, context)
        return
    assert update.callback_query is not None
    await update.callback_query.answer()
    name = _coop_name(decision)
    await _tell(context, decision.claim, lambda t: approved_text(t, decision.coop, name))
    for other in decision.superseded:
        await _tell(context, other, lambda t: superseded_text(t, name))
    assert update.effective_chat is not None
    await send(
        context,
        update.effective_chat.id,
        context.gettext("✅ Approved: {person} ({role}) now runs <b>{coop}</b>.").format(
            person=escape(decision.claim.name or "–"),
            role=escape(role_label(context.t, decision.claim.role)),
            coop=escape(name),
        )
        + (
            "\n"
            + context.gettext("Competing claims closed: {n}").format(n=len(decision.superseded))
            if decision.superseded
            else ""
        ),
    )


async def _expect(update: Update, context: BotContext, kind: str, claim_id: str) -> Step:
    _data(context)[DECIDE] = {"kind": kind, "claim": claim_id}
    assert update.callback_query is not None
    await update.callback_query.answer()
    _ = context.gettext
    prompt = (
        _("Type the reason for rejecting this claim (the claimant will see it):")
        if kind == "reject"
        else _("Type what is missing (the claimant will see it):")
    )
    assert update.effective_chat is not None
    await send(context, update.effective_chat.id, prompt + "\n" + _("(/cancel to stop)"))
    return Step.REASON if kind == "reject" else Step.QUESTION


@guarded(CLAIM_REJECT, refused=ConversationHandler.END)
async def ask_reason(update: Update, context: BotContext, user_id: int, claim_id: str) -> State:
    """Ask the operator for the rejection's reason."""
    await context.services.claims.may_decide(user_id, claim_id, "claim_reject")
    return await _expect(update, context, "reject", claim_id)


@guarded(CLAIM_ASK, refused=ConversationHandler.END)
async def ask_question(update: Update, context: BotContext, user_id: int, claim_id: str) -> State:
    """Ask the operator what is missing."""
    await context.services.claims.may_decide(user_id, claim_id, "claim_ask")
    return await _expect(update, context, "ask", claim_id)


async def on_typed(update: Update, context: BotContext) -> State:
    """Take the operator's reason or question, decide, and tell the claimant."""
    message = update.effective_message
    assert message is not None
    waiting = _data(context).get(DECIDE)
    if not isinstance(waiting, dict):
        return ConversationHandler.END
    claims = context.services.claims
    text = message.text or ""
    try:
        if waiting["kind"] == "reject":
            decision = await claims.reject(actor(update), waiting["claim"], text)
        else:
            decision = await claims.ask_more(actor(update), waiting["claim"], text)
    except ClaimError as error:
        await message.reply_text("❗ " + error_text(context.t, error))
        return None
    except Refused:  # no longer an operator: audited by the service
        _data(context).pop(DECIDE, None)
        await refuse(update, context)
        return ConversationHandler.END
    _data(context).pop(DECIDE, None)
    if decision is None:
        await _already(update, context)
        return ConversationHandler.END
    name = _coop_name(decision)
    claim = decision.claim
    if waiting["kind"] == "reject":
        await _tell(context, claim, lambda t: rejected_text(t, name, claim.reason or ""))
        await message.reply_text(context.gettext("❌ Claim rejected; the claimant was told."))
    elif claim.user_id is not None:
        services = context.services
        t = services.i18n.get(await services.users.recipient_locale(claim.user_id))
        await send(
            context,
            claim.user_id,
            question_to_claimant(t, name, claim.question or ""),
            reply_keyboard(t, claim.id),
        )
        await message.reply_text(
            context.gettext(
                "❓ Sent to the claimant. The claim returns to the queue when they answer."
            )
        )
    return ConversationHandler.END


# --- the queue ---------------------------------------------------------------------------


@guarded(CLAIM_QUEUE)
async def on_queue(update: Update, context: BotContext, user_id: int) -> None:
    """List the claims waiting for an operator."""
    views, more = await context.services.claims.queue(user_id)
    assert update.callback_query is not None
    await update.callback_query.answer()
    _ = context.gettext
    lines = [_("🏛 <b>Claims waiting</b>: {n}").format(n=len(views))]
    if more:
        lines.append(_("Waiting for their claimants' answers: {n}").format(n=more))
    if not views:
        lines.append(_("No claim is waiting."))
    items = [(v.claim, v.coop) for v in views]
    assert update.effective_chat is not None
    await send(
        context,
        update.effective_chat.id,
        "\n".join(lines),
        queue_keyboard(context.t, items) if items else None,
    )


@guarded(CLAIM_SHOW)
async def on_show(update: Update, context: BotContext, user_id: int, claim_id: str) -> None:
    """Show one claim with its files and decisions."""
    view = await context.services.claims.for_operator(user_id, claim_id)
    assert update.callback_query is not None and update.effective_chat is not None
    await update.callback_query.answer()
    await send_claim(context, update.effective_chat.id, view, context.locale or "id")


# --- the claimant's answer ---------------------------------------------------------------


async def on_reply(update: Update, context: BotContext) -> State:
    """Start answering the operators' question."""
    query = update.callback_query
    assert query is not None
    (claim_id,) = CLAIM_REPLY.parse(query.data)
    try:
        await context.services.claims.waiting_for(actor(update), claim_id)
    except ClaimError as error:
        await query.answer(error_text(context.t, error), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    _data(context)[ANSWER] = {"claim": claim_id, "files": [], "text": None}
    assert update.effective_chat is not None
    await send(
        context,
        update.effective_chat.id,
        context.gettext(
            "Send a photo or a PDF, or type your answer. Then tap “Send to the operators”. "
            "(/cancel to stop)"
        ),
    )
    return Step.ANSWER


async def _received(update: Update, context: BotContext, claim_id: str) -> State:
    assert update.effective_chat is not None
    await send(
        context,
        update.effective_chat.id,
        context.gettext("✅ Received. Send more, or tap “Send to the operators”."),
        return_keyboard(context.t, claim_id),
    )
    return Step.ANSWER


async def on_answer_text(update: Update, context: BotContext) -> State:
    """Keep the typed answer (sealed)."""
    pending = _data(context).get(ANSWER)
    message = update.effective_message
    assert message is not None
    if not isinstance(pending, dict):
        return ConversationHandler.END
    claims = context.services.claims
    pending["text"] = await claims.seal(actor(update), "answer", (message.text or "")[:500])
    return await _received(update, context, pending["claim"])


async def on_answer_file(update: Update, context: BotContext) -> State:
    """Keep a photo or PDF for the answer (other files are refused)."""
    pending = _data(context).get(ANSWER)
    message = update.effective_message
    assert message is not None
    if not isinstance(pending, dict):
        return ConversationHandler.END
    try:
        item = evidence_of(message)
    except ClaimError as error:
        await message.reply_text("❗ " + error_text(context.t, error))
        return Step.ANSWER
    pending["files"].append(
        {"file_id": item.file_id, "kind": item.kind, "mime": item.mime, "name": item.name}
    )
    return await _received(update, context, pending["claim"])


async def on_return(update: Update, context: BotContext) -> State:
    """Send the answer: the claim returns to the operators, who get it again."""
    query = update.callback_query
    assert query is not None
    pending = _data(context).get(ANSWER)
    (claim_id,) = CLAIM_RETURN.parse(query.data)
    if not isinstance(pending, dict) or pending.get("claim") != claim_id:
        await query.answer(context.gettext("This button belongs to an earlier question."))
        return None
    claims = context.services.claims
    user_id = actor(update)
    text = await claims.unseal(user_id, "answer", pending.get("text"))
    files = [
        Evidence(f["file_id"], f["kind"], f.get("mime"), f.get("name")) for f in pending["files"]
    ]
    try:
        view = await claims.answer(user_id, claim_id, text, files)
    except ClaimError as error:
        _data(context).pop(ANSWER, None)
        await query.answer(error_text(context.t, error), show_alert=True)
        return ConversationHandler.END
    _data(context).pop(ANSWER, None)
    await query.answer()
    await query.edit_message_text(
        context.gettext("📨 Sent. The operators will look at your claim again.")
    )
    await notify_operators(context, view)
    return ConversationHandler.END


def forget(context: BotContext) -> None:
    """Drop what an operator or a claimant was typing (cancel, timeout)."""
    _data(context).pop(DECIDE, None)
    _data(context).pop(ANSWER, None)
