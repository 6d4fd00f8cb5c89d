"""Spreadsheets people open in Excel, LibreOffice or Google Sheets (.xlsx via openpyxl).

Text columns (NIK, phone, member and reference numbers) are written as text so that a
spreadsheet never turns ``3171234567890001`` into ``3.17123E+15``; dates are written as
dates in the reader's time zone by the caller.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

Cell = str | int | float | date | datetime | None


def xlsx(
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    text_columns: Iterable[int] = (),
) -> bytes:
    """One sheet: a bold header row, then ``rows``; columns in ``text_columns`` (indexes)
    are stored as text whatever they hold."""
    book = Workbook()
    sheet: Any = book.active
    sheet.title = title[:31]  # Excel's limit for a sheet name
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    as_text = set(text_columns)
    widths = [len(h) for h in headers]
    for row in rows:
        values = [
            (str(v) if v is not None else None) if i in as_text else _plain(v)
            for i, v in enumerate(row)
        ]
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":  # a typed "=…" is text, never a formula (injection)
                cell.data_type = "s"
        for i, v in enumerate(values):
            if i < len(widths) and v is not None:
                widths[i] = max(widths[i], min(60, len(str(v))))
            if i in as_text and v is not None:
                sheet.cell(row=sheet.max_row, column=i + 1).number_format = "@"
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width + 2
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _plain(value: Cell) -> Cell:
    # Excel has no time zones: a datetime is written as the wall time the caller chose.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value
