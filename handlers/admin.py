"""/admin: the cooperative admin panel — applications, members, profile, statistics.

Every button re-checks the role in the service (``AdminService``): a forged callback
pointing at another cooperative's application gets the same answer as a missing one.
Callback data: ``ad:<coop>`` panel · ``aq:<coop>:<i>`` application queue ·
``aa:<app>`` approve · ``ar:<app>`` reject menu · ``rr:<app>:<n>`` preset reason ·
``av:<app>`` reveal NIK · ``am:<coop>:<page>`` members · ``mo:<app>`` a member ·
``ax:<coop>`` export · ``ap:<coop>`` profile · ``pl:<coop>:<c|o|x>`` closed/open loop ·
``as:<coop>`` statistics. Typed input (reasons, search, profile fields) is
``handlers/admin_input.py``.
"""

from __future__ import annotations

import logging
from datetime import date
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.error import Forbidden as TelegramForbidden
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.admin import Forbidden
from bot.services.catalog import N_
from bot.services.charts import members_chart
from bot.services.membership import OCCUPATIONS
from handlers.render import services_text
from storage.models import Application, Cooperative

log = logging.getLogger(__name__)

ID = r"[0-9a-f]{24}"
MEMBERS_PAGE = 10

# Preset reasons for a rejection, stored as "preset:<key>" and shown in each reader's language.
REJECT_REASONS: dict[str, str] = {
    "domicile": N_("You do not live in the cooperative's area."),
    "data": N_("The data in the application is incomplete or incorrect."),
    "duplicate": N_("You are already a member under another account."),
    "quota": N_("The cooperative is not accepting new members at the moment."),
}


def reason_text(t: Translator, reason: str | None) -> str:
    if not reason:
        return t.gettext("no reason given")
    if reason.startswith("preset:") and reason[7:] in REJECT_REASONS:
        return t.gettext(REJECT_REASONS[reason[7:]])
    return reason


def occupation_text(t: Translator, value: str | None) -> str:
    if not value:
        return "–"
    return t.gettext(OCCUPATIONS[value]) if value in OCCUPATIONS else value.removeprefix("other:")


async def refuse(update: Update, context: BotContext) -> None:
    """The one answer to anything not allowed: it says nothing about the target."""
    text = context.gettext("You are not allowed to do that.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def _edit(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        if "no text in the message" in str(exc).lower() and query.message is not None:
            await context.bot.send_message(
                query.message.chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
            return
        raise


async def _respond(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup
) -> None:
    """Edit the message a button belongs to, or answer a typed input with a new one."""
    if update.callback_query is not None:
        await update.callback_query.answer()
        await _edit(update, context, text, markup)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup
        )


def _user(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


# --- the panel --------------------------------------------------------------------------


def panel_keyboard(t: Translator, coop: Cooperative, pending: int) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("📥 Applications ({n})").format(n=pending), callback_data=f"aq:{coop.id}:0"
                )
            ],
            [
                InlineKeyboardButton(_("👥 Members"), callback_data=f"am:{coop.id}:0"),
                InlineKeyboardButton(_("✏️ Profile"), callback_data=f"ap:{coop.id}"),
            ],
            [
                InlineKeyboardButton(_("📊 Statistics"), callback_data=f"as:{coop.id}"),
                InlineKeyboardButton(_("📣 Announcement"), callback_data=f"bc:{coop.id}"),
            ],
        ]
    )


async def panel_text(context: BotContext, coop: Cooperative, actor: int) -> tuple[str, int]:
    t = context.t
    pending = len(await context.services.admin.pending(actor, coop.id))
    _, members = await context.services.admin.members(actor, coop.id, limit=0)
    text = "\n".join(
        [
            t.gettext("🏛 <b>{coop}</b> · admin panel").format(coop=escape(coop.name)),
            t.gettext("👥 {members} members · ⏳ {pending} applications waiting").format(
                members=t.number(members), pending=t.number(pending)
            ),
        ]
    )
    return text, pending


async def admin_command(update: Update, context: BotContext) -> None:
    """Open the panel: choose the cooperative when the user runs several."""
    message = update.effective_message
    assert message is not None
    actor = _user(update)
    admin = context.services.admin
    coops = await admin.coops_of(actor)
    operator = admin.is_operator(actor)
    _ = context.gettext
    if not coops and not operator:
        await message.reply_text(
            _(
                "This command is for cooperative admins. If you run a "
                "cooperative, ask the platform for an invitation."
            )
        )
        return
    if len(coops) == 1 and not operator:
        text, pending = await panel_text(context, coops[0], actor)
        await message.reply_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=panel_keyboard(context.t, coops[0], pending),
        )
        return
    rows = [[InlineKeyboardButton(c.name[:60], callback_data=f"ad:{c.id}")] for c in coops]
    if operator:
        rows.append([InlineKeyboardButton(_("🛠 Platform operations"), callback_data="op")])
    await message.reply_text(
        _("Which cooperative?") if coops else _("You are a platform operator."),
        reply_markup=InlineKeyboardMarkup(rows),
    )


async def on_panel(update: Update, context: BotContext) -> None:
    """Show a cooperative's panel."""
    query = update.callback_query
    assert query is not None and query.data is not None
    actor = _user(update)
    try:
        coop = await context.services.admin.coop_for_admin(actor, query.data.split(":")[1])
        text, pending = await panel_text(context, coop, actor)
    except Forbidden:
        await refuse(update, context)
        return
    await query.answer()
    await _edit(update, context, text, panel_keyboard(context.t, coop, pending))


# --- applications -----------------------------------------------------------------------


def application_text(
    t: Translator, application: Application, coop: Cooperative, position: str, village: str
) -> str:
    _ = t.gettext
    born = date.fromisoformat(application.birth_date) if application.birth_date else None
    lines = [
        _("📥 <b>Application {position}</b> · {coop}").format(
            position=position, coop=escape(coop.name)
        ),
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
    return "\n".join(lines)


def application_keyboard(
    t: Translator, application: Application, coop: Cooperative, index: int | None, total: int
) -> InlineKeyboardMarkup:
    _ = t.gettext
    rows = [
        [
            InlineKeyboardButton(_("✅ Approve"), callback_data=f"aa:{application.id}"),
            InlineKeyboardButton(_("❌ Reject"), callback_data=f"ar:{application.id}"),
        ],
        [InlineKeyboardButton(_("👁 Reveal NIK (logged)"), callback_data=f"av:{application.id}")],
    ]
    if index is not None and total > 1:
        rows.append(
            [
                InlineKeyboardButton("◀", callback_data=f"aq:{coop.id}:{(index - 1) % total}"),
                InlineKeyboardButton(f"{index + 1}/{total}", callback_data="noop"),
                InlineKeyboardButton("▶", callback_data=f"aq:{coop.id}:{(index + 1) % total}"),
            ]
        )
    rows.append([InlineKeyboardButton(_("⬅ Panel"), callback_data=f"ad:{coop.id}")])
    return InlineKeyboardMarkup(rows)


async def on_queue(update: Update, context: BotContext) -> None:
    """One pending application per screen."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, coop_id, index_text = query.data.split(":")
    actor = _user(update)
    admin = context.services.admin
    try:
        coop = await admin.coop_for_admin(actor, coop_id)
        pending = await admin.pending(actor, coop_id)
    except Forbidden:
        await refuse(update, context)
        return
    await query.answer()
    t = context.t
    if not pending:
        await _edit(
            update,
            context,
            t.gettext("✅ No applications are waiting."),
            InlineKeyboardMarkup(
                [[InlineKeyboardButton(t.gettext("⬅ Panel"), callback_data=f"ad:{coop.id}")]]
            ),
        )
        return
    index = min(int(index_text), len(pending) - 1)
    application = pending[index]
    village = context.services.membership.village_name(coop)
    text = application_text(t, application, coop, f"{index + 1}/{len(pending)}", village)
    await _edit(
        update, context, text, application_keyboard(t, application, coop, index, len(pending))
    )


async def tell_applicant(context: BotContext, application: Application, coop: Cooperative) -> None:
    """Tell the applicant the board's decision, in the applicant's own language."""
    t = context.services.i18n.get(application.language)
    _ = t.gettext
    if application.status == "active":
        lines = [
            _("🎉 <b>Welcome to {coop}!</b>").format(coop=escape(coop.name)),
            _("Your application {number} was approved.").format(number=application.number),
            _("Member number: {number}").format(
                number=f"<code>{escape(application.member_number or '')}</code>"
            ),
        ]
        if coop.simpanan_pokok is not None:
            lines.append(
                _("Please pay the simpanan pokok of {amount} to the cooperative.").format(
                    amount=t.money(coop.simpanan_pokok)
                )
            )
        lines.append(_("Your member card is in /cards."))
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
        lines = [
            _("Your membership of {coop} is suspended.").format(coop=escape(coop.name)),
            _("Reason: {reason}").format(reason=escape(application.status_reason or "")),
        ]
    else:
        return
    try:
        await context.bot.send_message(
            application.user_id, "\n".join(lines), parse_mode=ParseMode.HTML
        )
    except (TelegramForbidden, BadRequest):
        log.info("could not notify applicant application=%s", application.id)


async def on_approve(update: Update, context: BotContext) -> None:
    """Approve: the member number is issued, the applicant is told."""
    query = update.callback_query
    assert query is not None and query.data is not None
    actor = _user(update)
    admin = context.services.admin
    application_id = query.data.split(":")[1]
    try:
        application, coop = await admin.application(actor, application_id)
        decided = await admin.approve(actor, application_id)
    except Forbidden:
        await refuse(update, context)
        return
    t = context.t
    if decided is None:
        await query.answer(t.gettext("This application was already decided."), show_alert=True)
        return
    await query.answer(t.gettext("Approved."))
    await tell_applicant(context, decided, coop)
    await _edit(
        update,
        context,
        t.gettext("✅ Approved: {name} is member {number} of {coop}.").format(
            name=escape(decided.full_name or ""),
            number=escape(decided.member_number or ""),
            coop=escape(coop.name),
        ),
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t.gettext("📥 Next application"), callback_data=f"aq:{coop.id}:0"
                    ),
                    InlineKeyboardButton(t.gettext("⬅ Panel"), callback_data=f"ad:{coop.id}"),
                ]
            ]
        ),
    )


async def on_reject_menu(update: Update, context: BotContext) -> None:
    """Choose a reason for the rejection."""
    query = update.callback_query
    assert query is not None and query.data is not None
    actor = _user(update)
    application_id = query.data.split(":")[1]
    try:
        application, coop = await context.services.admin.application(actor, application_id)
    except Forbidden:
        await refuse(update, context)
        return
    await query.answer()
    t = context.t
    rows = [
        [InlineKeyboardButton(t.gettext(label)[:60], callback_data=f"rr:{application_id}:{key}")]
        for key, label in REJECT_REASONS.items()
    ]
    rows.append(
        [InlineKeyboardButton(t.gettext("✍️ Type a reason"), callback_data=f"rt:{application_id}")]
    )
    rows.append([InlineKeyboardButton(t.gettext("↩ Back"), callback_data=f"aq:{coop.id}:0")])
    await _edit(
        update,
        context,
        t.gettext(
            "Why is the application of {name} rejected? The applicant will see the reason."
        ).format(name=escape(application.full_name or "")),
        InlineKeyboardMarkup(rows),
    )


async def reject_with(
    update: Update, context: BotContext, application_id: str, reason: str
) -> None:
    """Reject (from a preset or a typed reason) and tell the applicant."""
    actor = _user(update)
    admin = context.services.admin
    t = context.t
    application, coop = await admin.application(actor, application_id)
    decided = await admin.reject(actor, application_id, reason)
    if decided is None:
        text = t.gettext("This application was already decided.")
    else:
        await tell_applicant(context, decided, coop)
        text = t.gettext("❌ Rejected: the application of {name}. Reason: {reason}").format(
            name=escape(decided.full_name or ""), reason=escape(reason_text(t, decided.reason))
        )
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t.gettext("📥 Next application"), callback_data=f"aq:{coop.id}:0"
                ),
                InlineKeyboardButton(t.gettext("⬅ Panel"), callback_data=f"ad:{coop.id}"),
            ]
        ]
    )
    if update.callback_query is not None:
        await update.callback_query.answer()
        await _edit(update, context, text, markup)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup
        )


async def on_reject_preset(update: Update, context: BotContext) -> None:
    """Reject with a preset reason."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, application_id, key = query.data.split(":")
    if key not in REJECT_REASONS:
        await refuse(update, context)
        return
    try:
        await reject_with(update, context, application_id, f"preset:{key}")
    except Forbidden:
        await refuse(update, context)


async def on_reveal(update: Update, context: BotContext) -> None:
    """Show the full NIK in a pop-up (not in the chat history); written to the audit log."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        nik = await context.services.admin.reveal_nik(_user(update), query.data.split(":")[1])
    except Forbidden:
        await refuse(update, context)
        return
    await query.answer(
        context.gettext("NIK: {nik}\n(This was written to the audit log.)").format(nik=nik),
        show_alert=True,
    )


# --- members ----------------------------------------------------------------------------


def member_line(t: Translator, member: Application) -> str:
    icon = "✅" if member.status == "active" else "⛔" if member.status == "suspended" else "🚪"
    return f"{icon} <code>{escape(member.member_number or '–')}</code> {escape(member.full_name or '')}"


async def show_members(
    update: Update, context: BotContext, coop_id: str, page: int, query_text: str | None = None
) -> None:
    actor = _user(update)
    admin = context.services.admin
    t = context.t
    coop = await admin.coop_for_admin(actor, coop_id)
    members, total = await admin.members(
        actor, coop_id, query=query_text, skip=page * MEMBERS_PAGE, limit=MEMBERS_PAGE
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
                callback_data=f"mo:{m.id}",
            )
        ]
        for m in members
    ]
    nav = []
    if page > 0 and not query_text:
        nav.append(InlineKeyboardButton("◀", callback_data=f"am:{coop.id}:{page - 1}"))
    if (page + 1) * MEMBERS_PAGE < total and not query_text:
        nav.append(InlineKeyboardButton("▶", callback_data=f"am:{coop.id}:{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append(
        [
            InlineKeyboardButton(t.gettext("🔎 Search"), callback_data=f"ams:{coop.id}"),
            InlineKeyboardButton(t.gettext("📄 Export CSV"), callback_data=f"ax:{coop.id}"),
        ]
    )
    rows.append([InlineKeyboardButton(t.gettext("⬅ Panel"), callback_data=f"ad:{coop.id}")])
    text = "\n".join(lines)
    await _respond(update, context, text, InlineKeyboardMarkup(rows))


async def on_members(update: Update, context: BotContext) -> None:
    """A page of the member list."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, coop_id, page = query.data.split(":")
    try:
        await show_members(update, context, coop_id, int(page))
    except Forbidden:
        await refuse(update, context)


async def show_member(update: Update, context: BotContext, application_id: str) -> None:
    actor = _user(update)
    member, coop = await context.services.admin.member(actor, application_id)
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
        rows.append([InlineKeyboardButton(_("⛔ Suspend"), callback_data=f"su:{member.id}")])
    elif member.status == "suspended":
        rows.append([InlineKeyboardButton(_("✅ Reinstate"), callback_data=f"ri:{member.id}")])
    rows.append(
        [InlineKeyboardButton(_("👁 Reveal NIK (logged)"), callback_data=f"av:{member.id}")]
    )
    rows.append([InlineKeyboardButton(_("⬅ Members"), callback_data=f"am:{coop.id}:0")])
    text = "\n".join(line for line in lines if line is not None)
    await _respond(update, context, text, InlineKeyboardMarkup(rows))


async def on_member(update: Update, context: BotContext) -> None:
    """One member, with suspend or reinstate."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        await show_member(update, context, query.data.split(":")[1])
    except Forbidden:
        await refuse(update, context)


async def on_export(update: Update, context: BotContext) -> None:
    """The member register as a CSV document (written to the audit log)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    actor = _user(update)
    coop_id = query.data.split(":")[1]
    try:
        coop = await context.services.admin.coop_for_admin(actor, coop_id)
        data = await context.services.admin.export_members(actor, coop_id)
    except Forbidden:
        await refuse(update, context)
        return
    await query.answer()
    await context.bot.send_document(
        actor,
        InputFile(data, filename=f"anggota-{coop.registration_number or coop.id}.csv"),
        caption=context.gettext(
            "📄 Member register of {coop}. It contains NIKs: keep it safe and delete it when done."
        ).format(coop=escape(coop.name)),
        parse_mode=ParseMode.HTML,
    )


# --- profile ----------------------------------------------------------------------------

PROFILE_BUTTONS: list[tuple[str, str]] = [
    ("desc", N_("Description")),
    ("svc", N_("Services")),
    ("phone", N_("Phone")),
    ("hours", N_("Opening hours")),
    ("pokok", N_("Simpanan pokok")),
    ("wajib", N_("Simpanan wajib")),
    ("rat", N_("Last RAT year")),
    ("loc", N_("Location")),
]


def profile_text(t: Translator, coop: Cooperative) -> str:
    _ = t.gettext
    loop = {True: _("closed-loop (members only)"), False: _("open-loop (OJK licence)"), None: "–"}[
        coop.closed_loop
    ]
    lines = [
        _("✏️ <b>Profile of {coop}</b>").format(coop=escape(coop.name)),
        "",
        _("Description: {value}").format(value=escape(coop.description or "–")),
        _("Services: {services}").format(
            services=services_text(coop.services, t, None) if coop.services else "–"
        ),
        _("Phone: {value}").format(value=escape(coop.phone or "–")),
        _("Opening hours: {value}").format(value=escape(coop.opening_hours or "–")),
        _("Simpanan pokok: {value}").format(
            value=t.money(coop.simpanan_pokok) if coop.simpanan_pokok is not None else "–"
        ),
        _("Simpanan wajib: {value}").format(
            value=t.money(coop.simpanan_wajib) if coop.simpanan_wajib is not None else "–"
        ),
        _("Savings and loan: {value}").format(value=loop),
        _("Last RAT: {value}").format(value=coop.rat_year or "–"),
        _("Location: {lat}, {lon}").format(
            lat=f"{coop.location.lat:.5f}", lon=f"{coop.location.lon:.5f}"
        ),
        "",
        _("Changes show in search at once."),
    ]
    return "\n".join(lines)


def profile_keyboard(t: Translator, coop: Cooperative) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton("✏️ " + t.gettext(label), callback_data=f"pe:{coop.id}:{key}")
        for key, label in PROFILE_BUTTONS
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(t.gettext("🔒 Closed-loop"), callback_data=f"pl:{coop.id}:c"),
            InlineKeyboardButton(t.gettext("🔓 Open-loop"), callback_data=f"pl:{coop.id}:o"),
            InlineKeyboardButton(t.gettext("– Not set"), callback_data=f"pl:{coop.id}:x"),
        ]
    )
    rows.append([InlineKeyboardButton(t.gettext("⬅ Panel"), callback_data=f"ad:{coop.id}")])
    return InlineKeyboardMarkup(rows)


async def show_profile(update: Update, context: BotContext, coop: Cooperative) -> None:
    await _respond(
        update, context, profile_text(context.t, coop), profile_keyboard(context.t, coop)
    )


async def on_profile(update: Update, context: BotContext) -> None:
    """The cooperative's profile with an edit button per field."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        coop = await context.services.admin.coop_for_admin(_user(update), query.data.split(":")[1])
    except Forbidden:
        await refuse(update, context)
        return
    await show_profile(update, context, coop)


async def on_loop(update: Update, context: BotContext) -> None:
    """Set closed-loop / open-loop status."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, coop_id, value = query.data.split(":")
    try:
        coop = await context.services.admin.update_profile(
            _user(update), coop_id, "closed_loop", {"c": True, "o": False, "x": None}[value]
        )
    except Forbidden:
        await refuse(update, context)
        return
    await show_profile(update, context, coop)


# --- statistics -------------------------------------------------------------------------

STATUS_LABELS = {
    "pending": N_("waiting"),
    "active": N_("active"),
    "suspended": N_("suspended"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
    "left": N_("left"),
}


async def on_stats(update: Update, context: BotContext) -> None:
    """Members over time and applications by status, as text and as a chart."""
    query = update.callback_query
    assert query is not None and query.data is not None
    actor = _user(update)
    coop_id = query.data.split(":")[1]
    try:
        coop = await context.services.admin.coop_for_admin(actor, coop_id)
        stats = await context.services.admin.coop_stats(actor, coop_id)
    except Forbidden:
        await refuse(update, context)
        return
    await query.answer()
    t = context.t
    _ = t.gettext
    statuses = {t.gettext(STATUS_LABELS.get(k, k)): v for k, v in sorted(stats.by_status.items())}
    lines = [
        _("📊 <b>{coop}</b>").format(coop=escape(coop.name)),
        _("Members now: {n}").format(n=t.number(stats.members)),
        "",
        _("<b>Applications by status</b>"),
    ]
    lines += [f"• {escape(k)}: {t.number(v)}" for k, v in statuses.items()] or ["–"]
    lines += ["", _("<b>New members per month</b>")]
    lines += [
        f"• {m}: +{j} → {total}"
        for m, j, total in zip(stats.months, stats.joined, stats.total, strict=True)
        if j or total
    ]
    chart = members_chart(
        stats.months,
        stats.total,
        stats.joined,
        title=_("Members of the last 12 months"),
        total_label=_("members"),
        joined_label=_("new members"),
        status_counts=statuses,
    )
    await context.bot.send_message(actor, "\n".join(lines), parse_mode=ParseMode.HTML)
    await context.bot.send_photo(
        actor,
        InputFile(chart, filename="statistik.png"),
        caption=_("Members and applications of {coop}").format(coop=escape(coop.name)),
        parse_mode=ParseMode.HTML,
    )


# --- notifications ----------------------------------------------------------------------


async def notify_admins(context: BotContext, application: Application, coop: Cooperative) -> None:
    """Tell the cooperative's admins about a new application at once, with decisions."""
    services = context.services
    for admin_id in await services.admin.admins_of(coop.id):
        t = services.i18n.get(await services.users.locale_for(admin_id, None))
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
        except (TelegramForbidden, BadRequest):
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
        t = services.i18n.get(await services.users.locale_for(admin_id, None))
        text = t.gettext("🚪 {name} ({number}) left {coop}.").format(
            name=escape(application.full_name or ""),
            number=escape(application.member_number or ""),
            coop=escape(coop.name),
        )
        try:
            await context.bot.send_message(admin_id, text, parse_mode=ParseMode.HTML)
        except (TelegramForbidden, BadRequest):
            log.info("admin unreachable coop=%s", coop.id)
    await services.membership.mark_delivered("member_left", application.id)


HANDLERS: list[BaseHandler] = [
    CommandHandler("admin", admin_command),
    CallbackQueryHandler(on_panel, pattern=rf"^ad:{ID}$"),
    CallbackQueryHandler(on_queue, pattern=rf"^aq:{ID}:\d{{1,4}}$"),
    CallbackQueryHandler(on_approve, pattern=rf"^aa:{ID}$"),
    CallbackQueryHandler(on_reject_menu, pattern=rf"^ar:{ID}$"),
    CallbackQueryHandler(on_reject_preset, pattern=rf"^rr:{ID}:[a-z]{{1,12}}$"),
    CallbackQueryHandler(on_reveal, pattern=rf"^av:{ID}$"),
    CallbackQueryHandler(on_members, pattern=rf"^am:{ID}:\d{{1,5}}$"),
    CallbackQueryHandler(on_member, pattern=rf"^mo:{ID}$"),
    CallbackQueryHandler(on_export, pattern=rf"^ax:{ID}$"),
    CallbackQueryHandler(on_profile, pattern=rf"^ap:{ID}$"),
    CallbackQueryHandler(on_loop, pattern=rf"^pl:{ID}:[cox]$"),
    CallbackQueryHandler(on_stats, pattern=rf"^as:{ID}$"),
]
