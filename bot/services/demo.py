"""Clearly synthetic demo cooperatives at real village coordinates (``seed-demo``).

One Koperasi Desa/Kelurahan Merah Putih per village in a few regions, as the national
shape has it, plus other cooperatives of every type. Every name ends in "(Demo)", every
registration number starts with "DEMO-", and the detail view says it is demo data.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass

from bot.services.board import BoardService
from bot.services.catalog import KDMP_UNITS
from bot.services.gazetteer import Gazetteer, Region, haversine_m
from bot.services.importer import COLUMNS, Importer, ImportReport, import_key
from storage.base import Cooperatives
from storage.models import Point

# Kota Medan, Kab. Sleman, Jakarta Pusat and Selatan, Kota Makassar, Kota Kupang.
DEMO_REGIONS = ("12.71", "34.04", "31.71", "31.74", "73.71", "53.71")

_PREFIX = {
    "simpan_pinjam": ("KSP", "Koperasi Simpan Pinjam", "Kopdit"),
    "konsumen": ("Koperasi Konsumen", "Kopkar", "KPRI"),
    "produsen": ("Koperasi Produsen", "Koperasi Tani", "Koperasi Nelayan"),
    "pemasaran": ("Koperasi Pemasaran", "Koppas"),
    "jasa": ("Koperasi Jasa", "Koperasi Angkutan"),
    "serba_usaha": ("KSU", "Koperasi Serba Usaha", "KUD"),
    "syariah": ("KSPPS", "BMT", "Koperasi Syariah"),
}
_WORDS = (
    "Sejahtera",
    "Maju Bersama",
    "Mandiri",
    "Makmur",
    "Berkah",
    "Sentosa",
    "Harapan Baru",
    "Karya Usaha",
    "Sumber Rezeki",
    "Bina Usaha",
    "Mitra Sehati",
    "Amanah",
    "Sinar Jaya",
    "Tunas Harapan",
    "Gotong Royong",
    "Setia Kawan",
)
_SERVICES = {
    "simpan_pinjam": ("simpan_pinjam",),
    "konsumen": ("sembako", "apotek", "simpan_pinjam"),
    "produsen": ("pupuk", "gudang", "logistik"),
    "pemasaran": ("sembako", "logistik", "gudang"),
    "jasa": ("logistik", "klinik"),
    "serba_usaha": ("sembako", "simpan_pinjam", "pupuk", "apotek", "logistik"),
    "syariah": ("simpan_pinjam",),
}


@dataclass(frozen=True, slots=True)
class DemoResult:
    report: ImportReport
    regions: tuple[str, ...]


def jitter(rng: random.Random, lat: float, lon: float, metres: float) -> tuple[float, float]:
    """A point up to ``metres`` (per axis) away from ``(lat, lon)``."""
    dlat = rng.uniform(-1, 1) * metres / 111_000
    dlon = rng.uniform(-1, 1) * metres / 111_000
    return round(lat + dlat, 6), round(lon + dlon, 6)


def kdmp_row(
    rng: random.Random,
    village: Region,
    *,
    registration: str,
    description: str,
    suffix: str = "",
    units: Sequence[str] = KDMP_UNITS,
) -> dict[str, str]:
    """The Koperasi Desa/Kelurahan Merah Putih of ``village``, as a CSV row."""
    kind = "Kelurahan" if village.kind == "kelurahan" else "Desa"
    return {
        "name": f"Koperasi {kind} Merah Putih {village.name}{suffix}",
        "type": "serba_usaha",
        "latitude": f"{village.lat:.6f}",
        "longitude": f"{village.lon:.6f}",
        "registration_number": registration,
        "address": f"Kantor {kind} {village.name}",
        "village_code": village.code,
        "phone": f"08{rng.randint(11, 59)}{rng.randint(10_000_000, 99_999_999)}",
        "services": ";".join(units[: rng.randint(3, len(units))]),
        "simpanan_pokok": str(rng.choice((50_000, 100_000, 100_000, 150_000))),
        "simpanan_wajib": str(rng.choice((10_000, 10_000, 15_000, 20_000))),
        "description": description,
    }


def other_row(
    rng: random.Random, village: Region, *, registration: str, description: str, suffix: str = ""
) -> dict[str, str]:
    """A cooperative of a random type near ``village``, as a CSV row."""
    coop_type = rng.choice(tuple(_PREFIX))
    name = f"{rng.choice(_PREFIX[coop_type])} {rng.choice(_WORDS)} {village.name}{suffix}"
    lat, lon = jitter(rng, village.lat, village.lon, 400)
    services = rng.sample(_SERVICES[coop_type], k=rng.randint(1, len(_SERVICES[coop_type])))
    return {
        "name": name,
        "type": coop_type,
        "latitude": f"{lat:.6f}",
        "longitude": f"{lon:.6f}",
        "registration_number": registration,
        "address": f"Jl. Contoh No. {rng.randint(1, 200)}, {village.name}",
        "village_code": village.code,
        "phone": f"08{rng.randint(11, 59)}{rng.randint(10_000_000, 99_999_999)}",
        "services": ";".join(services),
        "simpanan_pokok": str(rng.choice((20_000, 50_000, 100_000, 250_000, 500_000))),
        "simpanan_wajib": str(rng.choice((5_000, 10_000, 15_000, 20_000, 25_000))),
        "description": description,
    }


# No description: a stored sentence reads the same in every language (it said "Data contoh
# …. Demo data, not a real cooperative." to everyone). Demo cooperatives are flagged by
# their registration number, and every page says so in its reader's language.
DEMO_DESCRIPTION = ""


def demo_rows(
    gazetteer: Gazetteer,
    regions: tuple[str, ...] = DEMO_REGIONS,
    *,
    others_per_region: int = 30,
    seed: int = 2025,
) -> list[dict[str, str]]:
    """The demo directory as CSV rows (deterministic for a given seed)."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for code in regions:
        villages = sorted(gazetteer.villages_of(code), key=lambda r: r.code)
        for village in villages:
            rows.append(
                kdmp_row(
                    rng,
                    village,
                    registration=f"DEMO-KDMP-{village.code}",
                    description=DEMO_DESCRIPTION,
                    suffix=" (Demo)",
                )
            )
        for n in range(1, others_per_region + 1):
            village = rng.choice(villages)
            rows.append(
                other_row(
                    rng,
                    village,
                    registration=f"DEMO-{code}-{n:04d}",
                    description=DEMO_DESCRIPTION,
                    suffix=" (Demo)",
                )
            )
    return rows


def to_csv(rows: Sequence[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


async def seed_demo(
    importer: Importer,
    coops: Cooperatives,
    gazetteer: Gazetteer,
    regions: tuple[str, ...] = DEMO_REGIONS,
    *,
    seed: int = 2025,
    progress: object = None,
    board: BoardService | None = None,
) -> DemoResult:
    """Import the demo directory (idempotent) and give it member counts and badges; with
    ``board``, put some of it on the platform (:func:`put_on_platform`)."""
    rows = demo_rows(gazetteer, regions, seed=seed)
    report = await importer.import_bytes(to_csv(rows), progress=progress)  # type: ignore[arg-type]
    rng = random.Random(seed + 1)
    updates = {}
    for row in rows:
        point = Point(float(row["latitude"]), float(row["longitude"]))
        key = import_key(row["name"], row["registration_number"], row["village_code"], point)
        # A directory's stated size; members registered in the bot are counted apart.
        updates[key] = {"verified": rng.random() < 0.35, "members_declared": rng.randint(25, 1800)}
    await coops.set_by_keys(updates)
    if board is not None:
        await put_on_platform(rows, coops, gazetteer, board)
    return DemoResult(report, regions)


# The console's demo board member (``#as 10100``): admin of the demo cooperatives on the
# platform, so both paths can be tried — joining one of those, and the contact card and
# "notify me" of every other one.
DEMO_BOARD_ID = 10100
ON_PLATFORM_KM = 1.3


async def put_on_platform(
    rows: Sequence[dict[str, str]], coops: Cooperatives, gazetteer: Gazetteer, board: BoardService
) -> int:
    """Make :data:`DEMO_BOARD_ID` an admin of the Merah Putih cooperatives within
    :data:`ON_PLATFORM_KM` of their city's centre (the rest stay off the platform); returns
    how many were granted now (none when run again)."""
    granted = 0
    for row in rows:
        if not row["registration_number"].startswith("DEMO-KDMP-"):
            continue
        city = gazetteer.get(".".join(row["village_code"].split(".")[:2]))
        point = Point(float(row["latitude"]), float(row["longitude"]))
        if city is None or haversine_m(point, city.center) > ON_PLATFORM_KM * 1000:
            continue
        key = import_key(row["name"], row["registration_number"], row["village_code"], point)
        coop = await coops.get_by_key(key)
        if coop is not None and await board.grant(coop.id, DEMO_BOARD_ID, actor=0, how="demo"):
            granted += 1
    return granted
