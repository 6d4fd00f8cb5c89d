"""A cooperative's member register as a file the board opens in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable

from storage.models import Application


def register_csv(
    members: Iterable[Application], reveal_nik: Callable[[Application], str | None]
) -> bytes:
    """The register as CSV (UTF-8 with BOM, for spreadsheets); ``reveal_nik`` decrypts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "member_number",
            "full_name",
            "nik",
            "sex",
            "birth_date",
            "birth_place",
            "address",
            "phone",
            "occupation",
            "status",
            "member_since",
            "domicile_declared",
        ]
    )
    for m in members:
        writer.writerow(
            [
                m.member_number or "",
                m.full_name or "",
                reveal_nik(m) or "",
                m.sex or "",
                m.birth_date or "",
                m.birth_place or "",
                m.address or "",
                m.phone or "",
                m.occupation or "",
                m.status,
                m.decided_at.date().isoformat() if m.decided_at else "",
                "yes" if m.domicile_declared else "no",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
