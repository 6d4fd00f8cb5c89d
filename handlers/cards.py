"""/cards (/kartu): the wallet of memberships; card images; leaving; verifying a card.

Callback data: ``wl:<app>`` show an entry in the wallet message · ``wo:<app>`` open it in
a new wallet message · ``wlist`` the compact list · ``lq:<app>``/``ly:<app>`` leave (ask,
confirm) · ``wq:<app>``/``wy:<app>`` withdraw a pending application (ask, confirm).
Every action re-checks that the application belongs to the user who pressed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from html import escape

from telegram import (
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.cardimage import CardData
from bot.services.cards import WalletEntry, mask_name
from bot.services.catalog import type_label
from handlers.keyboards import deep_link, main_keyboard
from handlers.render import type_text

log = logging.getLogger(__name__)

ID = r"[0-9a-f]{24}"


def status_text(t: Translator, entry: WalletEntry) -> str:
    _ = t.gettext
    application = entry.application
    status = application.status
    if status == "active":
        return _("✅ Active")
    if status == "suspended":
        return _("⛔ Suspended")
    if status == "pending":
        return _("⏳ Waiting for the board since {date}").format(
            date=t.date(application.created_at)
        )
    if status == "rejected":
        from handlers.admin import reason_text

        return _("❌ Rejected: {reason}").format(reason=escape(reason_text(t, application.reason)))
    if status == "withdrawn":
        return _("↩ Application withdrawn")
    return _("🚪 Left the cooperative")


def summary(t: Translator, entries: list[WalletEntry]) -> str:
    active = sum(1 for e in entries if e.application.status == "active")
    pending = sum(1 for e in entries if e.application.status == "pending")
    parts = [t.ngettext("{n} active card", "{n} active cards", active).format(n=active)]
    if pending:
        parts.append(t.ngettext("{n} waiting", "{n} waiting", pending).format(n=pending))
    return ", ".join(parts)


def caption(t: Translator, entries: list[WalletEntry], index: int) -> str:
    _ = t.gettext
    entry = entries[index]
    application, coop = entry.application, entry.coop
    coop_name = coop.name if coop else _("(cooperative removed)")
    lines = [
        _("💳 {position} of {total} · {summary}").format(
            position=index + 1, total=len(entries), summary=summary(t, entries)
        ),
        "",
        f"<b>{escape(coop_name)}</b>",
    ]
    if coop is not None:
        lines.append(type_text(coop.type, t))
    if application.member_number:
        lines.append(
            _("Member number: {number}").format(
                number=f"<code>{escape(application.member_number)}</code>"
            )
        )
    else:
        lines.append(_("Application: {number}").format(number=escape(application.number)))
    lines.append(_("Name: {value}").format(value=escape(application.full_name or "–")))
    if application.decided_at and application.status in ("active", "suspended", "left"):
        lines.append(_("Member since: {date}").format(date=t.date(application.decided_at)))
    lines.append(_("Status: {status}").format(status=status_text(t, entry)))
    if coop is not None and application.status in ("active", "suspended", "pending"):
        if coop.simpanan_pokok is not None:
            lines.append(
                _("💵 Simpanan pokok (one-time): {amount}").format(
                    amount=t.money(coop.simpanan_pokok)
                )
            )
        if coop.simpanan_wajib is not None:
            lines.append(
                _("💵 Simpanan wajib (monthly): {amount}").format(
                    amount=t.money(coop.simpanan_wajib)
                )
            )
    return "\n".join(lines)


def keyboard(t: Translator, entries: list[WalletEntry], index: int) -> InlineKeyboardMarkup:
    _ = t.gettext
    entry = entries[index]
    application = entry.application
    rows: list[list[InlineKeyboardButton]] = []
    if len(entries) > 1:
        prev_id = entries[(index - 1) % len(entries)].application.id
        next_id = entries[(index + 1) % len(entries)].application.id
        rows.append(
            [
                InlineKeyboardButton("◀", callback_data=f"wl:{prev_id}"),
                InlineKeyboardButton(f"{index + 1}/{len(entries)}", callback_data="noop"),
                InlineKeyboardButton("▶", callback_data=f"wl:{next_id}"),
            ]
        )
    if application.member_number and application.status == "active":
        rows.append(
            [
                InlineKeyboardButton(
                    _("📋 Copy member number"), copy_text=CopyTextButton(application.member_number)
                )
            ]
        )
    if application.status in ("active", "suspended"):
        rows.append(
            [
                InlineKeyboardButton(
                    _("🚪 Leave this cooperative"), callback_data=f"lq:{application.id}"
                )
            ]
        )
    if application.status == "pending":
        rows.append(
            [
                InlineKeyboardButton(
                    _("↩ Withdraw application"), callback_data=f"wq:{application.id}"
                )
            ]
        )
    rows.append([InlineKeyboardButton(_("🗒 List view"), callback_data="wlist")])
    return InlineKeyboardMarkup(rows)


def card_data(context: BotContext, entry: WalletEntry) -> CardData:
    """What the card image shows, in the viewer's language."""
    t = context.t
    _ = t.gettext
    application, coop = entry.application, entry.coop
    link = ""
    if application.status == "active" and context.bot.username:
        token = context.services.cards.token(application.id)
        link = deep_link(context.bot.username, f"v_{token}")
    since = t.date(application.decided_at or application.created_at)
    return CardData(
        coop_name=coop.name if coop else "–",
        coop_type=t.gettext(type_label(coop.type)) if coop else "",
        member_name=application.full_name or "–",
        member_number=application.member_number or application.number,
        since=since,
        link=link,
        labels={
            "member": _("Member name"),
            "number": _("Member number"),
            "since": _("Member since"),
            "scan": _("Scan to verify"),
        },
        status=status_text(t, entry).split(" ", 1)[-1]
        if application.status != "active"
        else _("Active"),
        demo=bool(coop and coop.demo),
    )


async def _photo(
    context: BotContext, entry: WalletEntry, *, attach: bool = False
) -> tuple[str | InputFile, str]:
    """A Telegram file id when the image was sent before, else the PNG to upload."""
    cards = context.services.cards
    key = cards.image_key(entry.application, context.locale or "id")
    file_id = await cards.telegram_file(key)
    if file_id:
        return file_id, key
    png = cards.image(key, lambda: card_data(context, entry))
    number = entry.application.member_number or entry.application.number
    # attach=True: inside an InputMedia the file travels as a separate part.
    return InputFile(png, filename=f"card-{number}.png", attach=attach), key


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
    photo, key = await _photo(context, entries[index])
    message = await context.bot.send_photo(
        chat_id,
        photo,
        caption=caption(t, entries, index),
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(t, entries, index),
    )
    await _remember(context, key, message)


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
    photo, key = await _photo(context, entries[index], attach=True)
    message = await query.edit_message_media(
        InputMediaPhoto(photo, caption=caption(t, entries, index), parse_mode=ParseMode.HTML),
        reply_markup=keyboard(t, entries, index),
    )
    await _remember(context, key, message)


async def on_browse(update: Update, context: BotContext) -> None:
    """◀ ▶: show another entry in the same message."""
    assert update.callback_query is not None and update.callback_query.data is not None
    await _show(update, context, update.callback_query.data.split(":")[1])


async def on_open(update: Update, context: BotContext) -> None:
    """From the list: open an entry as a new wallet message."""
    query = update.callback_query
    user = update.effective_user
    chat = update.effective_chat
    assert query is not None and query.data is not None and user is not None and chat is not None
    await query.answer()
    await send_wallet(context, chat.id, user.id, focus=query.data.split(":")[1])


async def on_list(update: Update, context: BotContext) -> None:
    """The compact list of every membership."""
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
        number = entry.application.member_number or entry.application.number
        lines.append(f"{n}. <b>{escape(name)}</b> · {escape(number)}\n   {status_text(t, entry)}")
        label = f"{n}. {name}"
        buttons.append(
            [
                InlineKeyboardButton(
                    label if len(label) <= 60 else label[:59] + "…",
                    callback_data=f"wo:{entry.application.id}",
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
    await query.edit_message_caption(
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=(
            InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(yes, callback_data=yes_data),
                        InlineKeyboardButton(context.gettext("↩ No"), callback_data=back_data),
                    ]
                ]
            )
        ),
    )


async def on_leave_ask(update: Update, context: BotContext) -> None:
    """Ask before ending a membership."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    entry = await context.services.cards.entry(user.id, query.data.split(":")[1])
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
        f"ly:{entry.application.id}",
        f"wl:{entry.application.id}",
    )


async def on_leave(update: Update, context: BotContext) -> None:
    """End the membership; the cooperative's admins are notified."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    application_id = query.data.split(":")[1]
    left = await context.services.membership.leave(user.id, application_id)
    if left is None:
        await query.answer(context.gettext("This card is not in your wallet."), show_alert=True)
        return
    log.info("member left application=%s", application_id)
    from handlers.admin import notify_admins_left

    await notify_admins_left(context, left, await context.services.directory.get(left.coop_id))
    await _show(update, context, application_id)


async def on_withdraw_ask(update: Update, context: BotContext) -> None:
    """Ask before withdrawing a pending application."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    entry = await context.services.cards.entry(user.id, query.data.split(":")[1])
    if entry is None or entry.application.status != "pending":
        await query.answer(context.gettext("This card is not in your wallet."), show_alert=True)
        return
    name = escape(entry.coop.name if entry.coop else "")
    await _ask(
        update,
        context,
        context.gettext("Withdraw your application to <b>{coop}</b>?").format(coop=name),
        context.gettext("↩ Yes, withdraw"),
        f"wy:{entry.application.id}",
        f"wl:{entry.application.id}",
    )


async def on_withdraw(update: Update, context: BotContext) -> None:
    """Withdraw a pending application."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    application_id = query.data.split(":")[1]
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
    result = await context.services.cards.verify(token, user.id)
    if not result.valid or result.application is None or result.coop is None:
        await message.reply_text(
            _("❌ <b>Not valid.</b> This card could not be verified."), parse_mode=ParseMode.HTML
        )
        return
    application = result.application
    name = application.full_name or ""
    lines = [
        _("✅ <b>Valid member card</b>"),
        "",
        f"<b>{escape(result.coop.name)}</b>",
        _("Member: {name}").format(name=escape(name if result.full_view else mask_name(name))),
    ]
    if result.full_view and application.member_number:
        lines.append(
            _("Member number: {number}").format(
                number=f"<code>{escape(application.member_number)}</code>"
            )
        )
    lines.append(_("Status: {status}").format(status=_("✅ Active")))
    if application.decided_at:
        lines.append(_("Member since: {date}").format(date=t.date(application.decided_at)))
    lines.append(_("Checked: {time}").format(time=t.datetime(datetime.now(UTC), "short")))
    await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)


HANDLERS: list[BaseHandler] = [
    CommandHandler(["cards", "kartu"], cards_command),
    CallbackQueryHandler(on_browse, pattern=rf"^wl:{ID}$"),
    CallbackQueryHandler(on_open, pattern=rf"^wo:{ID}$"),
    CallbackQueryHandler(on_list, pattern=r"^wlist$"),
    CallbackQueryHandler(on_leave_ask, pattern=rf"^lq:{ID}$"),
    CallbackQueryHandler(on_leave, pattern=rf"^ly:{ID}$"),
    CallbackQueryHandler(on_withdraw_ask, pattern=rf"^wq:{ID}$"),
    CallbackQueryHandler(on_withdraw, pattern=rf"^wy:{ID}$"),
]
