"""Platform operators (ADMIN_IDS): statistics, verification, invitations, the audit log.

Buttons (:mod:`handlers.callbacks`): ``OPERATOR_MENU`` · ``OPERATOR_STATS`` (also /stats) ·
``OPERATOR_AUDIT`` · ``VERIFY`` verify / unverify · ``INVITE`` invite an admin (also
/invite). /stats ends with the onboarding section (``onboarding.py``, its export button
``DEMAND_EXPORT``). Directory import is ``handlers/operator/importing.py``. The deep link
``?start=adm_<token>`` accepts an invitation (``accept_invite``).
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.services.board import MAX_ADMINS
from bot.services.catalog import type_label
from bot.services.profile import InputError
from handlers.admin.stats import STATUS_LABELS
from handlers.callbacks import (
    CLAIM_QUEUE,
    COMPOSE_PLATFORM,
    INVITE,
    OPERATOR_AUDIT,
    OPERATOR_IMPORT,
    OPERATOR_MENU,
    OPERATOR_STATS,
    PAGE,
    VERIFY,
)
from handlers.guard import actor, guarded
from handlers.keyboards import deep_link
from handlers.operator.onboarding import HANDLERS as ONBOARDING_HANDLERS
from handlers.operator.onboarding import send_onboarding
from handlers.search.keyboards import detail_keyboard
from handlers.search.texts import detail_text


async def _reply(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup)


@guarded(OPERATOR_MENU)
async def on_menu(update: Update, context: BotContext, user_id: int) -> None:
    """Show the operator menu."""
    await context.services.admin.require_operator(user_id, "operator_menu")
    _ = context.gettext
    await _reply(
        update,
        context,
        _(
            "🛠 <b>Platform operations</b>\nVerify cooperatives and "
            "invite their admins from a cooperative's page (search it "
            "first)."
        ),
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _("📊 Platform statistics"), callback_data=OPERATOR_STATS()
                    )
                ],
                [
                    InlineKeyboardButton(
                        _("📥 Import the directory"), callback_data=OPERATOR_IMPORT()
                    )
                ],
                [InlineKeyboardButton(_("📣 Announcement"), callback_data=COMPOSE_PLATFORM())],
                [InlineKeyboardButton(_("🧾 Audit log"), callback_data=OPERATOR_AUDIT())],
                [
                    InlineKeyboardButton(
                        _("🏛 Claims to run a cooperative"), callback_data=CLAIM_QUEUE()
                    )
                ],
            ]
        ),
    )


@guarded()
async def on_stats(update: Update, context: BotContext, user_id: int) -> None:
    """Show users, cooperatives, memberships and applications, then onboarding (/stats)."""
    stats = await context.services.admin.platform_stats(user_id)
    t = context.t
    _ = t.gettext
    gazetteer = context.services.gazetteer
    lines = [
        _("📊 <b>Gerbang Koperasi in numbers</b>"),
        "",
        _("Users: {n}").format(n=t.number(stats.users)),
        _("Cooperatives: {n}").format(n=t.number(stats.cooperatives)),
        _("Active memberships: {n}").format(n=t.number(stats.memberships)),
        _("Members in arrears: {n}").format(
            n=t.number(await context.services.ledger.platform_arrears(user_id))
        ),
        _("Applications: {list}").format(
            list=", ".join(
                f"{_(STATUS_LABELS.get(k, k))} {t.number(v)}"
                for k, v in sorted(stats.applications.items())
            )
            or "–"
        ),
        "",
        _("<b>By province</b> (cooperatives · members · waiting)"),
    ]
    for code, coops, members, pending in stats.by_province[:38]:
        region = gazetteer.get(code)
        name = region.name if region else code
        lines.append(
            f"• {escape(name)}: {t.number(coops)} · {t.number(members)} · {t.number(pending)}"
        )
    lines += ["", _("<b>By type</b> (cooperatives · members)")]
    for coop_type, coops, members in stats.by_type:
        lines.append(
            f"• {escape(t.gettext(type_label(coop_type)))}: {t.number(coops)} · "
            f"{t.number(members)}"
        )
    await _reply(update, context, "\n".join(lines)[:4000])
    await send_onboarding(update, context, user_id)


@guarded(OPERATOR_AUDIT)
async def on_audit(update: Update, context: BotContext, user_id: int) -> None:
    """Show the 20 most recent audit-log entries."""
    entries = await context.services.admin.recent_audit(user_id, 20)
    t = context.t
    lines = [t.gettext("🧾 <b>Audit log</b> (newest first)"), ""]
    for entry in entries:
        lines.append(
            "{time} · {actor} · {action} · {outcome}{coop}{target}".format(
                time=t.datetime(entry.at, "short"),
                actor=entry.actor,
                action=escape(entry.action),
                outcome=escape(entry.outcome),
                coop=" · " + t.gettext("cooperative {id}").format(id=entry.coop_id[-6:])
                if entry.coop_id
                else "",
                target=f" · {entry.target[-6:]}" if entry.target else "",
            )
        )
    if not entries:
        lines.append("–")
    await _reply(update, context, "\n".join(lines))


@guarded(VERIFY)
async def on_verify(
    update: Update, context: BotContext, user_id: int, coop_id: str, flag: str
) -> None:
    """Verify or unverify a cooperative (the badge shows in search and detail)."""
    coop = await context.services.admin.set_verified(user_id, coop_id, flag == "1")
    _ = context.gettext
    text = _("✅ Verified: {coop}") if coop.verified else _("Verification removed: {coop}")
    query = update.callback_query
    assert query is not None
    await query.answer(text.format(coop=coop.name[:150]))
    await _show_page(update, context, coop.id)


async def _show_page(update: Update, context: BotContext, coop_id: str) -> None:
    """Redraw the cooperative's page the button was on in its new state (badge, button),
    as it was opened: from the same result list (distance, way back) or on its own."""
    query = update.callback_query
    assert query is not None
    message = query.message
    if not isinstance(message, Message):  # too old to edit: the pop-up said it
        return
    back = None
    for row in message.reply_markup.inline_keyboard if message.reply_markup else ():
        for button in row:
            if PAGE.matches(str(button.callback_data)):
                back = PAGE.parse(str(button.callback_data))
    search = await context.services.search.get_saved(back[0]) if back else None
    coop = await context.services.directory.get(coop_id, origin=search.point if search else None)
    if coop is None:
        return
    markup = detail_keyboard(
        coop.id,
        coop.name,
        context.bot.username,
        context.t,
        back,
        operator=True,
        verified=coop.verified,
        private=True,
    )
    text = detail_text(coop, context.t, context.services.directory)
    try:
        await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:  # a repeated tap: the page shows this state already
        if "not modified" not in str(exc).lower():
            raise


async def invite(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Send a one-time link that makes its opener an admin of the cooperative."""
    token, coop = await context.services.admin.create_invite(user_id, coop_id)
    _ = context.gettext
    link = deep_link(context.bot.username or "bot", f"adm_{token}")
    await _reply(
        update,
        context,
        _(
            "👤 Admin invitation for <b>{coop}</b>:\n{link}\n\nGive it to the cooperative's "
            "board. It works once and expires in 7 days; whoever opens it becomes an admin."
        ).format(coop=escape(coop.name), link=escape(link)),
    )


@guarded(INVITE)
async def on_invite_button(
    update: Update, context: BotContext, user_id: int, coop_id: str
) -> None:
    """Invite an admin for the cooperative on screen."""
    await invite(update, context, user_id, coop_id)


@guarded()
async def invite_command(update: Update, context: BotContext, user_id: int) -> None:
    """Invite an admin for the cooperative named by id or registration number (/invite)."""
    message = update.effective_message
    assert message is not None
    admin = context.services.admin
    ref = " ".join(context.args or []).strip()
    await admin.require_operator(user_id, "invite", target=ref[:64] or None)
    coop = await admin.resolve_coop(ref) if ref else None
    if coop is None:
        await message.reply_text(
            context.gettext(
                "Usage: /invite followed by the cooperative's registration number or id — or open "
                "the cooperative and tap “Invite admin”."
            )
        )
        return
    await invite(update, context, user_id, coop.id)


async def accept_invite(update: Update, context: BotContext, token: str) -> None:
    """Make the user an admin of the invitation's cooperative (deep link ``adm_<token>``)."""
    message = update.effective_message
    assert message is not None
    try:
        coop = await context.services.admin.accept_invite(actor(update), token)
    except InputError as error:
        if error.code == "board_full":
            await message.reply_text(
                context.gettext(
                    "This invitation cannot be used now: <b>{coop}</b> already has {most} "
                    "admins, the most a cooperative may have. Ask its admins to remove one "
                    "first; the invitation stays valid until it expires."
                ).format(coop=escape(str(error.params.get("coop", ""))), most=MAX_ADMINS),
                parse_mode=ParseMode.HTML,
            )
            return
        await message.reply_text(
            context.gettext(
                "This invitation is not valid: it was used already, has expired or does not "
                "exist. Ask the platform for a new one."
            )
        )
        return
    await message.reply_text(
        context.gettext(
            "✅ You are now an admin of <b>{coop}</b>. Open the panel with /admin."
        ).format(coop=escape(coop.name)),
        parse_mode=ParseMode.HTML,
    )


HANDLERS: list[BaseHandler] = [
    CommandHandler("stats", on_stats),
    CommandHandler("invite", invite_command),
    CallbackQueryHandler(on_menu, pattern=OPERATOR_MENU.pattern),
    CallbackQueryHandler(on_stats, pattern=OPERATOR_STATS.pattern),
    CallbackQueryHandler(on_audit, pattern=OPERATOR_AUDIT.pattern),
    CallbackQueryHandler(on_verify, pattern=VERIFY.pattern),
    CallbackQueryHandler(on_invite_button, pattern=INVITE.pattern),
    *ONBOARDING_HANDLERS,
]
