"""Announcements: who receives them, and the engine that sends them at Telegram's limits.

- ``service``: :class:`BroadcastService` — audiences, creating and controlling jobs, mutes.
- ``engine``: :class:`BroadcastEngine` — paced, fair, crash-safe sending (its docstring
  states the guarantees), and the types the senders and progress callbacks share.
- ``clock``: the engine's injectable time (:class:`Clock`; :class:`SystemClock` by default).
"""

from __future__ import annotations

from bot.services.broadcast.clock import Clock, SystemClock, wait_event
from bot.services.broadcast.engine import (
    PLATFORM,
    BroadcastEngine,
    Outcome,
    ProgressCallback,
    ProgressInfo,
    RateWindow,
    Sender,
    SendResult,
)
from bot.services.broadcast.service import Audience, BroadcastService

__all__ = [
    "PLATFORM",
    "Audience",
    "BroadcastEngine",
    "BroadcastService",
    "Clock",
    "Outcome",
    "ProgressCallback",
    "ProgressInfo",
    "RateWindow",
    "SendResult",
    "Sender",
    "SystemClock",
    "wait_event",
]
