"""/import (and the menu's ``OPERATOR_IMPORT`` button): operators send the directory file.

The request and the file go through the shared awaited-input conversation
(:mod:`handlers.awaited`): ``ask_file`` is its entry point, ``on_document`` takes the file,
runs the importer with a live progress message and sends the rejected rows back as a CSV.
"""

from __future__ import annotations

import csv
import io
import time
from html import escape
from typing import Any

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.admin import Forbidden
from bot.services.importer import ImportFileError, describe_error, describe_file_error
from handlers.awaited import clear, expect, pending
from handlers.callbacks import OPERATOR_IMPORT
from handlers.guard import actor, guarded, refuse

MAX_IMPORT_BYTES = 10 * 1024 * 1024


@guarded(refused=ConversationHandler.END)
async def ask_file(update: Update, context: BotContext, user_id: int) -> int:
    """Ask an operator for the directory file (/import)."""
    await context.services.admin.require_operator(user_id, "import")
    return await expect(update, context, "import")


ENTRY_POINTS: list[BaseHandler] = [
    CallbackQueryHandler(ask_file, pattern=OPERATOR_IMPORT.pattern),
    CommandHandler("import", ask_file),
]


def report_csv(t: Translator, errors: list[Any]) -> bytes:
    """The rejected rows with the reason for each, for Excel (UTF-8 with a BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([t.gettext("line"), t.gettext("reason")])
    for error in errors:
        writer.writerow([error.line, describe_error(error, t.gettext)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


async def on_document(update: Update, context: BotContext) -> int | None:
    """Run the importer on the directory file with a live progress message."""
    message = update.effective_message
    assert message is not None and message.document is not None
    waiting = pending(context)
    t = context.t
    _ = t.gettext
    if waiting is None or waiting["kind"] != "import":
        await message.reply_text(_("Please type your answer, or /cancel."))
        return None
    document = message.document
    name = (document.file_name or "").lower()
    if document.file_size and document.file_size > MAX_IMPORT_BYTES:
        await message.reply_text(
            _("That file is too large: at most 10 MB. Split it and send the parts one by one.")
        )
        return None
    if not name.endswith((".csv", ".txt", ".json", ".geojson")):
        await message.reply_text(
            _(
                "That is not a CSV or GeoJSON file. Send the directory as "
                "a .csv file (Excel: Save as → CSV)."
            )
        )
        return None
    user_id = actor(update)
    data = bytes(await (await context.bot.get_file(document.file_id)).download_as_bytearray())
    if len(data) > MAX_IMPORT_BYTES:
        await message.reply_text(
            _("That file is too large: at most 10 MB. Split it and send the parts one by one.")
        )
        return None
    status = await message.reply_text(
        _("⏳ Importing {name}…").format(name=escape(document.file_name or "")),
        parse_mode=ParseMode.HTML,
    )
    last = {"at": 0.0, "done": -1}

    async def progress(done: int, total: int) -> None:
        # At most one edit a second: Telegram limits edits of one message.
        now = time.monotonic()
        if done == total or now - last["at"] >= 1.0:
            last["at"] = now
            if done != last["done"]:
                last["done"] = done
                percent = int(done * 100 / total) if total else 100
                bar = "█" * (percent // 10) + "░" * (10 - percent // 10)
                await status.edit_text(
                    _("⏳ Importing… {bar} {percent}% ({done}/{total} rows)").format(
                        bar=bar, percent=percent, done=done, total=total
                    )
                )

    try:
        report = await context.services.admin.import_directory(user_id, data, progress)
    except ImportFileError as error:
        await status.edit_text("❗ " + describe_file_error(error, t.gettext))
        return None
    except Forbidden:
        await refuse(update, context)
        clear(context)
        return ConversationHandler.END
    clear(context)
    await status.edit_text(
        _(
            "✅ Import finished: {rows} rows, {created} created, {updated} "
            "updated, {rejected} rejected."
        ).format(
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            rejected=len(report.errors),
        )
    )
    if report.errors:
        await context.bot.send_document(
            user_id,
            InputFile(report_csv(t, report.errors), filename="ditolak.csv"),
            caption=_("Rejected rows, with the reason for each."),
        )
    return ConversationHandler.END
