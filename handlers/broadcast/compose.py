"""Composing an announcement: the text or photo, the audience, a preview, now or later.

Cooperative admins announce to their members (``COMPOSE`` in /admin), operators to all
users or a filter (``COMPOSE_PLATFORM``, /broadcast). A persistent conversation
("broadcast", see ``compose.mmd``) collects the text or photo, the audience and the time;
the engine (``bot/services/broadcast``) sends. The draft lives in ``draft.py``.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from enum import IntEnum
from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import BotContext
from bot.services import when as when_service
from bot.services.admin import Forbidden as NotAllowed
from bot.services.catalog import TYPES
from bot.services.timezones import WIB, Zone, coop_zone, format_moment
from bot.services.when import WhenError
from bot.telegram.html import html_to_text, utf16_len
from handlers.broadcast import draft as drafts
from handlers.broadcast.draft import Draft
from handlers.broadcast.header import HEADER_ROOM, dress
from handlers.broadcast.keyboards import (
    control_markup,
    coop_audience_markup,
    platform_audience_markup,
    send_markup,
    type_markup,
)
from handlers.callbacks import (
    AUDIENCE,
    AUDIENCE_TYPE,
    COMPOSE,
    COMPOSE_PLATFORM,
    PLATFORM_AUDIENCE,
    SEND,
    any_of,
    which,
)
from handlers.guard import guarded, refuse
from storage.models import Broadcast

MAX_SCHEDULE_DAYS = 30


class Compose(IntEnum):
    MESSAGE = 1
    AUDIENCE = 2
    PLACE = 3
    PREVIEW = 4
    WHEN = 5


def _actor(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


@guarded(COMPOSE, refused=ConversationHandler.END)
async def begin_coop(update: Update, context: BotContext, user_id: int, coop_id: str) -> int:
    """Start a cooperative's announcement to its members (an admin of it only)."""
    await context.services.admin.require_coop(user_id, coop_id, "broadcast_compose")
    assert update.callback_query is not None
    await update.callback_query.answer()
    drafts.save(context, Draft(kind="coop", coop_id=coop_id))
    return await _ask_message(update, context)


@guarded(refused=ConversationHandler.END)
async def begin_platform(update: Update, context: BotContext, user_id: int) -> int:
    """Start a platform announcement (operators only)."""
    await context.services.admin.require_operator(user_id, "broadcast_compose")
    if update.callback_query is not None:
        await update.callback_query.answer()
    drafts.save(context, Draft(kind="platform"))
    return await _ask_message(update, context)


async def _ask_message(update: Update, context: BotContext) -> int:
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id,
        context.gettext(
            "📣 Send the announcement: a text, or a photo with a caption. Bold, italic and "
            "links are kept. (/cancel to stop)"
        ),
    )
    return Compose.MESSAGE


async def on_message(update: Update, context: BotContext) -> int | None:
    """Take the announcement itself: text (≤ 4,096) or photo with caption (≤ 1,024)."""
    message = update.effective_message
    assert message is not None
    _ = context.gettext
    draft = drafts.load(context)
    html = (message.caption_html or "") if message.photo else (message.text_html or "")
    limit = (1024 if message.photo else 4096) - HEADER_ROOM  # the sender's header goes above
    if utf16_len(html_to_text(html)) > limit:
        await message.reply_text(
            _("❗ At most {n} characters (the sender's name goes above). Send it shorter.").format(
                n=context.t.number(limit)
            )
        )
        return None
    if message.photo:
        draft.photo, draft.text = message.photo[-1].file_id, html
    elif message.text:
        draft.photo, draft.text = None, message.text_html
    else:
        await message.reply_text(_("❗ Send a text, or a photo with a caption."))
        return None
    drafts.save(context, draft)
    audience = (
        coop_audience_markup(context.t)
        if draft.kind == "coop"
        else platform_audience_markup(context.t)
    )
    await message.reply_text(_("Who should receive it?"), reply_markup=audience)
    return Compose.AUDIENCE


async def on_audience(update: Update, context: BotContext) -> int | None:
    """Take the audience: members (or with applicants), everyone, a place or a type."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = drafts.load(context)
    kind = which(query.data, AUDIENCE, PLATFORM_AUDIENCE, AUDIENCE_TYPE)
    (value,) = kind.parse(query.data)
    if kind is PLATFORM_AUDIENCE:  # a new choice replaces the filters of an earlier one
        draft.province = draft.regency = draft.coop_type = None
    if kind is AUDIENCE:
        draft.include_pending = value == "p"
    elif kind is PLATFORM_AUDIENCE and value == "place":
        await query.edit_message_text(
            context.gettext(
                "Type the province or regency/city (e.g. “Sumatera Utara”, “Kota Medan”):"
            )
        )
        return Compose.PLACE
    elif kind is PLATFORM_AUDIENCE and value == "type":
        await query.edit_message_text(
            context.gettext("Which type of cooperative?"), reply_markup=type_markup(context.t)
        )
        return None
    elif kind is AUDIENCE_TYPE:
        draft.coop_type = value
    drafts.save(context, draft)
    return await _preview(update, context)


async def on_place(update: Update, context: BotContext) -> int | None:
    """Take a typed province or regency/city as the audience's filter."""
    message = update.effective_message
    assert message is not None
    parsed = context.services.search.parser.parse(message.text or "")
    place = parsed.place
    regions = [
        r for r in (place.candidates if place else []) if r.level in ("province", "regency")
    ]
    if not regions:
        await message.reply_text(
            context.gettext(
                "❗ I don't know that province or regency/city. Type it again, e.g. “Jawa Barat” "
                "or “Kabupaten Sleman”."
            )
        )
        return None
    region = regions[0]
    draft = drafts.load(context)
    if region.level == "province":
        draft.province = region.code
    else:
        draft.regency = region.code
    drafts.save(context, draft)
    return await _preview(update, context)


async def _preview(update: Update, context: BotContext) -> int:
    """Show the announcement exactly as recipients will see it, and the count."""
    chat = update.effective_chat
    assert chat is not None
    draft = drafts.load(context)
    t = context.t
    _ = t.gettext
    count = len(await context.services.broadcast.recipients(draft.audience()))
    if count == 0:
        return await _nobody(update, context, draft)
    preview_job = Broadcast(
        id="preview",
        kind=draft.kind,
        coop_id=draft.coop_id,
        text=draft.text,
        photo=draft.photo,
        created_by=0,
        status="draft",
        sender=await context.services.broadcast.sender_name(draft.kind, draft.coop_id),
    )
    body, mute = dress(t, preview_job, draft.text)  # with the header every recipient gets
    await context.bot.send_message(chat.id, _("Preview — exactly what recipients will see:"))
    if draft.photo:
        await context.bot.send_photo(
            chat.id, draft.photo, caption=body, parse_mode=ParseMode.HTML, reply_markup=mute
        )
    else:
        await context.bot.send_message(chat.id, body, parse_mode=ParseMode.HTML, reply_markup=mute)
    where = []
    if draft.province or draft.regency:
        region = context.services.gazetteer.get(draft.regency or draft.province or "")
        where.append(escape(region.name if region else ""))
    if draft.coop_type:
        where.append(escape(t.gettext(TYPES[draft.coop_type].label)))
    lines = [_("Recipients: <b>{n}</b>").format(n=t.number(count))]
    if where:
        lines.append(_("Filter: {filters}").format(filters=", ".join(where)))
    if draft.paid:
        lines.append(_("💸 Paid broadcast: faster, costs Telegram Stars above the free limit."))
    await context.bot.send_message(
        chat.id,
        "\n".join(lines),
        parse_mode=ParseMode.HTML,
        reply_markup=send_markup(t, platform=draft.kind == "platform", paid=draft.paid),
    )
    return Compose.PREVIEW


@guarded(SEND)
async def on_preview(update: Update, context: BotContext, user_id: int, action: str) -> int | None:
    """Send now, schedule, switch paid mode (operators) or cancel."""
    query = update.callback_query
    assert query is not None
    if action == "now":  # answered once the job exists (or with the refusal)
        return await _create(update, context, None)
    if action == "paid":
        await context.services.admin.require_operator(user_id, "broadcast_paid")
    await query.answer()
    if action == "paid":
        draft = drafts.load(context)
        draft.paid = not draft.paid
        drafts.save(context, draft)
        return await _preview(update, context)
    if action == "cancel":
        drafts.discard(context)
        await query.edit_message_text(context.gettext("Cancelled. Nothing was sent."))
        return ConversationHandler.END
    if action == "later":
        zone = await _zone(context, drafts.load(context))
        await query.edit_message_text(
            context.gettext(
                "When should it go out? Type a day and time ({zone}), for example “{examples}”. "
                "A time alone is today, or tomorrow if it has passed."
            ).format(zone=zone.abbreviation, examples=_when_examples(context))
        )
        return Compose.WHEN
    return ConversationHandler.END


def parse_when(text: str, now: datetime) -> datetime | None:
    """The moment ``text`` names in WIB (an aware UTC moment within 30 days), or None."""
    try:
        return when_service.parse_when(text, now, WIB, max_days=MAX_SCHEDULE_DAYS).moment
    except WhenError:
        return None


async def _zone(context: BotContext, draft: Draft) -> Zone:
    """The announcer's zone: the cooperative's own; WIB for the platform's."""
    if draft.kind != "coop" or not draft.coop_id:
        return WIB
    coop = await context.services.directory.get(draft.coop_id)
    return coop_zone(coop, context.services.gazetteer)


def _when_text(context: BotContext, moment: datetime, zone: Zone) -> str:
    """ "Selasa, 15 Desember 2026 09.00 WIB": the weekday too, so a misread shows."""
    return format_moment(moment, zone, context.locale or "id", "full")


async def on_when(update: Update, context: BotContext) -> int | None:
    """Take the time to send at, echo what was understood, and schedule the announcement."""
    message = update.effective_message
    assert message is not None
    _ = context.gettext
    zone = await _zone(context, drafts.load(context))
    try:
        when = when_service.parse_when(
            message.text or "", datetime.now(UTC), zone, max_days=MAX_SCHEDULE_DAYS
        )
    except WhenError as error:
        if error.code == "past" and error.moment is not None:
            text = _("❗ {time} has already passed. Type a time in the future.").format(
                time=_when_text(context, error.moment, zone)
            )
        elif error.code == "too_far" and error.moment is not None:
            text = _(
                "❗ {time} is more than {days} days away. Announcements can be scheduled up to "
                "{days} days ahead."
            ).format(time=_when_text(context, error.moment, zone), days=MAX_SCHEDULE_DAYS)
        elif error.code == "no_time":
            text = _("❗ At what time? Type the day with a time, e.g. “{example}”.").format(
                example=_("tomorrow 9am")
            )
        else:
            text = _(
                "❗ I did not understand that time. Type for example “{examples}” ({zone})."
            ).format(examples=_when_examples(context), zone=zone.abbreviation)
        await message.reply_text(text)
        return None
    return await _create(update, context, when.moment, when.zone)


def _when_examples(context: BotContext) -> str:
    # TRANSLATORS: examples of a date and time the scheduler understands, in your language;
    # keep them understandable by bot/services/when.py.
    return context.gettext("tomorrow 9am”, “Dec 15 9:00”, “Monday 10:00”, “in 2 hours")


async def _nobody(update: Update, context: BotContext, draft: Draft) -> int:
    """Refuse an audience nobody is in, say why, and offer the audiences again."""
    chat = update.effective_chat
    assert chat is not None
    _ = context.gettext
    if draft.kind == "coop":
        reason = _(
            "Recipients: <b>0</b>. Nobody would receive this announcement: the cooperative has "
            "no members in this audience yet (members who muted its announcements are left "
            "out). Choose another audience, or /cancel."
        )
        markup = coop_audience_markup(context.t)
    else:
        reason = _(
            "Recipients: <b>0</b>. Nobody would receive this announcement: no user of the bot "
            "matches this audience (users who muted platform announcements are left out). "
            "Choose another audience, or /cancel."
        )
        markup = platform_audience_markup(context.t)
    await context.bot.send_message(chat.id, reason, parse_mode=ParseMode.HTML, reply_markup=markup)
    return Compose.AUDIENCE


async def _create(
    update: Update, context: BotContext, when: datetime | None, zone: Zone = WIB
) -> int:
    chat = update.effective_chat
    assert chat is not None
    draft = drafts.load(context)
    drafts.discard(context)
    actor = _actor(update)
    admin = context.services.admin
    try:  # the role is checked again at the moment the job is created
        if draft.kind == "coop":
            assert draft.coop_id is not None
            await admin.require_coop(actor, draft.coop_id, "broadcast")
        else:
            await admin.require_operator(actor, "broadcast")
    except NotAllowed:
        await refuse(update, context)
        return ConversationHandler.END
    # Checked again: members may have left or muted since the preview.
    if not await context.services.broadcast.recipients(draft.audience()):
        if update.callback_query is not None:
            await update.callback_query.answer()
        drafts.save(context, draft)
        return await _nobody(update, context, draft)
    job = await context.services.broadcast.create(
        draft.audience(),
        text=draft.text,
        photo=draft.photo,
        created_by=actor,
        paid=draft.paid and admin.is_operator(actor),
        scheduled_at=when,
        language=context.locale or "id",
    )
    await admin.record(
        actor,
        "broadcast",
        coop_id=draft.coop_id,
        target=job.id,
        recipients=job.total,
        paid=job.paid,
        scheduled=bool(when),
    )
    if update.callback_query is not None:
        await update.callback_query.answer()
    t = context.t
    if when is not None:
        text = t.ngettext(
            "🕒 Scheduled for {time} to {n} recipient.",
            "🕒 Scheduled for {time} to {n} recipients.",
            job.total,
        ).format(time=_when_text(context, when, zone), n=t.number(job.total))
    else:
        text = t.ngettext(
            "📣 Sending to {n} recipient…", "📣 Sending to {n} recipients…", job.total
        ).format(n=t.number(job.total))
    progress = await context.bot.send_message(chat.id, text, reply_markup=control_markup(t, job))
    await context.services.broadcast.attach_progress(job.id, chat.id, progress.message_id)
    return ConversationHandler.END


async def on_cancel(update: Update, context: BotContext) -> int:
    """Drop the announcement being composed."""
    drafts.discard(context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.gettext("Cancelled. Nothing was sent."))
    return ConversationHandler.END


def build_conversation() -> ConversationHandler:
    """The compose conversation (persistent: a half-written announcement survives a restart)."""
    message = filters.UpdateType.MESSAGE
    text = message & filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message=False.*")
        return ConversationHandler(
            entry_points=[
                CallbackQueryHandler(begin_coop, pattern=COMPOSE.pattern),
                CallbackQueryHandler(begin_platform, pattern=COMPOSE_PLATFORM.pattern),
                CommandHandler("broadcast", begin_platform),
            ],
            states={
                Compose.MESSAGE: [
                    MessageHandler(
                        message & ~filters.COMMAND & (filters.TEXT | filters.PHOTO), on_message
                    )
                ],
                Compose.AUDIENCE: [
                    CallbackQueryHandler(
                        on_audience, pattern=any_of(AUDIENCE, PLATFORM_AUDIENCE, AUDIENCE_TYPE)
                    )
                ],
                Compose.PLACE: [MessageHandler(text, on_place)],
                Compose.PREVIEW: [CallbackQueryHandler(on_preview, pattern=SEND.pattern)],
                Compose.WHEN: [MessageHandler(text, on_when)],
            },
            fallbacks=[CommandHandler(["cancel", "batal"], on_cancel)],
            name="broadcast",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=1800,
        )
