"""/privacy (/privasi): what is stored, why, who sees it, how long, and the user's rights."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext


async def privacy(update: Update, context: BotContext) -> None:
    """Explain how personal data is handled (UU 27/2022)."""
    message = update.effective_message
    assert message is not None
    _ = context.gettext
    settings = context.settings
    text = "\n".join([
        _("<b>Privacy at Gerbang Koperasi</b> (UU 27/2022 on Personal Data Protection)"),
        "",
        _("<b>Searching</b> needs no personal data. A location you share is used for that "
          "search only; typed searches are kept for a week so their buttons keep working."),
        _("<b>Joining a cooperative</b> asks, after your explicit consent: full name, NIK, "
          "sex and date of birth (from the NIK), place of birth, address, phone number and "
          "occupation. The purpose is your membership application and, once approved, your "
          "membership."),
        _("<b>Who sees it:</b> each cooperative's board sees only its own applicants and "
          "members; the platform's operators see what they need to run it. Nobody else, and "
          "nothing is sold or shared."),
        _("<b>Security:</b> your NIK is stored encrypted and shown masked "
          "(3171********0001); it never appears in logs or announcements."),
        _("<b>How long:</b> while you are a member. Rejected or withdrawn applications are "
          "deleted after {days} days.").format(days=settings.retention_days),
        _("<b>Your rights:</b> see and download your data with /mydata, have it corrected, "
          "delete it with /deletedata, and withdraw consent at any time."),
        "",
        _("Data controller: Gerbang Koperasi — {contact}").format(
            contact=escape(settings.privacy_contact)),
    ])
    await message.reply_text(text, parse_mode=ParseMode.HTML)


HANDLERS: list[BaseHandler] = [CommandHandler(["privacy", "privasi"], privacy)]
