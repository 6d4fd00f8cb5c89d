"""The cooperative directory as users see it: one cooperative and where it is."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.gazetteer import Gazetteer, haversine_m
from storage.base import Cooperatives
from storage.models import Cooperative, Point


@dataclass(slots=True)
class DirectoryService:
    coops: Cooperatives
    gazetteer: Gazetteer

    async def get(self, coop_id: str, *, origin: Point | None = None) -> Cooperative | None:
        """One cooperative; with ``origin``, its distance from there."""
        coop = await self.coops.get(coop_id)
        if coop is not None and origin is not None:
            coop.distance_m = haversine_m(origin, coop.location)
        return coop

    def place(self, coop: Cooperative, depth: int = 2) -> str:
        """ "Kel. Kesawan, Kec. Medan Barat, Kota Medan" for the cooperative's village."""
        code = coop.village_code or (coop.areas[-1] if coop.areas else None)
        return self.gazetteer.label(code, depth=depth) if code else ""

    def where(self, point: Point) -> str | None:
        """The village nearest to ``point`` (within 30 km), as a readable label."""
        nearest = self.gazetteer.nearest_village(point)
        if nearest is None or nearest[1] > 30_000:
            return None
        return self.gazetteer.label(nearest[0].code, depth=2)

    async def count(self) -> int:
        return await self.coops.count()
