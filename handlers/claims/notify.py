"""What the claims feature sends unasked: a claim to every operator, in their language."""

from __future__ import annotations

import logging
from typing import Any

from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.context import BotContext
from bot.services.claims import ClaimView
from handlers.claims.keyboards import decision_keyboard
from handlers.claims.texts import claim_card

log = logging.getLogger(__name__)


async def send(context: BotContext, chat_id: int, text: str, markup: Any = None) -> bool:
    """Send to someone who may have blocked the bot (then logged and skipped)."""
    try:
        await context.bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    except (Forbidden, BadRequest) as error:
        log.warning("claim notice not delivered error=%s", type(error).__name__)
        return False
    return True


async def send_claim(context: BotContext, chat_id: int, view: ClaimView, locale: str) -> None:
    """The claim's files, then its card with the decisions, in ``locale``."""
    t = context.services.i18n.get(locale)
    try:
        for item in view.claim.evidence:
            if item.kind == "photo":
                await context.bot.send_photo(chat_id, item.file_id)
            else:
                await context.bot.send_document(chat_id, item.file_id)
    except (Forbidden, BadRequest) as error:
        log.warning("claim evidence not delivered error=%s", type(error).__name__)
    markup = decision_keyboard(t, view.claim) if view.claim.status in ("open", "more") else None
    await send(context, chat_id, claim_card(t, view), markup)


async def notify_operators(context: BotContext, view: ClaimView) -> None:
    """Give every operator the claim at once, each in their own language."""
    services = context.services
    for operator in services.claims.operators():
        locale = await services.users.recipient_locale(operator)
        await send_claim(context, operator, view, locale)
