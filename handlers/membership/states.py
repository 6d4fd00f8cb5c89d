"""The callbacks of each state of the membership form; each returns the next state.

Every callback is wrapped with :func:`~handlers.membership.flow.with_form`, so it gets
the open form (cooperative and typed draft) and its draft is stored after it. Which
callback serves which state is laid out in ``conversation.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape

from telegram import ReplyKeyboardRemove, Update
from telegram.constants import ParseMode
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.membership import (
    CONSENT_VERSION,
    FormError,
    check_address,
    check_occupation,
    check_person_name,
    check_phone,
    check_place_name,
)
from handlers.callbacks import FORM_EDIT, OCCUPATION
from handlers.keyboards import main_keyboard
from handlers.membership.flow import Form, State, StateCallback, ask, reprompt, with_form
from handlers.membership.steps import EDIT, Step, following
from handlers.membership.texts import error_text, reuse_summary, submitted_text
from handlers.platform import send_contact_card
from storage.models import Point

log = logging.getLogger(__name__)


def _text(update: Update) -> str:
    assert update.effective_message is not None
    return update.effective_message.text or ""


async def _answer(update: Update) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()


def _then(form: Form, step: Step) -> Step:
    """After a valid answer: back to the review when it was changed from there."""
    return Step.REVIEW if form.draft.take_editing() else following(step)


async def _phone_saved(update: Update, context: BotContext) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        context.gettext("✅ Phone number saved."), reply_markup=ReplyKeyboardRemove()
    )


# --- TERMS and CONSENT ------------------------------------------------------------------


@with_form
async def on_terms_accepted(update: Update, context: BotContext, form: Form) -> State:
    """Show the consent screen once the terms are read."""
    await _answer(update)
    return await ask(update, context, form, Step.CONSENT, edit=True)


@with_form
async def on_quit(update: Update, context: BotContext, form: Form) -> State:
    """Leave before consenting: nothing is stored."""
    assert update.callback_query is not None
    await _answer(update)
    form.drop()
    await update.callback_query.edit_message_text(
        context.gettext(
            "No problem. Nothing was stored. You can join later from the cooperative's page."
        )
    )
    return ConversationHandler.END


@with_form
async def on_consent(update: Update, context: BotContext, form: Form) -> State:
    """Record the consent (and its version), then ask the first question."""
    assert update.callback_query is not None
    await _answer(update)
    form.draft.accept_consent(CONSENT_VERSION)
    await update.callback_query.edit_message_text(context.gettext("✅ Thank you. Let's start."))
    assert update.effective_user is not None
    membership = context.services.membership
    previous = await membership.reusable(update.effective_user.id, form.coop.id)
    if previous is not None and form.draft.full_name is None:
        other = await membership.coop(previous.coop_id)
        form.draft.reuse_from = previous.id
        form.draft.reuse_summary = reuse_summary(context.t, previous, other)
        return await ask(update, context, form, Step.REUSE)
    return await ask(update, context, form, Step.NAME)


@with_form
async def on_reuse(update: Update, context: BotContext, form: Form) -> State:
    """Fill the form with the last application's answers, then show the review."""
    assert update.effective_user is not None
    await _answer(update)
    reused = await context.services.membership.reuse(
        update.effective_user.id, form.coop.id, form.draft
    )
    form.draft.reuse_from = None
    form.draft.reuse_summary = None
    if not reused:
        note = context.gettext(
            "Those answers can no longer be used. Let's go through the questions."
        )
        return await ask(update, context, form, Step.NAME, prefix="❗ " + note, edit=True)
    if not context.services.membership.domicile_ok(form.coop, form.draft):
        form.draft.editing = True  # the domicile question returns to the review
        return await ask(update, context, form, Step.DOMICILE, edit=True)
    return await ask(update, context, form, Step.REVIEW, edit=True)


@with_form
async def on_fresh(update: Update, context: BotContext, form: Form) -> State:
    """Answer every question anew."""
    await _answer(update)
    form.draft.reuse_from = None
    form.draft.reuse_summary = None
    return await ask(update, context, form, Step.NAME, edit=True)


# --- NAME, NIK, NIK_CONFIRM, BIRTH_PLACE ------------------------------------------------


@with_form
async def on_name(update: Update, context: BotContext, form: Form) -> State:
    """Take the full name as on the KTP."""
    try:
        form.draft.full_name = check_person_name(_text(update))
    except FormError as error:
        return await reprompt(update, context, form, Step.NAME, error_text(context.t, error))
    return await ask(update, context, form, _then(form, Step.NAME))


@with_form
async def on_nik(update: Update, context: BotContext, form: Form) -> State:
    """Check the NIK, keep it encrypted, and ask to confirm what it says."""
    assert update.effective_user is not None
    try:
        answer = await context.services.membership.nik_answer(
            update.effective_user.id, form.coop.id, _text(update)
        )
    except FormError as error:
        return await reprompt(update, context, form, Step.NIK, error_text(context.t, error))
    form.draft.set_nik(answer)
    # A NIK changed from the review returns there after its confirmation (editing_nik).
    form.draft.editing = False
    return await ask(update, context, form, Step.NIK_CONFIRM)


@with_form
async def on_nik_confirmed(update: Update, context: BotContext, form: Form) -> State:
    """Go on once the sex and birth date read from the NIK are right."""
    await _answer(update)
    if form.draft.editing_nik:
        form.draft.editing_nik = False
        step = Step.REVIEW
    else:
        step = following(Step.NIK_CONFIRM)
    return await ask(update, context, form, step, edit=True)


@with_form
async def on_nik_retype(update: Update, context: BotContext, form: Form) -> State:
    """Forget the NIK and ask for it again."""
    await _answer(update)
    form.draft.clear_nik()
    return await ask(update, context, form, Step.NIK)


@with_form
async def on_birth_place(update: Update, context: BotContext, form: Form) -> State:
    """Take the place of birth."""
    try:
        form.draft.birth_place = check_place_name(_text(update))
    except FormError as error:
        return await reprompt(
            update, context, form, Step.BIRTH_PLACE, error_text(context.t, error)
        )
    return await ask(update, context, form, _then(form, Step.BIRTH_PLACE))


# --- ADDRESS and DOMICILE ---------------------------------------------------------------


async def _after_address(update: Update, context: BotContext, form: Form) -> Step | int:
    """A village cooperative asks non-residents to declare their domicile first."""
    editing = form.draft.take_editing()
    if (
        not context.services.membership.domicile_ok(form.coop, form.draft)
        and not form.draft.domicile_declared
    ):
        form.draft.editing = editing  # still changing it: DOMICILE returns to the review
        return await ask(update, context, form, Step.DOMICILE)
    return await ask(update, context, form, Step.REVIEW if editing else following(Step.ADDRESS))


@with_form
async def on_address(update: Update, context: BotContext, form: Form) -> State:
    """Take a typed home address."""
    try:
        form.draft.set_typed_address(check_address(_text(update)))
    except FormError as error:
        return await reprompt(update, context, form, Step.ADDRESS, error_text(context.t, error))
    return await _after_address(update, context, form)


@with_form
async def on_address_location(update: Update, context: BotContext, form: Form) -> State:
    """Take a shared location as the home address (its village counts as domicile)."""
    message = update.effective_message
    assert message is not None and message.location is not None
    point = Point(message.location.latitude, message.location.longitude)
    try:
        form.draft.set_shared_address(context.services.membership.address_from_point(point))
    except FormError as error:
        return await reprompt(update, context, form, Step.ADDRESS, error_text(context.t, error))
    return await _after_address(update, context, form)


@with_form
async def on_domicile_declared(update: Update, context: BotContext, form: Form) -> State:
    """Record that the applicant lives in the village now (the board checks it)."""
    await _answer(update)
    form.draft.domicile_declared = True
    step = Step.REVIEW if form.draft.take_editing() else following(Step.ADDRESS)
    return await ask(update, context, form, step)


# --- PHONE and OCCUPATION ---------------------------------------------------------------


@with_form
async def on_phone(update: Update, context: BotContext, form: Form) -> State:
    """Take a typed phone number."""
    try:
        form.draft.phone = check_phone(_text(update))
    except FormError as error:
        return await reprompt(update, context, form, Step.PHONE, error_text(context.t, error))
    await _phone_saved(update, context)
    return await ask(update, context, form, _then(form, Step.PHONE))


@with_form
async def on_phone_contact(update: Update, context: BotContext, form: Form) -> State:
    """Take the phone number of a shared contact, if it is the user's own."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.contact is not None and user is not None
    if message.contact.user_id != user.id:
        error = error_text(context.t, FormError("phone_not_own"))
        return await reprompt(update, context, form, Step.PHONE, error)
    try:
        form.draft.phone = check_phone(message.contact.phone_number)
    except FormError as error:
        return await reprompt(update, context, form, Step.PHONE, error_text(context.t, error))
    await _phone_saved(update, context)
    return await ask(update, context, form, _then(form, Step.PHONE))


@with_form
async def on_occupation(update: Update, context: BotContext, form: Form) -> State:
    """Take an occupation from the list, or ask to type another one."""
    assert update.callback_query is not None
    await _answer(update)
    (code,) = OCCUPATION.parse(update.callback_query.data)
    if code == "other":
        return await ask(update, context, form, Step.OCCUPATION_OTHER)
    form.draft.occupation = code
    form.draft.editing = False
    return await ask(update, context, form, Step.REVIEW, edit=True)


@with_form
async def on_occupation_typed(update: Update, context: BotContext, form: Form) -> State:
    """Take a typed occupation."""
    try:
        occupation = check_occupation(_text(update))
    except FormError as error:
        return await reprompt(
            update, context, form, Step.OCCUPATION_OTHER, error_text(context.t, error)
        )
    form.draft.occupation = "other:" + occupation
    form.draft.editing = False
    return await ask(update, context, form, Step.REVIEW)


# --- REVIEW -----------------------------------------------------------------------------


@with_form
async def on_edit(update: Update, context: BotContext, form: Form) -> State:
    """Ask one question again; its answer returns to the review."""
    assert update.callback_query is not None
    await _answer(update)
    (answer,) = FORM_EDIT.parse(update.callback_query.data)
    target = EDIT[answer]
    form.draft.editing = True
    if target == Step.NIK:
        form.draft.editing_nik = True
    if target == Step.ADDRESS:
        form.draft.domicile_declared = False  # a new address may not need it
    return await ask(update, context, form, target)


@with_form
async def on_back(update: Update, context: BotContext, form: Form) -> State:
    """Go back from the review to the last question."""
    await _answer(update)
    return await ask(update, context, form, Step.OCCUPATION, edit=True)


@with_form
async def on_submit(update: Update, context: BotContext, form: Form) -> State:
    """Send the application; tell the admins; say what happens next."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    _ = context.gettext
    coop = form.coop
    try:
        application = await context.services.membership.submit(
            user.id, coop.id, form.draft, context.locale or "id"
        )
    except FormError as error:
        await query.answer()
        if error.code.startswith("already_"):
            form.drop()
            await query.edit_message_text(
                _("Your application to {coop} was already sent.").format(coop=escape(coop.name)),
                parse_mode=ParseMode.HTML,
            )
            return ConversationHandler.END
        if error.code == "domicile":
            return await ask(update, context, form, Step.DOMICILE)
        if error.code == "off_platform":  # its last admin left while the form was open
            kept = _(
                "Your answers are kept: you can send them once this cooperative takes "
                "applications here."
            )
            await send_contact_card(update, context, coop, prefix=kept)
            return ConversationHandler.END
        log.warning("submit refused code=%s", error.code)
        if error.code == "incomplete":  # the review names what is missing and opens it
            return await ask(update, context, form, Step.REVIEW)
        await context.bot.send_message(
            user.id, _("The application could not be sent. Please check your answers.")
        )
        return await ask(update, context, form, Step.REVIEW)
    await query.answer()
    form.drop()
    log.info("application submitted coop=%s number=%s", coop.id, application.number)
    from handlers.notify import notify_admins

    await notify_admins(context, application, coop)
    await query.edit_message_text(
        submitted_text(context.t, coop, application), parse_mode=ParseMode.HTML
    )
    await context.bot.send_message(
        user.id,
        _("You can search for more cooperatives any time."),
        reply_markup=main_keyboard(context.t),
    )
    return ConversationHandler.END


# --- stopping the form ------------------------------------------------------------------


@with_form
async def on_cancel(update: Update, context: BotContext, form: Form) -> State:
    """Ask before discarding the answers (the "Cancel" button)."""
    await _answer(update)
    if form.step != Step.CANCEL_CONFIRM:
        form.draft.resume = int(form.step)
    return await ask(update, context, form, Step.CANCEL_CONFIRM)


@with_form
async def on_discard(update: Update, context: BotContext, form: Form) -> State:
    """Delete the answers and end the form."""
    assert update.callback_query is not None
    await _answer(update)
    form.drop()
    await update.callback_query.edit_message_text(
        context.gettext("Cancelled. Your answers were deleted.")
    )
    if update.effective_chat is not None:
        await context.bot.send_message(
            update.effective_chat.id,
            context.gettext("You can search for cooperatives any time."),
            reply_markup=main_keyboard(context.t),
        )
    return ConversationHandler.END


@with_form
async def on_keep(update: Update, context: BotContext, form: Form) -> State:
    """Go back to the question the form was at."""
    assert update.callback_query is not None
    await _answer(update)
    step = form.resume_step
    form.draft.resume = None
    await update.callback_query.edit_message_text(context.gettext("OK, let's continue."))
    return await ask(update, context, form, step)


# --- answers that do not fit ------------------------------------------------------------


def refuse(step: Step, why: Callable[[Translator], str]) -> StateCallback:
    """A callback for ``step`` that says ``why`` an answer does not fit and asks again."""

    @with_form
    async def refused(update: Update, context: BotContext, form: Form) -> State:
        """Say why the answer does not fit, and ask the question again."""
        return await reprompt(update, context, form, step, why(context.t))

    return refused


@with_form
async def on_stale_button(update: Update, context: BotContext, form: Form) -> State:
    """A button of another question: say so, and stay."""
    assert update.callback_query is not None
    await update.callback_query.answer(
        context.gettext("This button belongs to an earlier question."), show_alert=False
    )
    return None
