"""Joining a cooperative: terms, consent (UU 27/2022), the form, review and submission.

- ``conversation.py``: the persistent ``ConversationHandler`` and which callbacks serve
  which state (diagram: ``conversation.mmd``);
- ``states.py``: the callbacks of each state, each returning the next state;
- ``entry.py``: the "Join" button, the deep link ``?start=join_<id>``, the idle pause;
- ``flow.py``: the open form and asking a question; ``steps.py``: the states and the
  order of the questions; ``texts.py`` and ``keyboards.py``: what the form shows.

The answers are a typed :class:`~bot.services.draft.MembershipDraft`, kept in
``user_data`` in its dict form, so a restart mid-form loses nothing; the NIK enters the
draft only encrypted.
"""

from handlers.membership.conversation import FORM_TIMEOUT_S, build_conversation
from handlers.membership.steps import Step

__all__ = ["FORM_TIMEOUT_S", "Step", "build_conversation"]
