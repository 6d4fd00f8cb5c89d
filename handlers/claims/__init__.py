"""Claiming a cooperative: a board member asks to run it here; operators decide.

- ``form.py``: the claimant's form (``/claim`` · ``/klaim``, the "I run this cooperative"
  button, the deep link ``?start=claim_<id>``): consent, role, name, own phone, evidence;
- ``decide.py``: what operators get and their decisions (approve, reject with a reason, ask
  for more), the queue in their menu, and the claimant's answer;
- ``notify.py``: a claim sent to every operator in their language, with its files;
- ``conversation.py``: the persistent conversation that waits for typed input (diagram:
  ``conversation.mmd``); ``states.py``, ``texts.py``, ``keyboards.py``.

The logic, the checks and the audit are :class:`bot.services.claims.ClaimService`.
"""

from __future__ import annotations

from telegram.ext import BaseHandler, CallbackQueryHandler

from handlers.callbacks import CLAIM_APPROVE, CLAIM_QUEUE, CLAIM_SHOW
from handlers.claims.conversation import build_conversation
from handlers.claims.decide import on_approve, on_queue, on_show

__all__ = ["HANDLERS", "build_conversation"]

HANDLERS: list[BaseHandler] = [
    CallbackQueryHandler(on_approve, pattern=CLAIM_APPROVE.pattern),
    CallbackQueryHandler(on_queue, pattern=CLAIM_QUEUE.pattern),
    CallbackQueryHandler(on_show, pattern=CLAIM_SHOW.pattern),
]
