"""A cooperative's profile as its admins edit it: the fields and how typed values are read.

Pure checks, no storage: :func:`parse_profile` turns what an admin typed into the value
stored, or raises :class:`InputError` naming what is wrong (the handler translates it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.services.catalog import SERVICES, normalise_service
from bot.services.importer import parse_amount
from bot.services.phone import normalize_phone
from bot.services.text import clean_line

PROFILE_FIELDS = (
    "description",
    "services",
    "phone",
    "opening_hours",
    "simpanan_pokok",
    "simpanan_wajib",
    "closed_loop",
    "rat_year",
)


class InputError(ValueError):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def parse_profile(name: str, raw: str) -> Any:
    """Check a typed profile value; raises :class:`InputError`."""
    text = raw.strip()
    if name == "description":
        value = text[:1000]
        if len(text) > 1000:
            raise InputError("too_long", max=1000)
        return value or None
    if name == "services":  # only the vocabulary: search filters by exactly these tags
        parts = [p.strip() for p in re.split(r"[;,\n]", text) if p.strip()]
        tags = [normalise_service(p) for p in parts]
        unknown = [p for p, tag in zip(parts, tags, strict=True) if tag not in SERVICES]
        if unknown:
            raise InputError("service_unknown", value=unknown[0][:40])
        if not tags:
            raise InputError("services_empty")
        return list(dict.fromkeys(t for t in tags if t))
    if name == "phone":
        phone = normalize_phone(text)
        if phone is None:
            raise InputError("phone_invalid")
        return phone
    if name == "opening_hours":
        value = clean_line(text, 200)
        if not 3 <= len(value) <= 100:
            raise InputError("too_long", max=100)
        return value
    if name in ("simpanan_pokok", "simpanan_wajib"):
        try:
            amount = parse_amount(text)
        except ValueError:
            raise InputError("amount_invalid") from None
        if not 0 <= amount <= 100_000_000:
            raise InputError("amount_invalid")
        return amount
    if name == "rat_year":
        year = int(text) if text.isdigit() else 0
        if not 1945 <= year <= datetime.now(UTC).year:
            raise InputError("year_invalid", max=datetime.now(UTC).year)
        return year
    raise InputError("unknown_field")
