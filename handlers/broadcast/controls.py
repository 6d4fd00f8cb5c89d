"""The buttons that outlive the conversation: pause, resume or cancel a running
announcement (under its progress message), and mute or unmute (under every announcement).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.services.broadcast import PLATFORM
from handlers.broadcast.header import PLATFORM_NAME
from handlers.broadcast.keyboards import control_markup, muting_markup, unmuting_markup
from handlers.callbacks import JOB_CANCEL, JOB_PAUSE, JOB_RESUME, MUTE, UNMUTE, any_of, which
from handlers.guard import guarded

log = logging.getLogger(__name__)


def _actor(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


async def control(
    update: Update, context: BotContext, actor: int, job_id: str, action: str
) -> None:
    """Pause, resume or cancel: any current admin of the cooperative (a board member may
    stop a colleague's mistake; one removed from the board may not, even their own), or an
    operator. The role is read at every tap; a refusal is audited like any other."""
    query = update.callback_query
    assert query is not None
    services = context.services
    job = await services.broadcast.get(job_id)
    await services.admin.authorize(
        actor,
        f"broadcast_{action}",
        coop_id=job.coop_id if job else None,
        operators=True,
        target=job_id,
    )
    changed = await services.broadcast.control(job_id, action)
    await services.admin.record(
        actor,
        f"broadcast_{action}",
        outcome="ok" if changed else "not_applicable",
        coop_id=job.coop_id if job else None,
        target=job_id,
    )
    t = context.t
    if changed is None:
        await query.answer(t.gettext("That is no longer possible."), show_alert=True)
        return
    await query.answer(
        {
            "pause": t.gettext("Paused."),
            "resume": t.gettext("Resumed."),
            "cancel": t.gettext("Cancelled."),
        }[action]
    )
    if action != "cancel":
        try:
            await query.edit_message_reply_markup(control_markup(t, changed))
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise


@guarded(JOB_PAUSE)
async def on_pause(update: Update, context: BotContext, user_id: int, job_id: str) -> None:
    """Pause a running announcement."""
    await control(update, context, user_id, job_id, "pause")


@guarded(JOB_RESUME)
async def on_resume(update: Update, context: BotContext, user_id: int, job_id: str) -> None:
    """Resume a paused announcement."""
    await control(update, context, user_id, job_id, "resume")


@guarded(JOB_CANCEL)
async def on_cancel(update: Update, context: BotContext, user_id: int, job_id: str) -> None:
    """Cancel an announcement: what was not sent yet is not sent."""
    await control(update, context, user_id, job_id, "cancel")


async def on_mute(update: Update, context: BotContext) -> None:
    """Mute (or unmute) announcements from a cooperative or from the platform."""
    query = update.callback_query
    assert query is not None
    kind = which(query.data, MUTE, UNMUTE)
    (key,) = kind.parse(query.data)
    user = _actor(update)
    services = context.services
    t = context.t
    if key != PLATFORM:
        coop = await services.directory.get(key)
        if coop is None:
            await query.answer(
                t.gettext("This cooperative is no longer in the directory."), show_alert=True
            )
            return
        name = coop.name
    else:
        name = PLATFORM_NAME
    if kind is MUTE:
        await services.broadcast.mute(user, key)
        await query.answer(
            t.gettext("🔕 Muted: no more announcements from {name}.").format(name=name[:100]),
            show_alert=True,
        )
        markup = unmuting_markup(t, key, name)
    else:
        await services.broadcast.unmute(user, key)
        await query.answer(
            t.gettext("🔔 You will get announcements from {name} again.").format(name=name[:100]),
            show_alert=True,
        )
        markup = muting_markup(t, key, name)
    try:
        await query.edit_message_reply_markup(markup)
    except BadRequest:
        log.debug("announcement markup not changed")


HANDLERS: list[BaseHandler] = [
    CallbackQueryHandler(on_pause, pattern=JOB_PAUSE.pattern),
    CallbackQueryHandler(on_resume, pattern=JOB_RESUME.pattern),
    CallbackQueryHandler(on_cancel, pattern=JOB_CANCEL.pattern),
    CallbackQueryHandler(on_mute, pattern=any_of(MUTE, UNMUTE)),
]
