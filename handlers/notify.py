"""Messages the bot starts itself: to a cooperative's admins and to applicants and members.

Several features send them (the form on submit, the admin panel on a decision, the wallet and
/deletedata when a member leaves), so they live here, each in its reader's own language. A
reader who blocked the bot is logged and skipped: the action that caused the message stands.
"""

from __future__ import annotations

import logging
from datetime import date
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.catalog import N_
from bot.services.membership import OCCUPATIONS
from handlers.callbacks import APPROVE, NOOP, PANEL, QUEUE, REJECT_MENU, REVEAL
from handlers.money.paying import copy_buttons, how_to_pay_text, send_qris
from storage.models import Application, Cooperative

log = logging.getLogger(__name__)

# Preset reasons for a rejection, stored as "preset:<key>" and shown in each reader's language.
REJECT_REASONS: dict[str, str] = {
    "domicile": N_("You do not live in the cooperative's area."),
    "data": N_("The data in the application is incomplete or incorrect."),
    "duplicate": N_("You are already a member under another account."),
    "quota": N_("The cooperative is not accepting new members at the moment."),
}


def reason_text(t: Translator, reason: str | None) -> str:
    """A rejection's reason as the reader sees it (a preset in the reader's language)."""
    if not reason:
        return t.gettext("no reason given")
    if reason.startswith("preset:") and reason[7:] in REJECT_REASONS:
        return t.gettext(REJECT_REASONS[reason[7:]])
    return reason


def occupation_text(t: Translator, value: str | None) -> str:
    """An occupation code in the reader's language; a typed one as typed."""
    if not value:
        return "–"
    return t.gettext(OCCUPATIONS[value]) if value in OCCUPATIONS else value.removeprefix("other:")


# --- an application as the board sees it (the notice and the queue) ----------------------


def application_text(
    t: Translator, application: Application, coop: Cooperative, position: str, village: str
) -> str:
    _ = t.gettext
    born = date.fromisoformat(application.birth_date) if application.birth_date else None
    # The notice has no place in a queue ("2/5"): without one, no gap where it would be.
    title = (
        _("📥 <b>Application {position}</b> · {coop}").format(
            position=position, coop=escape(coop.name)
        )
        if position
        else _("📥 <b>Application</b> · {coop}").format(coop=escape(coop.name))
    )
    lines = [
        title,
        _("Number: {number} · sent {date}").format(
            number=application.number, date=t.date(application.created_at)
        ),
        "",
        _("Name: {value}").format(value=escape(application.full_name or "–")),
        _("NIK: {value}").format(value=f"<code>{escape(application.nik_masked or '–')}</code>"),
        _("Sex: {sex} · born {date} in {place}").format(
            sex=t.gettext("female") if application.sex == "F" else t.gettext("male"),
            date=t.date(born) if born else "–",
            place=escape(application.birth_place or "–"),
        ),
        _("Address: {value}").format(value=escape(application.address or "–")),
        _("Phone: {value}").format(value=escape(application.phone or "–")),
        _("Occupation: {value}").format(value=escape(occupation_text(t, application.occupation))),
    ]
    if application.domicile_declared:
        lines.append(
            _("🏠 Declares living in {village}: please check the domicile.").format(
                village=escape(village)
            )
        )
    if application.nik_conflict:
        lines.append(
            _(
                "⚠️ Another open application or membership of this cooperative has the same "
                "NIK: check the KTP before you decide."
            )
        )
    return "\n".join(lines)


def application_keyboard(
    t: Translator, application: Application, coop: Cooperative, index: int | None, total: int
) -> InlineKeyboardMarkup:
    """Decide, reveal, and (in the queue, ``index`` set) move to the previous or next one."""
    _ = t.gettext
    rows = [
        [
            InlineKeyboardButton(_("✅ Approve"), callback_data=APPROVE(application.id)),
            InlineKeyboardButton(_("❌ Reject"), callback_data=REJECT_MENU(application.id)),
        ],
        [InlineKeyboardButton(_("👁 Reveal NIK (logged)"), callback_data=REVEAL(application.id))],
    ]
    if index is not None and total > 1:
        rows.append(
            [
                InlineKeyboardButton("◀", callback_data=QUEUE(coop.id, (index - 1) % total)),
                InlineKeyboardButton(f"{index + 1}/{total}", callback_data=NOOP()),
                InlineKeyboardButton("▶", callback_data=QUEUE(coop.id, (index + 1) % total)),
            ]
        )
    rows.append([InlineKeyboardButton(_("⬅ Panel"), callback_data=PANEL(coop.id))])
    return InlineKeyboardMarkup(rows)


# --- to the cooperative's admins ---------------------------------------------------------


async def notify_admins(context: BotContext, application: Application, coop: Cooperative) -> None:
    """Tell the cooperative's admins about a new application at once, with decisions."""
    services = context.services
    for admin_id in await services.admin.admins_of(coop.id):
        t = services.i18n.get(await services.users.recipient_locale(admin_id))
        village = services.membership.village_name(coop)
        text = (
            t.gettext("🔔 New application")
            + "\n\n"
            + application_text(t, application, coop, "", village)
        )
        markup = application_keyboard(t, application, coop, None, 0)
        try:
            await context.bot.send_message(
                admin_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except (Forbidden, BadRequest):
            log.info("admin unreachable coop=%s", coop.id)
    await services.membership.mark_delivered("application_submitted", application.id)


async def notify_admins_left(
    context: BotContext, application: Application, coop: Cooperative | None
) -> None:
    """Tell the cooperative's admins that a member left."""
    if coop is None:
        return
    services = context.services
    for admin_id in await services.admin.admins_of(coop.id):
        t = services.i18n.get(await services.users.recipient_locale(admin_id))
        name = escape(application.full_name or application.number)
        text = (
            t.gettext("🚪 {name} ({number}) left {coop}.").format(
                name=name, number=escape(application.member_number), coop=escape(coop.name)
            )
            if application.member_number
            else t.gettext("🚪 {name} left {coop}.").format(name=name, coop=escape(coop.name))
        )
        try:
            await context.bot.send_message(admin_id, text, parse_mode=ParseMode.HTML)
        except (Forbidden, BadRequest):
            log.info("admin unreachable coop=%s", coop.id)
    await services.membership.mark_delivered("member_left", application.id)


# --- to the applicant or member ----------------------------------------------------------


async def _reader(context: BotContext, application: Application) -> Translator:
    """The applicant's language now (their choice, else Telegram's), else the form's."""
    services = context.services
    return services.i18n.get(
        await services.users.recipient_locale(application.user_id, application.language)
    )


async def tell_applicant(context: BotContext, application: Application, coop: Cooperative) -> None:
    """Tell the applicant the board's decision, in the applicant's own language."""
    t = await _reader(context, application)
    _ = t.gettext
    markup: InlineKeyboardMarkup | None = None
    if application.status == "active":
        lines = [
            _("🎉 <b>Welcome to {coop}!</b>").format(coop=escape(coop.name)),
            _("Your application {number} was approved.").format(number=application.number),
            _("Member number: {number}").format(
                number=f"<code>{escape(application.member_number or '')}</code>"
            ),
        ]
        lines.append(_("Your member card is in /cards."))
        # What to pay and how (accounts with copy buttons; the QRIS image follows).
        lines += ["", how_to_pay_text(t, coop, member_number=application.member_number)]
        rows = copy_buttons(t, coop)
        markup = InlineKeyboardMarkup(rows) if rows else None
    elif application.status == "rejected":
        lines = [
            _("Your application {number} to {coop} was not approved.").format(
                number=application.number, coop=escape(coop.name)
            ),
            _("Reason: {reason}").format(reason=escape(reason_text(t, application.reason))),
            _(
                "You can contact the cooperative, or apply again when the reason no longer "
                "applies."
            ),
        ]
    elif application.status == "suspended":
        lines = [_("Your membership of {coop} is suspended.").format(coop=escape(coop.name))]
        if application.status_reason:  # no "Reason:" with nothing after it
            lines.append(_("Reason: {reason}").format(reason=escape(application.status_reason)))
    else:
        return
    try:
        await context.bot.send_message(
            application.user_id, "\n".join(lines), parse_mode=ParseMode.HTML, reply_markup=markup
        )
    except (Forbidden, BadRequest):
        log.info("could not notify applicant application=%s", application.id)
        return
    if application.status == "active":
        await send_qris(context.bot, application.user_id, t, coop)


async def tell_member(context: BotContext, application: Application) -> None:
    """Tell a member about a suspension or a reinstatement, in the member's language."""
    coop = await context.services.directory.get(application.coop_id)
    if coop is None:
        return
    if application.status == "suspended":
        await tell_applicant(context, application, coop)
        return
    t = await _reader(context, application)
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
