"""The real ``python -m bot`` with its embedded database, killed as the OOM killer would:
its database goes with it, the next start finds the same data, a second bot on the same
``DATA_DIR`` is refused while the first lives, Ctrl-C still stops the bot before its
database, and a database killed under a running webhook server comes back by itself."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import aiohttp
import pytest

from bot.dbwatch import Process, all_pids
from bot.telegram.localapi import LocalBotApi
from bot.telegram.localserver import LocalBotApiServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")

ROOT = Path(__file__).resolve().parent.parent
SECRET = "embedded-db-webhook-secret"
GONE_S = 15.0  # the database stops cleanly in about 2 s


def bot_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATA_DIR": str(data_dir), **extra}
    for name in ("MONGODB_URI", "DATA_KEY", "DATA_KEY_PREVIOUS"):
        env.pop(name, None)
    if "TELEGRAM_BOT_TOKEN" not in extra:
        env.pop("TELEGRAM_BOT_TOKEN", None)
    return env


class Lines:
    """A process's output, line by line, read with deadlines (never an unbounded wait)."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{text!r} not printed in {timeout:.0f} s") from None
            assert line is not None, f"output ended before {text!r}: {self.seen[-5:]}"
            self.seen.append(line)


def gone_within(pid: int, seconds: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if Process.find(pid) is None:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def database_pids(data_dir: Path) -> tuple[int, int | None]:
    """The running database server of ``DATA_DIR`` and its watchdog (None: none runs it).

    Found by their command lines where /proc lists every process; elsewhere from the pid
    file the bot writes."""
    target = (data_dir / "db").resolve()
    found = [p for p in map(Process.find, all_pids()) if p and p.storage_path() == target]
    if not found:
        record = json.loads((data_dir / "db.pid").read_text())
        return int(record["server"]), int(record["watchdog"])
    server = [p.pid for p in found if not p.is_watchdog]
    watchdog = [p.pid for p in found if p.is_watchdog]
    assert len(server) == 1 and len(watchdog) <= 1, found
    return server[0], watchdog[0] if watchdog else None


def gone(watchdog: int | None) -> bool:
    return watchdog is None or gone_within(watchdog, 5) is not None


def python_bot(*args: str, env: dict[str, str], **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-m", "bot", *args], env=env, cwd=ROOT, text=True, **kwargs
    )


def run_bot(*args: str, env: dict[str, str], script: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=ROOT,
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Lines, Path]]:
    """A real console bot (stdin kept open) that chose English, in its own process group."""
    data_dir = tmp_path / "var"
    proc = python_bot(
        "console",
        "--no-demo",
        env=bot_env(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # so that a "Ctrl-C" reaches this bot's group only
    )
    assert proc.stdin is not None and proc.stdout is not None
    lines = Lines(proc.stdout)
    try:
        proc.stdin.write("/language\n#tap English\n")
        proc.stdin.flush()
        lines.wait_for("From now on I will speak English")
        yield proc, lines, data_dir
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_console_killed_leaves_no_database_and_refuses_a_second_bot(console) -> None:
    proc, _, data_dir = console
    server, watchdog = database_pids(data_dir)
    # Ctrl-C in a terminal reaches the bot's process group, never its database.
    assert os.getpgid(server) != os.getpgid(proc.pid)

    second = run_bot("admins", "list", env=bot_env(data_dir))
    assert second.returncode == 1
    assert (
        f"Another copy of the bot (pid {proc.pid}) is using DATA_DIR {data_dir}; stop it or "
        "set DATA_DIR elsewhere." in second.stderr
    )
    assert "Traceback" not in second.stderr
    assert Process.find(server) is not None  # the first bot's database is left alone

    proc.kill()  # kill -9
    proc.wait(10)
    assert gone_within(server, GONE_S) is not None, "the database outlived the bot"
    assert gone(watchdog)

    again = run_bot("console", "--no-demo", env=bot_env(data_dir), script="/start\n")
    assert again.returncode == 0, again.stderr
    assert "Welcome to Gerbang Koperasi" in again.stdout  # the language chosen before the kill
    assert "Traceback" not in again.stderr


def test_ctrl_c_stops_the_bot_before_its_database(console) -> None:
    proc, _, data_dir = console
    server, watchdog = database_pids(data_dir)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends to the bot's group
    time.sleep(1.0)
    assert Process.find(server) is not None  # the database did not get it
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.close()  # a script's reader wakes at the end of its input
    assert proc.wait(30) == 130
    assert "Traceback" not in proc.stderr.read()
    log = (data_dir / "bot.log").read_text()
    assert "Application.stop() complete" in log  # its clean shutdown had the database
    assert "Traceback" not in log and "ServerSelectionTimeoutError" not in log
    assert gone_within(server, GONE_S) is not None and gone(watchdog)
    assert (data_dir / "db.pid").read_text() == ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_database_killed_comes_back_then_bot_killed(tmp_path: Path) -> None:
    fake = LocalBotApiServer()
    base_url = await fake.start()
    port = free_port()
    data_dir = tmp_path / "var"
    env = bot_env(
        data_dir,
        TELEGRAM_BOT_TOKEN="123456:ABC",
        TELEGRAM_API_BASE_URL=base_url,
        PORT=str(port),
        WEBHOOK_SECRET=SECRET,
        MONGODB_TIMEOUT_MS="1000",
    )
    api = fake.api
    user = LocalBotApi.user(71, "id")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "webhook.log"
    with open(log_path, "w") as log_file:  # noqa: ASYNC230 - before any concurrent work
        proc = python_bot("webhook", env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:

            async def ready() -> int:
                try:
                    async with http.get(f"{url}/readyz") as response:
                        return response.status
                except aiohttp.ClientError:
                    return 0

            async def answer(update: dict) -> str:
                """The first text the bot sends or edits in user 71's chat for ``update``."""
                before = len(api.calls)
                async with http.post(f"{url}/telegram", json=update, headers=headers) as r:
                    assert r.status == 200
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    for call in api.calls[before:]:
                        if call.method in ("sendMessage", "editMessageText") and (
                            call.params.get("chat_id") == 71
                        ):
                            return str(call.params.get("text", ""))
                    await asyncio.sleep(0.05)
                raise AssertionError("no answer within 20 s")

            deadline = time.monotonic() + 90
            while await ready() != 200:
                assert time.monotonic() < deadline and proc.poll() is None
                await asyncio.sleep(0.2)
            await answer(api.message_update(user, text="/language"))
            menu = api.last_with_buttons(71)
            assert menu is not None and menu.markup is not None
            english = next(
                b["callback_data"]
                for row in menu.markup["inline_keyboard"]
                for b in row
                if "English" in b["text"]
            )
            assert "speak English" in await answer(api.callback_update(user, menu, english))
            await asyncio.sleep(1.0)  # w:1 writes reach the database's log within ~0.2 s

            # The database dies under the running bot (the OOM killer): /readyz goes 503,
            # then 200 again without anyone restarting anything.
            first, _ = database_pids(data_dir)
            os.kill(first, signal.SIGKILL)
            statuses: list[int] = []
            killed = time.monotonic()
            while not (503 in statuses and statuses[-1] == 200):
                assert time.monotonic() - killed < 60, statuses
                statuses.append(await ready())
                await asyncio.sleep(0.1)
            back_after = time.monotonic() - killed
            server, watchdog = database_pids(data_dir)
            assert server != first
            welcome = await answer(api.message_update(user, text="/start"))
            assert welcome.startswith("👋 Welcome to <b>Gerbang Koperasi</b>")

        proc.kill()  # and now the bot itself: kill -9
        proc.wait(10)
        assert gone_within(server, GONE_S) is not None, "the database outlived the bot"
        assert gone(watchdog)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        await fake.stop()
    log = log_path.read_text()
    assert "restarting it" in log and "is back on port" in log, log[-2000:]
    assert back_after < 30

    again = run_bot("console", "--no-demo", "--as", "71", env=bot_env(data_dir), script="/start\n")
    assert again.returncode == 0, again.stderr
    assert "Welcome to Gerbang Koperasi" in again.stdout  # user 71's language survived
