"""Text normalisation shared by search, import and the gazetteer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_NON_WORD = re.compile(r"[^0-9a-z]+")
# Invisible or direction-changing characters users paste by accident.
_INVISIBLE = dict.fromkeys(
    [
        0x200B,
        0x200C,
        0x200D,
        0x200E,
        0x200F,
        0x202A,
        0x202B,
        0x202C,
        0x202D,
        0x202E,
        0x2060,
        0xFEFF,
        0x00AD,
    ]
)


def fold(text: str) -> str:
    """Lower-case ASCII form of ``text``: accents, invisible marks and punctuation removed."""
    text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold()
    return _NON_WORD.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order."""
    return fold(text).split()


def clean_line(text: str, max_length: int) -> str:
    """One line of user text: invisible marks removed, whitespace collapsed, capped."""
    text = text.translate(_INVISIBLE)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch == " ")
    return " ".join(text.split())[:max_length]


def near_length(
    words: Sequence[str], length: int, edits: int, cache: dict[tuple[int, int], list[str]]
) -> list[str]:
    """The ``words`` that ``edits`` edits can reach from a word of ``length`` characters
    by length alone (an edit changes the length by one at most), in their order; kept in
    ``cache`` (the typo corrections compare only these: a scan of every name or word took
    ~1 ms to 90 ms)."""
    key = (length, edits)
    found = cache.get(key)
    if found is None:
        found = [w for w in words if abs(len(w) - length) <= edits]
        cache[key] = found
    return found
