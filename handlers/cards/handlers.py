"""/cards (/kartu): the wallet of memberships; card images; leaving; verifying a card.

Buttons (:mod:`handlers.callbacks`): ``CARD`` show an entry in the wallet message ·
``CARD_OPEN`` open it in a new wallet message · ``CARD_LIST`` the compact list ·
``LEAVE_ASK`` / ``LEAVE`` leave (ask, confirm) · ``WITHDRAW_ASK`` / ``WITHDRAW`` withdraw a
pending application (ask, confirm) · ``JOIN`` (the join entry's own button, handled by the
membership form) apply again after a rejection, a withdrawal or leaving. Every action
re-checks that the application belongs to the user who pressed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from html import escape

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.services.cards import WalletEntry, mask_name
from bot.services.timezones import coop_zone, format_moment, local_date
from handlers.callbacks import (
    CARD,
    CARD_LIST,
    CARD_OPEN,
    LEAVE,
    LEAVE_ASK,
    WITHDRAW,
    WITHDRAW_ASK,
)
from handlers.cards.keyboards import confirm_keyboard, keyboard
from handlers.cards.texts import (
    caption,
    card_data,
    entry_dues,
    entry_zone,
    number_line,
    status_text,
    summary,
)
from handlers.keyboards import main_keyboard
from handlers.notify import notify_admins_left

log = logging.getLogger(__name__)


async def _photo(
    context: BotContext, entry: WalletEntry, *, attach: bool = False, reuse: bool = True
) -> tuple[str | InputFile, str]:
    """A Telegram file id when the image was sent before, else the PNG to upload."""
    cards = context.services.cards
    key = cards.image_key(entry.application, context.locale or "id")
    file_id = await cards.telegram_file(key) if reuse else None
    if file_id:
        return file_id, key
    png = cards.image(key, lambda: card_data(context, entry))
    number = entry.application.member_number or entry.application.number
    # attach=True: inside an InputMedia the file travels as a separate part.
    return InputFile(png, filename=f"card-{number}.png", attach=attach), key


async def _with_photo(
    context: BotContext,
    entry: WalletEntry,
    send: Callable[[str | InputFile], Awaitable[Message | bool]],
    *,
    attach: bool = False,
) -> None:
    """Send the entry's picture with ``send``: by its Telegram file id when there is one,
    uploaded again when Telegram no longer knows that id (another bot token, a file
    Telegram dropped), so the wallet never fails on a stale copy."""
    photo, key = await _photo(context, entry, attach=attach)
    try:
        message = await send(photo)
    except BadRequest:
        if not isinstance(photo, str):
            raise
        log.info("card file id refused, uploading again application=%s", entry.application.id)
        await context.services.cards.remember_telegram_file(key, "")
        photo, key = await _photo(context, entry, attach=attach, reuse=False)
        message = await send(photo)
    await _remember(context, key, message)


async def _remember(context: BotContext, key: str, message: Message | bool) -> None:
    if isinstance(message, Message) and message.photo:
        await context.services.cards.remember_telegram_file(key, message.photo[-1].file_id)


async def send_wallet(
    context: BotContext, chat_id: int, user_id: int, focus: str | None = None
) -> None:
    """Send the wallet as a photo message at ``focus`` (or the first entry)."""
    t = context.t
    entries = await context.services.cards.wallet(user_id)
    if not entries:
        await context.bot.send_message(
            chat_id,
            t.gettext(
                "You have no memberships yet. Find a cooperative near you: share your location "
                "or type a place, then tap “Join”."
            ),
            reply_markup=main_keyboard(t),
        )
        return
    index = next((i for i, e in enumerate(entries) if e.application.id == focus), 0)
    entry = entries[index]
    dues = await entry_dues(context, entry)
    await _with_photo(
        context,
        entry,
        lambda photo: context.bot.send_photo(
            chat_id,
            photo,
            caption=caption(t, entries, index, entry_zone(context, entry), dues),
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(t, entries, index),
        ),
    )


async def cards_command(update: Update, context: BotContext) -> None:
    """Show the wallet."""
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    await send_wallet(context, chat.id, user.id)


async def _show(update: Update, context: BotContext, application_id: str) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    t = context.t
    entries = await context.services.cards.wallet(user.id)
    index = next((i for i, e in enumerate(entries) if e.application.id == application_id), None)
    if index is None:
        await query.answer(t.gettext("This card is not in your wallet."), show_alert=True)
        return
    await query.answer()
    if _is_text(query.message) and query.message is not None:  # no photo to replace
        await query.edit_message_reply_markup(None)
        await send_wallet(context, query.message.chat.id, user.id, focus=application_id)
        return
    entry = entries[index]
    dues = await entry_dues(context, entry)
    await _with_photo(
        context,
        entry,
        lambda photo: query.edit_message_media(
            InputMediaPhoto(
                photo,
                caption=caption(t, entries, index, entry_zone(context, entry), dues),
                parse_mode=ParseMode.HTML,
            ),
            reply_markup=keyboard(t, entries, index),
        ),
        attach=True,
    )


async def on_browse(update: Update, context: BotContext) -> None:
    """Show another entry in the same message (◀ ▶)."""
    assert update.callback_query is not None and update.callback_query.data is not None
    (application_id,) = CARD.parse(update.callback_query.data)
    await _show(update, context, application_id)


async def on_open(update: Update, context: BotContext) -> None:
    """Open an entry from the list as a new wallet message."""
    query = update.callback_query
    user = update.effective_user
    chat = update.effective_chat
    assert query is not None and query.data is not None and user is not None and chat is not None
    (application_id,) = CARD_OPEN.parse(query.data)
    await query.answer()
    await send_wallet(context, chat.id, user.id, focus=application_id)


async def on_list(update: Update, context: BotContext) -> None:
    """Send the compact list of every membership."""
    query = update.callback_query
    user = update.effective_user
    chat = update.effective_chat
    assert query is not None and user is not None and chat is not None
    await query.answer()
    t = context.t
    entries = await context.services.cards.wallet(user.id)
    lines = [
        t.gettext("<b>Your memberships</b> · {summary}").format(summary=summary(t, entries)),
        "",
    ]
    buttons = []
    for n, entry in enumerate(entries, start=1):
        name = entry.coop.name if entry.coop else "–"
        status = escape(status_text(t, entry, entry_zone(context, entry)))
        lines.append(f"{n}. <b>{escape(name)}</b>\n   {number_line(t, entry)}\n   {status}")
        label = f"{n}. {name}"
        buttons.append(
            [
                InlineKeyboardButton(
                    label if len(label) <= 60 else label[:59] + "…",
                    callback_data=CARD_OPEN(entry.application.id),
                )
            ]
        )
    await context.bot.send_message(
        chat.id,
        "\n".join(lines),
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(buttons) if buttons else None,
    )


async def _ask(
    update: Update, context: BotContext, text: str, yes: str, yes_data: str, back_data: str
) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    markup = confirm_keyboard(yes, yes_data, context.gettext("↩ No"), back_data)
    if _is_text(query.message):  # a status message about the application (waiting times)
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        return
    await query.edit_message_caption(text, parse_mode=ParseMode.HTML, reply_markup=markup)


def _is_text(message: object) -> bool:
    """Whether a button's message is text, not a card (a photo's caption is edited)."""
    return isinstance(message, Message) and not message.photo


async def on_leave_ask(update: Update, context: BotContext) -> None:
    """Ask before ending a membership."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    (application_id,) = LEAVE_ASK.parse(query.data)
    entry = await context.services.cards.entry(user.id, application_id)
    if entry is None or entry.application.status not in ("active", "suspended"):
        await query.answer(context.gettext("This card is not in your wallet."), show_alert=True)
        return
    name = escape(entry.coop.name if entry.coop else "")
    await _ask(
        update,
        context,
        context.gettext(
            "Leave <b>{coop}</b>? Your membership ends and your card stops being valid. Ask the "
            "cooperative about returning your deposits."
        ).format(coop=name),
        context.gettext("🚪 Yes, leave"),
        LEAVE(entry.application.id),
        CARD(entry.application.id),
    )


async def on_leave(update: Update, context: BotContext) -> None:
    """End the membership; the cooperative's admins are notified."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    (application_id,) = LEAVE.parse(query.data)
    left = await context.services.membership.leave(user.id, application_id)
    if left is None:
        await query.answer(context.gettext("This card is not in your wallet."), show_alert=True)
        return
    log.info("member left application=%s", application_id)
    await notify_admins_left(context, left, await context.services.directory.get(left.coop_id))
    await _show(update, context, application_id)


async def on_withdraw_ask(update: Update, context: BotContext) -> None:
    """Ask before withdrawing a pending application."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    (application_id,) = WITHDRAW_ASK.parse(query.data)
    entry = await context.services.cards.entry(user.id, application_id)
    if entry is None or entry.application.status != "pending":
        await query.answer(context.gettext("This card is not in your wallet."), show_alert=True)
        return
    name = escape(entry.coop.name if entry.coop else "")
    await _ask(
        update,
        context,
        context.gettext("Withdraw your application to <b>{coop}</b>?").format(coop=name),
        context.gettext("↩ Yes, withdraw"),
        WITHDRAW(entry.application.id),
        CARD(entry.application.id),
    )


async def on_withdraw(update: Update, context: BotContext) -> None:
    """Withdraw a pending application."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    (application_id,) = WITHDRAW.parse(query.data)
    if await context.services.membership.withdraw(user.id, application_id) is None:
        await query.answer(context.gettext("This card is not in your wallet."), show_alert=True)
        return
    await _show(update, context, application_id)


async def verify_card(update: Update, context: BotContext, token: str) -> None:
    """Answer a scanned card's link: valid (with what the viewer may see) or not valid."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    t = context.t
    _ = t.gettext
    # Who may see what is decided (and documented) in CardService.verify / Verification.
    result = await context.services.cards.verify(token, user.id)
    application, coop = result.application, result.coop
    zone = coop_zone(coop, context.services.gazetteer)
    checked = _("Checked: {time}").format(
        time=format_moment(datetime.now(UTC), zone, context.locale or "id")
    )
    if application is None or coop is None:
        await message.reply_text(
            _("❌ <b>Not valid.</b> This card could not be verified."), parse_mode=ParseMode.HTML
        )
        return
    if not result.valid:
        status = (
            _("⛔ Suspended") if application.status == "suspended" else _("🚪 Membership ended")
        )
        lines = [
            _("❌ <b>Not valid.</b> This card is no longer valid."),
            "",
            f"<b>{escape(coop.name)}</b>",
            _("Status: {status}").format(status=status),
            checked,
        ]
        await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)
        return
    name = application.full_name or ""
    lines = [
        _("✅ <b>Valid member card</b>"),
        "",
        f"<b>{escape(coop.name)}</b>",
        _("Member: {name}").format(name=escape(name if result.full_view else mask_name(name))),
    ]
    if result.full_view and application.member_number:
        lines.append(
            _("Member number: {number}").format(
                number=f"<code>{escape(application.member_number)}</code>"
            )
        )
    elif application.member_number:
        lines.append(_("Member number: shown only to the member and the cooperative's board"))
    lines.append(_("Status: {status}").format(status=_("✅ Active")))
    if application.decided_at:
        lines.append(
            _("Member since: {date}").format(date=t.date(local_date(application.decided_at, zone)))
        )
    lines.append(checked)
    await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)


HANDLERS: list[BaseHandler] = [
    CommandHandler(["cards", "kartu"], cards_command),
    CallbackQueryHandler(on_browse, pattern=CARD.pattern),
    CallbackQueryHandler(on_open, pattern=CARD_OPEN.pattern),
    CallbackQueryHandler(on_list, pattern=CARD_LIST.pattern),
    CallbackQueryHandler(on_leave_ask, pattern=LEAVE_ASK.pattern),
    CallbackQueryHandler(on_leave, pattern=LEAVE.pattern),
    CallbackQueryHandler(on_withdraw_ask, pattern=WITHDRAW_ASK.pattern),
    CallbackQueryHandler(on_withdraw, pattern=WITHDRAW.pattern),
]
