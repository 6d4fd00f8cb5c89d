"""Command menus, per language (``set_my_commands(language_code=…)``) and per chat."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import BotCommand, BotCommandScopeChat
from telegram.ext import ExtBot

from bot.context import BotContext
from bot.i18n import I18n, Translator


def _commands(t: Translator) -> list[BotCommand]:
    _: Callable[[str], str] = t.gettext
    indonesian = t.locale == "id"
    # Indonesian menus show the Indonesian aliases; both spellings always work.
    pairs = [
        ("start", "start", _("Start over")),
        ("cari", "search", _("Find cooperatives by place, type or name")),
        ("kartu", "cards", _("My member cards")),
        ("tagihan", "dues", _("What I owe, and how to pay")),
        ("bahasa", "language", _("Change language")),
        ("privasi", "privacy", _("How your data is used")),
        ("dataku", "mydata", _("Download my data")),
        ("hapusdata", "deletedata", _("Delete my data")),
        ("klaim", "claim", _("I run a cooperative: claim it")),
        ("batal", "cancel", _("Cancel what is in progress")),
        ("bantuan", "help", _("Help")),
    ]
    return [
        BotCommand(id_name if indonesian else en_name, desc) for id_name, en_name, desc in pairs
    ]


async def set_default_commands(bot: ExtBot[Any], i18n: I18n) -> None:
    """Indonesian by default, English for users whose Telegram is in English."""
    await bot.set_my_commands(_commands(i18n.get("id")))
    for lang in i18n.available:
        await bot.set_my_commands(_commands(i18n.get(lang)), language_code=lang)


async def set_chat_commands(context: BotContext, chat_id: int) -> None:
    """The menu of one chat in the language its user chose with /language."""
    await context.bot.set_my_commands(_commands(context.t), scope=BotCommandScopeChat(chat_id))
