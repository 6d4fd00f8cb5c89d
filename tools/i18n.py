"""Message catalogs: extract, update and check (``python -m tools.i18n update|check``).

Extraction uses babel with the mapping in ``pyproject.toml`` over ``bot`` and
``handlers`` only (never ``.venv`` or ``tests``). ``update`` rewrites
``locales/messages.pot``, merges it into the Indonesian and English catalogs, and fills
English translations with the (English) source text. ``check`` fails when the template is
stale, a string lacks a translation in either language, a text has a double space or a
dangling separator (:func:`spacing`), or a handler sends text that gettext never sees
(:func:`hardcoded`: a literal passed as a message's text, a caption or a button label).
"""

from __future__ import annotations

import ast
import io
import re
import sys
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
SOURCES = ("bot", "handlers")
LANGS = ("id", "en")
POT = LOCALES / "messages.pot"


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


def extract() -> Catalog:
    """A fresh template from the source code."""
    catalog = Catalog(
        project="gerbang-koperasi",
        version="1",
        charset="utf-8",
        msgid_bugs_address="",
        copyright_holder="Gerbang Koperasi",
    )
    for source in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / source,
            method_map=[("**.py", "python")],
            keywords=DEFAULT_KEYWORDS,
            comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True,
        ):
            catalog.add(
                message,
                None,
                [(f"{source}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return catalog


def _ids(catalog: Catalog) -> set[tuple[Any, str | None]]:
    return {(m.id, m.context) for m in catalog if m.id}


def _dump(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, catalog, width=99, omit_header=False, sort_output=True)
    return buf.getvalue()


def update() -> None:
    template = extract()
    POT.parent.mkdir(parents=True, exist_ok=True)
    POT.write_bytes(_dump(template))
    for lang in LANGS:
        path = po_path(lang)
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="gerbang-koperasi", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False
        catalog.obsolete.clear()
        for message in catalog:
            if not message.id:
                continue
            if lang == "en" and not _translated(message):
                message.string = message.id
            message.flags.discard("fuzzy")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_dump(catalog))
    print(
        f"updated {POT.relative_to(ROOT)} and {len(LANGS)} catalogs "
        f"({len(_ids(template))} messages)"
    )


def _translated(message: object) -> bool:
    string = message.string  # type: ignore[attr-defined]
    if isinstance(string, tuple | list):
        return all(s for s in string)
    return bool(string)


def problems() -> list[str]:
    """What is wrong with the catalogs (empty when they are complete and fresh)."""
    found: list[str] = []
    fresh = _ids(extract())
    if not POT.exists():
        return [f"{POT} is missing: run python -m tools.i18n update"]
    with POT.open("rb") as fh:
        template = _ids(read_po(fh))
    for msgid in sorted(fresh - template, key=str):
        found.append(f"messages.pot is stale: missing {msgid[0]!r}")
    for msgid in sorted(template - fresh, key=str):
        found.append(f"messages.pot is stale: {msgid[0]!r} is no longer in the code")
    for lang in LANGS:
        path = po_path(lang)
        if not path.exists():
            found.append(f"{path} is missing")
            continue
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        have = {(m.id, m.context): m for m in catalog if m.id}
        for key in sorted(fresh, key=str):
            message = have.get(key)
            if message is None:
                found.append(f"{lang}: no entry for {key[0]!r}")
            elif not _translated(message):
                found.append(f"{lang}: no translation for {key[0]!r}")
            elif message.fuzzy:
                found.append(f"{lang}: fuzzy translation for {key[0]!r}")
            else:
                found.extend(_placeholder_problems(lang, message))
                found.extend(_spacing_problems(lang, message))
    found.extend(hardcoded())
    return found


# --- typography: what a reader sees as a typo ----------------------------------------------

_DOUBLE_SPACE = re.compile(r"\S {2,}\S")
_DANGLING = re.compile(r"^\s*[·•|]\s*$|^\s*·\s|\s·\s*$|\(\s*\)|\[\s*\]")


def spacing(text: str) -> list[str]:
    """Double spaces inside a line and separators with nothing on one side ("A  · B",
    "Application  · X", "Name ()"), in one rendered text or translation."""
    found = []
    for line in text.split("\n"):
        if _DOUBLE_SPACE.search(line):
            found.append(f"double space in {line.strip()!r}")
        elif _DANGLING.search(line):
            found.append(f"dangling separator in {line.strip()!r}")
    return found


def _spacing_problems(lang: str, message: object) -> list[str]:
    string = message.string  # type: ignore[attr-defined]
    msgid = message.id  # type: ignore[attr-defined]
    texts = list(string) if isinstance(string, tuple | list) else [string]
    sources = list(msgid) if isinstance(msgid, tuple | list) else [msgid]
    return [f"{lang}: {problem}" for text in sources + texts for problem in spacing(text)]


# --- hard-coded user-facing strings in handlers ---------------------------------------------

# Where a call takes the text a user reads: the positional index, and keywords.
_TEXT_ARGS: dict[str, int] = {
    "reply_text": 0,
    "reply_html": 0,
    "reply_markdown": 0,
    "edit_message_text": 0,
    "edit_text": 0,
    "answer": 0,
    "send_message": 1,
    "answer_callback_query": 1,
    "InlineKeyboardButton": 0,
    "KeyboardButton": 0,
    "BotCommand": 1,
    "InputTextMessageContent": 0,
}
_TEXT_KEYWORDS = ("text", "caption", "title", "description", "input_field_placeholder")
_GETTEXT = {"_", "N_", "gettext", "ngettext", "pgettext", "npgettext"}
_WORD = re.compile(r"[^\W\d_]{2,}")
# Literals that may reach a user untranslated: names, not words of a language ("bot" is
# the stand-in for the bot's username in an example).
ALLOWED_LITERALS = {"Gerbang Koperasi", "NIK", "WIB", "WITA", "WIT", "bot"}


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _literals(node: ast.AST | None) -> list[tuple[int, str]]:
    """The string literals that end up in the text ``node`` evaluates to (not those that
    only choose between texts, such as a dictionary's keys or a condition)."""
    if node is None:
        return []
    if isinstance(node, ast.Constant):
        return [(node.lineno, node.value)] if isinstance(node.value, str) else []
    if isinstance(node, ast.JoinedStr):
        parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
        return [(node.lineno, "".join(str(p) for p in parts))]
    if isinstance(node, ast.BinOp):
        return _literals(node.left) + _literals(node.right)
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [lit for value in node.values for lit in _literals(value)]
    if isinstance(node, ast.List | ast.Tuple):
        return [lit for elt in node.elts for lit in _literals(elt)]
    if isinstance(node, ast.Dict):
        return [lit for value in node.values for lit in _literals(value)]
    if isinstance(node, ast.Subscript):
        return _literals(node.value)
    if isinstance(node, ast.Starred):
        return _literals(node.value)
    if isinstance(node, ast.Call):
        name = _callee(node)
        if name in _GETTEXT:
            return []
        if name in ("format", "join") and isinstance(node.func, ast.Attribute):
            found = _literals(node.func.value)
            for arg in node.args:
                found += _literals(arg)
            for keyword in node.keywords:
                found += _literals(keyword.value)
            return found
    return []  # a name, an attribute, another function's result: checked where it is built


# Variables a message is assembled in before it is sent ("lines.append(...)").
_ASSEMBLY = re.compile(r"line|text|part|title|label|caption|header|body")
_MARKUP = re.compile(r"<[^>]*>|\{[^}]*\}")  # tags and placeholders are not words


def _text_values(node: ast.AST) -> list[ast.AST]:
    """The expressions of ``node`` that become text a user reads."""
    if isinstance(node, ast.Call):
        name = _callee(node)
        index = _TEXT_ARGS.get(name)
        values: list[ast.AST] = []
        if index is not None and len(node.args) > index:
            values.append(node.args[index])
        if index is not None or any(k.arg in ("text", "caption") for k in node.keywords):
            values += [k.value for k in node.keywords if k.arg in _TEXT_KEYWORDS]
        func = node.func
        if (
            name in ("append", "extend", "insert")
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and _ASSEMBLY.search(func.value.id)
        ):
            values += node.args[-1:]
        return values
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        if isinstance(target, ast.Name) and _ASSEMBLY.search(target.id) and node.value:
            return [node.value]
    return []


def hardcoded(root: Path | None = None) -> list[str]:
    """User-facing literals in ``handlers/`` that are not wrapped in gettext: the text of a
    message, a caption or a button, and the lines a message is assembled from. A literal
    without words (emoji, digits, punctuation, tags) or in :data:`ALLOWED_LITERALS` passes."""
    base = root or ROOT
    found = []
    for path in sorted((base / "handlers").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        hits = []
        for node in ast.walk(tree):
            for value in _text_values(node):
                hits += _literals(value)
        for line, text in sorted(hits):
            if _WORD.search(_MARKUP.sub(" ", text)) and text.strip() not in ALLOWED_LITERALS:
                where = path.relative_to(base)
                found.append(f"{where}:{line}: not translated: {text.strip()!r}")
    return found


def _placeholders(text: str) -> set[str]:
    import string

    names = set()
    for _, field, _, _ in string.Formatter().parse(text):
        if field is not None:
            names.add(field)
    return names


def _placeholder_problems(lang: str, message: object) -> list[str]:
    msgid = message.id  # type: ignore[attr-defined]
    string = message.string  # type: ignore[attr-defined]
    sources = list(msgid) if isinstance(msgid, tuple | list) else [msgid]
    targets = list(string) if isinstance(string, tuple | list) else [string]
    expected = set().union(*(_placeholders(s) for s in sources))
    out = []
    for target in targets:
        try:
            got = _placeholders(target)
        except ValueError:
            out.append(f"{lang}: malformed placeholder in translation of {sources[0]!r}")
            continue
        if got - expected:
            out.append(
                f"{lang}: unknown placeholder {sorted(got - expected)} in translation of "
                f"{sources[0]!r}"
            )
    return out


def apply(lang: str, translations: dict[str, str | list[str]]) -> list[str]:
    """Set translations (msgid → text, or singular msgid → [forms]); returns unknown ids."""
    path = po_path(lang)
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    by_key = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}
    unknown = []
    for msgid, text in translations.items():
        message = by_key.get(msgid)
        if message is None:
            unknown.append(msgid)
            continue
        message.string = tuple(text) if isinstance(text, list) else text
        message.flags.discard("fuzzy")
    path.write_bytes(_dump(catalog))
    return unknown


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "apply" and len(argv) == 3:
        import json

        unknown = apply(argv[1], json.loads(Path(argv[2]).read_text(encoding="utf-8")))
        for msgid in unknown:
            print(f"not in the catalog: {msgid!r}")
        return 1 if unknown else 0
    if command == "update":
        update()
        return 0
    if command == "check":
        issues = problems()
        for issue in issues:
            print(issue)
        print("catalogs OK" if not issues else f"{len(issues)} problem(s)")
        return 1 if issues else 0
    if command == "missing":
        for issue in problems():
            print(issue)
        return 0
    print("usage: python -m tools.i18n update|check|missing|apply LANG FILE.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
