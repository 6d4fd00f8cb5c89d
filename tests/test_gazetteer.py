"""The gazetteer's nearest village: the same answer as measuring every village."""

from __future__ import annotations

import math
import random

from bot.services.gazetteer import Gazetteer, haversine_m
from storage.models import Point


def _brute_force(gazetteer: Gazetteer, point: Point) -> float:
    return min(haversine_m(point, r.centroid) for r in gazetteer._villages)


def test_nearest_village_is_the_nearest_of_all(gazetteer: Gazetteer) -> None:
    rng = random.Random(17)
    villages = gazetteer._villages
    points = [
        Point(r.lat + rng.uniform(-0.02, 0.02), r.lon + rng.uniform(-0.02, 0.02))
        for r in rng.sample(villages, 40)
    ] + [Point(rng.uniform(-11, 6), rng.uniform(95, 141)) for _ in range(20)]
    for point in points:
        found = gazetteer.nearest_village(point)
        nearest = _brute_force(gazetteer, point)
        if nearest > 500_000:
            assert found is None
            continue
        assert found is not None
        region, distance = found
        assert region.level == "village"
        assert math.isclose(distance, nearest, abs_tol=1e-6)
        assert math.isclose(haversine_m(point, region.centroid), distance)


def test_a_village_centre_finds_itself_and_nothing_far_out_at_sea(gazetteer: Gazetteer) -> None:
    village = next(r for r in gazetteer._villages if r.name == "Caturtunggal")
    found = gazetteer.nearest_village(village.centroid)
    assert found is not None and found[0].code == village.code and found[1] < 1
    assert gazetteer.nearest_village(Point(-30.0, 80.0)) is None  # the Indian Ocean
    assert gazetteer.nearest_village(Point(float("nan"), 110.0)) is None
