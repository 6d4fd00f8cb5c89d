"""Group commit (storage/batching.py): concurrent writes gathered into one command, each
caller still told about its own item."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from pymongo.errors import AutoReconnect, DuplicateKeyError

from storage.batching import GroupCommit, insert_each
from storage.models import Point, SavedSearch
from storage.mongo import Store
from storage.searches import SearchRepository


async def test_items_arriving_during_a_write_go_together_in_the_next() -> None:
    batches: list[list[int]] = []

    async def write(items: list[int]) -> Sequence[int | Exception]:
        batches.append(items)
        await asyncio.sleep(0)
        return [ValueError(n) if n == 7 else n * 10 for n in items]

    commit: GroupCommit[int, int] = GroupCommit(write)
    results = await asyncio.gather(*(commit(n) for n in range(10)), return_exceptions=True)
    assert [r if not isinstance(r, Exception) else "error" for r in results] == [
        0, 10, 20, 30, 40, 50, 60, "error", 80, 90
    ]  # fmt: skip
    assert sorted(n for b in batches for n in b) == list(range(10))
    assert len(batches) <= 2  # one alone at once, the rest together
    assert await commit(11) == 110  # idle again: a single item written at once


async def test_a_failed_write_fails_its_batch_only() -> None:
    calls = [0]

    async def write(items: list[int]) -> Sequence[int | Exception]:
        calls[0] += 1
        if calls[0] == 1:
            raise AutoReconnect("database away")
        return items

    commit: GroupCommit[int, int] = GroupCommit(write)
    with pytest.raises(AutoReconnect):
        await commit(1)
    assert await commit(2) == 2


async def test_a_cancelled_caller_does_not_stop_the_others() -> None:
    release = asyncio.Event()

    async def write(items: list[int]) -> Sequence[int | Exception]:
        await release.wait()
        return items

    commit: GroupCommit[int, int] = GroupCommit(write)
    first = asyncio.create_task(commit(1))
    second = asyncio.create_task(commit(2))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == 2
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_insert_each_tells_each_document_apart(store: Store) -> None:
    col = store["batching_probe"]
    await col.insert_one({"_id": 2})
    results = await insert_each(col, [{"_id": 1}, {"_id": 2}, {"_id": 3}, {"_id": 1}])
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], DuplicateKeyError) and isinstance(results[3], DuplicateKeyError)
    assert sorted([d["_id"] async for d in col.find({})]) == [1, 2, 3]


async def test_searches_saved_together_are_each_found(store: Store) -> None:
    repo = SearchRepository(store)
    saved = await asyncio.gather(
        *(
            repo.save(SavedSearch(id="", user_id=n, kind="near", point=Point(-7.7, 110.4 + n)))
            for n in range(20)
        )
    )
    assert len({s.id for s in saved}) == 20
    for search in saved:
        found = await repo.get(search.id)
        assert found is not None and found.user_id == search.user_id
        assert found.point is not None and found.point.lon == pytest.approx(110.4 + search.user_id)
    await repo.settle()
    assert await store["searches"].count_documents({}) == 20


async def test_a_search_is_written_behind_its_list_and_found_before(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``save`` does not wait for the write; ``get`` finds the search meanwhile; ``settle``
    waits for it; a write that fails is logged (without the search) and forgotten."""
    repo = SearchRepository(store)
    search = await repo.save(SavedSearch(id="", user_id=5, kind="area", area_code="34.04"))
    assert search.id in repo._unwritten  # returned before the write ran
    found = await repo.get(search.id)
    assert found is not None and found.area_code == "34.04"
    await repo.settle()
    assert repo._unwritten == {}
    assert (await store["searches"].find_one({"_id": search.id}))["user_id"] == 5
    # The same id again (a key already taken): the write fails, the caller never knew.
    monkeypatch.setattr("storage.searches.secrets.token_urlsafe", lambda n: search.id)
    clash = await repo.save(SavedSearch(id="", user_id=6, kind="area", area_code="12.71"))
    await repo.settle()
    assert "saved search not written error=DuplicateKeyError" in caplog.text
    assert "12.71" not in caplog.text
    kept = await repo.get(clash.id)
    assert kept is not None and kept.user_id == 5


async def test_items_gathered_for_a_while_go_in_one_write() -> None:
    """With ``gather_s``, items arriving one by one within it share a write (the saved
    searches: nobody waits for them in their turn)."""
    batches: list[list[int]] = []

    async def write(items: list[int]) -> Sequence[int | Exception]:
        batches.append(items)
        return items

    commit: GroupCommit[int, int] = GroupCommit(write, gather_s=0.05)
    waits = []
    for n in range(5):
        waits.append(asyncio.ensure_future(commit(n)))
        await asyncio.sleep(0)  # one by one, each a turn of the loop apart
    assert await asyncio.gather(*waits) == [0, 1, 2, 3, 4]
    assert batches == [[0, 1, 2, 3, 4]]
