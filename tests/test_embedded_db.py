"""The embedded database: a child process on a free port that keeps its data, never
outlives its bot, ends what a dead bot left running, refuses a second live bot on the same
data, and comes back by itself when it dies while the bot runs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymongo import WriteConcern

from bot import dbserver
from bot.dbserver import DataDirInUse, EmbeddedDatabaseError, EmbeddedMongo
from bot.dbwatch import EXECUTABLE, Process
from bot.services.health import HealthService
from storage.mongo import Store

ROOT = Path(__file__).resolve().parent.parent


def test_restart_finds_the_same_data(tmp_path: Path) -> None:
    async def write(uri: str) -> None:
        store = Store.connect(uri, "keep")
        await store["things"].insert_one({"_id": 1, "kept": True})
        await store.close()

    async def read(uri: str) -> dict | None:
        store = Store.connect(uri, "keep")
        doc = await store["things"].find_one({"_id": 1})
        await store.close()
        return doc

    with EmbeddedMongo(tmp_path / "db") as server:
        asyncio.run(write(server.uri))
    assert server.port is None
    with EmbeddedMongo(tmp_path / "db") as server:
        assert asyncio.run(read(server.uri)) == {"_id": 1, "kept": True}
        assert server.port is not None


def test_ping_and_indexes_idempotent(tmp_path: Path) -> None:
    async def check(uri: str) -> None:
        store = Store.connect(uri, "idx")
        assert await store.ping()
        await store.ensure_indexes()
        await store.ensure_indexes()  # a restart: nothing to create, nothing fails
        names = {ix["name"] async for ix in await store["cooperatives"].list_indexes()}
        assert {"import_key", "name_tokens", "areas", "geo_cells"} <= names
        # The embedded engine's $geoNear reads every document anyway: no 2dsphere index
        # to write at every import.
        assert "loc_2dsphere" not in names
        await store.close()

    with EmbeddedMongo(tmp_path / "db") as server:
        asyncio.run(check(server.uri))


def test_the_geo_index_only_where_geonear_uses_it(tmp_path: Path) -> None:
    """A database made before (with the 2dsphere index) loses it on the embedded engine;
    where nearest-first runs as $geoNear (MongoDB; forced here) it is created; $geoNear
    answers on the embedded engine either way."""

    async def check(uri: str) -> None:
        store = Store.connect(uri, "geo")
        await store["cooperatives"].create_index([("loc", "2dsphere")], name="loc_2dsphere")
        await store["cooperatives"].insert_one(
            {"loc": {"type": "Point", "coordinates": [110.37, -7.78]}}
        )
        await store.ensure_indexes()
        names = {ix["name"] async for ix in await store["cooperatives"].list_indexes()}
        assert "loc_2dsphere" not in names
        near = {"type": "Point", "coordinates": [110.36, -7.78]}
        cursor = await store["cooperatives"].aggregate(
            [{"$geoNear": {"near": near, "distanceField": "d", "spherical": True, "key": "loc"}}]
        )
        assert [round(doc["d"]) async for doc in cursor] == [1103]
        store.geo_mode = "geonear"
        await store.ensure_indexes()
        names = {ix["name"] async for ix in await store["cooperatives"].list_indexes()}
        assert "loc_2dsphere" in names
        await store.close()

    with EmbeddedMongo(tmp_path / "db") as server:
        asyncio.run(check(server.uri))


# -- a bot that dies, a leftover server, a second bot ---------------------------------------

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


def gone_within(pid: int, seconds: float) -> float | None:
    """Seconds until process ``pid`` is gone (zombies count as gone), or None if it stays."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if Process.find(pid) is None:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def orphan_server(path: Path, port: int) -> int:
    """A database server on ``path`` whose parent is gone, as a killed bot used to leave."""
    path.mkdir(parents=True, exist_ok=True)
    command = shlex.join(
        [
            str(Path(sys.executable).parent / EXECUTABLE),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            str(path),
        ]
    )
    shell = subprocess.run(
        ["sh", "-c", f"{command} >>{shlex.quote(str(path))}.orphan.log 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    pid = int(shell.stdout)
    deadline = time.monotonic() + 60
    while not port_open(port):
        assert time.monotonic() < deadline and Process.find(pid) is not None
        time.sleep(0.05)
    return pid


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@posix_only
def test_database_ends_when_its_owner_is_killed(tmp_path: Path) -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from bot.dbserver import EmbeddedMongo\n"
            "server = EmbeddedMongo(Path(sys.argv[1])); server.start()\n"
            "print(server.pid, flush=True); sys.stdin.read()",
            str(tmp_path / "db"),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as owner:
        try:
            assert owner.stdout is not None
            server = int(owner.stdout.readline())
            watchdog = json.loads((tmp_path / "db.pid").read_text())["watchdog"]
            assert Process.find(server) is not None and Process.find(watchdog) is not None
            owner.kill()  # kill -9: no clean-up of any kind in the owner
            owner.wait(10)
            assert gone_within(server, 15) is not None
            assert gone_within(watchdog, 5) is not None
        finally:
            owner.kill()
    with EmbeddedMongo(tmp_path / "db") as again:  # and the data is free again
        assert again.port is not None


@linux_only
def test_leftover_of_the_same_data_is_ended(tmp_path: Path) -> None:
    path = tmp_path / "var" / "db"
    port = free_port()
    leftover = orphan_server(path, port)
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"

    async def write() -> None:
        store = Store.connect(uri, "keep")
        await store["things"].insert_one({"_id": 1, "kept": True})
        await store.close()

    asyncio.run(write())
    try:
        with EmbeddedMongo(path) as server:
            assert Process.find(leftover) is None
            store = Store.connect(server.uri, "keep")
            assert asyncio.run(_find_one(store)) == {"_id": 1, "kept": True}
            record = json.loads(server.pid_file.read_text())
            assert record["bot"] == os.getpid() and record["server"] == server.pid
            assert record["port"] == server.port and record["storage_path"] == str(path)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(leftover, signal.SIGKILL)


async def _find_one(store: Store) -> dict | None:
    try:
        return await store["things"].find_one({"_id": 1})
    finally:
        await store.close()


@posix_only
def test_stale_pid_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    # The recorded pids now belong to an unrelated process: it must be left alone.
    unrelated = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "db.pid").write_text(
            json.dumps({"bot": unrelated.pid, "server": unrelated.pid, "watchdog": 999999})
        )
        with EmbeddedMongo(tmp_path / "db") as server:
            assert json.loads(server.pid_file.read_text())["server"] == server.pid
        assert unrelated.poll() is None
        assert server.pid_file.read_text() == ""  # nothing runs now
    finally:
        unrelated.kill()
        unrelated.wait(10)


@posix_only
def test_a_second_owner_of_the_same_data_is_refused(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path / "db") as first:
        with pytest.raises(DataDirInUse) as refused:
            EmbeddedMongo(tmp_path / "db").start()
        assert str(refused.value) == (
            f"Another copy of the bot (pid {os.getpid()}) is using DATA_DIR {tmp_path}; "
            "stop it or set DATA_DIR elsewhere."
        )
        assert first.port is not None and _pings(first.uri)


@linux_only
def test_a_live_bot_of_an_older_version_is_refused(tmp_path: Path) -> None:
    # An older bot took no lock: its server is recognised by its command line and parent.
    fake = tmp_path / "old" / "bot"
    fake.mkdir(parents=True)
    (fake / "__main__.py").write_text(
        "import socket, subprocess, sys, time\n"
        f"server = subprocess.Popen([{str(Path(sys.executable).parent / EXECUTABLE)!r},"
        f" '--port', sys.argv[1], '--storage-path', sys.argv[2]], stdout=subprocess.DEVNULL,"
        " stderr=subprocess.DEVNULL, start_new_session=True)\n"
        "while socket.socket().connect_ex(('127.0.0.1', int(sys.argv[1]))):\n"
        "    time.sleep(0.05)\n"
        "print(server.pid, flush=True); sys.stdin.read(); server.terminate(); server.wait()\n"
    )
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "bot", str(port), str(tmp_path / "db")],
        cwd=fake.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as old:
        assert old.stdin is not None and old.stdout is not None
        server = int(old.stdout.readline())
        try:
            with pytest.raises(DataDirInUse, match=rf"Another copy of the bot \(pid {old.pid}\)"):
                EmbeddedMongo(tmp_path / "db").start()
            assert Process.find(server) is not None  # left alone
        finally:
            old.stdin.close()  # the old bot stops its server
            old.wait(30)
            with contextlib.suppress(ProcessLookupError):
                os.kill(server, signal.SIGKILL)


# -- a database that dies while the bot runs -----------------------------------------------


@posix_only
def test_supervised_database_comes_back_after_kill_9(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path / "db", supervise=True) as server:
        port, first = server.port, server.pid
        assert first is not None

        async def scenario() -> tuple[bool, float]:
            store = Store.connect(server.uri, "keep", timeout_ms=500)
            health = HealthService(store)
            try:
                journaled = store["things"].with_options(write_concern=WriteConcern(j=True))
                await journaled.insert_one({"_id": 1, "kept": True})  # w:1 could be lost
                os.kill(first, signal.SIGKILL)  # as the OOM killer would
                down = not await health.ping()
                started = time.monotonic()
                while not await health.ping():
                    assert time.monotonic() - started < 30, "no restart within 30 s"
                    await asyncio.sleep(0.1)
                assert await store["things"].find_one({"_id": 1}) == {"_id": 1, "kept": True}
                return down, time.monotonic() - started
            finally:
                await store.close()

        down, back_after = asyncio.run(scenario())
        assert down
        assert (server.port, server.restarts) == (port, 1)
        assert server.pid not in (None, first)
        assert json.loads(server.pid_file.read_text())["server"] == server.pid
        last = server.pid
    assert last is not None and Process.find(last) is None  # stopped for good, not restarted
    assert back_after < 30


@posix_only
def test_supervisor_keeps_trying_when_a_restart_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with EmbeddedMongo(tmp_path / "db", supervise=True) as server:
        first = server.pid
        assert first is not None
        real, calls = dbserver._executable, []

        def failing_twice() -> str:  # e.g. the package half-upgraded under the running bot
            calls.append(1)
            if len(calls) <= 2:
                raise EmbeddedDatabaseError("not installed right now")
            return real()

        monkeypatch.setattr(dbserver, "_executable", failing_twice)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while server.restarts < 1:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.1)
        assert _pings(server.uri) and server.pid != first
    assert caplog.text.count("did not restart on port") == 2


@posix_only
def test_unsupervised_kill_stays_down_until_started(tmp_path: Path) -> None:
    server = EmbeddedMongo(tmp_path / "db")
    server.start()
    try:
        port = server.port
        assert port is not None
        server.kill()
        time.sleep(1.0)
        assert not port_open(port)
        server.start(port=port)
        assert server.port == port and _pings(server.uri)
    finally:
        server.stop()


def _pings(uri: str) -> bool:
    async def ping() -> bool:
        store = Store.connect(uri, "ping", timeout_ms=2000)
        try:
            return await store.ping()
        finally:
            await store.close()

    return asyncio.run(ping())
