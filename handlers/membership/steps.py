"""The states of the membership conversation and the order of its questions."""

from __future__ import annotations

from enum import IntEnum

from bot.services.draft import QUESTIONS, MembershipDraft


class Step(IntEnum):
    """The conversation's states; the values are persisted, so they never change."""

    TERMS = 1
    CONSENT = 2
    NAME = 3
    NIK = 4
    NIK_CONFIRM = 5
    BIRTH_PLACE = 6
    ADDRESS = 7
    DOMICILE = 8
    PHONE = 9
    OCCUPATION = 10
    OCCUPATION_OTHER = 11
    REVIEW = 12
    CANCEL_CONFIRM = 13
    REUSE = 14  # after the consent: fill in the answers of the last application?


# The numbered questions, in the draft's order (a question's state is named after the
# answer it fills). NIK_CONFIRM, DOMICILE and OCCUPATION_OTHER follow up on one of them.
NUMBERED = tuple(Step[answer.upper()] for answer in QUESTIONS)
# The question each answer is changed with (from the review).
EDIT = dict(zip(QUESTIONS, NUMBERED, strict=True))


def number(step: Step) -> tuple[int, int]:
    """``(n, total)`` for "Question n of total"."""
    return NUMBERED.index(step) + 1, len(NUMBERED)


def following(step: Step) -> Step:
    """The question after ``step`` in a first pass through the form; the review at the end."""
    if step == Step.NIK:
        return Step.NIK_CONFIRM
    if step == Step.NIK_CONFIRM:
        step = Step.NIK
    index = NUMBERED.index(step) + 1
    return NUMBERED[index] if index < len(NUMBERED) else Step.REVIEW


# The question that fills each stored answer ``MembershipDraft.missing`` may name.
ASKS = {
    "full_name": Step.NAME,
    "nik_enc": Step.NIK,
    "nik_hash": Step.NIK,
    "birth_place": Step.BIRTH_PLACE,
    "address": Step.ADDRESS,
    "phone": Step.PHONE,
    "occupation": Step.OCCUPATION,
}


def missing_step(draft: MembershipDraft) -> Step:
    """The first question, in the form's order, whose answer the draft lacks."""
    asked = {ASKS[name] for name in draft.missing()}
    return next(step for step in NUMBERED if step in asked)
