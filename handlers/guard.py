"""The one refusal, and the preamble guarded buttons share: parse the data, check, refuse.

Roles are checked in ``AdminService`` and nowhere else: every check goes through
``AdminService.authorize`` (``require_coop``, ``require_application`` and ``require_operator``
are its shorthands), which writes each refusal to the audit log and raises
:class:`~bot.services.admin.Forbidden`. A handler never decides a role by itself (asking
``is_operator`` only chooses which buttons to show). Here a refusal becomes the same answer
everywhere, which says nothing about the target: a forged button pointing at another
cooperative's application gets the answer a missing one gets.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from telegram import Update

from bot.context import BotContext
from bot.services.admin import Forbidden
from handlers.callbacks import Callback

R = TypeVar("R")

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, R]]


async def refuse(update: Update, context: BotContext) -> None:
    """The one answer to anything not allowed: it says nothing about the target."""
    text = context.gettext("You are not allowed to do that.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


def actor(update: Update) -> int:
    """The id of the user who sent the update."""
    assert update.effective_user is not None
    return update.effective_user.id


def guarded(
    kind: Callback | None = None, *, refused: int | None = None
) -> Callable[[Callable[..., Awaitable[R]]], Handler[R | int | None]]:
    """Turn ``fn(update, context, actor, *fields)`` into a callback ``(update, context)``.

    The button's data is parsed as ``kind`` (its pattern already matched) and its typed fields
    follow the actor's id; without ``kind`` nothing is parsed, so commands can be guarded too.
    When a service refuses (``Forbidden``), the user gets the one refusal and the callback
    returns ``refused`` (``ConversationHandler.END`` for a conversation's entry point).
    """

    def wrap(fn: Callable[..., Awaitable[R]]) -> Handler[R | int | None]:
        @functools.wraps(fn)
        async def callback(update: Update, context: BotContext) -> R | int | None:
            fields: tuple[Any, ...] = ()
            if kind is not None:
                assert update.callback_query is not None
                fields = kind.parse(update.callback_query.data)
            try:
                return await fn(update, context, actor(update), *fields)
            except Forbidden:
                await refuse(update, context)
                return refused

        return callback

    return wrap
