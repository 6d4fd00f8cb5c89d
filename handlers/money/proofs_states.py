"""The states of the proofs conversation; the values are persisted, so they never change."""

from __future__ import annotations

from enum import IntEnum


class Step(IntEnum):
    # The member's form.
    KIND = 1
    AMOUNT = 2
    FILE = 3
    REVIEW = 4
    # An admin types why a proof is rejected.
    REASON = 5


FORM = (Step.KIND, Step.AMOUNT, Step.FILE, Step.REVIEW)
