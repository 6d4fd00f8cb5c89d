"""Senders for the broadcast engine: one announcement to one chat, and how it went.

Two senders with the same outcomes: :func:`make_sender` goes through python-telegram-bot's
``Bot`` (the console and tests, whose Bot API is the in-process stand-in), and
:class:`HttpSender` posts JSON straight to the Bot API (production, high rates). Both read
Telegram's errors through the one mapping, :func:`error_outcome`. What an announcement looks
like to its reader (the sender's header above the text, the mute button below, in the
language kept on the recipient record) is the broadcast feature's: the composition root
passes it in as ``dress`` (``handlers/broadcast/header.py::Dresser``), so this adapter knows
no handler. Both senders build every message with the same :func:`_content`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.warnings import PTBDeprecationWarning

from bot.services.broadcast import Outcome, Sender, SendResult
from storage.models import Broadcast, Recipient

# An announcement as one reader sees it: (job, the recipient's language) → its text with the
# sender's header, and its buttons. Pure and cheap: it runs once per message.
Dress = Callable[[Broadcast, str | None], tuple[str, InlineKeyboardMarkup]]


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


def _content(
    job: Broadcast, recipient: Recipient, dress: Dress
) -> tuple[str, InlineKeyboardMarkup]:
    """What this recipient gets: a notice's own text and buttons, else the job's text under
    its sender's header, in the recipient's language."""
    if recipient.text is None:
        return dress(job, recipient.language)
    keyboard = InlineKeyboardMarkup.de_json({"inline_keyboard": recipient.buttons or []}, None)
    return recipient.text, keyboard


def make_sender(bot: Bot, dress: Dress) -> Sender:
    """Send one announcement and say how it went (Telegram's errors → outcomes)."""

    async def send(job: Broadcast, recipient: Recipient) -> SendResult:
        paid = True if job.paid else None
        text, keyboard = _content(job, recipient, dress)
        try:
            if job.photo:
                await bot.send_photo(
                    recipient.chat_id,
                    job.photo,
                    caption=text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard,
                    allow_paid_broadcast=paid,
                )
            else:
                await bot.send_message(
                    recipient.chat_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard,
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

    def __init__(
        self, base_url: str, token: str, dress: Dress, max_connections: int = 128
    ) -> None:
        self.url = f"{base_url}{token}/"
        self.dress = dress
        self.max_connections = max_connections
        self._session: Any = None

    async def start(self) -> None:
        """Open the HTTP session (at the engine's start, never at import)."""
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.max_connections),
            timeout=aiohttp.ClientTimeout(total=20),
        )

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __call__(self, job: Broadcast, recipient: Recipient) -> SendResult:
        """Send one announcement and say how it went."""
        import aiohttp

        text, keyboard = _content(job, recipient, self.dress)
        payload: dict[str, Any] = {
            "chat_id": recipient.chat_id,
            "parse_mode": "HTML",
            "reply_markup": keyboard.to_dict(),
        }
        if job.paid:
            payload["allow_paid_broadcast"] = True
        if job.photo:
            method = "sendPhoto"
            payload.update(photo=job.photo, caption=text)
        else:
            method = "sendMessage"
            payload["text"] = text
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
