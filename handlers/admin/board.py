"""The board's own screen in /admin: its admins, inviting a fellow board member, removing
one, leaving (the last admin hands over first). The rules live in ``BoardService`` and
``AdminService.create_invite``; every button checks the role there again.

Buttons (:mod:`handlers.callbacks`): ``BOARD`` the admins · ``BOARD_INVITE`` a one-time
link for one board member · ``BOARD_REMOVE_ASK`` / ``BOARD_REMOVE`` remove another admin
(ask, confirm; they are told) · ``BOARD_LEAVE_ASK`` / ``BOARD_LEAVE`` leave (ask, confirm;
the others are told), or, for the only admin, how to hand over.
"""

from __future__ import annotations

import logging
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.board import MAX_ADMINS, Board, LastAdmin
from bot.services.catalog import N_
from bot.services.profile import InputError
from handlers.admin.reply import edit
from handlers.callbacks import (
    BOARD,
    BOARD_INVITE,
    BOARD_LEAVE,
    BOARD_LEAVE_ASK,
    BOARD_REMOVE,
    BOARD_REMOVE_ASK,
    PANEL,
)
from handlers.guard import guarded
from handlers.keyboards import deep_link

log = logging.getLogger(__name__)


def seat_label(t: Translator, number: int) -> str:
    # TRANSLATORS: how an admin is called on the board screen; the bot keeps no names.
    return t.gettext("Admin {number}").format(number=number)


def board_text(t: Translator, board: Board) -> str:
    _ = t.gettext
    lines = [
        _("👤 <b>{coop}</b> · admins ({count} of {most})").format(
            coop=escape(board.coop.name), count=len(board.seats), most=MAX_ADMINS
        ),
        "",
    ]
    for seat in board.seats:
        since = t.date(seat.since) if seat.since else "–"
        line = _("{admin} · since {date}").format(admin=seat_label(t, seat.number), date=since)
        lines.append(("• <b>" + line + "</b> " + _("(you)")) if seat.you else "• " + line)
    lines.append("")
    if board.full:
        lines.append(_("The board is full: at most {most} admins.").format(most=MAX_ADMINS))
    else:
        lines.append(
            _(
                "Invite members of the cooperative's board (pengurus) only: each invitation "
                "works once, for 7 days."
            )
        )
    return "\n".join(lines)


def board_keyboard(t: Translator, board: Board) -> InlineKeyboardMarkup:
    _ = t.gettext
    coop_id = board.coop.id
    rows = []
    if not board.full:
        rows.append(
            [
                InlineKeyboardButton(
                    _("✉️ Invite a board member"), callback_data=BOARD_INVITE(coop_id)
                )
            ]
        )
    for seat in board.seats:
        if not seat.you:
            label = _("🗑 Remove {admin}").format(admin=seat_label(t, seat.number))
            rows.append(
                [
                    InlineKeyboardButton(
                        label, callback_data=BOARD_REMOVE_ASK(coop_id, seat.user_id)
                    )
                ]
            )
    rows.append(
        [
            InlineKeyboardButton(_("🚪 Leave the admins"), callback_data=BOARD_LEAVE_ASK(coop_id)),
            InlineKeyboardButton(_("⬅ Panel"), callback_data=PANEL(coop_id)),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def _show(update: Update, context: BotContext, board: Board) -> None:
    await edit(update, context, board_text(context.t, board), board_keyboard(context.t, board))


async def _tell(context: BotContext, user_id: int, text: str, coop_name: str) -> None:
    """A message to another admin, in their language; ``text`` is a msgid with {coop}."""
    services = context.services
    t = services.i18n.get(await services.users.recipient_locale(user_id))
    try:
        await context.bot.send_message(
            user_id,
            t.gettext(text).format(coop=escape(coop_name)),
            parse_mode=ParseMode.HTML,
        )
    except (Forbidden, BadRequest):
        log.info("admin unreachable")


@guarded(BOARD)
async def on_board(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Show the cooperative's admins and what the board can do."""
    board = await context.services.board.board(user_id, coop_id)
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _show(update, context, board)


@guarded(BOARD_INVITE)
async def on_invite(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Make a one-time link that makes one fellow board member an admin."""
    query = update.callback_query
    assert query is not None
    _ = context.gettext
    try:
        token, coop = await context.services.admin.create_invite(user_id, coop_id, board=True)
    except InputError:  # board_full
        await query.answer(
            _("The board already has {most} admins, the most allowed. Remove one first.").format(
                most=MAX_ADMINS
            ),
            show_alert=True,
        )
        return
    await query.answer()
    link = deep_link(context.bot.username or "bot", f"adm_{token}")
    text = _(
        "✉️ Invitation to the admins of <b>{coop}</b>:\n{link}\n\nSend it privately to one "
        "fellow board member. It works once and expires in 7 days; whoever opens it becomes "
        "an admin of {coop}."
    ).format(coop=escape(coop.name), link=escape(link))
    back = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("⬅ Admins"), callback_data=BOARD(coop.id))]]
    )
    await edit(update, context, text, back)


@guarded(BOARD_REMOVE_ASK)
async def on_remove_ask(
    update: Update, context: BotContext, user_id: int, coop_id: str, target: int
) -> None:
    """Ask before removing another admin."""
    query = update.callback_query
    assert query is not None
    board = await context.services.board.board(user_id, coop_id)
    seat = board.seat(target)
    _ = context.gettext
    if seat is None or seat.you:
        await query.answer(_("That admin was removed already."), show_alert=True)
        await _show(update, context, board)
        return
    await query.answer()
    text = _(
        "Remove {admin} from the admins of <b>{coop}</b>? They lose the panel at once and are "
        "told."
    ).format(admin=seat_label(context.t, seat.number), coop=escape(board.coop.name))
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("🗑 Yes, remove"), callback_data=BOARD_REMOVE(coop_id, target)
                ),
                InlineKeyboardButton(_("⬅ No, back"), callback_data=BOARD(coop_id)),
            ]
        ]
    )
    await edit(update, context, text, markup)


@guarded(BOARD_REMOVE)
async def on_remove(
    update: Update, context: BotContext, user_id: int, coop_id: str, target: int
) -> None:
    """Remove another admin; they are told."""
    query = update.callback_query
    assert query is not None
    board_service = context.services.board
    removed = await board_service.remove(user_id, coop_id, target)
    board = await board_service.board(user_id, coop_id)
    _ = context.gettext
    if not removed:
        await query.answer(_("That admin was removed already."), show_alert=True)
    else:
        await query.answer(_("Removed."))
        await _tell(
            context,
            target,
            N_(
                "You are no longer an admin of <b>{coop}</b>: another admin of its board "
                "removed you. If that is a mistake, ask them for a new invitation."
            ),
            board.coop.name,
        )
    await _show(update, context, board)


def _alone_text(t: Translator, coop_name: str) -> str:
    return t.gettext(
        "You are the only admin of <b>{coop}</b>, so you cannot leave yet: hand over first. "
        "Invite a successor from the board; once they have accepted, you can leave."
    ).format(coop=escape(coop_name))


def _alone_keyboard(t: Translator, coop_id: str) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("✉️ Invite a successor"), callback_data=BOARD_INVITE(coop_id))],
            [InlineKeyboardButton(_("⬅ Admins"), callback_data=BOARD(coop_id))],
        ]
    )


@guarded(BOARD_LEAVE_ASK)
async def on_leave_ask(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Ask before leaving the admins; the only admin is shown how to hand over."""
    board = await context.services.board.board(user_id, coop_id)
    assert update.callback_query is not None
    await update.callback_query.answer()
    t = context.t
    if board.alone:
        await edit(update, context, _alone_text(t, board.coop.name), _alone_keyboard(t, coop_id))
        return
    _ = t.gettext
    text = _(
        "Leave the admins of <b>{coop}</b>? You lose the panel; the other admins are told."
    ).format(coop=escape(board.coop.name))
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("🚪 Yes, leave"), callback_data=BOARD_LEAVE(coop_id)),
                InlineKeyboardButton(_("⬅ No, back"), callback_data=BOARD(coop_id)),
            ]
        ]
    )
    await edit(update, context, text, markup)


@guarded(BOARD_LEAVE)
async def on_leave(update: Update, context: BotContext, user_id: int, coop_id: str) -> None:
    """Leave the admins of a cooperative; the others are told."""
    query = update.callback_query
    assert query is not None
    board = await context.services.board.board(user_id, coop_id)
    t = context.t
    try:
        others = await context.services.board.leave(user_id, coop_id)
    except LastAdmin:
        await query.answer()
        await edit(update, context, _alone_text(t, board.coop.name), _alone_keyboard(t, coop_id))
        return
    await query.answer()
    await edit(
        update,
        context,
        t.gettext("You are no longer an admin of <b>{coop}</b>.").format(
            coop=escape(board.coop.name)
        ),
        None,
    )
    for other in others:
        await _tell(
            context,
            other,
            N_("🚪 An admin left the admins of <b>{coop}</b>. /admin shows who remains."),
            board.coop.name,
        )
