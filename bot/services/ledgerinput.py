"""What a board types or uploads for its ledger: amounts, days, kinds, and spreadsheet rows.

Pure functions, no storage (``bot/services/ledger.py`` uses them). Amounts are whole rupiah
as people write them: "50000", "50.000", "Rp 50.000", "50rb", "50 ribu", "1,5 juta". Days
are calendar days in the past or today: "hari ini"/"today", "kemarin"/"yesterday",
"15/11/2026", "15-11-2026", "2026-11-15", "15 Nov 2026", "15/11" (this year).
(``bot/services/when.py`` reads moments to come, with a time: not what a payment has.)

A ledger file is CSV (comma, semicolon or tab; UTF-8 or Windows-1252, as the directory
import) or .xlsx (the first sheet), with a header row naming the columns in Indonesian or
English: nomor_anggota/member_number, tanggal/date, jenis/kind, jumlah/amount,
referensi/reference, and optionally catatan/note.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.services.importer import ImportFileError
from bot.services.text import fold
from storage.models import LEDGER_KINDS

MAX_AMOUNT = 1_000_000_000  # Rp1 miliar: larger is a typo (an extra zero or two)
MAX_ROWS = 20_000
EARLIEST = date(1945, 1, 1)


def decode(data: bytes) -> str:
    """Text from UTF-8 (with or without BOM), else Windows-1252, else Latin-1 (the
    directory import's rule; a ledger file is small enough to read whole)."""
    if not data.strip():
        raise ImportFileError("empty")
    if b"\x00" in data[:4096]:
        raise ImportFileError("not_text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # any bytes


class LedgerInputError(ValueError):
    """What is wrong with a typed value: ``code`` (translated by the handler), ``params``."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# --- amounts ---------------------------------------------------------------------------

_GROUPED = re.compile(r"^\d{1,3}([.,]\d{3})+$")
_CENTS = re.compile(r"^(\d+(?:[.,]\d{3})*)[.,](\d{1,2})$")
_DECIMAL = re.compile(r"^\d+(?:[.,]\d+)?$")
_MULTIPLIERS = (
    ("ribu", 1_000),
    ("rb", 1_000),
    ("k", 1_000),
    ("juta", 1_000_000),
    ("jt", 1_000_000),
    ("million", 1_000_000),
    ("m", 1_000_000),
)


def parse_money(raw: str | int | float) -> int:
    """Whole rupiah from what a person (or a spreadsheet cell) gives; raises
    :class:`LedgerInputError` ``amount_invalid``, ``amount_fraction``, ``amount_zero`` or
    ``amount_too_large``."""
    if isinstance(raw, bool):
        raise LedgerInputError("amount_invalid")
    if isinstance(raw, int | float):
        if raw != int(raw):
            raise LedgerInputError("amount_fraction")
        return _bounded(int(raw))
    text = raw.strip().lower().replace("\u00a0", "").replace(" ", "")
    text = re.sub(r"^(rp\.?|idr)", "", text).removesuffix(",-").removesuffix(".-")
    if text.startswith("-"):
        raise LedgerInputError("amount_zero")
    for word, factor in _MULTIPLIERS:
        if text.endswith(word) and _DECIMAL.match(text[: -len(word)] or "x"):
            number = text[: -len(word)].replace(",", ".")
            whole, _, part = number.partition(".")
            value = int(whole) * factor + (int(part) * factor // 10 ** len(part) if part else 0)
            if part and int(part) * factor % 10 ** len(part):
                raise LedgerInputError("amount_fraction")
            return _bounded(value)
    if text.isdigit():
        return _bounded(int(text))
    if _GROUPED.match(text):
        return _bounded(int(re.sub(r"[.,]", "", text)))
    cents = _CENTS.match(text)
    if cents:
        if int(cents.group(2)):
            raise LedgerInputError("amount_fraction")
        return _bounded(int(re.sub(r"[.,]", "", cents.group(1))))
    raise LedgerInputError("amount_invalid")


def _bounded(value: int) -> int:
    if value <= 0:
        raise LedgerInputError("amount_zero")
    if value > MAX_AMOUNT:
        raise LedgerInputError("amount_too_large")
    return value


# --- days ------------------------------------------------------------------------------

_MONTHS = {
    **dict.fromkeys(("januari", "january", "jan"), 1),
    **dict.fromkeys(("februari", "pebruari", "february", "feb", "peb"), 2),
    **dict.fromkeys(("maret", "march", "mar"), 3),
    **dict.fromkeys(("april", "apr"), 4),
    **dict.fromkeys(("mei", "may"), 5),
    **dict.fromkeys(("juni", "june", "jun"), 6),
    **dict.fromkeys(("juli", "july", "jul"), 7),
    **dict.fromkeys(("agustus", "august", "agu", "agt", "ags", "aug"), 8),
    **dict.fromkeys(("september", "sept", "sep"), 9),
    **dict.fromkeys(("oktober", "october", "okt", "oct"), 10),
    **dict.fromkeys(("november", "nopember", "nov", "nop"), 11),
    **dict.fromkeys(("desember", "december", "des", "dec"), 12),
}
_RELATIVE = {
    "hari ini": 0,
    "today": 0,
    "kemarin": 1,
    "yesterday": 1,
    "kemarin lusa": 2,
}
_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WORDS = re.compile(r"^(\d{1,2}) ([a-z]+)(?: (\d{4}))?$")


def parse_day(raw: str | date | datetime, today: date) -> date:
    """A payment's day, not after ``today``; raises :class:`LedgerInputError`
    ``date_invalid``, ``date_future`` or ``date_too_old``."""
    if isinstance(raw, datetime):
        day = raw.date()
    elif isinstance(raw, date):
        day = raw
    else:
        day = _typed_day(raw.strip(), today)
    if day > today:
        raise LedgerInputError("date_future")
    if day < EARLIEST:
        raise LedgerInputError("date_too_old")
    return day


def _typed_day(text: str, today: date) -> date:
    folded = fold(text)
    if folded in _RELATIVE:
        return today - timedelta(days=_RELATIVE[folded])
    year: int | None
    if match := _ISO.match(text):
        year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    elif match := _NUMERIC.match(text):
        day, month = int(match.group(1)), int(match.group(2))
        year = int(match.group(3)) if match.group(3) else None
    elif (match := _WORDS.match(folded)) and match.group(2) in _MONTHS:
        day, month = int(match.group(1)), _MONTHS[match.group(2)]
        year = int(match.group(3)) if match.group(3) else None
    else:
        raise LedgerInputError("date_invalid")
    if year is not None and year < 100:
        year += 2000
    try:
        if year is None:  # "15/11": this year's, or last year's when that is still to come
            found = date(today.year, month, day)
            return found if found <= today else date(today.year - 1, month, day)
        return date(year, month, day)
    except ValueError as exc:
        raise LedgerInputError("date_invalid") from exc


# --- kinds -----------------------------------------------------------------------------

_KINDS = {
    "pokok": "pokok",
    "simpanan pokok": "pokok",
    "principal": "pokok",
    "wajib": "wajib",
    "simpanan wajib": "wajib",
    "mandatory": "wajib",
    "sukarela": "sukarela",
    "simpanan sukarela": "sukarela",
    "voluntary": "sukarela",
}


def parse_kind(raw: str) -> str:
    """One of :data:`LEDGER_KINDS`; raises :class:`LedgerInputError` ``kind_unknown``."""
    kind = _KINDS.get(fold(raw))
    if kind is None or kind not in LEDGER_KINDS:
        raise LedgerInputError("kind_unknown")
    return kind


# --- files -----------------------------------------------------------------------------

COLUMNS = ("member_number", "date", "kind", "amount", "reference")
ALIASES = {
    "nomor_anggota": "member_number",
    "no_anggota": "member_number",
    "nomor": "member_number",
    "member_no": "member_number",
    "tanggal": "date",
    "tgl": "date",
    "tanggal_bayar": "date",
    "jenis": "kind",
    "jenis_simpanan": "kind",
    "type": "kind",
    "jumlah": "amount",
    "nominal": "amount",
    "referensi": "reference",
    "ref": "reference",
    "no_referensi": "reference",
    "catatan": "note",
    "keterangan": "note",
}


@dataclass(frozen=True, slots=True)
class FileRow:
    line: int
    values: dict[str, Any]  # by column name; "__columns__" when the row is malformed


def column_name(header: object) -> str:
    name = fold(str(header or "")).replace(" ", "_")
    return ALIASES.get(name, name)


def read_file(data: bytes, filename: str) -> list[FileRow]:
    """The rows of a ledger file (.xlsx or CSV), with their line numbers; raises
    :class:`ImportFileError` (``empty``, ``not_text``, ``not_xlsx``, ``missing_columns``,
    ``too_many_rows``)."""
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        header, rows = _xlsx(data)
    else:
        header, rows = _csv(decode(data))
    columns = [column_name(h) for h in header]
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise ImportFileError("missing_columns", ", ".join(missing))
    out: list[FileRow] = []
    for line, cells in rows:
        if not any(str(c).strip() for c in cells if c is not None):
            continue
        if len(out) >= MAX_ROWS:
            raise ImportFileError("too_many_rows", str(MAX_ROWS))
        if len(cells) > len(columns) and any(
            str(c).strip() for c in cells[len(columns) :] if c is not None
        ):
            out.append(FileRow(line, {"__columns__": "mismatch"}))
            continue
        padded = list(cells) + [None] * (len(columns) - len(cells))
        out.append(FileRow(line, dict(zip(columns, padded[: len(columns)], strict=True))))
    return out


def _csv(text: str) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)  # Excel writes ";" in Indonesia
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise ImportFileError("empty")
    return list(header), [(reader.line_num, list(row)) for row in reader]


def _xlsx(data: bytes) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError("not_xlsx") from exc
    try:
        sheet: Any = book.worksheets[0]
        rows = [(i, list(r)) for i, r in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        book.close()
    if not rows:
        raise ImportFileError("empty")
    return rows[0][1], rows[1:]


def cell_text(value: object) -> str:
    """A cell as text: a whole number stays whole (Excel stores 1001 as 1001.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
