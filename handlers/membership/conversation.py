"""The membership conversation: which callbacks serve which state (see conversation.mmd).

A persistent ``ConversationHandler`` (name "membership", states in :class:`Step`). Each
state lists the answers it takes (callbacks in ``states.py`` that return the next state)
and then, for every other kind of message, a re-prompt that says what fits. Commands work
in any state: /batal asks before discarding, the rights and help commands pass through,
anything else gets a reminder. After 30 idle minutes the form pauses; its answers stay.
"""

from __future__ import annotations

import warnings
from html import escape

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
from handlers.callbacks import (
    CONSENT_AGREE,
    CONSENT_DECLINE,
    DOMICILE_DECLARE,
    FORM_BACK,
    FORM_BUTTONS,
    FORM_CANCEL,
    FORM_DISCARD,
    FORM_EDIT,
    FORM_FRESH,
    FORM_KEEP,
    FORM_REUSE,
    FORM_SUBMIT,
    JOIN,
    NIK_CONFIRM,
    NIK_RETYPE,
    OCCUPATION,
    TERMS_ACCEPT,
    TERMS_QUIT,
    Callback,
    any_of,
)
from handlers.keyboards import main_keyboard
from handlers.membership import states as on
from handlers.membership.entry import JOIN_LINK, join_button, join_link, on_timeout
from handlers.membership.flow import Form, State, StateCallback, ask, reprompt, with_form
from handlers.membership.steps import Step
from handlers.membership.texts import (
    expect_address,
    expect_button,
    expect_phone,
    expect_text,
    not_a_contact,
    not_a_location,
)

FORM_TIMEOUT_S = 30 * 60

MESSAGE = filters.UpdateType.MESSAGE
TEXT = MESSAGE & filters.TEXT & ~filters.COMMAND
LOCATION = MESSAGE & filters.LOCATION
CONTACT = MESSAGE & filters.CONTACT
OTHER = MESSAGE & ~filters.COMMAND & ~filters.TEXT & ~filters.LOCATION & ~filters.CONTACT
# Commands that keep working in the middle of a form (rights, help, wallet, admin work);
# the form waits for them. Any other command gets a reminder and the question again.
PASS_THROUGH = (
    "help",
    "bantuan",
    "privacy",
    "privasi",
    "mydata",
    "dataku",
    "deletedata",
    "hapusdata",
    "cards",
    "kartu",
    "language",
    "bahasa",
    "admin",
    "stats",
    "import",
    "invite",
    "claim",
    "klaim",
)
# A card check or an invitation opened mid-form is handled as usual, outside the form.
ELSEWHERE = filters.Regex(r"^/start(@\w+)? (v_|adm_)")
OTHER_COMMAND = (
    MESSAGE
    & filters.COMMAND
    & ~filters.Regex(rf"^/({'|'.join(PASS_THROUGH)})(@\w+)?(\s|$)")
    & ~ELSEWHERE
)


# --- commands in the middle of the form -------------------------------------------------


@with_form
async def on_cancel_command(update: Update, context: BotContext, form: Form) -> State:
    """/cancel (/batal) in the form: confirm before discarding."""
    step = form.step
    if step in (Step.TERMS, Step.CONSENT):
        form.drop()
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            context.gettext("Cancelled. Nothing was stored."),
            reply_markup=main_keyboard(context.t),
        )
        return ConversationHandler.END
    if step != Step.CANCEL_CONFIRM:
        form.draft.resume = int(step)
    return await ask(update, context, form, Step.CANCEL_CONFIRM)


@with_form
async def on_other_command(update: Update, context: BotContext, form: Form) -> State:
    """Any other command in the middle of the form: remind, and ask again."""
    return await _remind(update, context, form)


@with_form
async def on_start_in_form(update: Update, context: BotContext, form: Form) -> State:
    """/start during the form: a cooperative link still opens; the form stays open."""
    payload = context.args[0] if context.args else ""
    if payload.startswith("c_"):
        from handlers.search import send_detail

        await send_detail(update, context, payload[2:])
    return await _remind(update, context, form)


@with_form
async def on_help_in_form(update: Update, context: BotContext, form: Form) -> State:
    """/help (/bantuan) during the form: the help, then the question still waiting."""
    from handlers.start import help_command

    await help_command(update, context)
    return await _remind(update, context, form)


async def _remind(update: Update, context: BotContext, form: Form) -> State:
    reminder = context.gettext(
        "You are filling in the form to join {coop}. Answer the question below, or send "
        "/cancel to stop."
    ).format(coop=escape(form.coop.name))
    return await reprompt(update, context, form, form.step, reminder)


# --- the states -------------------------------------------------------------------------


def _buttons(step: Step, *answers: tuple[Callback, StateCallback]) -> list[BaseHandler]:
    """A question answered with buttons: typed text, locations and the rest are refused."""
    return [
        *(CallbackQueryHandler(callback, pattern=kind.pattern) for kind, callback in answers),
        MessageHandler(TEXT, on.refuse(step, expect_button)),
        MessageHandler(LOCATION, on.refuse(step, not_a_location)),
        MessageHandler(CONTACT, on.refuse(step, not_a_contact)),
        MessageHandler(OTHER, on.refuse(step, expect_button)),
    ]


def _typed(step: Step, answer: StateCallback) -> list[BaseHandler]:
    """A question answered with text."""
    return [
        MessageHandler(TEXT, answer),
        MessageHandler(LOCATION, on.refuse(step, not_a_location)),
        MessageHandler(CONTACT, on.refuse(step, not_a_contact)),
        MessageHandler(OTHER, on.refuse(step, expect_text)),
    ]


def states() -> dict[object, list[BaseHandler]]:
    """Each state's handlers: its answers first, then what it refuses."""
    return {
        Step.TERMS: _buttons(
            Step.TERMS,
            (TERMS_ACCEPT, on.on_terms_accepted),
            (TERMS_QUIT, on.on_quit),
            (CONSENT_DECLINE, on.on_quit),
        ),
        Step.CONSENT: _buttons(
            Step.CONSENT,
            (CONSENT_AGREE, on.on_consent),
            (CONSENT_DECLINE, on.on_quit),
            (TERMS_QUIT, on.on_quit),
        ),
        Step.REUSE: _buttons(Step.REUSE, (FORM_REUSE, on.on_reuse), (FORM_FRESH, on.on_fresh)),
        Step.NAME: _typed(Step.NAME, on.on_name),
        Step.NIK: _typed(Step.NIK, on.on_nik),
        Step.NIK_CONFIRM: _buttons(
            Step.NIK_CONFIRM,
            (NIK_CONFIRM, on.on_nik_confirmed),
            (NIK_RETYPE, on.on_nik_retype),
        ),
        Step.BIRTH_PLACE: _typed(Step.BIRTH_PLACE, on.on_birth_place),
        Step.ADDRESS: [
            MessageHandler(TEXT, on.on_address),
            MessageHandler(LOCATION, on.on_address_location),
            MessageHandler(CONTACT, on.refuse(Step.ADDRESS, not_a_contact)),
            MessageHandler(OTHER, on.refuse(Step.ADDRESS, expect_address)),
        ],
        Step.DOMICILE: _buttons(
            Step.DOMICILE,
            (DOMICILE_DECLARE, on.on_domicile_declared),
            (FORM_EDIT, on.on_edit),
        ),
        Step.PHONE: [
            MessageHandler(TEXT, on.on_phone),
            MessageHandler(CONTACT, on.on_phone_contact),
            MessageHandler(LOCATION, on.refuse(Step.PHONE, not_a_location)),
            MessageHandler(OTHER, on.refuse(Step.PHONE, expect_phone)),
        ],
        Step.OCCUPATION: _buttons(Step.OCCUPATION, (OCCUPATION, on.on_occupation)),
        Step.OCCUPATION_OTHER: _typed(Step.OCCUPATION_OTHER, on.on_occupation_typed),
        Step.REVIEW: _buttons(
            Step.REVIEW,
            (FORM_EDIT, on.on_edit),
            (FORM_BACK, on.on_back),
            (FORM_SUBMIT, on.on_submit),
        ),
        Step.CANCEL_CONFIRM: _buttons(
            Step.CANCEL_CONFIRM, (FORM_DISCARD, on.on_discard), (FORM_KEEP, on.on_keep)
        ),
        ConversationHandler.TIMEOUT: [
            MessageHandler(filters.ALL, on_timeout),
            CallbackQueryHandler(on_timeout),
        ],
    }


def fallbacks() -> list[BaseHandler]:
    """What works in every state: stopping the form, commands, buttons of other questions."""
    return [
        CommandHandler(["cancel", "batal"], on_cancel_command),
        CommandHandler(["help", "bantuan"], on_help_in_form),
        CommandHandler("start", on_start_in_form, filters=~ELSEWHERE),
        MessageHandler(OTHER_COMMAND, on_other_command),
        # "Cancel" asks before discarding, and "Yes, delete" deletes, whichever question
        # the form has moved on to since the button was sent.
        CallbackQueryHandler(on.on_cancel, pattern=FORM_CANCEL.pattern),
        CallbackQueryHandler(on.on_discard, pattern=FORM_DISCARD.pattern),
        CallbackQueryHandler(on.on_stale_button, pattern=any_of(*FORM_BUTTONS)),
    ]


def build_conversation(timeout_s: float | None = FORM_TIMEOUT_S) -> ConversationHandler:
    """The persistent membership conversation."""
    with warnings.catch_warnings():
        # Form buttons are tracked per user, not per message, on purpose.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message=False.*")
        return ConversationHandler(
            entry_points=[
                CallbackQueryHandler(join_button, pattern=JOIN.pattern),
                CommandHandler("start", join_link, filters=JOIN_LINK),
            ],
            states=states(),
            fallbacks=fallbacks(),
            name="membership",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=timeout_s,
        )
