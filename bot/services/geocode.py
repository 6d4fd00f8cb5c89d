"""Free-text geocoding beyond the offline gazetteer: optional Nominatim through geopy.

The offline gazetteer resolves Indonesian area names first (see ``query.py``); this is
the fallback for everything else ("Jalan Malioboro", "Pasar Beringharjo") when
``GEOCODER=nominatim``. Nominatim's policy: a real user agent, at most one request per
second, and caching — all three are enforced here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any, Protocol

from geopy.adapters import AioHTTPAdapter
from geopy.extra.rate_limiter import AsyncRateLimiter
from geopy.geocoders import Nominatim

from bot.services.text import fold
from storage.models import Point

log = logging.getLogger(__name__)


class Geocoder(Protocol):
    async def geocode(self, text: str) -> Point | None: ...
    async def close(self) -> None: ...


class NominatimGeocoder:
    """Nominatim via geopy's aiohttp adapter: rate-limited, cached, Indonesia only."""

    def __init__(
        self,
        *,
        user_agent: str,
        domain: str = "nominatim.openstreetmap.org",
        scheme: str = "https",
        min_delay_seconds: float = 1.0,
        timeout: float = 5.0,
        cache_size: int = 2048,
    ) -> None:
        self._geolocator: Any = Nominatim(
            user_agent=user_agent,
            domain=domain,
            scheme=scheme,
            timeout=timeout,
            adapter_factory=AioHTTPAdapter,
        )
        self._limited = AsyncRateLimiter(
            self._geolocator.geocode,
            min_delay_seconds=min_delay_seconds,
            max_retries=1,
            error_wait_seconds=min_delay_seconds * 2,
            swallow_exceptions=True,
            return_value_on_exception=None,
        )
        self._cache: OrderedDict[str, Point | None] = OrderedDict()
        self._cache_size = cache_size
        self._lock = asyncio.Lock()
        self._entered = False

    async def geocode(self, text: str) -> Point | None:
        key = fold(text)
        if not key:
            return None
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        async with self._lock:  # one request at a time; the rate limiter spaces them
            if not self._entered:
                await self._geolocator.__aenter__()
                self._entered = True
            location = await self._limited(
                text, exactly_one=True, country_codes="id", language="id"
            )
        point = Point(location.latitude, location.longitude) if location else None
        self._cache[key] = point
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        log.info("geocoded query found=%s", point is not None)
        return point

    async def close(self) -> None:
        if self._entered:
            await self._geolocator.__aexit__(None, None, None)
            self._entered = False
