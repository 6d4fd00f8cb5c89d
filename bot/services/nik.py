"""The NIK of a person (Nomor Induk Kependudukan): ``PP KK CC DDMMYY SSSS``.

Province, regency/city (01–69 regency, 71–99 city) and district codes must exist in the
gazetteer; the birth date must be real (women: day + 40), not in the future, and the
person at least 17. There is no checksum. (Not the cooperative's registration number.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.services.gazetteer import Gazetteer

MIN_AGE = 17


class NikError(ValueError):
    """What is wrong with a NIK: ``code`` names it, ``params`` fill the message."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class NikInfo:
    nik: str
    province: str  # "31"
    regency: str  # "31.71"
    district: str  # "31.71.01"
    sex: str  # "F" | "M"
    birth_date: date

    @property
    def masked(self) -> str:
        return mask_nik(self.nik)


def mask_nik(nik: str) -> str:
    """ "3171********0001": the region and the serial, never the birth date."""
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:] if len(nik) > 8 else "*" * len(nik)


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def parse_nik(raw: str, gazetteer: Gazetteer, today: date | None = None) -> NikInfo:
    """Validate a NIK and read what it encodes; raises :class:`NikError`."""
    today = today or date.today()
    text = raw.strip()
    if not text:
        raise NikError("empty")
    if any(ch.isspace() for ch in text) or "-" in text or "." in text:
        raise NikError("separators")
    if not text.isdigit() or not text.isascii():
        raise NikError("not_digits")
    if len(text) != 16:
        raise NikError("length", count=len(text))
    province = text[:2]
    regency = f"{province}.{text[2:4]}"
    district = f"{regency}.{text[4:6]}"
    if gazetteer.get(province) is None:
        raise NikError("province", digits=province)
    if gazetteer.get(regency) is None:
        raise NikError("regency", digits=text[:4])
    if gazetteer.get(district) is None:
        raise NikError("district", digits=text[:6])
    day, month, year2 = int(text[6:8]), int(text[8:10]), int(text[10:12])
    sex = "M"
    if day > 40:
        day -= 40
        sex = "F"
    if not 1 <= day <= 31:
        raise NikError("day", day=text[6:8])
    if not 1 <= month <= 12:
        raise NikError("month", month=text[8:10])
    century = 2000 if year2 <= today.year % 100 else 1900
    try:
        born = date(century + year2, month, day)
    except ValueError as exc:
        raise NikError("date", day=f"{day:02d}", month=f"{month:02d}") from exc
    if born > today:
        raise NikError("future")
    if _age(born, today) < MIN_AGE:
        raise NikError("too_young", age=_age(born, today), min=MIN_AGE)
    if text[12:] == "0000":
        raise NikError("serial")
    return NikInfo(text, province, regency, district, sex, born)
