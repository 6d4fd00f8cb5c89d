"""The offline Kemendagri gazetteer: every province, regency/city, district and village.

Loaded once from ``data/wilayah/regions.csv.gz`` (see its SOURCES.md). Used to resolve
typed place names, to place cooperatives in their area, and to check NIK region codes.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA
from scipy.spatial import cKDTree

from bot.services.text import fold, near_length
from storage.geocells import great_circle_m
from storage.models import Point
from storage.spatial import unit_vector, unit_vectors

LEVELS = ("province", "regency", "district", "village")
EARTH_RADIUS_M = 6_371_008.8

# Indonesia's extent with a margin (Sabang to Merauke, Miangas to Rote).
INDONESIA_BOUNDS = (-11.5, 94.5, 6.5, 141.5)  # south, west, north, east

# Names people use for provinces that the official names do not contain, in Indonesian and
# English ("Jogja", "Jateng", "West Java").
PROVINCE_ALIASES: dict[str, tuple[str, ...]] = {
    "11": ("nad", "nanggroe aceh darussalam"),
    "12": ("sumut", "north sumatra", "north sumatera", "sumatra utara"),
    "13": ("sumbar", "west sumatra", "west sumatera", "sumatra barat"),
    "16": ("sumsel", "south sumatra", "south sumatera", "sumatra selatan"),
    "19": ("babel", "bangka belitung", "bangka belitung islands"),
    "21": ("kepri", "riau islands"),
    "31": ("jakarta", "dki", "dki jakarta", "daerah khusus jakarta", "jakarta raya"),
    "32": ("jabar", "west java"),
    "33": ("jateng", "central java"),
    "34": (
        "diy",
        "jogja",
        "yogya",
        "jogjakarta",
        "di yogyakarta",
        "special region of yogyakarta",
    ),
    "35": ("jatim", "east java"),
    "52": ("ntb", "west nusa tenggara"),
    "53": ("ntt", "east nusa tenggara"),
    "61": ("kalbar", "west kalimantan", "west borneo"),
    "62": ("kalteng", "central kalimantan", "central borneo"),
    "63": ("kalsel", "south kalimantan", "south borneo"),
    "64": ("kaltim", "east kalimantan", "east borneo"),
    "65": ("kaltara", "north kalimantan", "north borneo"),
    "71": ("sulut", "north sulawesi"),
    "72": ("sulteng", "central sulawesi"),
    "73": ("sulsel", "south sulawesi"),
    "74": ("sultra", "southeast sulawesi", "south east sulawesi"),
    "76": ("sulbar", "west sulawesi"),
    "81": ("moluccas",),
    "82": ("malut", "north maluku", "north moluccas"),
    "92": ("west papua",),
    "93": ("south papua",),
    "94": ("central papua",),
    "95": ("highland papua",),
    "96": ("southwest papua", "south west papua"),
}

# Names people use for cities and regencies: "Solo" is Kota Surakarta, "Jaksel" Jakarta
# Selatan.
REGENCY_ALIASES: dict[str, tuple[str, ...]] = {
    "31.71": ("jakpus", "central jakarta"),
    "31.72": ("jakut", "north jakarta"),
    "31.73": ("jakbar", "west jakarta"),
    "31.74": ("jaksel", "south jakarta"),
    "31.75": ("jaktim", "east jakarta"),
    "33.72": ("solo",),
    "34.71": ("jogja kota", "kota jogja", "yogyakarta city", "jogja city"),
}

# The prefixes of official names that people leave out ("Daerah Istimewa Yogyakarta" is
# "Yogyakarta", "Kota Administrasi Jakarta Pusat" is "Jakarta Pusat").
NAME_PREFIXES = (
    "provinsi ",
    "daerah istimewa ",
    "daerah khusus ibukota ",
    "daerah khusus ",
    "kabupaten administrasi ",
    "kota administrasi ",
    "kabupaten ",
    "kota ",
)


def search_names(region: Region) -> set[str]:
    """Every folded name ``region`` is found by: its official and short name, those without
    their prefix (provinces and regencies), and the names people commonly use for it."""
    names = {fold(region.name), fold(region.short_name)}
    if region.level in ("province", "regency"):
        for name in list(names):
            for prefix in NAME_PREFIXES:
                if name.startswith(prefix) and len(name) > len(prefix):
                    names.add(name[len(prefix) :])
                    break
    aliases = PROVINCE_ALIASES if region.level == "province" else REGENCY_ALIASES
    if region.level in ("province", "regency"):
        names.update(aliases.get(region.code, ()))
    names.discard("")
    return names


def haversine_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres."""
    return great_circle_m(a.lat, a.lon, b.lat, b.lon, EARTH_RADIUS_M)


def in_indonesia_bounds(point: Point) -> bool:
    south, west, north, east = INDONESIA_BOUNDS
    return south <= point.lat <= north and west <= point.lon <= east


@dataclass(frozen=True, slots=True)
class Region:
    """One administrative area."""

    code: str
    name: str
    level: str  # province | regency | district | village
    parent: str | None
    lat: float
    lon: float
    kind: str  # provinsi | kabupaten | kota | kecamatan | desa | kelurahan
    short_name: str
    postal_code: str | None
    capital_lat: float | None
    capital_lon: float | None

    @property
    def centroid(self) -> Point:
        return Point(self.lat, self.lon)

    @property
    def center(self) -> Point:
        """Where a search "in" this area starts: its capital when known, else its centroid."""
        if self.capital_lat is not None and self.capital_lon is not None:
            return Point(self.capital_lat, self.capital_lon)
        return self.centroid

    @property
    def depth(self) -> int:
        return LEVELS.index(self.level)


def _float(raw: str) -> float | None:
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


# Typos corrected and place labels, remembered (each a short list of areas, a string).
SIMILAR_REMEMBERED = 4096


class Gazetteer:
    """Look-ups over the Kemendagri areas; immutable once loaded."""

    def __init__(self, regions: list[Region]) -> None:
        self._by_code: dict[str, Region] = {r.code: r for r in regions}
        self._by_name: dict[str, list[str]] = defaultdict(list)
        self._villages = [r for r in regions if r.level == "village"]
        self._village_tree: cKDTree | None = None  # built at the first nearest_village
        for region in regions:
            for name in search_names(region):
                self._by_name[name].append(region.code)
        self.max_name_words = max(len(name.split()) for name in self._by_name)
        # Names of provinces, regencies and districts: the ones worth correcting typos in.
        self._major_names = sorted(
            name
            for name, codes in self._by_name.items()
            if any(self._by_code[c].level != "village" for c in codes)
        )
        # The major names an edit distance can reach by length alone, in the same order;
        # and the answers already given (the data never changes; a typed search asks
        # for the same words up to three times, ~1 ms each over all 7,897 names).
        self._names_near_length: dict[tuple[int, int], list[str]] = {}
        self._similar: dict[str, list[tuple[Region, int]]] = {}
        self._labels: dict[tuple[str, int], str] = {}

    @classmethod
    def from_csv(cls, path: Path) -> Gazetteer:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
        regions = []
        for row in reader:
            lat, lon = _float(row["lat"]), _float(row["lon"])
            if lat is None or lon is None or row["level"] not in LEVELS:
                continue
            regions.append(
                Region(
                    code=row["code"],
                    name=row["name"],
                    level=row["level"],
                    parent=row["parent_code"] or None,
                    lat=lat,
                    lon=lon,
                    kind=row["kind"],
                    short_name=row["short_name"] or row["name"],
                    postal_code=row.get("postal_code") or None,
                    capital_lat=_float(row.get("capital_lat", "")),
                    capital_lon=_float(row.get("capital_lon", "")),
                )
            )
        return cls(regions)

    @staticmethod
    @lru_cache(maxsize=4)
    def load(path: Path) -> Gazetteer:
        """Load (once per path and process) the gazetteer file."""
        return Gazetteer.from_csv(path)

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Region]:
        return iter(self._by_code.values())

    def get(self, code: str | None) -> Region | None:
        return self._by_code.get(code) if code else None

    def lookup(self, folded_name: str) -> list[Region]:
        """Every area whose (folded) name or short name is exactly ``folded_name``."""
        return [self._by_code[c] for c in self._by_name.get(folded_name, ())]

    def similar(self, folded_name: str) -> list[Region]:
        """Provinces, regencies and districts whose name is one typo (two in long names)
        away from ``folded_name``: "slemn" → Sleman. The closest first."""
        return [r for r, _ in self.similar_with_edits(folded_name)]

    def similar_with_edits(self, folded_name: str) -> list[tuple[Region, int]]:
        """:meth:`similar`, with how many edits away each area's name is."""
        if len(folded_name) < 4:
            return []
        known = self._similar.get(folded_name)
        if known is not None:
            return list(known)
        max_edits = 1 if len(folded_name) <= 8 else 2
        found: dict[Region, int] = {}
        for name, edits, _ in process.extract(
            folded_name,
            # In the order of all names: the same ties as a scan of them.
            near_length(self._major_names, len(folded_name), max_edits, self._names_near_length),
            scorer=OSA.distance,
            score_cutoff=max_edits,
            limit=5,
        ):
            for region in self.lookup(name):
                if region.level != "village" and region not in found:
                    found[region] = int(edits)
        answer = sorted(found.items(), key=lambda item: item[1])
        if len(self._similar) >= SIMILAR_REMEMBERED:
            self._similar.clear()
        self._similar[folded_name] = answer
        return list(answer)

    def lineage(self, code: str) -> list[Region]:
        """The area and its ancestors, province first."""
        chain: list[Region] = []
        region = self._by_code.get(code)
        while region is not None:
            chain.append(region)
            region = self._by_code.get(region.parent) if region.parent else None
        return list(reversed(chain))

    def area_codes(self, code: str) -> list[str]:
        """The codes of the area and its ancestors, province first."""
        return [r.code for r in self.lineage(code)]

    def is_within(self, code: str, ancestor: str) -> bool:
        return code == ancestor or code.startswith(ancestor + ".")

    def children(self, code: str) -> list[Region]:
        prefix = code + "."
        depth = code.count(".") + 1
        return [
            r for c, r in self._by_code.items() if c.startswith(prefix) and c.count(".") == depth
        ]

    def villages_of(self, code: str) -> list[Region]:
        prefix = code + "."
        return [
            r for c, r in self._by_code.items() if r.level == "village" and c.startswith(prefix)
        ]

    def nearest_village(self, point: Point, max_km: float = 500.0) -> tuple[Region, float] | None:
        """The village whose centroid is nearest to ``point`` (within ``max_km``) and its
        distance in metres.

        A k-d tree over unit vectors (the chord grows with the great-circle distance, so
        the nearest by chord is the nearest on the sphere), built at the first call: tens
        of microseconds a look-up, where scanning the villages of nearby grid cells took a
        millisecond in a city. Of equally near villages, the first in the data wins.
        """
        if not (math.isfinite(point.lat) and math.isfinite(point.lon)) or not self._villages:
            return None
        if self._village_tree is None:
            lats = np.array([r.lat for r in self._villages])
            lons = np.array([r.lon for r in self._villages])
            self._village_tree = cKDTree(unit_vectors(lats, lons))
        target = unit_vector(point.lat, point.lon)
        _, found = self._village_tree.query(target, k=min(4, len(self._villages)))
        distance, index = min(
            (haversine_m(point, self._villages[int(i)].centroid), int(i))
            for i in np.atleast_1d(found)
        )
        if distance > max_km * 1000:
            return None
        return self._villages[index], distance

    def label(self, code: str, *, depth: int = 2) -> str:
        """A readable place name: the area and up to ``depth`` ancestors, smallest first
        (remembered: every location search and typed list names places)."""
        key = (code, depth)
        known = self._labels.get(key)
        if known is not None:
            return known
        chain = self.lineage(code)
        if not chain:
            return code
        label = ", ".join(display_name(r) for r in reversed(chain[-(depth + 1) :]))
        if len(self._labels) >= SIMILAR_REMEMBERED:
            self._labels.clear()
        self._labels[key] = label
        return label


def display_name(region: Region) -> str:
    """The name as Indonesians write it: "Kota Medan", "Kab. Sleman", "Kec. Depok", "Desa X"."""
    if region.level == "regency":
        if region.kind == "kota":
            return region.name if region.name.startswith("Kota") else f"Kota {region.short_name}"
        return f"Kab. {region.short_name}"
    if region.level == "district":
        return f"Kec. {region.name}"
    if region.level == "village":
        return f"{'Kel.' if region.kind == 'kelurahan' else 'Desa'} {region.name}"
    return region.name
