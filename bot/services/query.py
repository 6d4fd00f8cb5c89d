"""Typed search queries: place names, type and service words, and the rest as a name.

"ksp di medan baru" → type simpan_pinjam, place Kec. Medan Baru;
"apotek desa Sukamaju" → service apotek, the villages called Sukamaju;
"Koperasi Sejahtera" → name words ["sejahtera"].
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.services.catalog import SERVICES, TYPES
from bot.services.gazetteer import Gazetteer, Region
from bot.services.text import words

# Words that say "a place follows".
PLACE_MARKERS = frozenset(
    {"di", "dekat", "sekitar", "near", "in", "at", "around", "daerah", "wilayah"}
)

# Words that also say which level the place is: "kec. Depok", "desa Sukamaju", "kota Bandung".
LEVEL_MARKERS: dict[str, tuple[str, ...]] = {
    "desa": ("village:desa",),
    "kelurahan": ("village:kelurahan",),
    "kel": ("village:kelurahan",),
    "village": ("village",),
    "kec": ("district",),
    "kecamatan": ("district",),
    "district": ("district",),
    "kab": ("regency:kabupaten",),
    "kabupaten": ("regency:kabupaten",),
    "regency": ("regency:kabupaten",),
    "kota": ("regency:kota",),
    "city": ("regency:kota",),
    "provinsi": ("province",),
    "prov": ("province",),
    "province": ("province",),
}

STOPWORDS = frozenset(
    {
        "koperasi",
        "kop",
        "cooperative",
        "cooperatives",
        "coop",
        "coops",
        "co",
        "op",
        "yang",
        "dan",
        "and",
        "the",
        "a",
        "an",
        "of",
        "for",
        "untuk",
        "ke",
        "dari",
        "from",
        "cari",
        "carikan",
        "mencari",
        "search",
        "find",
        "show",
        "list",
        "ada",
        "apa",
        "saya",
        "aku",
        "my",
        "me",
        "i",
        "terdekat",
        "nearest",
        "closest",
        "nearby",
        "please",
        "tolong",
        "mau",
        "ingin",
        "want",
        "with",
        "dengan",
        "punya",
        "rumah",
        "home",
    }
)


@dataclass(slots=True)
class PlaceMention:
    """A place named in the query and every area it could be."""

    words: list[str]
    candidates: list[Region]  # after pruning: the areas the user most likely means
    marked: bool  # preceded by "di", "dekat", "desa", "kec." … or a higher-level area
    everything: list[Region] = field(default_factory=list)  # before pruning

    @property
    def weak(self) -> bool:
        """An unmarked village name: as likely part of a cooperative's name as a place."""
        return not self.marked and all(c.level == "village" for c in self.candidates)


@dataclass(slots=True)
class ParsedQuery:
    type: str | None = None
    service: str | None = None
    place: PlaceMention | None = None
    terms: list[str] = field(default_factory=list)  # words left for the name
    after_marker: list[str] = field(default_factory=list)  # name words right after "di"…
    filter_words: list[str] = field(default_factory=list)  # the words that gave type/service
    # The name and place words in the order typed ("medn baru"): where typo repair looks for
    # a misspelled place of several words.
    free: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.type or self.service or self.place or self.terms)


def _synonyms() -> dict[tuple[str, ...], tuple[str, str]]:
    table: dict[tuple[str, ...], tuple[str, str]] = {}
    for kind, terms in (("type", TYPES), ("service", SERVICES)):
        for term in terms.values():
            for phrase in (term.code.replace("_", " "), *term.words):
                key = tuple(phrase.split())
                table.setdefault(key, (kind, term.code))
    return table


SYNONYMS = _synonyms()
MAX_SYNONYM_WORDS = max(len(k) for k in SYNONYMS)


def _level_ok(region: Region, level: str | None) -> bool:
    if level is None:
        return True
    if ":" in level:
        lvl, kind = level.split(":")
        return region.level == lvl and region.kind == kind
    return region.level == level


def prune(candidates: list[Region], *, keep_villages: bool) -> list[Region]:
    """Drop candidates inside another candidate (Kec. Sleman inside Kab. Sleman), and
    villages when a larger area has the name (unless the query said "desa")."""
    codes = {c.code for c in candidates}
    kept = [
        c
        for c in candidates
        if not any(c.code.startswith(other + ".") for other in codes if other != c.code)
    ]
    if not keep_villages and any(c.level != "village" for c in kept):
        kept = [c for c in kept if c.level != "village"]
    return sorted(kept, key=lambda r: (r.depth, r.code))


class QueryParser:
    """Splits a typed query into place, type, service and name words."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer

    def _synonym_at(self, ws: list[str], i: int) -> tuple[int, tuple[str, str] | None]:
        for n in range(min(MAX_SYNONYM_WORDS, len(ws) - i), 0, -1):
            hit = SYNONYMS.get(tuple(ws[i : i + n]))
            if hit:
                return n, hit
        return 0, None

    def _place_at(self, ws: list[str], i: int, level: str | None) -> tuple[int, list[Region]]:
        for n in range(min(self.gazetteer.max_name_words, len(ws) - i), 0, -1):
            found = [
                r for r in self.gazetteer.lookup(" ".join(ws[i : i + n])) if _level_ok(r, level)
            ]
            if found:
                return n, found
        return 0, []

    def parse(self, text: str) -> ParsedQuery:
        ws = words(text)
        parsed = ParsedQuery()
        mentions: list[PlaceMention] = []
        marked = False
        level: str | None = None
        mention_end = -1  # where the last place mention ended
        i = 0
        while i < len(ws):
            word = ws[i]
            if word in LEVEL_MARKERS and i == mention_end and level is None:
                # "Sleman Regency", "Depok kecamatan": the level after the name narrows it.
                last = mentions[-1]
                narrowed = [c for c in last.candidates if _level_ok(c, LEVEL_MARKERS[word][0])]
                if narrowed:
                    last.candidates, last.marked = narrowed, True
                    mention_end = i = i + 1
                    continue
            if word in LEVEL_MARKERS and i + 1 < len(ws) and level is None:
                # "kec. Depok", "kelurahan Kesawan": the marker restricts the next place.
                marker_level = LEVEL_MARKERS[word][0]
                n_marked, found_marked = self._place_at(ws, i + 1, marker_level)
                n_whole, _ = self._place_at(ws, i, None)  # unless "Kota Baru" is a name
                if n_marked and n_marked + 1 >= n_whole:
                    mentions.append(PlaceMention(ws[i + 1 : i + 1 + n_marked], found_marked, True))
                    parsed.free.extend(ws[i + 1 : i + 1 + n_marked])
                    marked = False
                    i += 1 + n_marked
                    mention_end = i
                    continue
            n_place, found = self._place_at(ws, i, level)
            n_syn, syn = self._synonym_at(ws, i)
            if n_place and n_place > n_syn:
                mentions.append(
                    PlaceMention(ws[i : i + n_place], found, marked or level is not None)
                )
                parsed.free.extend(ws[i : i + n_place])
                marked, level = False, None
                i += n_place
                mention_end = i
                continue
            if syn:
                kind, code = syn
                if kind == "type" and parsed.type is None:
                    parsed.type = code
                elif kind == "service" and parsed.service is None:
                    parsed.service = code
                parsed.filter_words.extend(ws[i : i + n_syn])
                i += n_syn
                continue
            if word in LEVEL_MARKERS and i + 1 < len(ws):
                level = LEVEL_MARKERS[word][0]
                i += 1
                continue
            if word in PLACE_MARKERS:
                marked = True
                i += 1
                continue
            if word not in STOPWORDS and len(word) > 1:
                parsed.terms.append(word)
                parsed.free.append(word)
                if marked:
                    parsed.after_marker.append(word)
            i += 1
        parsed.place = self._combine(mentions, parsed)
        return parsed

    def _combine(self, mentions: list[PlaceMention], parsed: ParsedQuery) -> PlaceMention | None:
        """One place from several mentions: "Sukamaju Bogor" → the Sukamaju inside Bogor."""
        if not mentions:
            return None
        mentions.sort(key=lambda m: (not m.marked, min(c.depth for c in m.candidates)))
        # The most specific mention that lies inside another mention wins.
        for inner in sorted(mentions, key=lambda m: -max(c.depth for c in m.candidates)):
            for outer in mentions:
                if outer is inner:
                    continue
                inside = [
                    c
                    for c in inner.candidates
                    if any(
                        self.gazetteer.is_within(c.code, o.code)
                        for o in outer.candidates
                        if o.depth < c.depth
                    )
                ]
                if inside:
                    chosen = PlaceMention(inner.words, inside, True)
                    for other in mentions:
                        if other is not inner and other is not outer:
                            parsed.terms.extend(other.words)
                    return self._pruned(chosen)
        chosen = mentions[0]
        for other in mentions[1:]:
            parsed.terms.extend(other.words)
        return self._pruned(chosen)

    def _pruned(self, mention: PlaceMention) -> PlaceMention:
        keep_villages = all(c.level == "village" for c in mention.candidates)
        mention.everything = sorted(mention.candidates, key=lambda r: (r.depth, r.code))
        mention.candidates = prune(mention.candidates, keep_villages=keep_villages)
        return mention
