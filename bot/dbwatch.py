"""The embedded database's watchdog: ``python bot/dbwatch.py -- secantusd-py ARGS…``.

A tiny process between the bot and the database server, so that the database never outlives
the bot, however the bot ends (``kill -9``, the OOM killer, a crash):

- the bot holds the write end of this process's stdin; the kernel closes it when the bot
  dies, and the end of input here stops the server (SIGTERM, then SIGKILL after a grace
  period). That works on every POSIX system;
- on Linux the server also gets a parent-death signal, so it ends if this process is
  killed itself.

It prints the server's pid as its first line on stdout, forwards SIGTERM/SIGINT/SIGHUP to
the server, and exits with the server's status. It uses the standard library only and is
run by path with ``python -I`` (no package import): the bot never imports SecantusDB, and
this process only starts it.

:class:`Process` is how the bot looks at other processes here: which data a database server
(or its watchdog) left running serves, and whether its bot is still alive.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

EXECUTABLE = "secantusd-py"
WATCHDOG = Path(__file__)
GRACE_S = 10.0  # a clean shutdown takes about 2 s


@dataclass(frozen=True, slots=True)
class Process:
    """Another process, as far as it matters here: its parent and its command line."""

    pid: int
    ppid: int
    argv: tuple[str, ...]

    @classmethod
    def find(cls, pid: int) -> Process | None:
        """The live process ``pid`` (zombies count as gone), or None."""
        if pid <= 0:
            return None
        if Path("/proc/self/stat").exists():
            try:
                raw = Path(f"/proc/{pid}/cmdline").read_bytes()
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                return None
            state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
            if state == "Z" or not raw:
                return None
            argv = tuple(a.decode(errors="replace") for a in raw.rstrip(b"\0").split(b"\0"))
            return cls(pid, int(ppid), argv)
        try:  # elsewhere: ps (an argument with a space will not match: nothing is ended)
            out = subprocess.run(
                ["ps", "-o", "ppid=,stat=,command=", "-p", str(pid)],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.split()
        except (OSError, subprocess.SubprocessError):
            return None
        if len(out) < 3 or out[1].startswith("Z"):
            return None
        return cls(pid, int(out[0]), tuple(out[2:]))

    @property
    def is_watchdog(self) -> bool:
        return any(Path(a).name == WATCHDOG.name for a in self.argv[:3])

    @property
    def is_bot(self) -> bool:
        argv = self.argv
        return any(
            (a == "-m" and argv[i + 1 : i + 2] == ("bot",)) or a.endswith("bot/__main__.py")
            for i, a in enumerate(argv)
        )

    def storage_path(self) -> Path | None:
        """The data this database server (or its watchdog) serves, or None if it is not one."""
        argv = self.argv
        if not any(Path(a).name == EXECUTABLE for a in argv) or "--storage-path" not in argv:
            return None
        where = argv.index("--storage-path") + 1
        if where >= len(argv):
            return None
        path = Path(argv[where])
        if not path.is_absolute():
            try:
                path = Path(os.readlink(f"/proc/{self.pid}/cwd")) / path
            except OSError:
                return None
        return path.resolve()


def all_pids() -> list[int]:
    """Every process id, where ``/proc`` lists them (Linux); else none."""
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks Linux to send ``sig`` when the parent exits, or None."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    parent = os.getpid()

    def preexec() -> None:
        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), sig)

    return preexec


def _say(text: str) -> None:
    sys.stderr.write(f"dbwatch[{os.getpid()}]: {text}\n")
    sys.stderr.flush()


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        _say("usage: dbwatch.py -- COMMAND [ARGS…]")
        return 2
    child = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr.fileno(),
        stderr=sys.stderr.fileno(),
        preexec_fn=die_with_parent(),  # safe: this process has one thread
    )
    os.write(1, f"{child.pid}\n".encode())
    os.dup2(2, 1)  # nothing more goes to the bot's pipe
    kill_at = float("inf")  # when a server asked to stop is killed

    def stop(reason: str) -> None:
        nonlocal kill_at
        if kill_at == float("inf") and child.poll() is None:
            _say(f"{reason}: stopping the database (pid {child.pid})")
            child.send_signal(signal.SIGTERM)
            kill_at = time.monotonic() + GRACE_S

    def on_signal(signum: int, frame: object) -> None:
        stop(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    watching = True
    while (code := child.poll()) is None:
        if watching:
            readable, _, _ = select.select([0], [], [], 0.1)
            if readable and not os.read(0, 4096):
                watching = False
                stop("the bot is gone (end of its pipe)")
        else:
            time.sleep(0.05)
        if time.monotonic() > kill_at:
            _say(f"the database did not stop in {GRACE_S:.0f} s; killing it")
            child.kill()
            kill_at = float("inf")
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
