"""/start (with deep links) and /help."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from handlers.cards import verify_card
from handlers.keyboards import main_keyboard_in
from handlers.operator import accept_invite
from handlers.search import send_detail

log = logging.getLogger(__name__)


async def start(update: Update, context: BotContext) -> None:
    """Greet the user, or open what a deep link points at."""
    message = update.effective_message
    assert message is not None
    payload = context.args[0] if context.args else ""
    if payload.startswith("c_"):
        await send_detail(update, context, payload[2:])
        return
    if payload.startswith("v_"):
        await verify_card(update, context, payload[2:])
        return
    if payload.startswith("adm_"):
        await accept_invite(update, context, payload[4:])
        return
    if payload == "inline":
        # The button of an inline query (search from another chat): a plain welcome.
        payload = ""
    _ = context.gettext
    text = "\n".join(
        [
            _("👋 Welcome to <b>Gerbang Koperasi</b>, the gateway to Indonesia's cooperatives."),
            _("Find cooperatives near you or by what they offer, and keep your memberships here."),
            "",
            # TRANSLATORS: the examples must work in the demo directory (Medan, Sleman,
            # Jakarta, Makassar, Kupang); tests/test_search_examples.py runs each of them.
            # Give examples in your language: "ksp di Medan Baru", "apotek desa Caturtunggal".
            _(
                "📍 Share your location with the button below, or type a place or a cooperative "
                "name, for example <i>Sleman</i>, <i>savings and loan in Medan Baru</i> or "
                "<i>pharmacy in Makassar</i>."
            ),
            _("/help lists everything I can do."),
        ]
    )
    if payload:
        text = _("That link is not valid (any more). Here is the start instead.") + "\n\n" + text
    await message.reply_text(
        text, parse_mode=ParseMode.HTML, reply_markup=main_keyboard_in(message.chat, context.t)
    )


async def help_command(update: Update, context: BotContext) -> None:
    """Explain every command."""
    message = update.effective_message
    assert message is not None
    _ = context.gettext
    text = "\n".join(
        [
            _("<b>How to use Gerbang Koperasi</b>"),
            "",
            _("📍 <b>Share your location</b> to see the nearest cooperatives, nearest first."),
            # TRANSLATORS: the examples must work in the demo directory; give them in your
            # language ("ksp", "apotek", "ksp di Medan Baru").
            _(
                "⌨️ <b>Type</b> a place (“Sleman”, “Yogyakarta”), a type or service (“savings "
                "and loan”, “pharmacy”, “groceries”) or a cooperative's name (“Koperasi "
                "Sejahtera”) — or all together: “savings and loan in Medan Baru”."
            ),
            _("🔗 In any chat, type <code>@{bot} Sleman</code> to share a cooperative.").format(
                bot=context.bot.username or "bot"
            ),
            "",
            _("<b>Commands</b>"),
            _("/start — start over"),
            _("/search (/cari) — search by place, type, service or name"),
            _("/cards (/kartu) — your member cards"),
            _("/dues (/tagihan) — what you owe in every cooperative, and how to pay"),
            _("/claim (/klaim) — you run a cooperative: manage it here"),
            _("/language (/bahasa) — Bahasa Indonesia or English"),
            _("/privacy (/privasi) — how your data is used"),
            _("/mydata (/dataku) — download your data"),
            _("/deletedata (/hapusdata) — delete your data"),
            _("/cancel (/batal) — stop what you are doing"),
            _("/help (/bantuan) — this help"),
        ]
    )
    await message.reply_text(
        text, parse_mode=ParseMode.HTML, reply_markup=main_keyboard_in(message.chat, context.t)
    )


HANDLERS: list[BaseHandler] = [
    CommandHandler("start", start),
    CommandHandler(["help", "bantuan"], help_command),
]
