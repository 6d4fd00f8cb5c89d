"""Grid cells: nearest-first search for engines whose geo index does not narrow the scan.

MongoDB answers ``$geoNear`` from the 2dsphere index by reading only nearby cells, so the
directory uses it there. The embedded engine (SecantusDB) computes the distance of every
document in the collection for each ``$geoNear`` (885 ms at 10,000 cooperatives and 7.4 s
at the national 133,762 in ``bench/README.md``), so on that engine the directory instead
keeps a few grid-cell keys per cooperative in an ordinary multikey index, reads the
candidates of the cells around the point and orders them here by great-circle distance,
computed as MongoDB computes it, so both paths give the same list.
"""

from __future__ import annotations

import math

# MongoDB's spherical distances use this radius (kRadiusOfEarthInMeters).
MONGO_EARTH_RADIUS_M = 6_378_100.0

# Cell sizes in degrees, finest first. A search of radius r reads the cells of the finest
# level whose cell is at least r wide, so it touches about nine cells of any level.
LEVELS_DEG = (0.05, 0.25, 1.0, 4.0)
_M_PER_DEG_LAT = math.pi * MONGO_EARTH_RADIUS_M / 180
# Beyond this many cells, reading them is no cheaper than the plain geo query.
MAX_CELLS = 400


def great_circle_m(
    lat1: float, lon1: float, lat2: float, lon2: float, radius_m: float = MONGO_EARTH_RADIUS_M
) -> float:
    """The haversine distance in metres on a sphere of ``radius_m``."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * radius_m * math.asin(min(1.0, math.sqrt(h)))


def _key(deg: float, i: int, j: int) -> str:
    return f"{deg:g}:{i}:{j}"


def cell_keys(lat: float, lon: float) -> list[str]:
    """The cell of ``(lat, lon)`` at every level."""
    return [_key(deg, math.floor(lat / deg), math.floor(lon / deg)) for deg in LEVELS_DEG]


def covering(lat: float, lon: float, radius_m: float) -> list[str] | None:
    """Keys of every cell that can hold a point within ``radius_m`` of ``(lat, lon)``, or
    None when cells cannot answer (the circle reaches a pole or crosses the antimeridian,
    or would take more than ``MAX_CELLS`` cells)."""
    if not (math.isfinite(lat) and math.isfinite(lon) and math.isfinite(radius_m)):
        return None
    dlat = radius_m / _M_PER_DEG_LAT * 1.001  # a margin for rounding
    if abs(lat) + dlat >= 89.0:
        return None
    # The widest longitude span of the circle is at its latitude nearest a pole.
    widest = math.cos(math.radians(abs(lat) + dlat))
    dlon = dlat / widest
    if lon - dlon < -180.0 or lon + dlon > 180.0:
        return None
    for deg in LEVELS_DEG:
        if deg * _M_PER_DEG_LAT * widest >= radius_m or deg == LEVELS_DEG[-1]:
            rows = range(math.floor((lat - dlat) / deg), math.floor((lat + dlat) / deg) + 1)
            cols = range(math.floor((lon - dlon) / deg), math.floor((lon + dlon) / deg) + 1)
            if len(rows) * len(cols) > MAX_CELLS:
                return None
            return [_key(deg, i, j) for i in rows for j in cols]
    return None  # pragma: no cover - the loop always returns at the last level
