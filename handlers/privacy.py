"""/privacy (/privasi): what is stored, why, who sees it, how long, and the user's rights;
/mydata (/dataku): the export, as a file and as a summary in the user's language;
/deletedata (/hapusdata): erasure, after a confirmation."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from html import escape
from typing import Any

from babel import Locale, UnknownLocaleError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.catalog import N_
from bot.services.nik import mask_nik
from bot.telegram.html import utf16_len
from handlers.admin.stats import STATUS_LABELS
from handlers.callbacks import DELETE_DATA
from handlers.keyboards import main_keyboard
from handlers.notify import notify_admins_left, occupation_text, reason_text
from handlers.platform.keyboards import list_button

log = logging.getLogger(__name__)


async def privacy(update: Update, context: BotContext) -> None:
    """Explain how personal data is handled (UU 27/2022)."""
    message = update.effective_message
    assert message is not None
    _ = context.gettext
    settings = context.settings
    text = "\n".join(
        [
            _("<b>Privacy at Gerbang Koperasi</b> (UU 27/2022 on Personal Data Protection)"),
            "",
            _(
                "<b>Searching</b> needs no personal data. A location you share is used for that "
                "search only; typed searches are kept for a week so their buttons keep working."
            ),
            _(
                "<b>Joining a cooperative</b> asks, after your explicit consent: full name, NIK, "
                "sex and date of birth (from the NIK), place of birth, address, phone number and "
                "occupation. The purpose is your membership application and, once approved, your "
                "membership."
            ),
            _(
                "<b>Claiming a cooperative</b> (for its board) asks for your role, full name, "
                "phone number and a photo or PDF showing you are on the board; only the "
                "platform's operators see them, and the files are deleted {days} days after the "
                "decision."
            ).format(days=settings.retention_days),
            _(
                "<b>Paying your simpanan:</b> the payments your cooperatives record and the "
                "proofs of payment you send (amount, date and a photo of the transfer receipt) "
                "are seen by that cooperative's board only. The receipt's photo is deleted {days} "
                "days after the board's decision. After /deletedata the cooperative keeps the "
                "amounts and dates for its bookkeeping, no longer linked to you."
            ).format(days=settings.retention_days),
            _(
                "<b>Who sees it:</b> each cooperative's board sees only its own applicants and "
                "members; the platform's operators see what they need to run it. Nobody else, and "
                "nothing is sold or shared."
            ),
            _(
                "<b>Security:</b> everything you enter in a form is stored encrypted with a key "
                "of your own, and your NIK is shown only masked (3171********0001); none of it "
                "appears in logs or announcements. /deletedata destroys your key, so every copy, "
                "backups included, becomes unreadable."
            ),
            _(
                "<b>How long:</b> while you are a member. Rejected or withdrawn applications are "
                "deleted after {days} days."
            ).format(days=settings.retention_days),
            _(
                "<b>Your rights:</b> see and download your data with /mydata, have it corrected, "
                "delete it with /deletedata, and withdraw consent at any time."
            ),
            "",
            _("Data controller: Gerbang Koperasi — {contact}").format(
                contact=escape(settings.privacy_contact)
            ),
        ]
    )
    await message.reply_text(text, parse_mode=ParseMode.HTML)


async def my_data(update: Update, context: BotContext) -> None:
    """Send everything stored about the user: a JSON file for machines, and a summary to
    read in the user's language (/mydata)."""
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    data = await context.services.privacy.export(user.id)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    log.info("data export sent")
    await context.bot.send_document(
        chat.id,
        InputFile(body, filename="data-saya.json"),
        caption=context.gettext(
            "🔐 Everything Gerbang Koperasi stores about you, including "
            "your NIK. Keep this file private."
        ),
        reply_markup=_notify_me_button(context, data),
    )
    for part in split_message(export_summary(context.t, data)):
        await context.bot.send_message(chat.id, part, parse_mode=ParseMode.HTML)


# --- the export, readable ----------------------------------------------------------------

# The blocks of the export the summary shows (every other block is named by this table too,
# so that no reader sees a key of the file: tests/test_lang16.py checks that it is complete).
BLOCKS: dict[str, str] = {
    "profile": N_("Profile"),
    "applications_and_memberships": N_("Applications and memberships"),
    "unfinished_forms": N_("Unfinished forms"),
    "admin_of": N_("Board member of"),
    "announcement_mutes": N_("Muted announcements"),
    "saved_searches": N_("Saved searches (kept for a week)"),
    "claims": N_("Claims to run a cooperative"),
    "unfinished_claim": N_("Unfinished claim"),
    "notify_me": N_("Cooperatives you wait for (notify me)"),
    "join_attempts": N_("Attempts to join cooperatives not on the platform"),
    "payments": N_("Payments recorded by the cooperatives"),
    "payment_proofs": N_("Proofs of payment sent to the cooperatives"),
}
# Keys that say what the file is, not what it holds about the person.
ABOUT_THE_FILE = ("exported_at", "controller", "telegram_user_id")


def _when(t: Translator, value: object) -> str:
    """An ISO date or moment of the export as the reader writes dates; "–" when absent."""
    if not isinstance(value, str) or not value:
        return "–"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return escape(value)
    return t.date(moment if len(value) > 10 else moment.date(), "medium")


def _language(t: Translator, code: object) -> str:
    if not isinstance(code, str) or not code:
        return "–"
    try:
        return escape(Locale.parse(code, sep="-").get_display_name(t.locale) or code)
    except (ValueError, UnknownLocaleError):
        return escape(code)


def _entry(t: Translator, item: dict[str, Any]) -> list[str]:
    """One application or membership: where, its state, and what the board was given."""
    _ = t.gettext
    status = str(item.get("status") or "")
    head = _("• <b>{coop}</b>: {status}").format(
        coop=escape(str(item.get("cooperative") or item.get("cooperative_id") or "–")),
        status=escape(_(STATUS_LABELS[status]) if status in STATUS_LABELS else status),
    )
    lines = [head]
    if item.get("member_number"):
        lines.append(_("Member number: {number}").format(number=escape(item["member_number"])))
    lines.append(
        _("Application {number}, sent {date}").format(
            number=escape(str(item.get("application_number") or "–")),
            date=_when(t, item.get("submitted_at")),
        )
    )
    if item.get("decided_at"):
        lines.append(_("Decided: {date}").format(date=_when(t, item["decided_at"])))
    if item.get("reason"):
        lines.append(_("Reason: {reason}").format(reason=escape(reason_text(t, item["reason"]))))
    nik = item.get("nik")
    sex = item.get("sex")
    personal = [
        _("Name: {value}").format(value=escape(item.get("full_name") or "–")),
        _("NIK: {value} (in full in the file)").format(
            value=f"<code>{mask_nik(nik)}</code>" if isinstance(nik, str) and nik else "–"
        ),
        _("Born: {date} in {place}").format(
            date=_when(t, item.get("birth_date")), place=escape(item.get("birth_place") or "–")
        ),
        _("Sex: {value}").format(
            value=_("female") if sex == "F" else _("male") if sex == "M" else "–"
        ),
        _("Address: {value}").format(value=escape(item.get("address") or "–")),
        _("Phone: {value}").format(value=escape(item.get("phone") or "–")),
        _("Occupation: {value}").format(value=escape(occupation_text(t, item.get("occupation")))),
    ]
    consent = item.get("consent")
    if isinstance(consent, dict) and consent.get("accepted_at"):
        personal.append(
            _("Consent given: {date}").format(date=_when(t, consent.get("accepted_at")))
        )
    return [head] + ["   " + line for line in lines[1:] + personal]


def _count(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    return len(value) if isinstance(value, list | dict) else int(value is not None)


def export_summary(t: Translator, data: dict[str, Any]) -> str:
    """The data export as a person reads it, in their language: what each block holds (the
    file has every value; the NIK is shown masked here, where a screen may be seen)."""
    _ = t.gettext
    lines = [
        _("🔐 <b>Your data at Gerbang Koperasi</b>, as of {date}").format(
            date=_when(t, data.get("exported_at"))
        ),
        _("The file above holds all of it, for programs; this is the summary."),
    ]
    profile = data.get("profile") or {}
    lines += [
        "",
        f"<b>{escape(_(BLOCKS['profile']))}</b>",
        _("Language chosen: {language}").format(
            language=_language(t, profile.get("language_chosen"))
        ),
        _("Telegram's language: {language}").format(
            language=_language(t, profile.get("telegram_language"))
        ),
        _("First seen: {first} · last seen: {last}").format(
            first=_when(t, profile.get("first_seen")), last=_when(t, profile.get("last_seen"))
        ),
    ]
    items = data.get("applications_and_memberships") or []
    lines += ["", f"<b>{escape(_(BLOCKS['applications_and_memberships']))}</b>"]
    for item in items:
        lines += _entry(t, item)
    if not items:
        lines.append(_("None."))
    admin_of = data.get("admin_of") or []
    if admin_of:
        names = ", ".join(
            escape(str(c.get("cooperative") or c.get("cooperative_id"))) for c in admin_of
        )
        lines += ["", f"<b>{escape(_(BLOCKS['admin_of']))}</b>", names]
    # Every other block by its name and how much it holds; the file has the details.
    others = []
    for key, value in data.items():
        if key in ABOUT_THE_FILE or key in ("profile", "applications_and_memberships", "admin_of"):
            continue
        label = _(BLOCKS[key]) if key in BLOCKS else key.replace("_", " ")
        others.append(f"• {escape(label)}: {t.number(_count(value))}")
    if others:
        lines += ["", _("<b>Also stored</b> (details in the file)"), *others]
    return "\n".join(lines)


def split_message(text: str, limit: int = 4000) -> list[str]:
    """``text`` in messages Telegram accepts, cut between lines (each line is whole HTML)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if current and utf16_len(candidate) > limit:
            parts.append(current)
            candidate = line
        current = candidate
    if current.strip():
        parts.append(current)
    return parts


def _notify_me_button(context: BotContext, data: dict[str, Any]) -> InlineKeyboardMarkup | None:
    """The notify-me list, for someone waiting for a cooperative to join (to cancel)."""
    waiting = [s for s in data.get("notify_me", []) if s.get("notified_at") is None]
    return list_button(context.t) if waiting else None


async def delete_data(update: Update, context: BotContext) -> None:
    """Say what /deletedata will do and ask for confirmation."""
    message = update.effective_message
    assert message is not None
    _ = context.gettext
    await message.reply_text(
        "\n".join(
            [
                _("<b>Delete all your data?</b>"),
                "",
                _("• Pending applications are withdrawn."),
                _("• Memberships end, and the cooperatives are told that you left."),
                _(
                    "• Your name, NIK, phone number, address, birth data and unfinished forms are "
                    "erased everywhere; your cards stop being valid."
                ),
                _(
                    "• Claims to run a cooperative are withdrawn; their name, phone number and "
                    "files are erased."
                ),
                _(
                    "• Payments and proofs of payment: the cooperatives keep the amounts and "
                    "dates for their bookkeeping, no longer linked to you; the receipts' photos "
                    "are erased."
                ),
                _(
                    "• Only anonymous counts remain (for example, that a cooperative had one more "
                    "application)."
                ),
                "",
                _("This cannot be undone. Ask the cooperatives about deposits you paid."),
            ]
        ),
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _("🗑 Yes, delete everything"), callback_data=DELETE_DATA("yes")
                    ),
                    InlineKeyboardButton(_("↩ No, keep it"), callback_data=DELETE_DATA("no")),
                ]
            ]
        ),
    )


async def on_delete_choice(update: Update, context: BotContext) -> None:
    """Erase (or not) after the confirmation."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    _ = context.gettext
    (choice,) = DELETE_DATA.parse(query.data)
    await query.answer()
    if choice == "no":
        await query.edit_message_text(_("Nothing was deleted."))
        return
    services = context.services
    before = await services.membership.of_user(user.id)
    erasure = await services.privacy.erase(user.id)
    services.cards.forget(a.id for a in before)
    services.users.forget(user.id)
    # The in-memory state of the Telegram layer goes too (the persisted copy is gone).
    application = context.application
    application.drop_user_data(user.id)
    for handler in application.handlers.get(0, []):
        if isinstance(handler, ConversationHandler) and handler.name:
            for key in [k for k in handler._conversations if user.id in k]:
                handler._conversations.pop(key, None)
    for coop_id in erasure.coops_notified:
        left = next((a for a in before if a.coop_id == coop_id), None)
        if left is not None:
            await notify_admins_left(context, left, await services.directory.get(coop_id))
    log.info("personal data erased applications=%s", erasure.applications)
    await query.edit_message_text(
        _(
            "✅ Your data was deleted: {withdrawn} applications "
            "withdrawn, {ended} memberships ended."
        ).format(withdrawn=erasure.withdrawn, ended=erasure.ended)
    )
    if update.effective_chat is not None:
        await context.bot.send_message(
            update.effective_chat.id,
            _(
                "You can keep searching for cooperatives; nothing about you is stored until you "
                "join one again."
            ),
            reply_markup=main_keyboard(context.t),
        )


HANDLERS: list[BaseHandler] = [
    CommandHandler(["privacy", "privasi"], privacy),
    CommandHandler(["mydata", "dataku"], my_data),
    CommandHandler(["deletedata", "hapusdata"], delete_data),
    CallbackQueryHandler(on_delete_choice, pattern=DELETE_DATA.pattern),
]
