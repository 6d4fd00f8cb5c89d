"""/admin and the panel of one cooperative: where every other admin screen starts."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.admin import Forbidden
from handlers.admin.reply import edit
from handlers.callbacks import (
    BOARD,
    COMPOSE,
    LEDGER_MENU,
    MEMBERS,
    OPERATOR_MENU,
    PANEL,
    PROFILE,
    QUEUE,
    STATS,
)
from handlers.guard import actor, guarded
from storage.models import Cooperative


def panel_keyboard(t: Translator, coop: Cooperative, pending: int) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("📥 Applications ({n})").format(n=pending), callback_data=QUEUE(coop.id, 0)
                )
            ],
            [
                InlineKeyboardButton(_("👥 Members"), callback_data=MEMBERS(coop.id, 0)),
                InlineKeyboardButton(_("✏️ Profile"), callback_data=PROFILE(coop.id)),
            ],
            [
                InlineKeyboardButton(_("📊 Statistics"), callback_data=STATS(coop.id)),
                InlineKeyboardButton(_("📣 Announcement"), callback_data=COMPOSE(coop.id)),
            ],
            [InlineKeyboardButton(_("👤 Admins"), callback_data=BOARD(coop.id))],
            [InlineKeyboardButton(_("💰 Savings"), callback_data=LEDGER_MENU(coop.id))],
        ]
    )


async def panel_text(context: BotContext, coop: Cooperative, user_id: int) -> tuple[str, int]:
    """The panel's header and the number of applications waiting."""
    t = context.t
    pending = len(await context.services.admin.pending(user_id, coop.id))
    _, members = await context.services.admin.members(user_id, coop.id, limit=0)
    late = await context.services.ledger.arrears_count(user_id, coop.id)
    text = "\n".join(
        [
            t.gettext("🏛 <b>{coop}</b> · admin panel").format(coop=escape(coop.name)),
            t.ngettext(
                "👥 {members} members · ⏳ {pending} application waiting",
                "👥 {members} members · ⏳ {pending} applications waiting",
                pending,
            ).format(members=t.number(members), pending=t.number(pending)),
            t.ngettext("💰 {n} member in arrears", "💰 {n} members in arrears", late).format(
                n=t.number(late)
            ),
        ]
    )
    return text, pending


async def admin_command(update: Update, context: BotContext) -> None:
    """Open the panel: choose the cooperative when the user runs several."""
    message = update.effective_message
    assert message is not None
    user_id = actor(update)
    admin = context.services.admin
    _ = context.gettext
    try:
        coops = await admin.panel(user_id)
    except Forbidden:  # audited; the answer says how to become an admin
        await message.reply_text(
            _(
                "This command is for cooperative admins. If you run a "
                "cooperative, ask the platform for an invitation."
            )
        )
        return
    operator = admin.is_operator(user_id)  # which screens to offer; each checks again
    if len(coops) == 1 and not operator:
        text, pending = await panel_text(context, coops[0], user_id)
        await message.reply_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=panel_keyboard(context.t, coops[0], pending),
        )
        return
    rows = [[InlineKeyboardButton(c.name[:60], callback_data=PANEL(c.id))] for c in coops]
    if operator:
        rows.append(
            [InlineKeyboardButton(_("🛠 Platform operations"), callback_data=OPERATOR_MENU())]
        )
    await message.reply_text(
        _("Which cooperative?") if coops else _("You are a platform operator."),
        reply_markup=InlineKeyboardMarkup(rows),
    )


@guarded(PANEL)
async def on_panel(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Show a cooperative's panel."""
    coop = await context.services.admin.coop_for_admin(user_id, coop_id)
    text, pending = await panel_text(context, coop, user_id)
    assert update.callback_query is not None
    await update.callback_query.answer()
    await edit(update, context, text, panel_keyboard(context.t, coop, pending))
