"""The layers: handlers → bot.services → storage, checked on the import graph."""

from __future__ import annotations

import ast
import re
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


# -- the import graph as a whole ----------------------------------------------------------

PACKAGES = ("bot", "handlers", "storage", "tools")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (type-only imports included)."""
    paths = [p for folder in PACKAGES for p in files(folder)]
    known = {module_name(p) for p in paths}
    edges: dict[str, set[str]] = {}
    for path in paths:
        name = module_name(path)
        tree = ast.parse(path.read_text(), filename=str(path))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    package = name.split(".")
                    if path.name != "__init__.py":
                        package = package[:-1]
                    package = package[: len(package) - node.level + 1]
                    base = ".".join(package + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                submodules = {f"{base}.{alias.name}" for alias in node.names}
                targets.update(submodules & known)
                if submodules - known:  # names defined in ``base`` itself
                    targets.add(base)
        edges[name] = {t for t in targets if t in known and t != name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle() -> None:
    """The flow is one-way: no module reaches itself through its imports (type-only
    imports count too: a circle hidden behind TYPE_CHECKING still hides the picture)."""
    assert cycles(graph()) == []


def test_no_circle_between_top_level_folders() -> None:
    """storage is the leaf, bot/services sits on it, handlers on both; only the
    composition root (bot/app.py) brings handlers in."""
    edges = graph()
    layer = {"storage": 0, "bot.services": 1, "bot.telegram": 1, "handlers": 2}

    def level(module: str) -> int | None:
        for prefix, value in sorted(layer.items(), key=lambda kv: -len(kv[0])):
            if module == prefix or module.startswith(prefix + "."):
                return value
        return None

    wrong = []
    for source, targets in edges.items():
        for target in targets:
            if top(target) == "handlers" and top(source) == "bot" and source != "bot.app":
                wrong.append((source, target))
            src, dst = level(source), level(target)
            if src is not None and dst is not None and dst > src:
                wrong.append((source, target))
    assert wrong == []


def test_handlers_reach_data_only_through_services() -> None:
    """No handler touches the store or a repository, not even through the context's
    services: ``context.services`` exposes services only, and handlers use their methods."""
    import dataclasses

    import bot.services.registry as registry

    fields = {f.name for f in dataclasses.fields(registry.Services)}
    storage_types = ("Store", "Repository", "Log")
    leaks = {
        f.name: f.type
        for f in dataclasses.fields(registry.Services)
        if any(word in str(f.type) for word in storage_types)
    }
    assert leaks == {}, "Services must hold services only"
    repository_words = {
        "store",
        "repo",
        "repos",
        "coops",
        "apps",
        "admins",
        "audit",
        "invites",
        "state",
        "searches",
        "db",
        "collection",
    }
    bad = []
    for path in files("handlers"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            chain = []
            current: ast.expr = node
            while isinstance(current, ast.Attribute):
                chain.append(current.attr)
                current = current.value
            chain.reverse()  # e.g. ["services", "membership", "apps", "get"]
            if "services" not in chain:
                continue
            after = chain[chain.index("services") + 1 :]
            if after and after[0] not in fields:
                bad.append(f"{path.name}:{node.lineno} services.{after[0]}")
            elif len(after) > 1 and after[1] in repository_words:
                bad.append(f"{path.name}:{node.lineno} services.{'.'.join(after[:2])}")
        # Whatever the object is called locally (``admin = context.services.admin``),
        # a repository's attribute is never read in a handler.
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr in repository_words
            ):
                bad.append(f"{path.name}:{node.lineno} .{node.value.attr}.{node.attr}")
    assert sorted(set(bad)) == []


CALLBACK_PREFIX = re.compile(
    r"""(?:callback_data\s*=\s*f?["'][a-z]{1,5}:|pattern\s*=\s*r?f?["']\^)"""
)


@pytest.mark.parametrize("path", files("handlers"), ids=lambda p: p.name)
def test_callback_prefixes_only_in_callbacks(path: Path) -> None:
    """Buttons and their handlers share one definition (handlers/callbacks.py)."""
    if path.name == "callbacks.py":
        return
    assert not CALLBACK_PREFIX.findall(path.read_text()), path


@pytest.mark.parametrize(
    "path",
    files("bot") + files("handlers") + files("storage") + files("tools"),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_modules_stay_small(path: Path) -> None:
    """At most 500 lines, unless the module's opening docstring says why it is one piece
    (it then contains the words "one piece")."""
    text = path.read_text()
    if text.count("\n") <= 500:
        return
    doc = ast.get_docstring(ast.parse(text)) or ""
    assert "one piece" in doc, f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines"
