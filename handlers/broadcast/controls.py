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
from handlers.broadcast.keyboards import control_markup, muting_markup, unmuting_markup
from handlers.callbacks import JOB_CANCEL, JOB_PAUSE, JOB_RESUME, MUTE, UNMUTE, any_of, which
from handlers.guard import refuse

log = logging.getLogger(__name__)

ACTIONS = {JOB_PAUSE: "pause", JOB_RESUME: "resume", JOB_CANCEL: "cancel"}


def _actor(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


async def on_control(update: Update, context: BotContext) -> None:
    """Pause, resume or cancel — by the creator, an admin of the cooperative or an operator."""
    query = update.callback_query
    assert query is not None
    kind = which(query.data, *ACTIONS)
    (job_id,) = kind.parse(query.data)
    actor = _actor(update)
    services = context.services
    job = await services.broadcast.get(job_id)
    allowed = job is not None and (
        actor == job.created_by
        or services.admin.is_operator(actor)
        or (job.coop_id is not None and await services.admin.is_admin(job.coop_id, actor))
    )
    if not allowed:
        await refuse(update, context)
        return
    action = ACTIONS[kind]
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
        name = "Gerbang Koperasi"
    if kind is MUTE:
        await services.broadcast.mute(user, key)
        await query.answer(
            t.gettext("🔕 Muted: no more announcements from {name}.").format(name=name[:100]),
            show_alert=True,
        )
        markup = unmuting_markup(key)
    else:
        await services.broadcast.unmute(user, key)
        await query.answer(
            t.gettext("🔔 You will get announcements from {name} again.").format(name=name[:100]),
            show_alert=True,
        )
        markup = muting_markup(key)
    try:
        await query.edit_message_reply_markup(markup)
    except BadRequest:
        log.debug("announcement markup not changed")


HANDLERS: list[BaseHandler] = [
    CallbackQueryHandler(on_control, pattern=any_of(*ACTIONS)),
    CallbackQueryHandler(on_mute, pattern=any_of(MUTE, UNMUTE)),
]
