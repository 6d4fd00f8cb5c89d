"""Cooperatives on the platform or not yet: the contact card that replaces the form of one
that is not, notify-me and its list (``handlers.py``); badges, texts and keyboards; the
notices the platform service sends (``notices.py``, wired in ``bot/app.py``)."""

from __future__ import annotations

from telegram.ext import BaseHandler

from handlers.platform import handlers
from handlers.platform.handlers import send_contact_card

__all__ = ["HANDLERS", "send_contact_card"]

HANDLERS: list[BaseHandler] = [*handlers.HANDLERS]
