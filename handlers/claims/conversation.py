"""The claims conversation: which callbacks serve which state (see conversation.mmd).

One persistent ``ConversationHandler`` ("claims") for the three kinds of typed input the
feature waits for: a board member's form, the claimant's answer to the operators, and an
operator's reason or question. Commands the conversation does not name pass through (help,
privacy, search…) and the state waits; /cancel stops whichever is open.
"""

from __future__ import annotations

import warnings

from telegram import Update
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
from bot.services.claims import ClaimDraft
from handlers.callbacks import (
    CLAIM_AGREE,
    CLAIM_ASK,
    CLAIM_FORM_BUTTONS,
    CLAIM_REJECT,
    CLAIM_REPLY,
    CLAIM_RETURN,
    CLAIM_ROLE,
    CLAIM_SEND,
    CLAIM_START,
    CLAIM_STOP,
    Callback,
    any_of,
)
from handlers.claims import decide
from handlers.claims import form as on
from handlers.claims.form import State
from handlers.claims.states import Step
from handlers.guard import Handler

MESSAGE = filters.UpdateType.MESSAGE
TEXT = MESSAGE & filters.TEXT & ~filters.COMMAND
FILE = MESSAGE & (filters.PHOTO | filters.Document.ALL)
CONTACT = MESSAGE & filters.CONTACT
OTHER = MESSAGE & ~filters.COMMAND


async def on_cancel(update: Update, context: BotContext) -> int:
    """/cancel (/batal): stop the form, the answer or the typing."""
    assert context.user_data is not None and update.effective_message is not None
    ClaimDraft.drop(context.user_data)
    decide.forget(context)
    await update.effective_message.reply_text(context.gettext("Cancelled. Nothing was sent."))
    return ConversationHandler.END


async def on_timeout(update: Update, context: BotContext) -> None:
    """Idle too long: a form pauses (answers kept); typing for a decision is forgotten."""
    decide.forget(context)
    await on.pause(update, context)


def _buttons(kind: Callback, answer: Handler[State]) -> list[BaseHandler]:
    """A question answered with a button: anything typed or sent is refused."""
    return [
        CallbackQueryHandler(answer, pattern=kind.pattern),
        MessageHandler(OTHER, on.refuse_typed),
    ]


def states() -> dict[object, list[BaseHandler]]:
    return {
        Step.COOP: [MessageHandler(TEXT, on.on_coop_text)],
        Step.CONSENT: _buttons(CLAIM_AGREE, on.on_agree),
        Step.ROLE: _buttons(CLAIM_ROLE, on.on_role),
        Step.NAME: [MessageHandler(TEXT, on.on_name), MessageHandler(OTHER, on.on_name)],
        Step.PHONE: [
            MessageHandler(CONTACT, on.on_contact),
            MessageHandler(OTHER, on.on_phone_other),
        ],
        Step.EVIDENCE: [MessageHandler(FILE, on.on_file), MessageHandler(OTHER, on.on_not_a_file)],
        Step.REVIEW: [
            CallbackQueryHandler(on.on_send, pattern=CLAIM_SEND.pattern),
            MessageHandler(FILE, on.on_file),
            MessageHandler(OTHER, on.on_not_a_file),
        ],
        Step.ANSWER: [
            MessageHandler(TEXT, decide.on_answer_text),
            MessageHandler(FILE, decide.on_answer_file),
            CallbackQueryHandler(decide.on_return, pattern=CLAIM_RETURN.pattern),
        ],
        Step.REASON: [MessageHandler(TEXT, decide.on_typed)],
        Step.QUESTION: [MessageHandler(TEXT, decide.on_typed)],
        ConversationHandler.TIMEOUT: [
            MessageHandler(filters.ALL, on_timeout),
            CallbackQueryHandler(on_timeout),
        ],
    }


def build_conversation(timeout_s: float | None = 30 * 60) -> ConversationHandler:
    """The persistent claims conversation."""
    with warnings.catch_warnings():
        # Buttons are tracked per user, not per message, on purpose (as in the join form).
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message=False.*")
        return ConversationHandler(
            entry_points=[
                CallbackQueryHandler(on.start_button, pattern=CLAIM_START.pattern),
                CommandHandler(["claim", "klaim"], on.claim_command),
                CommandHandler("start", on.start_link, filters=on.CLAIM_LINK),
                CallbackQueryHandler(decide.on_reply, pattern=CLAIM_REPLY.pattern),
                CallbackQueryHandler(decide.ask_reason, pattern=CLAIM_REJECT.pattern),
                CallbackQueryHandler(decide.ask_question, pattern=CLAIM_ASK.pattern),
            ],
            states=states(),
            fallbacks=[
                CommandHandler(["cancel", "batal"], on_cancel),
                CallbackQueryHandler(on.on_stop, pattern=CLAIM_STOP.pattern),
                CallbackQueryHandler(on.on_stale_button, pattern=any_of(*CLAIM_FORM_BUTTONS)),
            ],
            name="claims",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=timeout_s,
        )
