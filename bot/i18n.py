"""Translations (babel gettext catalogs) and locale-aware formatting (CLDR via babel).

Source strings are English msgids; Indonesian is the default locale. Catalogs are read
from ``locales/<lang>/LC_MESSAGES/messages.po`` and compiled in memory at start-up, so no
compiled ``.mo`` files are kept in the repository.
"""

from __future__ import annotations

import functools
import gettext
import io
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, get_currency_symbol
from babel.units import format_unit

DEFAULT_LOCALE = "id"
JAKARTA = ZoneInfo("Asia/Jakarta")
LOCALES = ("id", "en")
DOMAIN = "messages"

# The Rupiah sign as Indonesians write it ("Rp50.000"), in every language of the bot.
RUPIAH = get_currency_symbol("IDR", locale="id")


@functools.lru_cache(maxsize=4096)
def _unit(value: float, unit: str, fmt: str, locale: str) -> str:
    """A distance as CLDR writes it, remembered: a result list shows a dozen, and the
    values are already rounded to what is shown (babel takes ~30 µs for each)."""
    return format_unit(value, unit, length="short", format=fmt, locale=locale)


@functools.lru_cache(maxsize=4096)
def _decimal(value: float | int, fmt: str | None, locale: str) -> str:
    """A number as the locale writes it, remembered (counts repeat: every result list
    says how many; babel parses the locale and the pattern each time)."""
    return format_decimal(value, format=fmt, locale=locale)


@dataclass(frozen=True)
class Translator:
    """Translations and formatting for one locale."""

    locale: str
    translations: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self.translations.pgettext(context, message)

    # --- formatting ---------------------------------------------------------------------

    def number(self, value: float | int, fmt: str | None = None) -> str:
        return _decimal(value, fmt, self.locale)

    def money(self, amount: int | float) -> str:
        """Rupiah without cents: "Rp50.000" (id), "Rp50,000" (en)."""
        return RUPIAH + format_decimal(round(amount), format="#,##0", locale=self.locale)

    def distance(self, meters: float) -> str:
        """ "850 m", "1,2 km" (id) / "1.2 km" (en), "25 km"."""
        if meters < 995:
            return _unit(max(10, round(meters, -1)), "length-meter", "#,##0", self.locale)
        km = meters / 1000
        if km < 9.95:
            return _unit(round(km, 1), "length-kilometer", "#,##0.#", self.locale)
        return _unit(round(km), "length-kilometer", "#,##0", self.locale)

    def date(self, value: date | datetime, fmt: str = "long") -> str:
        """A calendar date; a moment is first put in Indonesia's western time (WIB)."""
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(JAKARTA)
        return format_date(value, format=fmt, locale=self.locale)

    def datetime(self, value: datetime, fmt: str = "medium", tzinfo: tzinfo | None = None) -> str:
        """A moment in Indonesia's western time (WIB) unless ``tzinfo`` says otherwise."""
        return format_datetime(value, format=fmt, tzinfo=tzinfo or JAKARTA, locale=self.locale)


@functools.lru_cache(maxsize=4)
def _catalogs(locales_dir: Path) -> dict[str, gettext.NullTranslations]:
    """Each language's compiled catalog, read once per process (they never change while
    it runs; every service container built in it shares them)."""
    found: dict[str, gettext.NullTranslations] = {}
    for lang in LOCALES:
        po = locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po.exists():
            found[lang] = gettext.NullTranslations()
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        found[lang] = gettext.GNUTranslations(buf)
    return found


class I18n:
    """All catalogs, loaded once; hands out a :class:`Translator` per locale."""

    def __init__(self, locales_dir: Path, default: str = DEFAULT_LOCALE) -> None:
        self.default = default
        self._translators = {
            lang: Translator(lang, translations)
            for lang, translations in _catalogs(locales_dir.resolve()).items()
        }

    @property
    def available(self) -> tuple[str, ...]:
        return tuple(self._translators)

    def get(self, locale: str | None) -> Translator:
        return self._translators.get(locale or self.default, self._translators[self.default])

    def negotiate(self, chosen: str | None, telegram_code: str | None) -> str:
        """The user's stored choice, else Telegram's language if we have it, else default."""
        if chosen in self._translators:
            return chosen
        if telegram_code:
            try:
                lang = Locale.parse(telegram_code, sep="-").language
            except (ValueError, UnknownLocaleError):
                lang = None
            if lang in self._translators:
                return lang
        return self.default
