"""Typo-tolerant cooperative name matching over an indexed word list.

Names are stored with their folded words (``name_tokens``, a multikey index). A query
word matches a name word exactly, as a prefix ("sejah" → "sejahtera") or, for words of
four letters or more, with a small typo ("sejahtra" → "sejahtera"): the query words are
corrected against the vocabulary of all name words (rapidfuzz), then the cooperatives
having every query word (or, when none has, any of them) are fetched by index and ranked
here. User text only ever reaches the database as exact index keys, never as a pattern.

How common each query word is (how many names have it, counted up to ``COMMON + 1``) is
asked of the index once and remembered with the vocabulary: the rarest word leads the read
of the full matches, and words that are all in more than ``COMMON`` names narrow nothing
(the search asks where to look instead of reading thousands of names).
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.services.query import STOPWORDS
from bot.services.text import near_length, words
from storage.base import Cooperatives
from storage.models import Cooperative, CooperativeFilter

EXACT, PREFIX, FUZZY = 1.0, 0.9, 0.8
VOCAB_TTL_S = 300.0
COMMON = 100  # a word in more names than this narrows nothing on its own
MAX_REMEMBERED = 50_000  # word frequencies kept (a few MB at most)


def name_tokens(name: str) -> list[str]:
    """The words stored for a name (all of them, in order, without repeats)."""
    seen: dict[str, None] = {}
    for word in words(name):
        seen.setdefault(word, None)
    return list(seen)


@dataclass(slots=True)
class Scored:
    coop: Cooperative
    score: float  # mean over the query words of the best match weight
    matched: int  # how many query words matched a word of the name
    extra: int = 0  # words of the name (other than "koperasi"…) that no query word matched

    @property
    def whole_name(self) -> bool:
        """The query is (nearly) the cooperative's full name: every word of it matched, and
        at most one word of the name ("(Demo)", a village) was left out."""
        return self.extra <= 1


class NameIndex:
    """Corrects query words against the name vocabulary and ranks candidates."""

    def __init__(self, repo: Cooperatives) -> None:
        self._repo = repo
        self._vocab: list[str] = []
        self._vocab_set: frozenset[str] = frozenset()
        self._loaded_at = -VOCAB_TTL_S
        # How many names have one of a word's variants, up to COMMON + 1 (see the docstring).
        self._frequency: dict[tuple[str, ...], int] = {}
        # The vocabulary words of about a length (within so many edits), in order.
        self._by_length: dict[tuple[int, int], list[str]] = {}
        # Each query word's corrections (one search asks for them up to three times: the
        # whole name, the counts per place, the list; 20–60 ms for a long word).
        self._corrections: dict[str, dict[str, float]] = {}

    def invalidate(self) -> None:
        self._loaded_at = -VOCAB_TTL_S
        self._frequency = {}

    async def _ensure_vocab(self) -> None:
        if time.monotonic() - self._loaded_at < VOCAB_TTL_S:
            return
        vocab = sorted(set(await self._repo.vocabulary()) - STOPWORDS)
        if vocab != self._vocab:
            # Frequencies cost a read of every name with the word the first time (the
            # engine does not stop at the count's limit: 10 s for "desa" at national
            # size), so they are kept while the vocabulary stays the same.
            self._frequency = {}
        self._vocab, self._vocab_set = vocab, frozenset(vocab)
        self._by_length = {}
        self._corrections = {}
        self._loaded_at = time.monotonic()

    def _near_length(self, length: int, edits: int) -> list[str]:
        """The vocabulary words ``edits`` edits can reach by length alone (comparing the
        whole vocabulary took 70–90 ms a word at national size: 46,813 words)."""
        return near_length(self._vocab, length, edits, self._by_length)

    async def _frequencies(self, variants: list[dict[str, float]]) -> list[int]:
        """For each query word, how many names have one of its variants (up to COMMON + 1;
        remembered). Words are counted longest first, and counting stops at the first word
        in at most COMMON names — it alone bounds the read of the full matches; the words
        left uncounted are taken as common (COMMON + 1)."""
        out = [COMMON + 1] * len(variants)
        keys = [tuple(sorted(v)) for v in variants]
        known = [i for i, key in enumerate(keys) if key in self._frequency]
        rest = sorted(
            (i for i in range(len(keys)) if i not in known),
            key=lambda i: -max((len(w) for w in keys[i]), default=0),
        )
        for i in [*known, *rest]:
            n = self._frequency.get(keys[i])
            if n is None:
                n = await self._repo.count_tokens(keys[i], limit=COMMON + 1) if keys[i] else 0
                if len(self._frequency) >= MAX_REMEMBERED:
                    self._frequency.clear()
                self._frequency[keys[i]] = n
            out[i] = n
            if n <= COMMON:
                break
        return out

    async def _full(
        self,
        variants: list[dict[str, float]],
        frequencies: list[int],
        filt: CooperativeFilter | None,
        limit: int,
    ) -> list[Cooperative]:
        """The names with every word, read through the rarest word's index keys."""
        order = sorted(range(len(variants)), key=lambda i: frequencies[i])
        if frequencies[order[0]] == 0:
            return []
        groups = [list(variants[i]) for i in order]
        return await self._repo.by_all_tokens(groups, filt=filt, limit=limit)

    def _variants(self, term: str) -> dict[str, float]:
        """The vocabulary words ``term`` may mean, with their weights (remembered until the
        vocabulary reloads)."""
        found = self._corrections.get(term)
        if found is None:
            found = self._corrected(term)
            if len(self._corrections) >= MAX_REMEMBERED:
                self._corrections.clear()
            self._corrections[term] = found
        return found

    def _corrected(self, term: str) -> dict[str, float]:
        found: dict[str, float] = {}
        if term in self._vocab_set:
            found[term] = EXACT
        if len(term) >= 3:
            start = bisect.bisect_left(self._vocab, term)
            for word in self._vocab[start : start + 200]:
                if not word.startswith(term):
                    break
                found.setdefault(word, PREFIX)
        if len(term) >= 4:
            # One typo (insert, delete, substitute, swap) in words up to 8 letters, two beyond.
            max_edits = 1 if len(term) <= 8 else 2
            for word, edits, _ in process.extract(
                term,
                self._near_length(len(term), max_edits),
                scorer=OSA.distance,
                score_cutoff=max_edits,
                limit=8,
            ):
                found.setdefault(word, FUZZY * (1 - edits / (len(term) + 1)))
        return found

    @staticmethod
    def _score(coops: list[Cooperative], variants: list[dict[str, float]]) -> list[Scored]:
        scored = []
        for coop in coops:
            tokens = set(coop.name_tokens)
            weights = [
                max((w for word, w in v.items() if word in tokens), default=0.0) for v in variants
            ]
            matched = sum(1 for w in weights if w > 0)
            hit = {word for v in variants for word in v}
            extra = len(tokens - hit - STOPWORDS)
            scored.append(Scored(coop, sum(weights) / len(variants), matched, extra))
        return scored

    async def whole_names(
        self, terms: list[str], *, name: str = "", limit: int = 500
    ) -> list[Scored]:
        """Cooperatives whose full name is (nearly) ``terms``, read by index only when every
        word is in the vocabulary: a query that cannot be a name costs no round trip. When
        every word is common, only the names that are ``name`` exactly are read."""
        terms = [t for t in terms if len(t) > 1 and t not in STOPWORDS]
        if len(terms) < 2:
            return []
        await self._ensure_vocab()
        variants = [self._variants(t) for t in terms]
        if not all(variants):
            return []
        frequencies = await self._frequencies(variants)
        if min(frequencies) > COMMON:
            found = await self._repo.by_name(name, limit=limit) if name else []
        else:
            found = await self._full(variants, frequencies, None, limit)
        scored = self._score(found, variants)
        if not any(s.whole_name for s in scored):
            return []
        return scored

    async def _prepare(self, terms: list[str]) -> tuple[list[str], list[dict[str, float]]]:
        """The name words of ``terms`` and, for each, its corrections with their weights."""
        terms = [t for t in terms if len(t) > 1 and t not in STOPWORDS]
        if not terms:
            return [], []
        await self._ensure_vocab()
        return terms, [self._variants(t) for t in terms]

    async def match(
        self, terms: list[str], *, filt: CooperativeFilter | None = None, limit: int = 500
    ) -> list[Scored]:
        """Cooperatives whose names match ``terms``, best first; all words must match,
        unless nothing matches them all (then the best partial matches)."""
        terms, variants = await self._prepare(terms)
        return await self._matched(terms, variants, filt, limit)

    async def match_or_count(
        self,
        terms: list[str],
        *,
        name: str,
        filt: CooperativeFilter | None = None,
        limit: int = 500,
    ) -> tuple[list[Scored], int]:
        """``match``, unless every word is in more than ``COMMON`` names: such words narrow
        nothing, and reading their candidates is what made a common word slow ("Koperasi
        Sejahtera": 3,122 names at national size). Then only the cooperatives named
        ``name`` exactly are read: ``(exact names, COMMON + 1)``; else ``(matches, 0)``."""
        terms, variants = await self._prepare(terms)
        if not terms or not all(variants):
            return await self._matched(terms, variants, filt, limit), 0
        frequencies = await self._frequencies(variants)
        if min(frequencies) > COMMON:
            exact = await self._repo.by_name(name, filt=filt, limit=limit)
            return self._score(exact, variants), min(frequencies)
        return await self._matched(terms, variants, filt, limit, frequencies), 0

    async def _matched(
        self,
        terms: list[str],
        variants: list[dict[str, float]],
        filt: CooperativeFilter | None,
        limit: int,
        frequencies: list[int] | None = None,
    ) -> list[Scored]:
        if not terms:
            return []
        keys = {word for v in variants for word in v}
        if not keys:
            return []
        if len(variants) > 1 and all(variants):
            # Full matches first, by index: among "any word" candidates capped at
            # ``limit``, a common word ("sejahtera") could crowd them out.
            if frequencies is None:
                frequencies = await self._frequencies(variants)
            full = self._score(await self._full(variants, frequencies, filt, limit), variants)
            if full:
                return full
        scored = self._score(await self._repo.by_tokens(keys, filt=filt, limit=limit), variants)
        full = [s for s in scored if s.matched == len(terms)]
        if full:
            return full
        half = (len(terms) + 1) // 2
        return [s for s in scored if s.matched >= half and len(terms) > 1]
