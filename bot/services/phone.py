"""Indonesian phone numbers: "0812-3456-7890", "+62 812 3456 7890", "62812…" → E.164."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-.()/]")


def normalize_phone(raw: str) -> str | None:
    """The E.164 form (``+62…``) of an Indonesian number, or None when it is not one."""
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("+"):
        digits = text[1:]
        if not digits.isdigit() or not digits.startswith("62"):
            return None
        national = digits[2:]
    elif not text.isdigit():
        return None
    elif text.startswith("62"):
        national = text[2:]
    elif text.startswith("0"):
        national = text[1:]
    else:
        return None
    # Mobile numbers are 9-12 digits after the 0 (08xx…); landlines 7-10 (021…, 0274…).
    if national.startswith("0") or not 7 <= len(national) <= 12:
        return None
    return "+62" + national


def mask_phone(e164: str) -> str:
    """ "+6281234567890" → "+62812•••••890"."""
    if len(e164) < 8:
        return "•" * len(e164)
    return e164[:6] + "•" * (len(e164) - 9) + e164[-3:]
