"""The member register: pages, a search, one member (suspend, reinstate), the export
(.xlsx, or CSV for Excel in the admin's language: ``bot/services/register.py``)."""

from __future__ import annotations

import re
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode

from bot.context import BotContext
from bot.i18n import Translator
from handlers.admin.reply import respond
from handlers.callbacks import (
    EXPORT,
    EXPORT_CSV,
    MEMBER,
    MEMBER_SEARCH,
    MEMBERS,
    PANEL,
    REINSTATE,
    REVEAL,
    SUSPEND,
)
from handlers.guard import actor, guarded
from storage.models import Application

MEMBERS_PAGE = 10


def member_line(t: Translator, member: Application) -> str:
    icon = "✅" if member.status == "active" else "⛔" if member.status == "suspended" else "🚪"
    number = escape(member.member_number or "–")
    return f"{icon} <code>{number}</code> {escape(member.full_name or '')}"


async def show_members(
    update: Update, context: BotContext, coop_id: str, page: int, query_text: str | None = None
) -> None:
    """A page of the register, or the members matching a typed search."""
    user_id = actor(update)
    admin = context.services.admin
    t = context.t
    coop = await admin.coop_for_admin(user_id, coop_id)
    members, total = await admin.members(
        user_id, coop_id, query=query_text, skip=page * MEMBERS_PAGE, limit=MEMBERS_PAGE
    )
    header = t.gettext("👥 <b>{coop}</b>: {count} members").format(
        coop=escape(coop.name), count=t.number(total)
    )
    if query_text:
        header = t.gettext("🔎 Members of <b>{coop}</b> matching “{query}”: {count}").format(
            coop=escape(coop.name), query=escape(query_text), count=t.number(total)
        )
    lines = [header, ""] + [member_line(t, m) for m in members]
    if not members:
        lines.append(t.gettext("No members found."))
    rows = [
        [
            InlineKeyboardButton(
                f"{m.member_number or '–'} · {(m.full_name or '')[:40]}",
                callback_data=MEMBER(m.id),
            )
        ]
        for m in members
    ]
    nav = []
    if page > 0 and not query_text:
        nav.append(InlineKeyboardButton("◀", callback_data=MEMBERS(coop.id, page - 1)))
    if (page + 1) * MEMBERS_PAGE < total and not query_text:
        nav.append(InlineKeyboardButton("▶", callback_data=MEMBERS(coop.id, page + 1)))
    if nav:
        rows.append(nav)
    rows.append(
        [InlineKeyboardButton(t.gettext("🔎 Search"), callback_data=MEMBER_SEARCH(coop.id))]
    )
    rows.append(
        [
            InlineKeyboardButton(t.gettext("📊 Export (Excel)"), callback_data=EXPORT(coop.id)),
            InlineKeyboardButton(t.gettext("📄 Export (CSV)"), callback_data=EXPORT_CSV(coop.id)),
        ]
    )
    rows.append([InlineKeyboardButton(t.gettext("⬅ Panel"), callback_data=PANEL(coop.id))])
    text = "\n".join(lines)
    await respond(update, context, text, InlineKeyboardMarkup(rows))


@guarded(MEMBERS)
async def on_members(
    update: Update, context: BotContext, user_id: int, coop_id: str, page: int
) -> None:
    """Show a page of the member list."""
    await show_members(update, context, coop_id, page)


async def show_member(update: Update, context: BotContext, application_id: str) -> None:
    """One member, with suspend or reinstate."""
    member, coop = await context.services.admin.member(actor(update), application_id)
    t = context.t
    _ = t.gettext
    lines = [
        member_line(t, member),
        "",
        _("Member since: {date}").format(date=t.date(member.decided_at))
        if member.decided_at
        else "",
        _("Phone: {value}").format(value=escape(member.phone or "–")),
        _("Address: {value}").format(value=escape(member.address or "–")),
        _("NIK: {value}").format(value=f"<code>{escape(member.nik_masked or '–')}</code>"),
    ]
    if member.status == "suspended" and member.status_reason:
        lines.append(_("Suspended: {reason}").format(reason=escape(member.status_reason)))
    rows = []
    if member.status == "active":
        rows.append([InlineKeyboardButton(_("⛔ Suspend"), callback_data=SUSPEND(member.id))])
    elif member.status == "suspended":
        rows.append([InlineKeyboardButton(_("✅ Reinstate"), callback_data=REINSTATE(member.id))])
    rows.append(
        [InlineKeyboardButton(_("👁 Reveal NIK (logged)"), callback_data=REVEAL(member.id))]
    )
    rows.append([InlineKeyboardButton(_("⬅ Members"), callback_data=MEMBERS(coop.id, 0))])
    text = "\n".join(line for line in lines if line is not None)
    await respond(update, context, text, InlineKeyboardMarkup(rows))


@guarded(MEMBER)
async def on_member(
    update: Update, context: BotContext, user_id: int, application_id: str
) -> None:
    """Show one member, with suspend or reinstate."""
    await show_member(update, context, application_id)


@guarded(EXPORT)
async def on_export(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Send the member register as an Excel workbook (written to the audit log)."""
    await send_register(update, context, user_id, coop_id, "xlsx")


@guarded(EXPORT_CSV)
async def on_export_csv(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Send the member register as CSV for Excel (written to the audit log)."""
    await send_register(update, context, user_id, coop_id, "csv")


async def send_register(
    update: Update, context: BotContext, user_id: int, coop_id: str, fmt: str
) -> None:
    """The register as a document, named by the cooperative's registration number."""
    assert update.callback_query is not None
    coop = await context.services.admin.coop_for_admin(user_id, coop_id)
    data = await context.services.admin.export_members(user_id, coop_id, context.t, fmt)
    await update.callback_query.answer()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", coop.registration_number or coop.id).strip("-")
    # TRANSLATORS: the start of the export's file name (ASCII, no spaces).
    stem = context.gettext("members")
    await context.bot.send_document(
        user_id,
        InputFile(data, filename=f"{stem}-{name}.{fmt}"),
        caption=context.gettext(
            "📄 Member register of {coop}. It contains NIKs: keep it safe and delete it when done."
        ).format(coop=escape(coop.name)),
        parse_mode=ParseMode.HTML,
    )
