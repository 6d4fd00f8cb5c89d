"""Announcements: compose, preview, confirm (or schedule), watch the progress, mute.

- ``compose``: the persistent conversation that collects the text or photo, the audience
  and the time (``compose.mmd``); its draft is ``draft``.
- ``controls``: pause, resume and cancel under the progress message; mute and unmute under
  every announcement.
- ``keyboards``: every button of the feature, from the kinds in ``handlers/callbacks.py``.

Sending is the engine's (``bot/services/broadcast``); the Bot API senders and the
progress message are Telegram adapters (``bot/telegram/sender.py``,
``bot/telegram/progress.py``).
"""

from __future__ import annotations

from handlers.broadcast.compose import build_conversation, parse_when
from handlers.broadcast.controls import HANDLERS

__all__ = ["HANDLERS", "build_conversation", "parse_when"]
