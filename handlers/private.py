"""Personal and admin features answer only in private chats (DESIGN.md).

A group sees everything the bot posts there. So in a group, supergroup or channel the bot
must not send what belongs to one person or to a cooperative's board: a data export with the
full NIK (/mydata), a member card (/kartu), a membership form asking for the NIK, an admin's
panel with applicants' names, addresses and phones, an invitation link.

One handler, first in the registry, stands in front of all of them. Outside a private chat it
lets through only what is public — search, a cooperative's page and its map, /help and
/privacy — and answers everything else with one line and a button that opens the private
chat with the right deep link (``?start=join_<id>`` for a form, ``?start=`` for the rest). A
button pressed under a message in a group gets an alert and nothing is posted. A plain
message in a group (a typed answer, a location, a file) reaches no feature: only private
features read those. Public is an allowlist: a command or a button added later is private
until it is named here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler

from bot.context import BotContext
from handlers.callbacks import (
    JOIN,
    MAP,
    NOOP,
    OPEN,
    OPEN_FROM,
    PAGE,
    PICK_PLACE,
    SERVICE_MENU,
    SET_SERVICE,
    SET_TYPE,
    TYPE_MENU,
)
from handlers.keyboards import deep_link

# Commands answered in any chat: they show the directory, or how the bot works.
PUBLIC_COMMANDS = frozenset(
    {"start", "help", "bantuan", "search", "cari", "privacy", "privasi", "cancel", "batal"}
)
# /start payloads answered in any chat: none, and a cooperative's page (``c_<id>``).
PUBLIC_START = re.compile(r"(c_[A-Za-z0-9_-]*)?")
# Buttons that work under a message in any chat: result lists and a cooperative's page.
PUBLIC_BUTTONS = (
    NOOP,
    PAGE,
    OPEN,
    OPEN_FROM,
    MAP,
    TYPE_MENU,
    SERVICE_MENU,
    SET_TYPE,
    SET_SERVICE,
    PICK_PLACE,
)
# What Telegram accepts after ?start= (anything else opens the chat without one).
PAYLOAD = re.compile(r"[A-Za-z0-9_-]{0,64}")


def _command(message: Message) -> tuple[str, str, list[str]] | None:
    """``(command, addressee, args)`` of a command message, else None."""
    entities = message.entities
    text = message.text
    if not (
        text
        and entities
        and entities[0].type == MessageEntity.BOT_COMMAND
        and not entities[0].offset
    ):
        return None
    name, _, addressee = text[1 : entities[0].length].partition("@")
    return name.lower(), addressee, text.split()[1:]


# The verdict on a message no feature may take outside a private chat: drop it, say nothing.
IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class Private:
    """Answer in the private chat: ``?start=<payload>`` opens it (often with none)."""

    payload: str = ""


def route(update: Update, commands: frozenset[str]) -> Private | str | None:
    """Where ``update`` is answered: here (None), in the private chat (:class:`Private`), or
    nowhere (``IGNORE``: a plain message in a group, which no public feature reads)."""
    query = update.callback_query
    if query is not None:
        # A button under an inline message (``query.message`` is None) may be anywhere.
        chat = query.message.chat if query.message is not None else None
        if (chat is not None and chat.type == ChatType.PRIVATE) or any(
            kind.matches(query.data) for kind in PUBLIC_BUTTONS
        ):
            return None
        if JOIN.matches(query.data):
            return Private(f"join_{JOIN.parse(query.data)[0]}")
        return Private()
    # The messages a CommandHandler reads: new and edited ones (not channel posts).
    message = update.message or update.edited_message
    if message is None or message.chat.type == ChatType.PRIVATE:
        return None
    command = _command(message)
    if command is None:
        # Typed answers, locations, files: only private features read them (a form left
        # open in a group before this handler existed must not take a NIK there).
        return IGNORE
    name, addressee, args = command
    username = message.get_bot().username
    if (addressee and addressee.lower() != username.lower()) or name not in commands:
        return None  # another bot's, or unknown here (the fallback answers those)
    if name == "start":
        payload = args[0] if args else ""
        if PUBLIC_START.fullmatch(payload):
            return None
        return Private(payload if PAYLOAD.fullmatch(payload) else "")
    return None if name in PUBLIC_COMMANDS else Private()


def commands_of(handlers: Iterable[BaseHandler]) -> frozenset[str]:
    """Every command the handlers answer, conversations' entry points and states included."""
    found: set[str] = set()
    for handler in handlers:
        if isinstance(handler, CommandHandler):
            found |= handler.commands
        elif isinstance(handler, ConversationHandler):
            inner = [*handler.entry_points, *handler.fallbacks]
            for state in handler.states.values():
                inner += state
            found |= commands_of(inner)
    return frozenset(found)


class PrivateOnly(BaseHandler[Update, BotContext, None]):
    """Takes every update that must not be answered where it was sent (see the module)."""

    def __init__(self, handlers: Iterable[BaseHandler]) -> None:
        super().__init__(self.point_to_private)
        self.commands = commands_of(handlers)

    def check_update(self, update: object) -> Private | str | None:
        return route(update, self.commands) if isinstance(update, Update) else None

    async def point_to_private(self, update: Update, context: BotContext) -> None:
        """Point to the private chat: an alert under a button, else one line with a link."""
        verdict = route(update, self.commands)
        if not isinstance(verdict, Private):
            return  # IGNORE: nothing to say
        _ = context.gettext
        username = context.bot.username
        query = update.callback_query
        if query is not None:
            await query.answer(
                _("🔒 That works only in a private chat with me: open @{bot}.").format(
                    bot=username
                ),
                show_alert=True,
            )
            return
        message = update.effective_message
        assert message is not None
        await message.reply_text(
            _("🔒 That works only in a private chat with me."),
            reply_markup=InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            _("💬 Open the private chat"),
                            url=deep_link(username, verdict.payload),
                        )
                    ]
                ]
            ),
        )
