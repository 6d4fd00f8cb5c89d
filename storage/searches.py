"""Saved searches: what a result list's buttons (pages, filters, place choice) refer to."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from datetime import UTC, datetime

from storage.batching import GroupCommit, insert_each
from storage.models import Point, SavedSearch
from storage.mongo import Document, Store

log = logging.getLogger(__name__)

# How long a saved search waits for others to go in the same insert: one insert per
# 20 ms instead of one per search or two at ten users (the inbox's done marks wait 20 ms,
# after these writes).
SAVE_GATHER_S = 0.02
QUESTIONS_KEPT = 10_000  # open questions kept before the unanswered ones are dropped


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
    """Reads and writes the ``searches`` collection (expires after a week, TTL index).

    A search is written behind its list: :meth:`save` returns at once and the insert runs
    in the background (searches saved meanwhile go in one insert), so a result list waits
    for no write; :meth:`get` finds a search not written yet. :meth:`settle` waits for the
    writes begun before it: the inbox calls it before it marks updates done
    (``bot/telegram/processing.py``), so a crash before a list's search is written replays
    the update — the list is sent again, with buttons that work.
    """

    def __init__(self, store: Store) -> None:
        self._col = store["searches"]
        # Searches saved within SAVE_GATHER_S of each other go in one insert (nobody waits
        # for it: the list is already sent, and ``get`` finds a search not yet written).
        self._saving: GroupCommit[Document, None] = GroupCommit(
            functools.partial(insert_each, self._col), gather_s=SAVE_GATHER_S
        )
        self._unwritten: dict[str, Document] = {}
        self._writes: set[asyncio.Task[None]] = set()
        # Each user's open question ("where should I look?"), kept here between the
        # question and its answer; read once from the collection after a restart.
        self._questions: dict[int, SavedSearch] = {}
        self._questions_read = False
        self._reading = asyncio.Lock()
        self._prune_at = QUESTIONS_KEPT

    async def save(self, search: SavedSearch) -> SavedSearch:
        """Store ``search`` under a new short id (fits in 64-byte callback data); written
        in the background (:meth:`settle`)."""
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
        self._unwritten[search.id] = doc
        task = asyncio.create_task(self._write(doc), name="save-search")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return search

    async def _write(self, doc: Document) -> None:
        try:
            await self._saving(doc)
        except Exception as exc:  # the list's buttons will say it expired
            log.warning("saved search not written error=%s", type(exc).__name__)
        finally:
            self._unwritten.pop(doc["_id"], None)

    async def settle(self) -> None:
        """Wait for the searches saved so far to be written (or to have failed)."""
        if self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    async def get(self, search_id: str) -> SavedSearch | None:
        doc = self._unwritten.get(search_id)
        if doc is None:
            doc = await self._col.find_one({"_id": search_id})
        return _record(doc) if doc else None

    # -- open questions: a query answered with "where should I look?" waits for the answer

    async def ask(self, search: SavedSearch, since: datetime) -> SavedSearch:
        """Keep ``search`` (kind ``question``: its filter and name words) as its user's
        open question until :meth:`take_question`; saved like any search (written behind,
        settled before the inbox marks the update done), so a restart keeps it."""
        await self._read_questions(since)
        saved = await self.save(search)
        self._questions[search.user_id] = saved
        if len(self._questions) > self._prune_at:  # the unanswered, once in a while
            self._questions = {
                user: q
                for user, q in self._questions.items()
                if q.created_at is not None and q.created_at > since
            }
            self._prune_at = max(QUESTIONS_KEPT, 2 * len(self._questions))
        return saved

    async def take_question(self, user_id: int, since: datetime) -> SavedSearch | None:
        """The user's open question asked after ``since``, answered now (once)."""
        await self._read_questions(since)
        question = self._questions.pop(user_id, None)
        if question is None or question.created_at is None or question.created_at <= since:
            return None
        return question

    def forget(self, user_id: int) -> None:
        """Drop what is kept of the user here (erasure; the collection is erased apart)."""
        self._questions.pop(user_id, None)

    async def _read_questions(self, since: datetime) -> None:
        """After a start: the questions asked after ``since`` not followed by another search
        of the same user (a later search is what answered it)."""
        if self._questions_read:
            return
        async with self._reading:
            if self._questions_read:
                return
            latest: dict[int, SavedSearch] = {}
            async for doc in self._col.find({"kind": "question", "created_at": {"$gt": since}}):
                question = _record(doc)
                known = latest.get(question.user_id)
                if known is None or _later(question, known):
                    latest[question.user_id] = question
            if latest:
                answered = self._col.find(
                    {
                        "user_id": {"$in": list(latest)},
                        "kind": {"$ne": "question"},
                        "created_at": {"$gt": since},
                    },
                    {"user_id": 1, "created_at": 1},
                )
                async for doc in answered:
                    asked = latest.get(int(doc.get("user_id", 0)))
                    if asked is not None and doc["created_at"] >= _aware(asked):
                        del latest[asked.user_id]
            for user_id, question in latest.items():
                self._questions.setdefault(user_id, question)
            self._questions_read = True


def _aware(search: SavedSearch) -> datetime:
    created = search.created_at or datetime.min.replace(tzinfo=UTC)
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def _later(a: SavedSearch, b: SavedSearch) -> bool:
    return _aware(a) > _aware(b)
