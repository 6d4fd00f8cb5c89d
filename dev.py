#!/usr/bin/env python3
"""Set up and run on a fresh machine with only Python 3.11+.

    python3 dev.py run     # the bot: console chat with demo data when there is no token
    python3 dev.py test    # the test suite (starts its own database)
    python3 dev.py lint    # ruff, ruff format --check, mypy and the message-catalog check

Both create ``.venv`` and install the project with its embedded database and test tools
the first time (and again whenever pyproject.toml changes). Extra arguments are passed on:
``python3 dev.py run console --lang en``, ``python3 dev.py test -k search``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"


def python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_env() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if python().exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not python().exists():
        print("Creating .venv …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing the bot and its dependencies into .venv (first run only) …", file=sys.stderr)
    subprocess.run(
        [str(python()), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True
    )
    subprocess.run(
        [str(python()), "-m", "pip", "install", "--quiet", "-e", ".[dev]"], check=True, cwd=ROOT
    )
    STAMP.write_text(wanted)


def lint(fix: bool) -> int:
    """Every static check CI runs; all of them run even when one fails."""
    tools = VENV / ("Scripts" if os.name == "nt" else "bin")
    checks = {
        "ruff": [str(tools / "ruff"), "check", *(["--fix"] if fix else []), "."],
        "ruff format": [str(tools / "ruff"), "format", *([] if fix else ["--check"]), "."],
        "mypy": [str(tools / "mypy")],
        "i18n": [str(python()), "-m", "tools.i18n", "check"],
    }
    failed = [name for name, command in checks.items() if subprocess.call(command, cwd=ROOT)]
    if failed:
        print(f"lint failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "lint"):
        print(__doc__)
        return 2
    ensure_env()
    command, rest = argv[0], argv[1:]
    if command == "lint":
        return lint(fix="--fix" in rest)
    if command == "run":
        args = rest or ["run"]
        return subprocess.call([str(python()), "-m", "bot", *args], cwd=ROOT)
    return subprocess.call([str(python()), "-m", "pytest", *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
