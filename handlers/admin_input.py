"""Typed input for admins and operators: reasons, member search, profile fields, import.

A small persistent conversation ("admin_input"): a button (or /import) says what is
expected, the next message provides it. Permission is checked when the button is pressed
and again when the answer arrives. Entry callbacks: ``rt:<app>`` typed rejection reason ·
``su:<app>`` / ``ri:<app>`` suspend / reinstate reason · ``ams:<coop>`` member search ·
``pe:<coop>:<field>`` a profile field · ``oim`` (or /import) a directory file.
"""

from __future__ import annotations

import csv
import io
import logging
import time
import warnings
from enum import IntEnum
from html import escape
from typing import Any

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.admin import Forbidden, InputError
from bot.services.importer import ImportFileError, describe_error, describe_file_error
from handlers.admin import refuse, reject_with, show_member, show_members, show_profile
from storage.models import Point

log = logging.getLogger(__name__)

ID = r"[0-9a-f]{24}"
MAX_IMPORT_BYTES = 10 * 1024 * 1024
FIELDS = {
    "desc": "description",
    "svc": "services",
    "phone": "phone",
    "hours": "opening_hours",
    "pokok": "simpanan_pokok",
    "wajib": "simpanan_wajib",
    "rat": "rat_year",
    "loc": "location",
}


class Wait(IntEnum):
    INPUT = 1


def _pending(context: BotContext) -> dict[str, Any] | None:
    assert context.user_data is not None
    return context.user_data.get("admin_input")


def _set(context: BotContext, **values: Any) -> None:
    assert context.user_data is not None
    context.user_data["admin_input"] = values


def _clear(context: BotContext) -> None:
    assert context.user_data is not None
    context.user_data.pop("admin_input", None)


def _actor(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


def prompt_text(t: Translator, kind: str, field: str | None = None) -> str:
    _ = t.gettext
    prompts = {
        "reject": _("Type the reason for the rejection (the applicant will see it):"),
        "suspend": _("Type the reason for the suspension (the member will see it):"),
        "reinstate": _("Type the reason for reinstating the member:"),
        "search": _("Type a name or a member number to search for:"),
        "import": _(
            "Send the directory as a CSV (or GeoJSON) file, at most 10 MB. Columns: "
            "name,type,latitude,longitude,… (see the README)."
        ),
    }
    fields = {
        "description": _("Type the new description (up to 1,000 characters):"),
        "services": _(
            "Type the services, separated by commas (e.g. sembako, apotek, simpan_pinjam):"
        ),
        "phone": _("Type the cooperative's phone number:"),
        "opening_hours": _("Type the opening hours (e.g. Mon–Fri 08.00–16.00):"),
        "simpanan_pokok": _("Type the simpanan pokok in rupiah (e.g. 50000):"),
        "simpanan_wajib": _("Type the monthly simpanan wajib in rupiah (e.g. 10000):"),
        "rat_year": _("Type the year of the last annual members' meeting (RAT):"),
        "location": _("Share the cooperative's location (📎 → Location), or send a venue:"),
    }
    text = fields.get(field or "", "") if kind == "profile" else prompts[kind]
    return text + "\n" + _("(/cancel to stop)")


def error_text(t: Translator, error: InputError) -> str:
    _ = t.gettext
    messages = {
        "reason_short": _("Please type a reason of a few words."),
        "too_long": _("That is longer than {max} characters."),
        "services_empty": _("Please type at least one service."),
        "phone_invalid": _("That is not an Indonesian phone number."),
        "amount_invalid": _("Type an amount in rupiah, e.g. 50000 or 50.000."),
        "year_invalid": _("Type a year between 1945 and {max}."),
        "location_outside": _("That location is outside Indonesia."),
        "unknown_field": _("That cannot be changed here."),
    }
    return "❗ " + messages.get(error.code, error.code).format(**error.params)


async def _start(update: Update, context: BotContext, kind: str, **values: Any) -> int:
    _set(context, kind=kind, **values)
    query = update.callback_query
    if query is not None:
        await query.answer()
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, prompt_text(context.t, kind, values.get("field")))
    return Wait.INPUT


async def begin(update: Update, context: BotContext) -> int | None:
    """A button that asks for typed input: check the role now, then wait for the text."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    code = parts[0]
    actor = _actor(update)
    admin = context.services.admin
    try:
        if code == "rt":
            await admin.application(actor, parts[1])
            return await _start(update, context, "reject", target=parts[1])
        if code in ("su", "ri"):
            await admin.member(actor, parts[1])
            return await _start(
                update, context, "suspend" if code == "su" else "reinstate", target=parts[1]
            )
        if code == "ams":
            await admin.coop_for_admin(actor, parts[1])
            return await _start(update, context, "search", coop=parts[1])
        if code == "pe" and parts[2] in FIELDS:
            await admin.coop_for_admin(actor, parts[1])
            return await _start(update, context, "profile", coop=parts[1], field=FIELDS[parts[2]])
        if code == "oim":
            await admin.require_operator(actor, "import")
            return await _start(update, context, "import")
    except Forbidden:
        pass
    await refuse(update, context)
    return ConversationHandler.END


async def begin_import(update: Update, context: BotContext) -> int | None:
    """/import: operators send the directory file next."""
    try:
        await context.services.admin.require_operator(_actor(update), "import")
    except Forbidden:
        await refuse(update, context)
        return ConversationHandler.END
    return await _start(update, context, "import")


async def on_text(update: Update, context: BotContext) -> int | None:
    """The awaited text: a reason, a search, a profile value."""
    message = update.effective_message
    assert message is not None
    pending = _pending(context)
    if pending is None:
        return ConversationHandler.END
    kind = pending["kind"]
    text = message.text or ""
    admin = context.services.admin
    actor = _actor(update)
    try:
        if kind == "reject":
            await reject_with(update, context, pending["target"], text)
        elif kind in ("suspend", "reinstate"):
            action = admin.suspend if kind == "suspend" else admin.reinstate
            changed = await action(actor, pending["target"], text)
            if changed is not None:
                await _tell_member(context, changed)
            await show_member(update, context, pending["target"])
        elif kind == "search":
            await show_members(update, context, pending["coop"], 0, query_text=text[:100])
        elif kind == "profile":
            if pending["field"] == "location":
                await message.reply_text(prompt_text(context.t, "profile", "location"))
                return None
            value = admin.parse_profile(pending["field"], text)
            coop = await admin.update_profile(actor, pending["coop"], pending["field"], value)
            await show_profile(update, context, coop)
        elif kind == "import":
            await message.reply_text(prompt_text(context.t, "import"))
            return None
    except InputError as error:
        await message.reply_text(
            error_text(context.t, error)
            + "\n\n"
            + prompt_text(context.t, kind, pending.get("field"))
        )
        return None
    except Forbidden:
        await refuse(update, context)
    _clear(context)
    return ConversationHandler.END


async def _tell_member(context: BotContext, application: Any) -> None:
    """Tell a member about a suspension or a reinstatement, in the member's language."""
    from handlers.admin import tell_applicant

    coop = await context.services.directory.get(application.coop_id)
    if coop is None:
        return
    if application.status == "suspended":
        await tell_applicant(context, application, coop)
        return
    t = context.services.i18n.get(application.language)
    try:
        await context.bot.send_message(
            application.user_id,
            t.gettext("✅ Your membership of {coop} is active again.").format(
                coop=escape(coop.name)
            ),
            parse_mode=ParseMode.HTML,
        )
    except Exception:  # blocked or deleted account: nothing to do
        log.info("could not notify member application=%s", application.id)


async def on_location(update: Update, context: BotContext) -> int | None:
    """A shared location or venue for the cooperative's position."""
    message = update.effective_message
    assert message is not None
    pending = _pending(context)
    if pending is None or pending.get("field") != "location":
        await message.reply_text(context.gettext("Please type your answer, or /cancel."))
        return None
    location = message.venue.location if message.venue else message.location
    assert location is not None
    try:
        coop = await context.services.admin.set_location(
            _actor(update), pending["coop"], Point(location.latitude, location.longitude)
        )
    except InputError as error:
        await message.reply_text(error_text(context.t, error))
        return None
    except Forbidden:
        await refuse(update, context)
        _clear(context)
        return ConversationHandler.END
    _clear(context)
    await show_profile(update, context, coop)
    return ConversationHandler.END


def report_csv(t: Translator, errors: list[Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([t.gettext("line"), t.gettext("reason")])
    for error in errors:
        writer.writerow([error.line, describe_error(error, t.gettext)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


async def on_document(update: Update, context: BotContext) -> int | None:
    """The directory file: run the importer with a live progress message."""
    message = update.effective_message
    assert message is not None and message.document is not None
    pending = _pending(context)
    t = context.t
    _ = t.gettext
    if pending is None or pending["kind"] != "import":
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
    actor = _actor(update)
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
        report = await context.services.admin.import_directory(actor, data, progress)
    except ImportFileError as error:
        await status.edit_text("❗ " + describe_file_error(error, t.gettext))
        return None
    except Forbidden:
        await refuse(update, context)
        _clear(context)
        return ConversationHandler.END
    _clear(context)
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
            actor,
            InputFile(report_csv(t, report.errors), filename="ditolak.csv"),
            caption=_("Rejected rows, with the reason for each."),
        )
    return ConversationHandler.END


async def on_cancel(update: Update, context: BotContext) -> int:
    """/cancel: stop waiting for input."""
    _clear(context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.gettext("Cancelled."))
    return ConversationHandler.END


async def on_other(update: Update, context: BotContext) -> int | None:
    """Anything else while input is awaited: say what is expected."""
    pending = _pending(context)
    assert update.effective_message is not None
    if pending is None:
        return ConversationHandler.END
    await update.effective_message.reply_text(
        prompt_text(context.t, pending["kind"], pending.get("field"))
    )
    return None


async def on_timeout(update: Update, context: BotContext) -> None:
    _clear(context)


def build_conversation() -> ConversationHandler:
    message = filters.UpdateType.MESSAGE
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message=False.*")
        return ConversationHandler(
            entry_points=[
                CallbackQueryHandler(begin, pattern=rf"^(rt|su|ri):{ID}$"),
                CallbackQueryHandler(begin, pattern=rf"^ams:{ID}$"),
                CallbackQueryHandler(begin, pattern=rf"^pe:{ID}:[a-z]{{2,6}}$"),
                CallbackQueryHandler(begin, pattern=r"^oim$"),
                CommandHandler("import", begin_import),
            ],
            states={
                Wait.INPUT: [
                    MessageHandler(message & filters.TEXT & ~filters.COMMAND, on_text),
                    MessageHandler(message & (filters.LOCATION | filters.VENUE), on_location),
                    MessageHandler(message & filters.Document.ALL, on_document),
                    MessageHandler(message & ~filters.COMMAND, on_other),
                ],
                ConversationHandler.TIMEOUT: [MessageHandler(filters.ALL, on_timeout)],
            },
            fallbacks=[
                CommandHandler(["cancel", "batal"], on_cancel),
                MessageHandler(filters.COMMAND & message, on_other),
            ],
            name="admin_input",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=600,
        )


def handlers() -> list[BaseHandler]:
    return [build_conversation()]
