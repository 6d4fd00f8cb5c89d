"""A cooperative's member register as a file the board opens in a spreadsheet.

Two forms, with the same columns in the admin's language (headers, sex, occupation, status,
yes/no) and dates where the cooperative is (its WIB/WITA/WIT date, not UTC's):

- **.xlsx** (the default): NIK, phone and member number are text cells, so no spreadsheet
  turns ``3171234567890001`` into ``3.17123E+15``; dates are real dates.
- **CSV**, for whoever needs one. Excel reads a CSV with the list separator of the
  computer's region: Indonesian Windows uses ``;`` (the decimal comma takes ``,``), English
  uses ``,``. So the separator follows the admin's language (``;`` for Indonesian, ``,`` for
  English), and the file starts with a UTF-8 BOM so that Excel reads names such as "Ngạ"
  or "Sitì" right. No ``sep=`` line: with it, Excel ignores the BOM and garbles the text.
  NIK and phone are written as ``="3171234567890001"``: Excel, LibreOffice and Google
  Sheets all show the exact digits as text (a bare number loses the 16th digit to floating
  point; a leading apostrophe would show up as part of the value outside Excel; a space or
  other marker would change the value). Programs reading the CSV strip ``="`` and ``"``.

Typed values (names, addresses, a typed occupation) that start like a formula (``=``,
``+``, ``-``, ``@``) are never run as one (CSV injection): a text cell in .xlsx, a leading
apostrophe in CSV (what OWASP recommends).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import date

from bot.i18n import Translator
from bot.services.catalog import N_
from bot.services.membership import OCCUPATIONS
from bot.services.spreadsheet import Cell, xlsx
from bot.services.timezones import Zone, local_date
from storage.models import Application

HEADERS = (
    N_("Member number"),
    N_("Full name"),
    N_("NIK"),
    N_("Sex"),
    N_("Date of birth"),
    N_("Place of birth"),
    N_("Address"),
    N_("Phone"),
    N_("Occupation"),
    N_("Status"),
    N_("Member since"),
    N_("Declared domicile in the village"),
)
TEXT_COLUMNS = (0, 2, 7)  # member number, NIK, phone: never numbers
NUMBER_LIKE = (2, 7)  # in CSV: exact digits through ="…"
STATUSES = {
    "active": N_("active"),
    "suspended": N_("suspended"),
    "left": N_("left"),
    "pending": N_("waiting"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def occupation_label(t: Translator, value: str | None) -> str:
    """An occupation code in the reader's language; a typed one as typed (no ``other:``)."""
    if not value:
        return ""
    return t.gettext(OCCUPATIONS[value]) if value in OCCUPATIONS else value.removeprefix("other:")


def register_rows(
    members: Iterable[Application],
    reveal_nik: Callable[[Application], str | None],
    t: Translator,
    zone: Zone,
) -> tuple[list[str], list[list[Cell]]]:
    """The headers and one row per member, in the admin's language and the coop's zone."""
    _ = t.gettext
    rows: list[list[Cell]] = []
    for m in members:
        sex = {"F": _("female"), "M": _("male")}.get(m.sex or "", "")
        rows.append(
            [
                m.member_number or "",
                m.full_name or "",
                reveal_nik(m) or "",
                sex,
                _birth_date(m.birth_date),
                m.birth_place or "",
                m.address or "",
                m.phone or "",
                occupation_label(t, m.occupation),
                _(STATUSES[m.status]) if m.status in STATUSES else m.status,
                local_date(m.decided_at, zone) if m.decided_at else None,
                _("yes") if m.domicile_declared else _("no"),
            ]
        )
    return [_(h) for h in HEADERS], rows


def register_xlsx(
    members: Iterable[Application],
    reveal_nik: Callable[[Application], str | None],
    t: Translator,
    zone: Zone,
) -> bytes:
    """The register as an Excel workbook (one sheet)."""
    headers, rows = register_rows(members, reveal_nik, t, zone)
    return xlsx(t.gettext("Members"), headers, rows, text_columns=TEXT_COLUMNS)


def register_csv(
    members: Iterable[Application],
    reveal_nik: Callable[[Application], str | None],
    t: Translator,
    zone: Zone,
) -> bytes:
    """The register as CSV for Excel in the admin's language (see the module docstring)."""
    headers, rows = register_rows(members, reveal_nik, t, zone)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=csv_separator(t.locale), lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(_csv_cells(row))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_separator(locale: str) -> str:
    """The list separator Excel expects on a computer set to this language's region."""
    return "," if locale.startswith("en") else ";"


def _csv_cells(row: Sequence[Cell]) -> list[str]:
    cells = []
    for i, value in enumerate(row):
        if value is None or value == "":
            cells.append("")
        elif i in NUMBER_LIKE:
            cells.append(f'="{value}"')
        elif isinstance(value, date):
            cells.append(value.isoformat())  # every spreadsheet reads ISO dates as dates
        else:
            cells.append(str(_inert(value)))
    return cells


def _inert(value: Cell) -> Cell:
    """A typed text that would start a formula, made plain text (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _birth_date(value: str | None) -> date | str:
    try:
        return date.fromisoformat(value) if value else ""
    except ValueError:
        return value or ""
