"""Test data: generated directories at real village coordinates."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

from bot.services.catalog import TYPES
from bot.services.gazetteer import Gazetteer

COLUMNS = (
    "name",
    "type",
    "latitude",
    "longitude",
    "registration_number",
    "address",
    "village_code",
    "phone",
    "services",
    "simpanan_pokok",
    "simpanan_wajib",
    "description",
)
SERVICE_TAGS = ("sembako", "apotek", "klinik", "pupuk", "logistik", "gudang", "simpan_pinjam")
WORDS = ("Tunas", "Karya", "Bakti", "Lestari", "Rukun", "Jaya", "Abadi", "Mulia", "Sentosa")


def csv_bytes(
    rows: list[dict[str, Any]],
    *,
    delimiter: str = ",",
    bom: bool = False,
    encoding: str = "utf-8",
    newline: str = "\n",
    columns: tuple[str, ...] = COLUMNS,
) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=columns, delimiter=delimiter, lineterminator=newline, extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def directory(
    gazetteer: Gazetteer, *, region: str = "33.72", n: int = 500, seed: int = 7
) -> list[dict[str, Any]]:
    """``n`` cooperatives at distinct village centroids (plus a tiny offset) of ``region``
    and its neighbours, with every type and a spread of services."""
    rng = random.Random(seed)
    villages = sorted(
        (
            r
            for r in gazetteer
            if r.level == "village" and r.code.startswith(region.split(".")[0] + ".")
        ),
        key=lambda r: r.code,
    )
    anchor = gazetteer.get(region)
    assert anchor is not None
    villages.sort(key=lambda r: (r.lat - anchor.lat) ** 2 + (r.lon - anchor.lon) ** 2)
    chosen = villages[:n]
    rows = []
    types = sorted(TYPES)
    for i, village in enumerate(chosen):
        coop_type = types[i % len(types)]
        services = rng.sample(SERVICE_TAGS, k=1 + i % 3)
        rows.append(
            {
                "name": f"Koperasi {WORDS[i % len(WORDS)]} {village.name} {i}",
                "type": coop_type,
                "latitude": f"{village.lat + rng.uniform(-0.0005, 0.0005):.6f}",
                "longitude": f"{village.lon + rng.uniform(-0.0005, 0.0005):.6f}",
                "registration_number": f"TEST-{i:05d}",
                "village_code": village.code,
                "services": ";".join(services),
                "simpanan_pokok": str(rng.choice((25_000, 50_000, 100_000))),
                "simpanan_wajib": str(rng.choice((10_000, 15_000))),
            }
        )
    return rows
