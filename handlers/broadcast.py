"""Announcements: compose, preview, confirm (or schedule), watch the progress, mute.

Cooperative admins announce to their members (``bc:<coop>`` in /admin), operators to all
users or a filter (``bcp``). A persistent conversation ("broadcast") collects the text or
photo, the audience and the time; the engine (``bot/services/broadcast.py``) sends.
Callback data: ``ba:<m|p>`` audience of a cooperative's announcement · ``bo:<all|place|
type>`` operator audience · ``bt:<type>`` a type · ``bs:<now|later|paid|cancel>`` the
preview's buttons · ``bp:<job>``/``br:<job>``/``bx:<job>`` pause, resume, cancel ·
``mu:<coop|platform>``/``um:…`` mute, unmute.
"""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from html import escape
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.context import BotContext
from bot.i18n import JAKARTA, I18n, Translator
from bot.services.admin import Forbidden as NotAllowed
from bot.services.broadcast import PLATFORM, Audience, Outcome, ProgressInfo, SendResult
from bot.services.catalog import TYPES
from bot.telegram.html import html_to_text
from handlers.guard import refuse
from storage.models import Broadcast

log = logging.getLogger(__name__)

ID = r"[0-9a-f]{24}"
MAX_SCHEDULE_DAYS = 30


class Compose(IntEnum):
    MESSAGE = 1
    AUDIENCE = 2
    PLACE = 3
    PREVIEW = 4
    WHEN = 5


def _draft(context: BotContext) -> dict[str, Any]:
    assert context.user_data is not None
    return context.user_data.setdefault("broadcast", {})


def _actor(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


def mute_markup(job: Broadcast) -> InlineKeyboardMarkup:
    """The button under every announcement (bilingual: recipients' languages vary)."""
    key = job.coop_id if job.kind == "coop" and job.coop_id else PLATFORM
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("🔕 Bisukan pengumuman · Mute", callback_data=f"mu:{key}")]]
    )


def error_outcome(code: int, description: str, retry_after: float = 1.0) -> SendResult:
    """What a Bot API error means for a recipient (both senders use it)."""
    if code == 429:
        return SendResult(Outcome.RETRY_AFTER, retry_after=retry_after)
    if code == 403:  # the user blocked the bot, or the account is gone
        if "deactivated" in description.lower():
            return SendResult(Outcome.FAILED, error="deactivated")
        return SendResult(Outcome.BLOCKED, error="blocked")
    if code >= 500:
        return SendResult(Outcome.TRANSIENT, error=f"http {code}")
    return SendResult(Outcome.FAILED, error=description[:100])


def make_sender(bot: Bot) -> Any:
    """Send one announcement and say how it went (Telegram's errors → outcomes)."""

    async def send(job: Broadcast, chat_id: int) -> SendResult:
        paid = True if job.paid else None
        try:
            if job.photo:
                await bot.send_photo(
                    chat_id,
                    job.photo,
                    caption=job.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=mute_markup(job),
                    allow_paid_broadcast=paid,
                )
            else:
                await bot.send_message(
                    chat_id,
                    job.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=mute_markup(job),
                    allow_paid_broadcast=paid,
                )
        except RetryAfter as exc:
            with warnings.catch_warnings():  # PTB 22 warns that ints become timedeltas
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return error_outcome(429, "", seconds)
        except Forbidden as exc:
            return error_outcome(403, str(exc))
        except BadRequest as exc:
            return error_outcome(400, str(exc))
        except (TimedOut, NetworkError) as exc:
            return SendResult(Outcome.TRANSIENT, error=type(exc).__name__)
        return SendResult(Outcome.SENT)

    return send


class HttpSender:
    """A lean sender for high rates: JSON straight to the Bot API over one aiohttp session,
    without building python-telegram-bot objects for every message (their cost caps a
    2-core machine near 250 messages/s; see bench/README.md). Same outcomes as
    :func:`make_sender`."""

    def __init__(self, base_url: str, token: str, max_connections: int = 128) -> None:
        self.url = f"{base_url}{token}/"
        self.max_connections = max_connections
        self._session: Any = None

    async def start(self) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.max_connections),
            timeout=aiohttp.ClientTimeout(total=20),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __call__(self, job: Broadcast, chat_id: int) -> SendResult:
        import aiohttp

        markup = mute_markup(job).to_dict()
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "parse_mode": "HTML",
            "reply_markup": markup,
        }
        if job.paid:
            payload["allow_paid_broadcast"] = True
        if job.photo:
            method = "sendPhoto"
            payload.update(photo=job.photo, caption=job.text)
        else:
            method = "sendMessage"
            payload["text"] = job.text
        try:
            async with self._session.post(self.url + method, json=payload) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return SendResult(Outcome.TRANSIENT, error=type(exc).__name__)
        if body.get("ok"):
            return SendResult(Outcome.SENT)
        retry = (body.get("parameters") or {}).get("retry_after", 1)
        return error_outcome(
            int(body.get("error_code") or response.status),
            str(body.get("description", "")),
            float(retry),
        )


def progress_text(t: Translator, job: Broadcast, info: ProgressInfo) -> str:
    _ = t.gettext
    done = info.sent + info.blocked + info.failed
    percent = int(done * 100 / info.total) if info.total else 100
    bar = "█" * (percent // 10) + "░" * (10 - percent // 10)
    if info.final:
        head = (
            _("📣 <b>Announcement finished</b>")
            if job.status != "cancelled"
            else _("📣 <b>Announcement cancelled</b>")
        )
        return "\n".join(
            [
                head,
                "",
                _("Delivered: {n}").format(n=t.number(info.sent)),
                _("Blocked the bot: {n}").format(n=t.number(info.blocked)),
                _("Failed: {n}").format(n=t.number(info.failed)),
                _("Not sent: {n}").format(
                    n=t.number(info.remaining + max(0, info.total - done - info.remaining))
                )
                if job.status == "cancelled"
                else "",
            ]
        ).rstrip()
    state = _("⏸ Paused") if job.status == "paused" else _("📣 Sending")
    eta = (
        t.gettext("about {minutes} min").format(minutes=max(1, round(info.eta_s / 60)))
        if info.eta_s
        else "–"
    )
    return "\n".join(
        [
            f"{state} · {bar} {percent}%",
            _("Sent {sent} · failed {failed} · remaining {remaining}").format(
                sent=t.number(info.sent),
                failed=t.number(info.failed + info.blocked),
                remaining=t.number(info.remaining),
            ),
            _("Rate: {rate}/s · ETA: {eta}").format(rate=t.number(round(info.rate, 1)), eta=eta),
        ]
    )


def control_markup(t: Translator, job: Broadcast) -> InlineKeyboardMarkup:
    _ = t.gettext
    pause = (
        InlineKeyboardButton(_("▶ Resume"), callback_data=f"br:{job.id}")
        if job.status == "paused"
        else InlineKeyboardButton(_("⏸ Pause"), callback_data=f"bp:{job.id}")
    )
    return InlineKeyboardMarkup(
        [[pause, InlineKeyboardButton(_("✖ Cancel"), callback_data=f"bx:{job.id}")]]
    )


def make_progress(bot: Bot, i18n: I18n) -> Any:
    """Edit the creator's progress message (the engine calls this at most every 3 s)."""

    async def progress(job: Broadcast, info: ProgressInfo) -> None:
        if job.progress_chat is None or job.progress_message is None:
            return
        t = i18n.get(job.language)
        markup = None if info.final else control_markup(t, job)
        try:
            await bot.edit_message_text(
                progress_text(t, job, info),
                job.progress_chat,
                job.progress_message,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise

    return progress


# --- composing --------------------------------------------------------------------------


async def begin_coop(update: Update, context: BotContext) -> int:
    """A cooperative admin starts an announcement to the members."""
    query = update.callback_query
    assert query is not None and query.data is not None
    coop_id = query.data.split(":")[1]
    try:
        await context.services.admin.coop_for_admin(_actor(update), coop_id)
    except NotAllowed:
        await refuse(update, context)
        return ConversationHandler.END
    await query.answer()
    context.user_data["broadcast"] = {"kind": "coop", "coop_id": coop_id}  # type: ignore[index]
    return await _ask_message(update, context)


async def begin_platform(update: Update, context: BotContext) -> int:
    """An operator starts a platform announcement."""
    if not context.services.admin.is_operator(_actor(update)):
        await refuse(update, context)
        return ConversationHandler.END
    if update.callback_query is not None:
        await update.callback_query.answer()
    context.user_data["broadcast"] = {"kind": "platform"}  # type: ignore[index]
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
    """The announcement itself: text (≤ 4,096) or photo with caption (≤ 1,024)."""
    message = update.effective_message
    assert message is not None
    _ = context.gettext
    draft = _draft(context)
    if message.photo:
        html = message.caption_html or ""
        if len(html_to_text(html)) > 1024:
            await message.reply_text(
                _("❗ A photo caption can have at most 1,024 characters. Send it again, shorter.")
            )
            return None
        draft.update(photo=message.photo[-1].file_id, text=html)
    elif message.text:
        html = message.text_html
        draft.update(photo=None, text=html)
    else:
        await message.reply_text(_("❗ Send a text, or a photo with a caption."))
        return None
    if draft["kind"] == "coop":
        await message.reply_text(
            _("Who should receive it?"),
            reply_markup=InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(_("👥 Active members"), callback_data="ba:m")],
                    [
                        InlineKeyboardButton(
                            _("👥 Members and pending applicants"), callback_data="ba:p"
                        )
                    ],
                ]
            ),
        )
    else:
        await message.reply_text(
            _("Who should receive it?"),
            reply_markup=InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(_("👥 All users"), callback_data="bo:all")],
                    [
                        InlineKeyboardButton(
                            _("🗺 A province or regency/city"), callback_data="bo:place"
                        )
                    ],
                    [
                        InlineKeyboardButton(
                            _("🏷 Members of one cooperative type"), callback_data="bo:type"
                        )
                    ],
                ]
            ),
        )
    return Compose.AUDIENCE


async def on_audience(update: Update, context: BotContext) -> int | None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    draft = _draft(context)
    code, value = query.data.split(":")
    if code == "ba":
        draft["include_pending"] = value == "p"
    elif code == "bo" and value == "place":
        await query.edit_message_text(
            context.gettext(
                "Type the province or regency/city (e.g. “Sumatera Utara”, “Kota Medan”):"
            )
        )
        return Compose.PLACE
    elif code == "bo" and value == "type":
        buttons = [
            InlineKeyboardButton(
                f"{term.emoji} {context.gettext(term.label)}", callback_data=f"bt:{code_}"
            )
            for code_, term in TYPES.items()
        ]
        await query.edit_message_text(
            context.gettext("Which type of cooperative?"),
            reply_markup=InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, 7, 2)]),
        )
        return None
    elif code == "bt" and value in TYPES:
        draft["coop_type"] = value
    return await _preview(update, context)


async def on_place(update: Update, context: BotContext) -> int | None:
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
    _draft(context)["province" if region.level == "province" else "regency"] = region.code
    return await _preview(update, context)


def _audience(draft: dict[str, Any]) -> Audience:
    return Audience(
        kind=draft["kind"],
        coop_id=draft.get("coop_id"),
        include_pending=bool(draft.get("include_pending")),
        province=draft.get("province"),
        regency=draft.get("regency"),
        coop_type=draft.get("coop_type"),
    )


async def _preview(update: Update, context: BotContext) -> int:
    """Show the announcement exactly as recipients will see it, and the count."""
    chat = update.effective_chat
    assert chat is not None
    draft = _draft(context)
    t = context.t
    _ = t.gettext
    count = len(await context.services.broadcast.recipients(_audience(draft)))
    preview_job = Broadcast(
        id="preview",
        kind=draft["kind"],
        coop_id=draft.get("coop_id"),
        text=draft["text"],
        photo=draft.get("photo"),
        created_by=0,
        status="draft",
    )
    await context.bot.send_message(chat.id, _("Preview — exactly what recipients will see:"))
    if draft.get("photo"):
        await context.bot.send_photo(
            chat.id,
            draft["photo"],
            caption=draft["text"] or None,
            parse_mode=ParseMode.HTML,
            reply_markup=mute_markup(preview_job),
        )
    else:
        await context.bot.send_message(
            chat.id,
            draft["text"],
            parse_mode=ParseMode.HTML,
            reply_markup=mute_markup(preview_job),
        )
    where = []
    if draft.get("province") or draft.get("regency"):
        region = context.services.gazetteer.get(draft.get("regency") or draft.get("province"))
        where.append(escape(region.name if region else ""))
    if draft.get("coop_type"):
        where.append(escape(t.gettext(TYPES[draft["coop_type"]].label)))
    lines = [_("Recipients: <b>{n}</b>").format(n=t.number(count))]
    if where:
        lines.append(_("Filter: {filters}").format(filters=", ".join(where)))
    if draft.get("paid"):
        lines.append(_("💸 Paid broadcast: faster, costs Telegram Stars above the free limit."))
    rows = [
        [
            InlineKeyboardButton(_("✅ Send now"), callback_data="bs:now"),
            InlineKeyboardButton(_("🕒 Schedule"), callback_data="bs:later"),
        ]
    ]
    if draft["kind"] == "platform":
        rows.append(
            [
                InlineKeyboardButton(
                    _("💸 Paid broadcast: on")
                    if draft.get("paid")
                    else _("💸 Paid broadcast: off"),
                    callback_data="bs:paid",
                )
            ]
        )
    rows.append([InlineKeyboardButton(_("✖ Cancel"), callback_data="bs:cancel")])
    await context.bot.send_message(
        chat.id,
        "\n".join(lines),
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(rows),
    )
    return Compose.PREVIEW


async def on_preview(update: Update, context: BotContext) -> int | None:
    query = update.callback_query
    assert query is not None and query.data is not None
    action = query.data.split(":")[1]
    draft = _draft(context)
    await query.answer()
    if action == "paid":
        if not context.services.admin.is_operator(_actor(update)):
            await refuse(update, context)
            return None
        draft["paid"] = not draft.get("paid")
        return await _preview(update, context)
    if action == "cancel":
        context.user_data.pop("broadcast", None)  # type: ignore[union-attr]
        await query.edit_message_text(context.gettext("Cancelled. Nothing was sent."))
        return ConversationHandler.END
    if action == "later":
        await query.edit_message_text(
            context.gettext(
                "When should it go out? Type a time in Western Indonesian Time (WIB): “17:30” "
                "(today, or tomorrow if that has passed) or “2026-12-24 08:00”."
            )
        )
        return Compose.WHEN
    return await _create(update, context, None)


def parse_when(text: str, now: datetime) -> datetime | None:
    """ "17:30" or "YYYY-MM-DD HH:MM" in WIB → an aware UTC moment in the future."""
    text = text.strip()
    local_now = now.astimezone(JAKARTA)
    for fmt in ("%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M", "%H:%M", "%H.%M"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if fmt in ("%H:%M", "%H.%M"):
            moment = local_now.replace(
                hour=parsed.hour, minute=parsed.minute, second=0, microsecond=0
            )
            if moment <= local_now:
                moment += timedelta(days=1)
        else:
            moment = parsed.replace(tzinfo=JAKARTA)
        if moment <= local_now or moment > local_now + timedelta(days=MAX_SCHEDULE_DAYS):
            return None
        return moment.astimezone(UTC)
    return None


async def on_when(update: Update, context: BotContext) -> int | None:
    message = update.effective_message
    assert message is not None
    when = parse_when(message.text or "", datetime.now(UTC))
    if when is None:
        await message.reply_text(
            context.gettext(
                "❗ Type a future time within 30 days, like “17:30” or “2026-12-24 08:00” (WIB)."
            )
        )
        return None
    return await _create(update, context, when)


async def _create(update: Update, context: BotContext, when: datetime | None) -> int:
    chat = update.effective_chat
    assert chat is not None and context.user_data is not None
    draft = context.user_data.pop("broadcast", {})
    actor = _actor(update)
    admin = context.services.admin
    try:  # the role is checked again at the moment the job is created
        if draft.get("kind") == "coop":
            await admin.coop_for_admin(actor, draft["coop_id"])
        else:
            await admin.require_operator(actor, "broadcast")
    except NotAllowed:
        await refuse(update, context)
        return ConversationHandler.END
    job = await context.services.broadcast.create(
        _audience(draft),
        text=draft["text"],
        photo=draft.get("photo"),
        created_by=actor,
        paid=bool(draft.get("paid")) and admin.is_operator(actor),
        scheduled_at=when,
        language=context.locale or "id",
    )
    await admin.audit.record(
        actor=actor,
        action="broadcast",
        outcome="ok",
        coop_id=draft.get("coop_id"),
        target=job.id,
        details={"recipients": job.total, "paid": job.paid, "scheduled": bool(when)},
    )
    t = context.t
    if when is not None:
        text = t.gettext("🕒 Scheduled for {time} WIB to {n} recipients.").format(
            time=t.datetime(when, "short"), n=t.number(job.total)
        )
    else:
        text = t.gettext("📣 Sending to {n} recipients…").format(n=t.number(job.total))
    progress = await context.bot.send_message(chat.id, text, reply_markup=control_markup(t, job))
    await context.services.broadcast.attach_progress(job.id, chat.id, progress.message_id)
    return ConversationHandler.END


async def on_cancel(update: Update, context: BotContext) -> int:
    context.user_data.pop("broadcast", None)  # type: ignore[union-attr]
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.gettext("Cancelled. Nothing was sent."))
    return ConversationHandler.END


# --- controls and mutes -----------------------------------------------------------------


async def on_control(update: Update, context: BotContext) -> None:
    """Pause, resume or cancel — by the creator, an admin of the cooperative or an operator."""
    query = update.callback_query
    assert query is not None and query.data is not None
    code, job_id = query.data.split(":")
    actor = _actor(update)
    services = context.services
    job = await services.broadcast.get(job_id)
    allowed = job is not None and (
        actor == job.created_by
        or services.admin.is_operator(actor)
        or (job.coop_id is not None and await services.admin.is_admin(job.coop_id, actor))
    )
    if not allowed:
        await refuse(update, context)
        return
    action = {"bp": "pause", "br": "resume", "bx": "cancel"}[code]
    changed = await services.broadcast.control(job_id, action)
    await services.admin.audit.record(
        actor=actor,
        action=f"broadcast_{action}",
        outcome="ok" if changed else "not_applicable",
        coop_id=job.coop_id if job else None,
        target=job_id,
    )
    t = context.t
    if changed is None:
        await query.answer(t.gettext("That is no longer possible."), show_alert=True)
        return
    await query.answer(
        {
            "pause": t.gettext("Paused."),
            "resume": t.gettext("Resumed."),
            "cancel": t.gettext("Cancelled."),
        }[action]
    )
    if action != "cancel":
        try:
            await query.edit_message_reply_markup(control_markup(t, changed))
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise


async def on_mute(update: Update, context: BotContext) -> None:
    """Mute (or unmute) announcements from a cooperative or from the platform."""
    query = update.callback_query
    assert query is not None and query.data is not None
    code, key = query.data.split(":")
    user = _actor(update)
    services = context.services
    t = context.t
    if key != PLATFORM:
        coop = await services.directory.get(key)
        if coop is None:
            await query.answer(
                t.gettext("This cooperative is no longer in the directory."), show_alert=True
            )
            return
        name = coop.name
    else:
        name = "Gerbang Koperasi"
    if code == "mu":
        await services.broadcast.mute(user, key)
        await query.answer(
            t.gettext("🔕 Muted: no more announcements from {name}.").format(name=name[:100]),
            show_alert=True,
        )
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton("🔔 Aktifkan lagi · Unmute", callback_data=f"um:{key}")]]
        )
    else:
        await services.broadcast.unmute(user, key)
        await query.answer(
            t.gettext("🔔 You will get announcements from {name} again.").format(name=name[:100]),
            show_alert=True,
        )
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton("🔕 Bisukan pengumuman · Mute", callback_data=f"mu:{key}")]]
        )
    try:
        await query.edit_message_reply_markup(markup)
    except BadRequest:
        log.debug("announcement markup not changed")


def build_conversation() -> ConversationHandler:
    message = filters.UpdateType.MESSAGE
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message=False.*")
        return ConversationHandler(
            entry_points=[
                CallbackQueryHandler(begin_coop, pattern=rf"^bc:{ID}$"),
                CallbackQueryHandler(begin_platform, pattern=r"^bcp$"),
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
                        on_audience,
                        pattern=r"^(ba:[mp]|bo:(all|place|type)"
                        r"|bt:[a-z_]+)$",
                    )
                ],
                Compose.PLACE: [
                    MessageHandler(message & filters.TEXT & ~filters.COMMAND, on_place)
                ],
                Compose.PREVIEW: [
                    CallbackQueryHandler(on_preview, pattern=r"^bs:(now|later|paid|cancel)$")
                ],
                Compose.WHEN: [MessageHandler(message & filters.TEXT & ~filters.COMMAND, on_when)],
            },
            fallbacks=[CommandHandler(["cancel", "batal"], on_cancel)],
            name="broadcast",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=1800,
        )


HANDLERS: list[BaseHandler] = [
    CallbackQueryHandler(on_control, pattern=rf"^(bp|br|bx):{ID}$"),
    CallbackQueryHandler(on_mute, pattern=rf"^(mu|um):({ID}|{PLATFORM})$"),
]
