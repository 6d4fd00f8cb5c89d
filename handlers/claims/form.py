"""The claimant's form: which cooperative, consent, role, name, own phone, evidence, send.

Each callback returns the next state (:class:`~handlers.claims.states.Step`). The answers
are a :class:`~bot.services.claims.ClaimDraft` in ``user_data`` (persisted after every
update, so a restart loses nothing); the name and phone enter it sealed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from html import escape

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import ConversationHandler, filters

from bot.context import BotContext
from bot.services.claims import CONSENT_VERSION, MAX_FILES, ClaimDraft, ClaimError, check_evidence
from bot.services.membership import FormError
from handlers.callbacks import CLAIM_ROLE, CLAIM_START
from handlers.claims.keyboards import (
    cancel_keyboard,
    consent_keyboard,
    contact_keyboard,
    continue_keyboard,
    review_keyboard,
    role_keyboard,
)
from handlers.claims.notify import notify_operators
from handlers.claims.states import FORM, Step
from handlers.claims.texts import (
    consent_text,
    error_text,
    open_claim_text,
    question_text,
    review_text,
    submitted_text,
)
from handlers.keyboards import main_keyboard
from handlers.membership.texts import error_text as form_error_text
from storage.models import Cooperative, Evidence

log = logging.getLogger(__name__)

State = Step | int | None
CLAIM_PREFIX = "claim_"
# The deep link that opens a claim (payloads are [A-Za-z0-9_-]{1,64}).
CLAIM_LINK = filters.Regex(rf"^/start {CLAIM_PREFIX}[0-9a-f]{{24}}$")


def _user_data(context: BotContext) -> dict:
    assert context.user_data is not None
    return context.user_data


def _user_id(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | None


async def _say(update: Update, context: BotContext, text: str, markup: Markup = None) -> None:
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def ask(
    update: Update,
    context: BotContext,
    coop: Cooperative,
    draft: ClaimDraft,
    step: Step,
    *,
    prefix: str = "",
    edit: bool = False,
) -> Step:
    """Keep the draft at ``step`` and ask its question (edited in for button answers)."""
    t = context.t
    draft.step = int(step)
    draft.save(_user_data(context))
    markup: Markup
    if step == Step.CONSENT:
        text = consent_text(t, coop, context.services.claims.retention_days)
        markup = consent_keyboard(t)
    elif step == Step.REVIEW:
        claims, user_id = context.services.claims, _user_id(update)
        text = review_text(
            t,
            coop,
            draft.role,
            await claims.unseal(user_id, "name", draft.name),
            await claims.unseal(user_id, "phone", draft.phone),
            len(draft.evidence),
        )
        markup = review_keyboard(t)
    else:
        text = question_text(t, step, coop)
        if step == Step.ROLE:
            markup = role_keyboard(t)
        elif step == Step.PHONE:
            markup = contact_keyboard(t)
        else:
            markup = cancel_keyboard(t)
    if prefix:
        text = prefix + "\n\n" + text
    query = update.callback_query
    if (
        edit
        and query is not None
        and query.message is not None
        and isinstance(markup, InlineKeyboardMarkup)
    ):
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    else:
        await _say(update, context, text, markup)
    return step


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


async def _open(update: Update, context: BotContext) -> tuple[Cooperative, ClaimDraft] | None:
    """The open draft and its cooperative, or None (then the user was told)."""
    draft = ClaimDraft.of(_user_data(context))
    coop = await context.services.claims.coop(draft.coop_id) if draft is not None else None
    if draft is None or coop is None:
        ClaimDraft.drop(_user_data(context))
        await _answer(update)
        await _say(
            update,
            context,
            context.gettext(
                "This claim is no longer open. Open the cooperative again to claim it."
            ),
        )
        return None
    return coop, draft


# --- into the form -----------------------------------------------------------------------


async def begin(update: Update, context: BotContext, coop_id: str) -> State:
    """Start a claim for ``coop_id`` (or resume the one kept for it)."""
    await _answer(update)
    claims = context.services.claims
    try:
        coop = await claims.can_start(_user_id(update), coop_id)
    except ClaimError as error:
        known = await claims.coop(coop_id)
        if error.claim is not None and known is not None:
            text = open_claim_text(context.t, known, error.claim)
        else:
            text = error_text(context.t, error, known)
        await _say(update, context, text)
        return ConversationHandler.END
    draft = ClaimDraft.of(_user_data(context))
    if draft is not None and draft.coop_id == coop.id and draft.step in [int(s) for s in FORM]:
        step = Step(draft.step)
        prefix = context.gettext("Welcome back! Your answers are kept; let's continue.")
        return await ask(update, context, coop, draft, step, prefix=prefix)
    draft = ClaimDraft(coop_id=coop.id, started_at=datetime.now(UTC))
    return await ask(update, context, coop, draft, Step.CONSENT)


async def start_button(update: Update, context: BotContext) -> State:
    """Start a claim from "I run this cooperative"."""
    assert update.callback_query is not None
    (coop_id,) = CLAIM_START.parse(update.callback_query.data)
    return await begin(update, context, coop_id)


async def start_link(update: Update, context: BotContext) -> State:
    """Start a claim from the deep link ``?start=claim_<id>``."""
    payload = context.args[0] if context.args else ""
    return await begin(update, context, payload.removeprefix(CLAIM_PREFIX))


async def claim_command(update: Update, context: BotContext) -> State:
    """/claim (/klaim) [registration number, id or name]: find the cooperative to claim."""
    ref = " ".join(context.args or []).strip()
    if not ref:
        await _say(
            update,
            context,
            context.gettext(
                "Which cooperative do you run? Type its registration number (NIK koperasi) "
                "or its name. (/cancel to stop)"
            ),
        )
        return Step.COOP
    return await find(update, context, ref)


async def on_coop_text(update: Update, context: BotContext) -> State:
    """Take a typed registration number or name."""
    assert update.effective_message is not None
    return await find(update, context, update.effective_message.text or "")


async def find(update: Update, context: BotContext, ref: str) -> State:
    """Claim the one cooperative ``ref`` names, or offer the ones whose names match."""
    found = await context.services.claims.find(ref)
    if len(found) == 1:
        return await begin(update, context, found[0].id)
    _ = context.gettext
    if not found:
        await _say(
            update,
            context,
            _(
                "I found no cooperative for “{ref}”. Type its registration number or its name, "
                "or /cancel."
            ).format(ref=escape(ref[:100])),
        )
        return Step.COOP
    place = context.services.directory.place
    rows = [
        [
            InlineKeyboardButton(
                f"{c.name} · {place(c)}"[:60] if place(c) else c.name[:60],
                callback_data=CLAIM_START(c.id),
            )
        ]
        for c in found
    ]
    await _say(update, context, _("Which one do you run?"), InlineKeyboardMarkup(rows))
    return Step.COOP


# --- the questions -----------------------------------------------------------------------


async def on_agree(update: Update, context: BotContext) -> State:
    """Record the consent (and its version), then ask for the role."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    coop, draft = opened
    await _answer(update)
    draft.consent_version = CONSENT_VERSION
    draft.consent_at = datetime.now(UTC)
    return await ask(update, context, coop, draft, Step.ROLE, edit=True)


async def on_role(update: Update, context: BotContext) -> State:
    """Take the role on the board."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    coop, draft = opened
    assert update.callback_query is not None
    await _answer(update)
    (draft.role,) = CLAIM_ROLE.parse(update.callback_query.data)
    return await ask(update, context, coop, draft, Step.NAME, edit=True)


async def on_name(update: Update, context: BotContext) -> State:
    """Take the full name (sealed)."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    coop, draft = opened
    assert update.effective_message is not None
    claims = context.services.claims
    try:
        name = claims.check_name(update.effective_message.text or "")
    except FormError as error:
        prefix = "❗ " + form_error_text(context.t, error)
        return await ask(update, context, coop, draft, Step.NAME, prefix=prefix)
    draft.name = await claims.seal(_user_id(update), "name", name)
    return await ask(update, context, coop, draft, Step.PHONE)


async def on_contact(update: Update, context: BotContext) -> State:
    """Take the phone number of the user's own shared contact (sealed)."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    coop, draft = opened
    message = update.effective_message
    assert message is not None and message.contact is not None
    claims = context.services.claims
    if message.contact.user_id != _user_id(update):
        prefix = "❗ " + context.gettext(
            "That is someone else's contact. Share your own number with the button below."
        )
        return await ask(update, context, coop, draft, Step.PHONE, prefix=prefix)
    try:
        phone = claims.check_phone(message.contact.phone_number)
    except FormError as error:
        prefix = "❗ " + form_error_text(context.t, error)
        return await ask(update, context, coop, draft, Step.PHONE, prefix=prefix)
    draft.phone = await claims.seal(_user_id(update), "phone", phone)
    await message.reply_text(
        context.gettext("✅ Phone number saved."), reply_markup=ReplyKeyboardRemove()
    )
    return await ask(update, context, coop, draft, Step.EVIDENCE)


async def on_phone_other(update: Update, context: BotContext) -> State:
    """Anything but a contact at the phone question: point to the button."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    coop, draft = opened
    prefix = "❗ " + context.gettext(
        "Please tap the button “📱 Share my phone number” below: the number must be your own."
    )
    return await ask(update, context, coop, draft, Step.PHONE, prefix=prefix)


def evidence_of(message: Message) -> Evidence:
    """The file a message carries as evidence; :class:`ClaimError` when it cannot be one."""
    if message.photo:
        photo = message.photo[-1]  # the largest size
        mime = check_evidence("photo", None, photo.file_size, None)
        return Evidence(photo.file_id, "photo", mime, None)
    document = message.document
    if document is None:
        raise ClaimError("evidence_type")
    mime = check_evidence("document", document.mime_type, document.file_size, document.file_name)
    return Evidence(document.file_id, "document", mime, (document.file_name or "")[:100] or None)


async def on_file(update: Update, context: BotContext) -> State:
    """Take a photo or PDF as evidence (refuse other files; earlier answers stay)."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    coop, draft = opened
    assert update.effective_message is not None
    step = Step(draft.step or Step.EVIDENCE)
    try:
        if len(draft.evidence) >= MAX_FILES:
            raise ClaimError("evidence_many", max=MAX_FILES)
        draft.evidence.append(evidence_of(update.effective_message))
    except ClaimError as error:
        prefix = "❗ " + error_text(context.t, error, coop)
        return await ask(update, context, coop, draft, step, prefix=prefix)
    prefix = context.gettext("✅ File received.")
    return await ask(update, context, coop, draft, Step.REVIEW, prefix=prefix)


async def on_not_a_file(update: Update, context: BotContext) -> State:
    """Anything but a photo or PDF at the evidence question: say what fits."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    coop, draft = opened
    step = Step(draft.step or Step.EVIDENCE)
    prefix = "❗ " + error_text(context.t, ClaimError("evidence_type"), coop)
    return await ask(update, context, coop, draft, step, prefix=prefix)


async def refuse_typed(update: Update, context: BotContext) -> State:
    """Typed text or a file at a question answered with buttons: ask again."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    coop, draft = opened
    prefix = "❗ " + context.gettext("Please choose one of the buttons.")
    return await ask(update, context, coop, draft, Step(draft.step or Step.CONSENT), prefix=prefix)


async def on_send(update: Update, context: BotContext) -> State:
    """Send the claim to the operators."""
    opened = await _open(update, context)
    if opened is None:
        return ConversationHandler.END
    coop, draft = opened
    query = update.callback_query
    assert query is not None
    await query.answer()
    t = context.t
    try:
        view = await context.services.claims.submit(_user_id(update), draft)
    except ClaimError as error:
        ClaimDraft.drop(_user_data(context))
        if error.claim is not None:
            text = open_claim_text(t, coop, error.claim)
        else:
            text = error_text(t, error, coop)
        await query.edit_message_text(text, parse_mode=ParseMode.HTML)
        return ConversationHandler.END
    ClaimDraft.drop(_user_data(context))
    await query.edit_message_text(submitted_text(t, coop), parse_mode=ParseMode.HTML)
    await _say(
        update,
        context,
        context.gettext("You can search for cooperatives any time."),
        main_keyboard(t),
    )
    await notify_operators(context, view)
    return ConversationHandler.END


async def on_stop(update: Update, context: BotContext) -> State:
    """Discard the claim form."""
    await _answer(update)
    ClaimDraft.drop(_user_data(context))
    text = context.gettext("Cancelled. Nothing was sent.")
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.edit_message_text(text)
    await _say(
        update,
        context,
        context.gettext("You can search for cooperatives any time."),
        main_keyboard(context.t),
    )
    return ConversationHandler.END


async def on_stale_button(update: Update, context: BotContext) -> State:
    """A button of another question: say so, and stay."""
    assert update.callback_query is not None
    await update.callback_query.answer(
        context.gettext("This button belongs to an earlier question.")
    )
    return None


async def pause(update: Update, context: BotContext) -> None:
    """After the idle time: the form pauses with its answers kept."""
    draft = ClaimDraft.of(_user_data(context))
    chat = update.effective_chat
    if draft is None or chat is None or draft.step not in [int(s) for s in FORM]:
        return
    await context.bot.send_message(
        chat.id,
        context.gettext(
            "⏸ The claim form is paused after 30 minutes without an answer. Your answers are "
            "kept: continue whenever you are ready."
        ),
        reply_markup=continue_keyboard(context.t, draft.coop_id),
    )
