"""Announcements: compose, preview, confirm (or schedule), watch the progress, mute.

- ``compose``: the persistent conversation that collects the text or photo, the audience
  and the time (``compose.mmd``); its draft is ``draft``.
- ``controls``: pause, resume and cancel under the progress message; mute and unmute under
  every announcement.
- ``header``: an announcement as each reader gets it: the sender's header (which the admin
  cannot remove) above the text and the mute button below, in the reader's language.
- ``keyboards``: every button of the feature, from the kinds in ``handlers/callbacks.py``.
- ``progress``: the creator's progress message, rendered and edited as the engine reports.

Sending is the engine's (``bot/services/broadcast``); the Bot API senders are Telegram
adapters (``bot/telegram/sender.py``), given ``header.Dresser`` by the composition root.
"""

from __future__ import annotations

from handlers.broadcast.compose import build_conversation, parse_when
from handlers.broadcast.controls import HANDLERS

__all__ = ["HANDLERS", "build_conversation", "parse_when"]
