"""The layers: handlers → bot.services → storage, checked on the import graph."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", files("storage"), ids=lambda p: p.name)
def test_storage_is_the_leaf(path: Path) -> None:
    bad = {i for i in imports(path) if top(i) in {"telegram", "handlers", "bot", "secantus"}}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", files("bot/services"), ids=lambda p: p.name)
def test_services_know_no_telegram(path: Path) -> None:
    bad = {i for i in imports(path) if top(i) in {"telegram", "handlers", "secantus"}}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", files("handlers"), ids=lambda p: p.name)
def test_handlers_never_touch_the_driver(path: Path) -> None:
    bad = {
        i
        for i in imports(path)
        if top(i) in {"pymongo", "bson", "motor", "secantus"}
        or (i.startswith("storage.") and i != "storage.models")
    }
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize(
    "path", files("bot") + files("handlers") + files("storage"), ids=lambda p: p.name
)
def test_gpl_database_never_imported(path: Path) -> None:
    assert not {i for i in imports(path) if top(i) in {"secantus", "wiredtiger"}}


def test_driver_only_in_storage() -> None:
    for folder in ("bot", "handlers"):
        for path in files(folder):
            bad = {i for i in imports(path) if top(i) in {"pymongo", "bson", "motor"}}
            assert not bad, f"{path} imports {bad}"


def test_environment_read_only_in_config() -> None:
    for folder in ("bot", "handlers", "storage"):
        for path in files(folder):
            if path.name == "config.py":
                continue
            assert "os.environ" not in path.read_text() and "getenv" not in path.read_text(), path
