"""NIK structure: region codes from the gazetteer, a real birth date, at least 17."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services.gazetteer import Gazetteer
from bot.services.nik import NikError, mask_nik, parse_nik

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("nik", "sex", "born", "district"),
    [
        ("3171011708900001", "M", date(1990, 8, 17), "31.71.01"),
        ("3171015708900001", "F", date(1990, 8, 17), "31.71.01"),
        ("1271050101000123", "M", date(2000, 1, 1), "12.71.05"),
        ("3404074102080001", "F", date(2008, 2, 1), "34.04.07"),  # 18 years old
        ("3404072902960001", "M", date(1996, 2, 29), "34.04.07"),  # a leap day
    ],
)
def test_valid(gazetteer: Gazetteer, nik: str, sex: str, born: date, district: str) -> None:
    info = parse_nik(nik, gazetteer, TODAY)
    assert (info.sex, info.birth_date, info.district) == (sex, born, district)
    assert info.masked == nik[:4] + "********" + nik[-4:]


@pytest.mark.parametrize(
    ("nik", "code"),
    [
        ("", "empty"),
        ("317101170890001", "length"),  # 15
        ("31710117089000011", "length"),  # 17
        ("3171 0117 0890 0001", "separators"),
        ("3171-0117-0890-0001", "separators"),
        ("31710117089O0001", "not_digits"),
        ("317101170890000١", "not_digits"),  # an Arabic-Indic digit
        ("9971011708900001", "province"),
        ("3199011708900001", "regency"),
        ("3171991708900001", "district"),
        ("3171013102900001", "date"),  # 31 February
        ("3171017208900001", "day"),  # day 72
        ("3171010008900001", "day"),
        ("3171011713900001", "month"),
        ("3171011708270001", "too_young"),  # born 2027? no: 1927 — old enough; see below
        ("3171011708200001", "too_young"),  # 2020: six years old
        ("3171011708160001", "too_young"),  # 2016: ten years old
        ("3171011708900000", "serial"),
    ],
)
def test_invalid(gazetteer: Gazetteer, nik: str, code: str) -> None:
    if nik == "3171011708270001":
        assert parse_nik(nik, gazetteer, TODAY).birth_date == date(1927, 8, 17)
        return
    with pytest.raises(NikError) as exc:
        parse_nik(nik, gazetteer, TODAY)
    assert exc.value.code == code


def test_future_date(gazetteer: Gazetteer) -> None:
    # Late in a century's year the two-digit year can only mean this year.
    with pytest.raises(NikError) as exc:
        parse_nik("3171011212260001", gazetteer, date(2026, 11, 27))
    assert exc.value.code in ("future", "too_young")


def test_mask() -> None:
    assert mask_nik("3171011708900001") == "3171********0001"
