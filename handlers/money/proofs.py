"""Proof of payment from the member: "✅ Saya sudah bayar" on a bill → which simpanan → how
much → a photo (or PDF) of the transfer receipt → check → send to the board.

One persistent ``ConversationHandler`` ("proofs", diagram in ``proofs.mmd``) for the
member's form and for an admin typing a rejection's reason (``proofs_board.py``). The
answers are a :class:`~bot.services.proofs.ProofDraft` in ``user_data``, persisted after
every update: a restart loses nothing, and a wrong answer keeps the earlier ones. The
checks (own active membership, one open proof, amounts) are
:class:`~bot.services.proofs.ProofService`'s.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import BotContext
from bot.services.proofs import Forbidden, ProofDraft, ProofError, check_file, parse_amount
from handlers.callbacks import (
    PROOF_CONFIRM,
    PROOF_FORM_BUTTONS,
    PROOF_KIND,
    PROOF_REJECT,
    PROOF_SEND,
    PROOF_START,
    PROOF_STOP,
    PROOF_SUGGESTED,
    any_of,
)
from handlers.guard import guarded
from handlers.money import proofs_board as board
from handlers.money.proofs_states import FORM, Step
from handlers.money.proofs_texts import (
    amount_keyboard,
    amount_question,
    cancel_keyboard,
    continue_keyboard,
    error_text,
    file_question,
    heading,
    kind_keyboard,
    kind_question,
    review_keyboard,
    review_text,
    submitted_text,
)
from storage.models import Application, Cooperative, ProofFile

State = Step | int | None
MESSAGE = filters.UpdateType.MESSAGE
TEXT = MESSAGE & filters.TEXT & ~filters.COMMAND
FILE = MESSAGE & (filters.PHOTO | filters.Document.ALL)
OTHER = MESSAGE & ~filters.COMMAND


def _data(context: BotContext) -> dict[Any, Any]:
    assert context.user_data is not None
    return context.user_data


async def ask(
    update: Update,
    context: BotContext,
    opened: tuple[Application, Cooperative, ProofDraft],
    step: Step,
    *,
    prefix: str = "",
) -> Step:
    """Keep the draft at ``step`` and ask its question."""
    application, coop, draft = opened
    t = context.t
    proofs = context.services.proofs
    draft.step = int(step)
    draft.save(_data(context))
    markup: InlineKeyboardMarkup
    if step == Step.KIND:
        text = kind_question(t)
        markup = kind_keyboard(t, await proofs.suggestions(application))
    elif step == Step.AMOUNT:
        assert draft.kind is not None
        suggested = (await proofs.suggestions(application)).get(draft.kind)
        text = amount_question(t, draft.kind, suggested)
        markup = amount_keyboard(t, suggested)
    elif step == Step.FILE:
        text, markup = file_question(t), cancel_keyboard(t)
    else:
        assert draft.kind is not None and draft.amount is not None
        text = review_text(t, draft.kind, draft.amount, t.date(proofs.today(coop)))
        markup = review_keyboard(t)
    text = heading(t, coop, application.member_number) + "\n\n" + text
    if prefix:
        text = prefix + "\n\n" + text
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup)
    return step


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


async def _open(
    update: Update, context: BotContext
) -> tuple[Application, Cooperative, ProofDraft] | None:
    """The draft with its membership, re-checked; None (and the member told) otherwise."""
    draft = ProofDraft.of(_data(context))
    await _answer(update)
    chat = update.effective_chat
    assert chat is not None and update.effective_user is not None
    if draft is None:
        await context.bot.send_message(
            chat.id,
            context.gettext("This proof of payment is no longer open. Start again from /dues."),
        )
        return None
    try:
        application, coop = await context.services.proofs.membership(
            update.effective_user.id, draft.application_id
        )
    except (ProofError, Forbidden) as error:
        ProofDraft.drop(_data(context))
        text = error_text(context.t, error if isinstance(error, ProofError) else ProofError(""))
        await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)
        return None
    return application, coop, draft


# --- into the form -------------------------------------------------------------------------


@guarded(PROOF_START, refused=ConversationHandler.END)
async def on_start(
    update: Update, context: BotContext, user_id: int, application_id: str
) -> State:
    """Start (or resume) a proof of payment for one of the member's memberships."""
    try:
        application, coop = await context.services.proofs.membership(user_id, application_id)
    except ProofError as error:
        await _answer(update)
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, error_text(context.t, error), parse_mode=ParseMode.HTML
        )
        return ConversationHandler.END
    await _answer(update)
    draft = ProofDraft.of(_data(context))
    if draft is not None and draft.application_id == application.id and draft.step in FORM:
        prefix = context.gettext("Welcome back! Your answers are kept; let's continue.")
        return await ask(
            update, context, (application, coop, draft), Step(draft.step), prefix=prefix
        )
    draft = ProofDraft(application_id=application.id)
    return await ask(update, context, (application, coop, draft), Step.KIND)


# --- the questions -------------------------------------------------------------------------


async def on_kind(update: Update, context: BotContext) -> State:
    """Take which simpanan was paid."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    assert update.callback_query is not None
    (opened[2].kind,) = PROOF_KIND.parse(update.callback_query.data)
    return await ask(update, context, opened, Step.AMOUNT)


async def on_amount(update: Update, context: BotContext) -> State:
    """Take the amount as typed (a wrong one keeps the kind)."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    assert update.effective_message is not None
    try:
        opened[2].amount = parse_amount(update.effective_message.text or "")
    except ProofError as error:
        return await ask(
            update, context, opened, Step.AMOUNT, prefix="❗ " + error_text(context.t, error)
        )
    return await ask(update, context, opened, Step.FILE)


async def on_suggested(update: Update, context: BotContext) -> State:
    """Take the open amount the bot suggested."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    application, _coop, draft = opened
    suggested = (await context.services.proofs.suggestions(application)).get(draft.kind or "")
    if not suggested:  # paid meanwhile: ask for the amount again
        return await ask(update, context, opened, Step.AMOUNT)
    draft.amount = suggested
    return await ask(update, context, opened, Step.FILE)


def receipt_file(message: Message) -> ProofFile:
    """The transfer receipt a message carries; :class:`ProofError` when it cannot be one."""
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return ProofFile(photo.file_id, "photo", check_file("photo", None, photo.file_size, None))
    document = message.document
    if document is None:
        raise ProofError("file_type")
    mime = check_file("document", document.mime_type, document.file_size, document.file_name)
    return ProofFile(document.file_id, "document", mime)


async def on_file(update: Update, context: BotContext) -> State:
    """Take the photo or PDF of the transfer receipt (another one replaces it)."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    assert update.effective_message is not None
    draft = opened[2]
    try:
        draft.file = receipt_file(update.effective_message)
    except ProofError as error:
        step = Step(draft.step or Step.FILE)
        return await ask(
            update, context, opened, step, prefix="❗ " + error_text(context.t, error)
        )
    return await ask(update, context, opened, Step.REVIEW)


async def on_not_a_file(update: Update, context: BotContext) -> State:
    """Anything but a photo or PDF where the receipt is expected: say what fits."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    prefix = "❗ " + error_text(context.t, ProofError("file_type"))
    return await ask(update, context, opened, Step(opened[2].step or Step.FILE), prefix=prefix)


async def refuse_typed(update: Update, context: BotContext) -> State:
    """Typed text or a file where a button is expected: ask again."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    prefix = "❗ " + context.gettext("Please choose one of the buttons.")
    return await ask(update, context, opened, Step(opened[2].step or Step.KIND), prefix=prefix)


async def on_send(update: Update, context: BotContext) -> State:
    """Send the proof to the board, which gets it at once."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    assert update.effective_user is not None and update.effective_chat is not None
    proofs = context.services.proofs
    ProofDraft.drop(_data(context))
    try:
        proof, coop = await proofs.submit(update.effective_user.id, opened[2])
    except ProofError as error:
        text = error_text(context.t, error)
    else:
        text = submitted_text(context.t, coop)
        await board.notify_board(context, proof, coop)
    await context.bot.send_message(update.effective_chat.id, text, parse_mode=ParseMode.HTML)
    return ConversationHandler.END


async def on_stop(update: Update, context: BotContext) -> State:
    """Discard the proof of payment."""
    await _answer(update)
    ProofDraft.drop(_data(context))
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id, context.gettext("Cancelled. Nothing was sent.")
    )
    return ConversationHandler.END


async def on_cancel(update: Update, context: BotContext) -> int:
    """/cancel (/batal): stop the proof, or the reason being typed."""
    ProofDraft.drop(_data(context))
    board.forget(context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.gettext("Cancelled. Nothing was sent."))
    return ConversationHandler.END


async def on_stale_button(update: Update, context: BotContext) -> State:
    """A button of another question: say so, and stay."""
    assert update.callback_query is not None
    await update.callback_query.answer(
        context.gettext("This button belongs to an earlier question.")
    )
    return None


async def on_timeout(update: Update, context: BotContext) -> None:
    """Idle too long: the form pauses (answers kept); a reason being typed is forgotten."""
    board.forget(context)
    draft = ProofDraft.of(_data(context))
    chat = update.effective_chat
    if draft is None or chat is None or draft.step not in FORM:
        return
    await context.bot.send_message(
        chat.id,
        context.gettext(
            "⏸ Your proof of payment is paused. Your answers are kept: continue whenever you "
            "are ready."
        ),
        reply_markup=continue_keyboard(context.t, draft.application_id),
    )


def _buttons(kind: Any, answer: Any) -> list[BaseHandler]:
    """A question answered with a button: anything typed or sent is refused."""
    return [
        CallbackQueryHandler(answer, pattern=kind.pattern),
        MessageHandler(OTHER, refuse_typed),
    ]


def states() -> dict[object, list[BaseHandler]]:
    return {
        Step.KIND: _buttons(PROOF_KIND, on_kind),
        Step.AMOUNT: [
            MessageHandler(TEXT, on_amount),
            CallbackQueryHandler(on_suggested, pattern=PROOF_SUGGESTED.pattern),
            MessageHandler(OTHER, on_amount),
        ],
        Step.FILE: [MessageHandler(FILE, on_file), MessageHandler(OTHER, on_not_a_file)],
        Step.REVIEW: [
            CallbackQueryHandler(on_send, pattern=PROOF_SEND.pattern),
            MessageHandler(FILE, on_file),
            MessageHandler(OTHER, on_not_a_file),
        ],
        Step.REASON: [MessageHandler(TEXT, board.on_reason)],
        ConversationHandler.TIMEOUT: [
            MessageHandler(filters.ALL, on_timeout),
            CallbackQueryHandler(on_timeout),
        ],
    }


def build_conversation(timeout_s: float | None = 30 * 60) -> ConversationHandler:
    """The persistent proofs conversation."""
    with warnings.catch_warnings():
        # Buttons are tracked per user, not per message, on purpose (as in the join form).
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message=False.*")
        return ConversationHandler(
            entry_points=[
                CallbackQueryHandler(on_start, pattern=PROOF_START.pattern),
                CallbackQueryHandler(board.ask_reason, pattern=PROOF_REJECT.pattern),
            ],
            states=states(),
            fallbacks=[
                CommandHandler(["cancel", "batal"], on_cancel),
                CallbackQueryHandler(on_stop, pattern=PROOF_STOP.pattern),
                CallbackQueryHandler(on_stale_button, pattern=any_of(*PROOF_FORM_BUTTONS)),
            ],
            name="proofs",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=timeout_s,
        )


HANDLERS: list[BaseHandler] = [
    CallbackQueryHandler(board.on_confirm, pattern=PROOF_CONFIRM.pattern),
]
