"""Test data: generated directories at real village coordinates, and databases that many
tests of a module share."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from bot.app import Services, build_services
from bot.config import Settings
from bot.services.catalog import TYPES
from bot.services.gazetteer import Gazetteer
from storage.mongo import Store

T = TypeVar("T")

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


def present(value: T | None) -> T:
    """``value``, which the test expects to exist: a missing one fails the test here."""
    assert value is not None
    return value


def settings_for(data_dir: Path) -> Settings:
    """The test settings (as conftest's ``settings`` fixture), for fixtures wider than a test."""
    return replace(
        Settings(),
        data_dir=data_dir,
        admin_ids=frozenset({900}),
        data_key="test-data-key-0123456789abcdef",
    )


@asynccontextmanager
async def services_over(uri: str, name: str, settings: Settings) -> AsyncIterator[Services]:
    """The services over the existing database ``name``, through a client of their own.

    A client belongs to the event loop that opened it, and each test runs in its own loop:
    a database shared by a module's tests is reached by each test through this."""
    store = Store.connect(uri, name)
    try:
        yield build_services(store, settings)
    finally:
        await store.close()


@asynccontextmanager
async def shared_database(
    uri: str, settings: Settings, fill: Callable[[Services], Awaitable[None]]
) -> AsyncIterator[str]:
    """A fresh database filled once by ``fill``, for tests that only read what it holds;
    its name, and dropped on exit."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    store = Store.connect(uri, name)
    try:
        await store.ensure_indexes()
        await fill(build_services(store, settings))
    finally:
        await store.close()
    try:
        yield name
    finally:
        store = Store.connect(uri, name)
        try:
            await store.drop_database()
        finally:
            await store.close()


# The board member who runs the cooperatives tests put on the platform (``import_rows``).
BOARD = 8800


async def import_rows(
    services: Services, rows: list[dict[str, Any]], *, on_platform: bool = False
) -> dict[str, str]:
    """Import ``rows`` as a directory CSV; each row's cooperative id by registration number.

    ``on_platform``: :data:`BOARD` becomes an admin of each (granted as an approved claim or
    an invitation would), so they take applications."""
    await services.importer.import_bytes(csv_bytes(rows))
    ids: dict[str, str] = {}
    for row in rows:
        key = "reg:" + row["registration_number"].lower().replace("-", "")
        ids[row["registration_number"]] = present(
            await services.directory.coops.get_by_key(key)
        ).id
    if on_platform:
        await put_on_platform(services, ids.values())
    return ids


async def put_on_platform(services: Services, coop_ids: Iterable[str], admin: int = BOARD) -> None:
    """Give each cooperative an admin (``admin``): it is on the platform."""
    for coop_id in coop_ids:
        await services.board.grant(coop_id, admin, actor=0, how="test")
