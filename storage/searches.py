"""Saved searches: what a result list's buttons (pages, filters, place choice) refer to."""

from __future__ import annotations

import functools
import secrets
from datetime import UTC, datetime

from storage.batching import GroupCommit, insert_each
from storage.models import Point, SavedSearch
from storage.mongo import Document, Store


def _record(doc: Document) -> SavedSearch:
    point = doc.get("point")
    return SavedSearch(
        id=doc["_id"],
        user_id=int(doc.get("user_id", 0)),
        kind=doc.get("kind", "near"),
        point=Point(lat=point[1], lon=point[0]) if point else None,
        radius_km=doc.get("radius_km"),
        area_code=doc.get("area_code"),
        terms=list(doc.get("terms") or []),
        type=doc.get("type"),
        service=doc.get("service"),
        query=doc.get("query", ""),
        candidates=list(doc.get("candidates") or []),
        created_at=doc.get("created_at"),
    )


class SearchRepository:
    """Reads and writes the ``searches`` collection (expires after a week, TTL index)."""

    def __init__(self, store: Store) -> None:
        self._col = store["searches"]
        # Searches saved at the same moment (busy hours) go in one insert.
        self._saving: GroupCommit[Document, None] = GroupCommit(
            functools.partial(insert_each, self._col)
        )

    async def save(self, search: SavedSearch) -> SavedSearch:
        """Store ``search`` under a new short id (fits in 64-byte callback data)."""
        search.id = secrets.token_urlsafe(6)  # 8 characters of A-Z a-z 0-9 _ -
        search.created_at = datetime.now(UTC)
        doc: Document = {
            "_id": search.id,
            "user_id": search.user_id,
            "kind": search.kind,
            "point": [search.point.lon, search.point.lat] if search.point else None,
            "radius_km": search.radius_km,
            "area_code": search.area_code,
            "terms": search.terms,
            "type": search.type,
            "service": search.service,
            "query": search.query,
            "candidates": search.candidates,
            "created_at": search.created_at,
        }
        await self._saving(doc)
        return search

    async def get(self, search_id: str) -> SavedSearch | None:
        doc = await self._col.find_one({"_id": search_id})
        return _record(doc) if doc else None
