"""The one error handler: log with the update id (never personal data), tell the user in
their language, and alert the operators (rate-limited)."""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.telegram.processing import NotKept

log = logging.getLogger(__name__)

USER_NOTICE_S = 10.0  # at most one apology per user in this time
OPERATOR_NOTICE_S = 300.0  # at most one alert per kind of error in this time


async def on_error(update: object, context: BotContext) -> None:
    """Log the error and tell the user, in their language, that something went wrong."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.info("user blocked the bot update_id=%s", update_id)
        return
    if isinstance(error, NotKept):  # the 503 already told Telegram to deliver it again
        log.info("update not kept, nothing sent update_id=%s", update_id)
        return
    services = context.bot_data.services
    outage = services is not None and error is not None and services.health.unavailable(error)
    if outage:
        log.warning("database unavailable update_id=%s error=%s", update_id, type(error).__name__)
    elif isinstance(error, BadRequest):
        # Telegram refused a call (a stale or forged message id, a message already deleted):
        # its own description says what; a traceback would add nothing but noise.
        log.warning("telegram refused a call update_id=%s error=%s", update_id, error.message)
    else:
        log.error(
            "error while handling update_id=%s error=%s",
            update_id,
            type(error).__name__,
            exc_info=error,
        )
    if services is None:
        return
    await _alert_operators(context, "database" if outage else type(error).__name__, update_id)
    if not isinstance(update, Update):
        return
    user = update.effective_user
    now = time.monotonic()
    notices = context.bot_data.error_notices
    if user is not None:
        if now - notices.get(user.id, -USER_NOTICE_S) < USER_NOTICE_S:
            if outage:
                raise ApplicationHandlerStop
            return  # already told this user a moment ago (one update, several failures)
        notices[user.id] = now
        if len(notices) > 10_000:
            notices.clear()
    locale = services.i18n.negotiate(None, user.language_code if user else None)
    if user is not None and not outage:
        try:
            locale = await services.users.locale_for(user.id, user.language_code)
        except Exception:  # the database may be what failed
            log.debug("locale lookup failed during error handling")
    _ = services.i18n.get(locale).gettext
    if outage:
        text = _(
            "⚠️ The service is temporarily unavailable. Please try again in a few "
            "minutes; nothing you entered before is lost."
        )
    elif isinstance(error, (NetworkError, TimedOut)) and not isinstance(error, BadRequest):
        text = _("⚠️ Telegram did not answer in time. Please try again.")
    else:
        text = _("⚠️ Sorry, something went wrong on our side. Please try again in a moment.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_chat is not None and update.effective_chat.type == "private":
            await context.bot.send_message(update.effective_chat.id, text)
    except Exception:  # never let the error handler raise
        log.warning("could not tell the user about the error update_id=%s", update_id)
    if outage:
        # Without the database the later handlers would only fail again (or answer late).
        raise ApplicationHandlerStop


async def _alert_operators(context: BotContext, kind: str, update_id: int | None) -> None:
    services = context.bot_data.services
    settings = context.bot_data.settings
    if services is None or settings is None or not settings.admin_ids:
        return
    now = time.monotonic()
    alerts = context.bot_data.operator_alerts
    if now - alerts.get(kind, -OPERATOR_NOTICE_S) < OPERATOR_NOTICE_S:
        return
    alerts[kind] = now
    t = services.i18n.get(services.i18n.default)
    text = t.gettext(
        "🚨 Error “{kind}” while handling update {update_id}. Details are in the logs."
    ).format(kind=kind, update_id=update_id)
    for operator in settings.admin_ids:
        try:
            await context.bot.send_message(operator, text)
        except Exception:  # an operator who blocked the bot, or Telegram down
            log.warning("could not alert operator")
