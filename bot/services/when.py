"""A date and time typed the way people type them, in Indonesian or English.

"besok jam 9", "besok pagi jam 8", "lusa 14.00", "15/12 09:00", "15 Des 09.00", "Senin 10:00",
"jam 3 sore", "2 jam lagi", "tomorrow 9am", "Dec 15 9:00", "next Friday 7pm", "in 2 hours",
"2026-12-24 08:00" … are read in the given zone (the cooperative's; WIB by default, or the
zone the text names: "09:00 WITA") and turned into one moment.

Why not a library: dateparser (the kept one) was tried with Indonesian and English and
read "besok jam 9" as tomorrow at the current hour, and nothing at all of "2 jam lagi",
"lusa 14.00" or "besok pagi jam 8" — for scheduling, a confident wrong answer is worse
than a refusal. This reader is small, strict and deterministic: every word of the text must
be understood (otherwise :class:`WhenError` ``"unknown"``), and the caller echoes the moment
back so the person sees what was understood.

Rules where people are ambiguous:
- a time alone is today, or tomorrow when it has passed; a weekday alone is its next
  occurrence (today if the time is still ahead; "depan"/"next" skips today);
- a day and month without a year is the next such date;
- numeric dates are day/month ("15/12"); "12/15" is read as month/day only because 15
  cannot be a month;
- "jam 3 sore" is 15:00, "jam 7 malam" 19:00, "jam 1 siang" 13:00; a part of the day without
  an hour is pagi 08:00, siang 12:00, sore 16:00, malam 19:00;
- "minggu depan" means "next week" in Indonesian (not "next Sunday": "hari Minggu depan"
  is), which names no day: refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.services.timezones import WIB, ZONES, Zone

MAX_DAYS = 30


class WhenError(ValueError):
    """Why a typed time was not taken: ``unknown`` (not understood), ``no_time`` (a day
    without a time), ``past`` or ``too_far`` (``moment`` says what was understood)."""

    def __init__(self, code: str, moment: datetime | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.moment = moment


@dataclass(frozen=True, slots=True)
class When:
    moment: datetime  # aware, UTC
    zone: Zone


_MONTHS = {
    **dict.fromkeys(("januari", "january", "jan"), 1),
    **dict.fromkeys(("februari", "february", "feb", "pebruari"), 2),
    **dict.fromkeys(("maret", "march", "mar"), 3),
    **dict.fromkeys(("april", "apr"), 4),
    **dict.fromkeys(("mei", "may"), 5),
    **dict.fromkeys(("juni", "june", "jun"), 6),
    **dict.fromkeys(("juli", "july", "jul"), 7),
    **dict.fromkeys(("agustus", "august", "agu", "agt", "ags", "aug"), 8),
    **dict.fromkeys(("september", "sept", "sep"), 9),
    **dict.fromkeys(("oktober", "october", "okt", "oct"), 10),
    **dict.fromkeys(("november", "nov", "nop"), 11),
    **dict.fromkeys(("desember", "december", "des", "dec"), 12),
}
_WEEKDAYS = {
    **dict.fromkeys(("senin", "monday", "mon"), 0),
    **dict.fromkeys(("selasa", "tuesday", "tues", "tue"), 1),
    **dict.fromkeys(("rabu", "wednesday", "wed"), 2),
    **dict.fromkeys(("kamis", "thursday", "thurs", "thur", "thu"), 3),
    **dict.fromkeys(("jumat", "jum'at", "friday", "fri"), 4),
    **dict.fromkeys(("sabtu", "saturday", "sat"), 5),
    **dict.fromkeys(("minggu", "ahad", "sunday", "sun"), 6),
}
_RELATIVE_DAYS = (
    ("day after tomorrow", 2),
    ("besok lusa", 2),
    ("lusa", 2),
    ("besok", 1),
    ("besuk", 1),
    ("tomorrow", 1),
    ("tmrw", 1),
    ("hari ini", 0),
    ("today", 0),
    ("tonight", 0),
    ("nanti", 0),
)
# A part of the day: the hours it shifts to the afternoon, and its hour when none is typed.
_DAYPARTS: dict[str, tuple[range, int]] = {
    "pagi": (range(0), 8),
    "morning": (range(0), 8),
    "siang": (range(1, 6), 12),
    "noon": (range(0), 12),
    "sore": (range(1, 12), 16),
    "petang": (range(1, 12), 17),
    "afternoon": (range(1, 12), 15),
    "malam": (range(5, 12), 19),
    "evening": (range(1, 12), 19),
    "night": (range(5, 12), 20),
    "tonight": (range(5, 12), 19),
}
_NOISE = {
    "jam",
    "pukul",
    "pkl",
    "at",
    "on",
    "the",
    "of",
    "in",
    "tanggal",
    "tgl",
    "hari",
    "pada",
    "ini",
    "this",
    "nanti",
    "@",
}
_UNITS = {
    **dict.fromkeys(("menit", "mnt", "minute", "minutes", "min", "mins"), 60),
    **dict.fromkeys(("jam", "hour", "hours", "hr", "hrs", "h"), 3600),
    **dict.fromkeys(("hari", "day", "days"), 86400),
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(sorted((re.escape(w) for w in _WEEKDAYS), key=len, reverse=True))
_UNIT = "|".join(sorted(_UNITS, key=len, reverse=True))
_AMOUNT = r"(\d{1,3}|an?|one|se|setengah|half an?)"
_DURATION = re.compile(
    rf"^(?:(?:in|dalam)\s+{_AMOUNT}\s*({_UNIT})(?:\s+(?:lagi|from now))?"
    rf"|{_AMOUNT}\s*({_UNIT})\s+(?:lagi|from now|later))$"
)
_SEJAM = re.compile(r"^(?:(sejam|setengah jam) lagi|dalam (sejam|setengah jam))$")
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUMERIC = re.compile(r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{4}|\d{2}))?\b")
_DOTTED = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\.?(?:\s+(\d{{4}}))?\b")
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(\d{{4}}))?\b")
_DAY_OF_MONTH = re.compile(r"\b(?:tanggal|tgl\.?|the)\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_WEEKDAY_RE = re.compile(rf"\b(?:(next|this)\s+)?({_WEEKDAY})\b(?:\s+(depan|ini))?")
_CLOCK = re.compile(r"\b(\d{1,2})[:.](\d{2})\s*(am|pm|a\.m\.|p\.m\.)?(?!\w)")
_HOUR_AMPM = re.compile(r"\b(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.)(?!\w)")
_HOUR_WORD = re.compile(r"(?:\b(?:jam|pukul|pkl\.?|at)|@)\s*(\d{1,2})\b")
_LONE_HOUR = re.compile(r"\b(\d{1,2})\b")
_DAYPART = re.compile(r"\b(" + "|".join(_DAYPARTS) + r")\b")
_ZONE = re.compile(r"\b(wib|wita|wit)\b")


def parse_when(text: str, now: datetime, zone: Zone = WIB, *, max_days: int = MAX_DAYS) -> When:
    """The moment ``text`` names, after ``now`` and within ``max_days``; raises
    :class:`WhenError`."""
    s = " ".join(text.casefold().replace(",", " ").split())
    named = _ZONE.search(s)
    if named:
        zone = ZONES[named.group(1).upper()]
        s = _cut(s, named)
    local_now = now.astimezone(zone.tz)
    duration = _duration(s)
    moment = now + duration if duration is not None else _moment(s, local_now, zone)
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise WhenError("past", moment)
    if moment > now + timedelta(days=max_days):
        raise WhenError("too_far", moment)
    return When(moment, zone)


def _cut(s: str, match: re.Match[str]) -> str:
    return " ".join((s[: match.start()] + " " + s[match.end() :]).split())


def _amount(word: str) -> float:
    if word.isdigit():
        return int(word)
    return 0.5 if word.startswith(("setengah", "half")) else 1


def _duration(s: str) -> timedelta | None:
    """ "2 jam lagi", "dalam 30 menit", "in 2 hours", "sejam lagi"; None if not one."""
    if _SEJAM.match(s):
        return timedelta(hours=0.5 if "setengah" in s else 1)
    match = _DURATION.match(s)
    if match is None:
        return None
    amount, unit = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
    return timedelta(seconds=_amount(amount) * _UNITS[unit])


def _moment(s: str, local_now: datetime, zone: Zone) -> datetime:
    if re.search(r"(?<!hari )\bminggu depan\b", s) or "next week" in s:
        raise WhenError("unknown")  # a week names no day
    today = local_now.date()
    day, s, explicit_year, weekday = _date(s, today)
    if re.search(r"\b(?:pagi|siang|sore|petang|malam) ini\b|\btonight\b", s) and day is None:
        day = today
    clock, s = _time(s, has_date=day is not None or weekday is not None)
    leftover = [w for w in s.split() if w.strip(".") not in _NOISE]
    if leftover:
        raise WhenError("unknown")
    if clock is None:
        if day is None and weekday is None:
            raise WhenError("unknown")
        raise WhenError("no_time")
    if weekday is not None:
        target, skip_today = weekday
        ahead = (target - today.weekday()) % 7
        if ahead == 0 and skip_today:
            ahead = 7
        day = today + timedelta(days=ahead)
        if datetime.combine(day, clock, zone.tz) <= local_now:
            day += timedelta(days=7)
    if day is None:  # a time alone: today, or tomorrow once it has passed
        day = today
        if datetime.combine(day, clock, zone.tz) <= local_now:
            day += timedelta(days=1)
    elif not explicit_year and day < today:  # "15/1" typed in December: next January
        day = _safe_date(day.year + 1, day.month, day.day)
    return datetime.combine(day, clock, zone.tz)


def _safe_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise WhenError("unknown") from None


def _year(raw: str | None, today: date) -> int:
    if raw is None:
        return today.year
    year = int(raw)
    return 2000 + year if year < 100 else year


def _date(s: str, today: date) -> tuple[date | None, str, bool, tuple[int, bool] | None]:
    """The day named in ``s`` (or a weekday to resolve with the time), and the rest."""
    if match := _ISO.search(s):
        year, month, day = (int(g) for g in match.groups())
        return _safe_date(year, month, day), _cut(s, match), True, None
    if match := _DOTTED.search(s):
        day, month, year = (int(g) for g in match.groups())
        return _safe_date(year, month, day), _cut(s, match), True, None
    if match := _NUMERIC.search(s):
        first, second = int(match.group(1)), int(match.group(2))
        day, month = (second, first) if second > 12 >= first else (first, second)
        year = _year(match.group(3), today)
        return _safe_date(year, month, day), _cut(s, match), bool(match.group(3)), None
    if match := _DAY_MONTH.search(s):
        year = _year(match.group(3), today)
        found = _safe_date(year, _MONTHS[match.group(2)], int(match.group(1)))
        return found, _cut(s, match), bool(match.group(3)), None
    if match := _MONTH_DAY.search(s):
        year = _year(match.group(3), today)
        found = _safe_date(year, _MONTHS[match.group(1)], int(match.group(2)))
        return found, _cut(s, match), bool(match.group(3)), None
    if match := _DAY_OF_MONTH.search(s):  # "tanggal 15": this month's, else next month's
        day = int(match.group(1))
        year, month = today.year, today.month
        if day < today.day:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return _safe_date(year, month, day), _cut(s, match), True, None
    for words, offset in _RELATIVE_DAYS:
        if match := re.search(rf"\b{words}\b", s):
            rest = _cut(s, match) if words != "tonight" else s  # "tonight" is also a daypart
            return today + timedelta(days=offset), rest, False, None
    if match := _WEEKDAY_RE.search(s):
        skip_today = match.group(1) == "next" or match.group(3) == "depan"
        return None, _cut(s, match), False, (_WEEKDAYS[match.group(2)], skip_today)
    return None, s, False, None


def _time(s: str, *, has_date: bool) -> tuple[time | None, str]:
    """The time of day named in ``s`` and the rest."""
    hour: int | None = None
    minute = 0
    meridiem: str | None = None
    if match := _CLOCK.search(s):
        hour, minute, meridiem = int(match.group(1)), int(match.group(2)), match.group(3)
        s = _cut(s, match)
    elif match := _HOUR_AMPM.search(s):
        hour, meridiem = int(match.group(1)), match.group(2)
        s = _cut(s, match)
    elif match := _HOUR_WORD.search(s):
        hour = int(match.group(1))
        s = _cut(s, match)
    part = _DAYPART.search(s)
    if part:
        s = _cut(s, part)
    if hour is None and (has_date or part) and (match := _LONE_HOUR.search(s)):
        hour = int(match.group(1))  # "besok 9", "sore 4"
        s = _cut(s, match)
    if hour is None:
        if part is None:
            return None, s
        return time(_DAYPARTS[part.group(1)][1], 0), s
    if meridiem:
        if not 1 <= hour <= 12:
            raise WhenError("unknown")
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    elif part and hour in _DAYPARTS[part.group(1)][0]:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise WhenError("unknown")
    return time(hour, minute), s
