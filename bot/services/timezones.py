"""Indonesia's three time zones, by province, and moments written the way Indonesians read them.

A time the bot shows about a cooperative (when a card was checked, when a member joined) is
in the cooperative's own zone and names it: "30 Nov 2026 09.25 WITA". The zone follows the
province (Kemendagri code, the first two digits of every area code):

- WIB (UTC+7): Sumatra (11–19, 21), Java (31–36), West and Central Kalimantan (61, 62);
- WITA (UTC+8): Bali and Nusa Tenggara (51–53), South, East and North Kalimantan (63–65),
  Sulawesi (71–76);
- WIT (UTC+9): Maluku and North Maluku (81, 82), the Papua provinces (91–96).

The abbreviations are the legal names (Keppres 41/1987) and are written in every language;
CLDR gives them in Indonesian only ("+0800" in English), so the bot appends them itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time

from bot.services.gazetteer import Gazetteer
from storage.models import Cooperative


@dataclass(frozen=True, slots=True)
class Zone:
    abbreviation: str  # WIB | WITA | WIT
    tz: ZoneInfo


WIB = Zone("WIB", ZoneInfo("Asia/Jakarta"))
WITA = Zone("WITA", ZoneInfo("Asia/Makassar"))
WIT = Zone("WIT", ZoneInfo("Asia/Jayapura"))
ZONES = {zone.abbreviation: zone for zone in (WIB, WITA, WIT)}

# Bali and Nusa Tenggara, South/East/North Kalimantan, Sulawesi.
_WITA_PROVINCES = frozenset(
    {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
)


def province_zone(code: str | None) -> Zone | None:
    """The zone of a province (or of any area code within it); None when unknown."""
    province = (code or "").split(".", 1)[0]
    if len(province) != 2 or not province.isdigit():
        return None
    if province[0] in "89":  # Maluku, North Maluku, the Papua provinces
        return WIT
    if province in _WITA_PROVINCES:
        return WITA
    if province[0] in "1236":  # Sumatra, Java, West and Central Kalimantan
        return WIB
    return None


def coop_zone(coop: Cooperative | None, gazetteer: Gazetteer | None = None) -> Zone:
    """The cooperative's zone: from its areas or village code, else from the village nearest
    to its location, else WIB."""
    if coop is None:
        return WIB
    for code in (*coop.areas[:1], coop.village_code):
        zone = province_zone(code)
        if zone is not None:
            return zone
    if gazetteer is not None:
        nearest = gazetteer.nearest_village(coop.location)
        if nearest is not None:
            zone = province_zone(nearest[0].code)
            if zone is not None:
                return zone
    return WIB


def local_date(value: datetime, zone: Zone) -> date:
    """The calendar date of a moment where the cooperative is (naive moments are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone.tz).date()


def format_moment(value: datetime, zone: Zone, locale: str, date_format: str = "medium") -> str:
    """ "30 Nov 2026 09.25 WITA" (id), "Nov 30, 2026, 9:25 AM WITA" (en); with
    ``date_format="full"`` the weekday too ("Senin, 30 November 2026 09.25 WITA")."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(zone.tz)
    day = format_date(local.date(), date_format, locale=locale)
    time = format_time(local, "short", tzinfo=zone.tz, locale=locale)
    pattern = str(Locale.parse(locale).datetime_formats[date_format])
    return pattern.replace("{1}", day).replace("{0}", time) + " " + zone.abbreviation
