"""What every callback of the membership conversation shares: the open form and the asking.

A state callback is written as ``async def on_x(update, context, form) -> next state`` and
wrapped with :func:`with_form`, which finds the open form (or ends the conversation
politely when it is gone) and stores the typed draft back in ``user_data`` afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.services.draft import Forms, MembershipDraft
from handlers.keyboards import main_keyboard
from handlers.membership.keyboards import question_keyboard
from handlers.membership.steps import Step, missing_step
from handlers.membership.texts import missing_note, question_text
from storage.models import Cooperative

# What a callback returns: the next state, ConversationHandler.END, or None (stay).
State = Step | int | None


@dataclass(slots=True)
class Form:
    """The form being filled in: its cooperative, its draft, and where drafts are kept."""

    coop: Cooperative
    draft: MembershipDraft
    forms: Forms
    dropped: bool = False

    @property
    def step(self) -> Step:
        """The question the form is at."""
        return _step(self.draft.step)

    @property
    def resume_step(self) -> Step:
        """The question to return to from "Stop the form?"."""
        return _step(self.draft.resume)

    def drop(self) -> None:
        """Delete the draft (discarded, declined or submitted)."""
        self.forms.drop(self.coop.id)
        self.dropped = True

    def save(self) -> None:
        if not self.dropped:
            self.forms.put(self.coop.id, self.draft)


def _step(value: int | None) -> Step:
    try:
        return Step(value or Step.NAME)
    except ValueError:  # a draft from a version with other states
        return Step.NAME


def forms_of(context: BotContext) -> Forms:
    assert context.user_data is not None
    return Forms(context.user_data)


async def open_form(context: BotContext) -> Form | None:
    """The open form, unless it is gone (data deleted, cooperative removed)."""
    forms = forms_of(context)
    active = forms.active()
    if active is None:
        return None
    coop_id, draft = active
    coop = await context.services.membership.coop(coop_id)
    if coop is None:
        forms.drop(coop_id)
        return None
    return Form(coop, draft, forms)


FormCallback = Callable[[Update, BotContext, Form], Awaitable[State]]
StateCallback = Callable[[Update, BotContext], Coroutine[Any, Any, State]]


def with_form(callback: FormCallback) -> StateCallback:
    """Run ``callback`` on the open form and keep its draft; end if the form is gone."""

    @functools.wraps(callback)
    async def run(update: Update, context: BotContext) -> State:
        form = await open_form(context)
        if form is None:
            return await lost(update, context)
        state = await callback(update, context, form)
        form.save()
        return state

    return run


async def ask(
    update: Update,
    context: BotContext,
    form: Form,
    step: Step,
    *,
    prefix: str = "",
    edit: bool = False,
) -> Step | int:
    """Send (or, for button answers, edit in) the question of ``step``; return the step."""
    chat = update.effective_chat
    if chat is None:
        return await lost(update, context)
    if step == Step.REVIEW and form.draft.missing():
        # Whatever path led here, the review is shown only once every question has been
        # answered: otherwise the first unanswered question is asked, saying why.
        step = missing_step(form.draft)
        note = missing_note(context.t, form.draft)
        prefix = f"{prefix}\n\n{note}" if prefix else note
    form.draft.step = int(step)
    form.draft.updated_at = datetime.now(UTC)
    membership = context.services.membership
    village = membership.village_name(form.coop)
    text = question_text(
        context.t, step, form.coop, form.draft, village, membership.retention_days
    )
    markup = question_keyboard(context.t, step, village)
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
        await context.bot.send_message(
            chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    return step


async def reprompt(
    update: Update, context: BotContext, form: Form, step: Step, error: str
) -> Step | int:
    """Say what was wrong and ask the question of ``step`` again."""
    return await ask(update, context, form, step, prefix="❗ " + error)


async def lost(update: Update, context: BotContext) -> int:
    """The draft is gone (cooperative removed, data deleted): end politely."""
    chat = update.effective_chat
    if update.callback_query is not None:
        await update.callback_query.answer()
    if chat is not None:
        await context.bot.send_message(
            chat.id,
            context.gettext(
                "This form is no longer available. Open the cooperative again to join."
            ),
            reply_markup=main_keyboard(context.t),
        )
    return ConversationHandler.END
