"""Into the membership form, and out of it when idle.

The "Join" button (``jn:<coop id>``) and the deep link ``?start=join_<coop id>`` start a
form or resume a kept draft; after 30 idle minutes the form pauses with a button to go on.
A cooperative not on the platform (no board here to decide) gets its contact card instead
of the form, whichever way in (``handlers/platform``).
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ConversationHandler, filters

from bot.context import BotContext
from bot.services.draft import MembershipDraft
from handlers.callbacks import JOIN
from handlers.membership.flow import Form, ask, forms_of
from handlers.membership.keyboards import continue_keyboard
from handlers.membership.steps import Step
from handlers.membership.texts import open_application_text
from handlers.platform import send_contact_card

JOIN_PREFIX = "join_"
# The deep link that opens a cooperative's form (payloads are [A-Za-z0-9_-]{1,64}).
JOIN_LINK = filters.Regex(rf"^/start {JOIN_PREFIX}[0-9a-f]{{24}}$")


async def start_form(update: Update, context: BotContext, coop_id: str) -> Step | int | None:
    """Open the cooperative's form: a new one at the terms, a kept one where it stopped."""
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    _ = context.gettext
    if update.callback_query is not None:
        await update.callback_query.answer()
    eligibility = await context.services.membership.eligibility(user.id, coop_id)
    coop = eligibility.coop
    if eligibility.status == "unknown" or coop is None:
        await context.bot.send_message(
            chat.id,
            _("I can't find that cooperative. It may have been removed from the directory."),
        )
        return ConversationHandler.END
    if eligibility.status != "ok" and eligibility.application is not None:
        await context.bot.send_message(
            chat.id,
            open_application_text(context.t, coop, eligibility.application),
            parse_mode=ParseMode.HTML,
        )
        return ConversationHandler.END
    if eligibility.status == "off_platform":
        await send_contact_card(update, context, coop)
        return None  # a form open for another cooperative stays where it was
    forms = forms_of(context)
    previous = forms.open_id
    forms.open(coop_id)
    draft = forms.get(coop_id)
    if draft is not None and draft.step:
        form = Form(coop, draft, forms)
        step = form.step
        if step == Step.CANCEL_CONFIRM:
            step = form.resume_step
        state = await ask(
            update,
            context,
            form,
            step,
            prefix=_("Welcome back! Your answers are kept; let's continue."),
        )
        form.save()
        return state
    form = Form(coop, MembershipDraft.new(), forms)
    prefix = ""
    if previous and previous != coop_id and previous in forms:
        prefix = _(
            "Your answers for the other form are kept; you can finish it later from "
            "that cooperative's page."
        )
    state = await ask(update, context, form, Step.TERMS, prefix=prefix)
    form.save()
    return state


async def join_button(update: Update, context: BotContext) -> Step | int | None:
    """Start (or resume) the form from the "Join" button."""
    assert update.callback_query is not None
    (coop_id,) = JOIN.parse(update.callback_query.data)
    return await start_form(update, context, coop_id)


async def join_link(update: Update, context: BotContext) -> Step | int | None:
    """Start (or resume) the form from the deep link ``?start=join_<id>``."""
    payload = context.args[0] if context.args else ""
    return await start_form(update, context, payload.removeprefix(JOIN_PREFIX))


async def on_timeout(update: Update, context: BotContext) -> None:
    """Pause the form after 30 idle minutes: keep the answers, offer to continue."""
    chat = update.effective_chat
    active = forms_of(context).active()
    if chat is None or active is None:
        return
    coop_id, _draft = active
    _ = context.gettext
    await context.bot.send_message(
        chat.id,
        _(
            "⏸ The form is paused after 30 minutes without an answer. Your answers are kept: "
            "continue whenever you are ready."
        ),
        reply_markup=continue_keyboard(context.t, coop_id),
    )
