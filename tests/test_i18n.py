"""Every user-visible string exists in Indonesian and English; formats follow CLDR."""

from __future__ import annotations

import datetime

import pytest

from bot.config import Settings
from bot.i18n import I18n
from tools import i18n as catalogs


def test_catalogs_complete_and_fresh() -> None:
    problems = catalogs.problems()
    assert problems == [], "\n".join(problems[:20]) + "\nrun: python -m tools.i18n update"


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return I18n(Settings().locales_dir)


class TestFormatting:
    @pytest.mark.parametrize(
        ("locale", "meters", "text"),
        [
            ("id", 850, "850 m"),
            ("en", 850, "850 m"),
            ("id", 1234, "1,2 km"),
            ("en", 1234, "1.2 km"),
            ("id", 25_400, "25 km"),
            ("en", 4, "10 m"),
        ],
    )
    def test_distance(self, i18n: I18n, locale: str, meters: float, text: str) -> None:
        assert i18n.get(locale).distance(meters) == text

    @pytest.mark.parametrize(
        ("locale", "amount", "text"),
        [
            ("id", 50_000, "Rp50.000"),
            ("en", 50_000, "Rp50,000"),
            ("id", 1_000_000, "Rp1.000.000"),
        ],
    )
    def test_money(self, i18n: I18n, locale: str, amount: int, text: str) -> None:
        assert i18n.get(locale).money(amount) == text

    def test_dates(self, i18n: I18n) -> None:
        day = datetime.date(2026, 8, 17)
        assert i18n.get("id").date(day) == "17 Agustus 2026"
        assert i18n.get("en").date(day) == "August 17, 2026"

    def test_plural(self, i18n: I18n) -> None:
        t = i18n.get("en")
        assert t.ngettext("{count} member", "{count} members", 1) == "{count} member"
        assert t.ngettext("{count} member", "{count} members", 2) == "{count} members"
        assert i18n.get("id").ngettext("{count} member", "{count} members", 2) == "{count} anggota"


class TestNegotiation:
    @pytest.mark.parametrize(
        ("chosen", "telegram", "expected"),
        [
            (None, None, "id"),
            (None, "en", "en"),
            (None, "en-GB", "en"),
            (None, "id", "id"),
            (None, "ms", "id"),
            ("en", "id", "en"),
            ("id", "en", "id"),
            (None, "!!", "id"),
            ("xx", "en", "en"),
        ],
    )
    def test_order(
        self, i18n: I18n, chosen: str | None, telegram: str | None, expected: str
    ) -> None:
        assert i18n.negotiate(chosen, telegram) == expected
