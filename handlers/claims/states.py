"""The states of the claims conversation; the values are persisted, so they never change."""

from __future__ import annotations

from enum import IntEnum


class Step(IntEnum):
    # The claimant's form.
    COOP = 1  # which cooperative (typed: a registration number or a name)
    CONSENT = 2
    ROLE = 3
    NAME = 4
    PHONE = 5
    EVIDENCE = 6
    REVIEW = 7
    # The claimant answers the operators' question.
    ANSWER = 8
    # An operator types a rejection's reason, or what is missing.
    REASON = 9
    QUESTION = 10


FORM = (Step.CONSENT, Step.ROLE, Step.NAME, Step.PHONE, Step.EVIDENCE, Step.REVIEW)
# "Question n of 4".
NUMBERED = (Step.ROLE, Step.NAME, Step.PHONE, Step.EVIDENCE)
