"""Typed dates and times for scheduling (bot/services/when.py), in Indonesian and English."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services.timezones import WIB, WIT, WITA, Zone, coop_zone, format_moment, province_zone
from bot.services.when import WhenError, parse_when
from storage.models import Cooperative, Point

# Thursday 10 December 2026, 14:00 WIB.
NOW = datetime(2026, 12, 10, 7, 0, tzinfo=UTC)


def local(text: str, zone: Zone = WIB) -> str:
    when = parse_when(text, NOW, zone)
    return (
        when.moment.astimezone(when.zone.tz).strftime("%a %d %b %H:%M ") + when.zone.abbreviation
    )


class TestIndonesian:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("besok jam 9", "Fri 11 Dec 09:00 WIB"),
            ("Besok pagi jam 8", "Fri 11 Dec 08:00 WIB"),
            ("besok 9", "Fri 11 Dec 09:00 WIB"),
            ("lusa 14.00", "Sat 12 Dec 14:00 WIB"),
            ("besok lusa pukul 07.30", "Sat 12 Dec 07:30 WIB"),
            ("15/12 09:00", "Tue 15 Dec 09:00 WIB"),
            ("15-12-2026 09:00", "Tue 15 Dec 09:00 WIB"),
            ("15.12.2026 09.00", "Tue 15 Dec 09:00 WIB"),
            ("15 Des 09.00", "Tue 15 Dec 09:00 WIB"),
            ("15 Desember 2026 jam 09.00", "Tue 15 Dec 09:00 WIB"),
            ("tanggal 15 jam 9", "Tue 15 Dec 09:00 WIB"),
            ("Senin 10:00", "Mon 14 Dec 10:00 WIB"),
            ("hari Senin jam 10", "Mon 14 Dec 10:00 WIB"),
            ("Kamis 10:00", "Thu 17 Dec 10:00 WIB"),  # today's has passed: next week
            ("Kamis depan 15:00", "Thu 17 Dec 15:00 WIB"),
            ("Jumat jam 7 malam", "Fri 11 Dec 19:00 WIB"),
            ("hari Minggu depan jam 10", "Sun 13 Dec 10:00 WIB"),
            ("jam 3 sore", "Thu 10 Dec 15:00 WIB"),
            ("jam 1 siang", "Fri 11 Dec 13:00 WIB"),
            ("nanti malam jam 8", "Thu 10 Dec 20:00 WIB"),
            ("sore ini", "Thu 10 Dec 16:00 WIB"),
            ("2 jam lagi", "Thu 10 Dec 16:00 WIB"),
            ("dalam 30 menit", "Thu 10 Dec 14:30 WIB"),
            ("sejam lagi", "Thu 10 Dec 15:00 WIB"),
            ("1 hari lagi", "Fri 11 Dec 14:00 WIB"),
            ("pkl. 16.00", "Thu 10 Dec 16:00 WIB"),
            ("besok jam 9 WITA", "Fri 11 Dec 09:00 WITA"),
            ("1/1 10:00", "Fri 01 Jan 10:00 WIB"),  # the next 1 January
        ],
    )
    def test_understood(self, text: str, expected: str) -> None:
        assert local(text) == expected


class TestEnglish:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("tomorrow 9am", "Fri 11 Dec 09:00 WIB"),
            ("Tomorrow at 9:30 pm", "Fri 11 Dec 21:30 WIB"),
            ("Dec 15 9:00", "Tue 15 Dec 09:00 WIB"),
            ("December 15, 2026 9:00", "Tue 15 Dec 09:00 WIB"),
            ("15th Dec at 9am", "Tue 15 Dec 09:00 WIB"),
            ("12/15 09:00", "Tue 15 Dec 09:00 WIB"),  # 15 cannot be a month
            ("Monday 10:00", "Mon 14 Dec 10:00 WIB"),
            ("next monday 10am", "Mon 14 Dec 10:00 WIB"),
            ("friday 7pm", "Fri 11 Dec 19:00 WIB"),
            ("in 2 hours", "Thu 10 Dec 16:00 WIB"),
            ("in an hour", "Thu 10 Dec 15:00 WIB"),
            ("in 45 minutes", "Thu 10 Dec 14:45 WIB"),
            ("3 hours from now", "Thu 10 Dec 17:00 WIB"),
            ("tonight 8pm", "Thu 10 Dec 20:00 WIB"),
            ("day after tomorrow 14:00", "Sat 12 Dec 14:00 WIB"),
            ("17:30", "Thu 10 Dec 17:30 WIB"),
            ("08:00", "Fri 11 Dec 08:00 WIB"),  # passed today: tomorrow
            ("2026-12-24 08:00", "Thu 24 Dec 08:00 WIB"),
        ],
    )
    def test_understood(self, text: str, expected: str) -> None:
        assert local(text) == expected


class TestRefused:
    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("", "unknown"),
            ("kemarin", "unknown"),
            ("Foo", "unknown"),
            ("25:00", "unknown"),
            ("13pm", "unknown"),
            ("31/2 10:00", "unknown"),
            ("minggu depan", "unknown"),  # "next week": no day
            ("besok", "no_time"),
            ("Senin", "no_time"),
            ("hari ini 08:00", "past"),
            ("2025-01-01 08:00", "past"),
            ("2027-12-24 08:00", "too_far"),
            ("15 Januari 09:00", "too_far"),
        ],
    )
    def test_refused(self, text: str, code: str) -> None:
        with pytest.raises(WhenError) as caught:
            parse_when(text, NOW, WIB)
        assert caught.value.code == code

    def test_a_refusal_says_what_was_understood(self) -> None:
        with pytest.raises(WhenError) as caught:
            parse_when("hari ini 08:00", NOW, WIB)
        assert caught.value.moment == datetime(2026, 12, 10, 1, 0, tzinfo=UTC)


class TestZones:
    def test_the_cooperatives_zone_reads_the_time(self) -> None:
        assert local("besok jam 9", WITA) == "Fri 11 Dec 09:00 WITA"
        assert parse_when("besok jam 9", NOW, WIT).moment == datetime(2026, 12, 11, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("code", "zone"),
        [("12.71", WIB), ("31", WIB), ("51.71", WITA), ("73", WITA), ("64", WITA), ("94", WIT)],
    )
    def test_province_zone(self, code: str, zone: object) -> None:
        assert province_zone(code) is zone

    def test_coop_zone_defaults_to_wib(self) -> None:
        coop = Cooperative(id="x", name="x", type="jasa", location=Point(-8.65, 115.2))
        assert coop_zone(coop) is WIB
        coop.areas = ["51", "51.71"]
        assert coop_zone(coop) is WITA

    def test_echo_names_weekday_and_zone(self) -> None:
        moment = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)
        assert format_moment(moment, WIB, "id", "full") == "Selasa, 15 Desember 2026 09.00 WIB"
        assert format_moment(moment, WIB, "en", "full").startswith("Tuesday, December 15, 2026")
        assert format_moment(moment, WITA, "id") == "15 Des 2026 10.00 WITA"
