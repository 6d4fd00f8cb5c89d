"""Importing the board's ledger from a spreadsheet (.xlsx or CSV).

"📥 Import" on the savings screen (``LEDGER_IMPORT``) makes the shared awaited-input
conversation wait for a file (kind ``"ledger"``, step ``"file"``): a document sent then is
the board's, never the operators' /import nor a claim's evidence (those wait in their own
states). Every row is checked; the rejected ones come back as a CSV with their line numbers,
as for the directory import; a reference already in the ledger is reported as already
recorded, so importing the same file twice adds nothing. Each member with new payments
gets their receipts through the broadcast engine (paced, crash-safe; one message per member
and round, in their language).
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.admin import Forbidden
from bot.services.importer import ImportFileError, RowError, describe_file_error
from bot.services.ledger import describe_row_error
from handlers.awaited import clear
from handlers.callbacks import LEDGER_IMPORT, LEDGER_MENU
from handlers.guard import actor, guarded, refuse
from handlers.money.ledger import PaymentDraft, ask, current
from handlers.money.receipts import receipt_text
from storage.models import Cooperative, LedgerEntry, Notice

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MAX_MESSAGE = 3800  # receipts gathered in one message stay under Telegram's 4096


@guarded(LEDGER_IMPORT, refused=ConversationHandler.END)
async def ask_file(update: Update, context: BotContext, user_id: int, coop_id: str) -> int:
    """Wait for the board's ledger spreadsheet."""
    await context.services.ledger.coop(user_id, coop_id, "ledger_import")
    return await ask(update, context, PaymentDraft(coop=coop_id, purpose="import", step="file"))


ENTRY_POINTS = [CallbackQueryHandler(ask_file, pattern=LEDGER_IMPORT.pattern)]


def rejected_csv(t: Translator, errors: list[RowError]) -> bytes:
    """The rejected rows with the reason for each, for Excel (UTF-8 with a BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([t.gettext("line"), t.gettext("reason")])
    for error in errors:
        writer.writerow([error.line, describe_row_error(error, t.gettext)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


async def on_document(update: Update, context: BotContext) -> int | None:
    """Import the board's spreadsheet; report what was added, skipped and rejected."""
    message = update.effective_message
    assert message is not None and message.document is not None
    draft = current(context)
    t = context.t
    _ = t.gettext
    assert draft is not None  # routed here for the ledger's steps only
    if draft.step != "file":  # a file while another answer is awaited
        return await ask(update, context, draft, _("A file is not expected now."))
    document = message.document
    name = document.file_name or ""
    if (document.file_size or 0) > MAX_BYTES:
        return await ask(update, context, draft, _("That file is too large: at most 10 MB."))
    if not name.lower().endswith((".csv", ".txt", ".xlsx")):
        return await ask(update, context, draft, _("That is not an Excel (.xlsx) or CSV file."))
    user_id = actor(update)
    data = bytes(await (await context.bot.get_file(document.file_id)).download_as_bytearray())
    try:
        result = await context.services.ledger.import_file(user_id, draft.coop, data, name)
    except ImportFileError as error:
        return await ask(update, context, draft, file_error(t, error))
    except Forbidden:
        await refuse(update, context)
        clear(context)
        return ConversationHandler.END
    clear(context)
    lines = [
        _(
            "✅ Import finished: {rows} rows, {added} added, {already} already recorded, "
            "{rejected} rejected."
        ).format(
            rows=result.rows,
            added=len(result.added),
            already=len(result.already),
            rejected=len(result.errors),
        )
    ]
    if result.errors:
        lines.append("")
        lines += [
            _("line {line}: {reason}").format(line=e.line, reason=escape(describe_row_error(e, _)))
            for e in result.errors[:10]
        ]
        if len(result.errors) > 10:
            lines.append(_("… every rejected row is in the file below."))
    back = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("⬅ Savings"), callback_data=LEDGER_MENU(draft.coop))]]
    )
    await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML, reply_markup=back)
    if result.errors:
        await context.bot.send_document(
            user_id,
            InputFile(rejected_csv(t, result.errors), filename="ditolak.csv"),
            caption=_("Rejected rows, with the reason for each."),
        )
    if result.added:
        coop = await context.services.ledger.coop(user_id, draft.coop)
        await send_receipts(context, result.added, coop, user_id)
    return ConversationHandler.END


def file_error(t: Translator, error: ImportFileError) -> str:
    _ = t.gettext
    messages = {
        "not_xlsx": _("The file could not be read as an Excel workbook (.xlsx)."),
        "too_many_rows": _("The file has more than {detail} rows: split it."),
        "missing_columns": _(
            "The header lacks the columns: {detail}. The first row must name the columns: "
            "nomor_anggota, tanggal, jenis, jumlah, referensi."
        ),
    }
    if error.code in messages:
        return messages[error.code].format(detail=error.detail)
    return describe_file_error(error, _)


async def send_receipts(
    context: BotContext, entries: list[LedgerEntry], coop: Cooperative, actor_id: int
) -> None:
    """Every member's receipts in their language, gathered in as few messages as fit,
    through the broadcast engine (one notice job per round: a job tells each person once)."""
    services = context.services
    by_member: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        if entry.user_id is not None:  # an erased member cannot be told
            by_member[entry.user_id].append(entry)
    rounds: list[list[Notice]] = []
    for user_id, own in by_member.items():
        t = services.i18n.get(await services.users.recipient_locale(user_id))
        chunks: list[str] = []
        for entry in own:
            text = receipt_text(t, entry, coop)
            if chunks and len(chunks[-1]) + len(text) + 2 <= MAX_MESSAGE:
                chunks[-1] += "\n\n" + text
            else:
                chunks.append(text)
        for i, chunk in enumerate(chunks):
            if len(rounds) <= i:
                rounds.append([])
            rounds[i].append(Notice(user_id, chunk))
    for notices in rounds:
        job = await services.broadcast.notify(
            "notice:receipt", notices, coop_id=coop.id, created_by=actor_id
        )
        if job is not None:
            log.info("receipts coop=%s recipients=%s", coop.id, job.total)
