"""Finding cooperatives: nearest to a point, inside an area, or by name.

Every search is saved (``searches``, one week) so that the buttons of a result list —
pages, filters, the choice of an ambiguous place — keep working, also after a restart.

(One module over 500 lines: the typed query's chain of readings — a full name, a place, a
misspelt place, name words, too common words — is one piece, read top to bottom.)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.services.gazetteer import Gazetteer, Region, haversine_m, in_indonesia_bounds
from bot.services.geocode import Geocoder
from bot.services.names import COMMON, NameIndex, Scored
from bot.services.query import PLACE_MARKERS, ParsedQuery, QueryParser
from bot.services.text import clean_line, words
from storage.base import Cooperatives, Searches
from storage.models import Cooperative, CooperativeFilter, Point, SavedSearch

PAGE_SIZE = 5
RADII_KM = (5.0, 25.0, 100.0)
MAX_QUERY_LENGTH = 100
INLINE_LIMIT = 50
MAX_PLACE_OPTIONS = 8
# The answer to "where should I look?" (a typed place, a shared location) is taken as one
# within this time; later, it is a new search.
QUESTION_TTL_S = 15 * 60
# Saved searches that are no list: a place to pick, an open question (no page, no filter).
NOT_LISTS = ("pick", "question")
NAME_CANDIDATES = 500
# Every word typed in more names than this, and no place or location: the words narrow
# nothing ("Koperasi Sejahtera"), so the bot asks where rather than read them all.
NAME_CAP = COMMON
MAX_COUNTED_AREAS = 80
_PERSONAL = re.compile(r"(?<!\d)(\d[\s.-]?){16}(?!\d)|(?<![\w+])(\+62|62|0)8[\d\s.-]{7,14}\d")


def _crowded(outcome: Outcome) -> bool:
    """The name words are in too many names: the user was asked where to look."""
    return isinstance(outcome, NoResults) and outcome.count > 0


def looks_personal(text: str) -> bool:
    """A NIK (16 digits) or an Indonesian mobile number in the text."""
    return bool(_PERSONAL.search(text))


def _find(words: list[str], part: list[str]) -> int | None:
    """Where ``part`` starts in ``words``."""
    for i in range(len(words) - len(part) + 1):
        if words[i : i + len(part)] == part:
            return i
    return None


@dataclass(slots=True)
class ResultPage:
    """One page of a search's results."""

    search: SavedSearch
    items: list[Cooperative]
    page: int
    total: int
    area: Region | None = None
    widened: bool = False  # the radius grew because the first one held too few
    partial: bool = False  # names that match only some of the words

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))

    @property
    def has_prev(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return (self.page + 1) * PAGE_SIZE < self.total


@dataclass(slots=True)
class PlaceChoice:
    """The query names a place that exists several times: the user picks one."""

    search: SavedSearch
    name: str
    options: list[tuple[Region, int]]  # area and how many cooperatives match there
    corrected: bool = False  # no place has the name; these are spelled almost like it
    empty: bool = False  # the place exists but holds no match; these are spelled like it


@dataclass(slots=True)
class NoResults:
    """Nothing to show, and why (the handler turns ``reason`` into advice)."""

    reason: str  # empty | too_long | outside | none_near | nothing | need_location | expired
    search: SavedSearch | None = None
    area: Region | None = None
    radius_km: float | None = None
    parsed: ParsedQuery | None = None
    place_name: str | None = None  # several places have this name; none has a match
    query: str = ""  # what the user typed
    count: int = 0  # need_location for name words: more than this many names have them


Outcome = ResultPage | PlaceChoice | NoResults


@dataclass(slots=True)
class SearchService:
    """Runs searches against the directory; knows nothing of Telegram."""

    coops: Cooperatives
    searches: Searches
    gazetteer: Gazetteer
    names: NameIndex
    geocoder: Geocoder | None = None
    parser: QueryParser = field(init=False)

    def __post_init__(self) -> None:
        self.parser = QueryParser(self.gazetteer)

    # --- entry points -------------------------------------------------------------------

    async def near(
        self,
        user_id: int,
        point: Point,
        *,
        type: str | None = None,
        service: str | None = None,
        terms: list[str] | None = None,
    ) -> Outcome:
        """The cooperatives nearest to ``point``, widening the radius while too few; with
        ``terms`` (name words too common alone, the answer to "where?"), the names with
        those words in the regency around ``point``, nearest first."""
        if not (math.isfinite(point.lat) and math.isfinite(point.lon)) or not in_indonesia_bounds(
            point
        ):
            return NoResults("outside")
        search = SavedSearch(
            id="", user_id=user_id, kind="near", point=point, type=type, service=service
        )
        village = self.gazetteer.nearest_village(point) if terms else None
        if terms and village is not None:
            regency = self.gazetteer.lineage(village[0].code)[:2][-1]
            return await self._start(
                replace(
                    search,
                    kind="name",
                    terms=list(terms),
                    area_code=regency.code,
                    query=" ".join(terms),
                )
            )
        return await self._start_near(search)

    async def text(
        self,
        user_id: int,
        raw: str,
        *,
        type: str | None = None,
        service: str | None = None,
        terms: list[str] | None = None,
    ) -> Outcome:
        """Run a typed query; ``type`` and ``service`` apply when it names neither, and
        the name words ``terms`` when it names only a place (what an earlier query that
        was answered with "where should I look?" asked for)."""
        text = clean_line(raw, 10_000)
        if len(text) > MAX_QUERY_LENGTH:
            return NoResults("too_long")
        if looks_personal(text):
            # A NIK or a phone number typed here is neither searched, stored nor echoed.
            return NoResults("personal")
        parsed = self.parser.parse(text)
        if parsed.empty:
            return NoResults("empty")
        if parsed.type is None and parsed.service is None:
            parsed.type, parsed.service = type, service
        if terms and not parsed.terms and parsed.place is not None:
            parsed.terms = list(terms)
            text = " ".join([*terms, text])  # what the list says it looked for
        base = SavedSearch(
            id="",
            user_id=user_id,
            kind="name",
            type=parsed.type,
            service=parsed.service,
            query=text,
        )
        whole = await self._whole_name(base, parsed, text)
        if whole is not None:
            return whole
        place = parsed.place
        if place is not None and parsed.terms:
            # "Medan Barru", "Jakarta Selatn", "Medn Baru": a place name with a misspelled
            # word beside it is more likely a longer place misspelled than a name inside it.
            start = _find(parsed.free, place.words)
            if start is not None:
                suggestion = await self._did_you_mean(
                    base,
                    parsed.free,
                    min_words=len(place.words) + 1,
                    cover=(start, start + len(place.words)),
                )
                if suggestion is not None:
                    return suggestion
        if place is not None and place.weak:
            # "Koperasi Sejahtera": the words name a village, but more likely a cooperative.
            outcome = await self._start(
                replace(base, kind="name", terms=parsed.terms + place.words)
            )
            if (isinstance(outcome, ResultPage) and not outcome.partial) or _crowded(outcome):
                return outcome
            # "Medn Baru": a misspelled place of several words, one of them a village name.
            suggestion = await self._did_you_mean(base, parsed.free, min_words=2)
            if suggestion is not None:
                return suggestion
        if place is not None:
            return await self._start_place(base, parsed)
        if parsed.after_marker:
            # "apotek di Medn": the words after "di" were meant as a place.
            suggestion = await self._did_you_mean(base, parsed.terms)
            if suggestion is not None:
                return suggestion
        if parsed.terms:
            outcome = await self._start(replace(base, terms=parsed.terms))
            if (
                isinstance(outcome, PlaceChoice)
                or (isinstance(outcome, ResultPage) and not outcome.partial)
                or _crowded(outcome)
            ):
                return outcome
            if isinstance(outcome, ResultPage):
                # No name has every word: a misspelled place ("Slemn") explains it better.
                suggestion = await self._did_you_mean(base, parsed.free)
                return suggestion if suggestion is not None else outcome
            if parsed.filter_words:
                # "Koperasi Konsumen Sejahtera" where "konsumen" is part of the name.
                outcome = await self._start(
                    replace(
                        base, terms=parsed.filter_words + parsed.terms, type=None, service=None
                    )
                )
                if not isinstance(outcome, NoResults):
                    return outcome
            geocoded = await self._geocode(text)
            if geocoded is not None:
                return await self._start_near(replace(base, kind="near", point=geocoded, terms=[]))
            suggestion = await self._did_you_mean(base, parsed.terms)
            if suggestion is not None:
                return suggestion
            return NoResults("nothing", parsed=parsed, query=text)
        return NoResults("need_location", parsed=parsed, query=text)

    async def page(self, search_id: str, page: int) -> Outcome:
        """Another page of a saved search."""
        search = await self.searches.get(search_id)
        if search is None or search.kind in NOT_LISTS:
            return NoResults("expired")
        return await self._run(search, max(0, page))

    async def refine(
        self,
        search_id: str,
        *,
        type: str | bool | None = False,
        service: str | bool | None = False,
    ) -> Outcome:
        """The same search with another type or service filter (``False`` = keep as is)."""
        search = await self.searches.get(search_id)
        if search is None or search.kind in NOT_LISTS:
            return NoResults("expired")
        changed = replace(
            search,
            type=search.type if type is False else type,  # type: ignore[arg-type]
            service=search.service if service is False else service,  # type: ignore[arg-type]
        )
        if changed.kind == "near" and changed.point is not None:
            return await self._start_near(changed)
        return await self._start(changed)

    async def pick(self, search_id: str, index: int) -> Outcome:
        """The user chose one of the places a query could mean."""
        search = await self.searches.get(search_id)
        if search is None or search.kind != "pick" or not 0 <= index < len(search.candidates):
            return NoResults("expired")
        kind = "name" if search.terms else "area"
        return await self._start(
            replace(search, kind=kind, area_code=search.candidates[index], candidates=[])
        )

    async def ask_where(self, user_id: int, outcome: NoResults) -> None:
        """``outcome`` asked the user where to look ("apotek", "Koperasi Sejahtera"): keep
        its filter (and name words) for the answer, a typed place or a shared location,
        within ``QUESTION_TTL_S``."""
        parsed = outcome.parsed
        if outcome.reason != "need_location" or parsed is None:
            return
        question = SavedSearch(
            id="",
            user_id=user_id,
            kind="question",
            type=parsed.type,
            service=parsed.service,
            terms=list(parsed.terms) if outcome.count else [],
            query=outcome.query,
        )
        await self.searches.ask(question, self._questions_since())

    async def answer_to_where(self, user_id: int) -> tuple[str | None, str | None, list[str]]:
        """The type, service and name words the user's open question promised (used once;
        nothing if there is none or it is older than ``QUESTION_TTL_S``)."""
        question = await self.searches.take_question(user_id, self._questions_since())
        if question is None:
            return None, None, []
        return question.type, question.service, list(question.terms)

    def _questions_since(self) -> datetime:
        return datetime.now(UTC) - timedelta(seconds=QUESTION_TTL_S)

    async def settle(self) -> None:
        """Wait for the searches saved so far (written in the background) to be written."""
        await self.searches.settle()

    async def get_saved(self, search_id: str) -> SavedSearch | None:
        return await self.searches.get(search_id)

    async def inline(self, raw: str, point: Point | None) -> list[Cooperative]:
        """Up to 50 cooperatives for an inline query, near ``point`` when given."""
        text = clean_line(raw, MAX_QUERY_LENGTH)
        near = point if point is not None and in_indonesia_bounds(point) else None
        parsed = self.parser.parse(text) if text else ParsedQuery()
        filt = CooperativeFilter(type=parsed.type, service=parsed.service)
        place = parsed.place
        if place is not None and not place.weak:
            filt.area_code = place.candidates[0].code
            near = near or place.candidates[0].center
        terms = parsed.terms + (place.words if place is not None and place.weak else [])
        if terms:
            scored = await self.names.match(terms, filt=filt, limit=NAME_CANDIDATES)
            ranked = self._rank(scored, near)
            return ranked[:INLINE_LIMIT]
        if near is None:
            return []
        return await self.coops.nearest(
            near,
            max_distance_m=None if filt.area_code else RADII_KM[-1] * 1000,
            filt=filt,
            limit=INLINE_LIMIT,
        )

    # --- internals ----------------------------------------------------------------------

    async def _geocode(self, text: str) -> Point | None:
        if self.geocoder is None:
            return None
        return await self.geocoder.geocode(text)

    async def _start_near(self, search: SavedSearch) -> Outcome:
        """Widen 5 → 25 → 100 km while fewer than a page are found. Each step reads only
        its own circle (index-bounded on both geo paths), so a dense city stops at 5 km."""
        assert search.point is not None
        filt = CooperativeFilter(type=search.type, service=search.service)
        total, radius = 0, RADII_KM[-1]
        items: list[Cooperative] = []
        for radius in RADII_KM:
            total, items = await self.coops.near_page(
                search.point, max_distance_m=radius * 1000, filt=filt, limit=PAGE_SIZE
            )
            if total >= PAGE_SIZE:
                break
        saved = await self.searches.save(replace(search, kind="near", radius_km=radius))
        if total == 0:
            return NoResults("none_near", search=saved, radius_km=saved.radius_km)
        return ResultPage(saved, items, 0, total, widened=radius > RADII_KM[0])

    async def _start_place(self, base: SavedSearch, parsed: ParsedQuery) -> Outcome:
        place = parsed.place
        assert place is not None
        kind = "name" if parsed.terms else "area"
        search = replace(base, kind=kind, terms=parsed.terms)
        filt = CooperativeFilter(type=search.type, service=search.service)
        if len(place.candidates) == 1:
            # One likely area: its list is the answer whenever it holds a match (counting
            # first would read the same cooperatives twice); otherwise as below.
            outcome = await self._start(replace(search, area_code=place.candidates[0].code))
            if not isinstance(outcome, NoResults):
                return outcome
        counts = await self._counts_per_area(place.candidates, search, filt)
        options = [(r, counts[r.code]) for r in place.candidates]
        if any(n > 0 for _, n in options):
            # Same-named places: offer only those where something matches.
            options = [(r, n) for r, n in options if n > 0]
        if not options or all(n == 0 for _, n in options):
            # Nothing in the likely areas: try the smaller same-named ones, then the name.
            smaller = [r for r in place.everything if r not in place.candidates]
            counts = await self._counts_per_area(smaller, search, filt)
            options = [(r, counts[r.code]) for r in smaller if counts[r.code] > 0]
            if not options:
                alt = await self._start(
                    replace(search, kind="name", terms=place.words + parsed.terms)
                )
                if isinstance(alt, ResultPage) and not alt.partial:
                    return alt
                if isinstance(alt, NoResults) and alt.reason == "need_location" and alt.count:
                    # The words are in hundreds of names ("Koperasi Desa Merah Putih", the
                    # programme's own name, read as the village "Merah"): ask where.
                    return alt
                suggestion = await self._did_you_mean(
                    search, parsed.free, exclude=set(place.everything)
                )
                if suggestion is not None:
                    # The place exists (with nothing that matches) unless it was misspelled.
                    suggestion.empty = suggestion.name.split() == place.words
                    return suggestion
                if isinstance(alt, ResultPage) and place.weak:
                    # Names with only some of the words: shown for a village name that may
                    # be part of a name, never instead of saying a real area holds nothing.
                    return alt
                if len(place.everything) == 1:
                    return NoResults(
                        "nothing", search=search, area=place.candidates[0], parsed=parsed
                    )
                return NoResults(
                    "nothing", search=search, parsed=parsed, place_name=" ".join(place.words)
                )
        options.sort(key=lambda o: (-o[1], o[0].depth, o[0].code))
        options = options[:MAX_PLACE_OPTIONS]
        if len(options) == 1:
            outcome = await self._start(replace(search, area_code=options[0][0].code))
            if isinstance(outcome, NoResults):
                # "Koperasi Sleman Sejahtera" may be a name rather than a place.
                alt = await self._start(
                    replace(search, kind="name", terms=place.words + parsed.terms)
                )
                if not isinstance(alt, NoResults):
                    return alt
            return outcome
        saved = await self.searches.save(
            replace(search, kind="pick", candidates=[r.code for r, _ in options])
        )
        return PlaceChoice(saved, " ".join(place.words), options)

    async def _whole_name(
        self, base: SavedSearch, parsed: ParsedQuery, text: str
    ) -> ResultPage | None:
        """A cooperative's full name typed (nearly) exactly wins over reading some of its
        words as a type, a service or a place ("KSP Maju Bersama" registered as a consumer
        cooperative). Only queries that mix such words with name words are checked."""
        if not parsed.terms or not (parsed.filter_words or parsed.place):
            return None
        terms = [w for w in words(text) if w not in PLACE_MARKERS]
        scored = await self.names.whole_names(terms, name=text, limit=NAME_CANDIDATES)
        if not scored:
            return None
        search = await self.searches.save(
            replace(base, kind="name", terms=terms, type=None, service=None)
        )
        ranked = self._rank(scored, None)
        return ResultPage(search, ranked[:PAGE_SIZE], 0, len(ranked))

    async def _did_you_mean(
        self,
        base: SavedSearch,
        terms: list[str],
        exclude: set[Region] | None = None,
        *,
        min_words: int = 1,
        cover: tuple[int, int] | None = None,
    ) -> PlaceChoice | None:
        """Places one typo away from the words ("Slemn" → Sleman, "Medn Baru" → Medan Baru)
        that have matches; the longest run of words first (runs that include the words
        ``cover`` spans, when given)."""
        for n in range(min(3, len(terms)), min_words - 1, -1):
            for i in range(len(terms) - n + 1):
                if cover is not None and not (i <= cover[0] and cover[1] <= i + n):
                    continue
                edits = {
                    r: e
                    for r, e in self.gazetteer.similar_with_edits(" ".join(terms[i : i + n]))
                    if not exclude or r not in exclude
                }
                candidates = list(edits)
                if not candidates:
                    continue
                rest = terms[:i] + terms[i + n :]
                search = replace(base, kind="name" if rest else "area", terms=rest)
                filt = CooperativeFilter(type=search.type, service=search.service)
                counts = await self._counts_per_area(candidates, search, filt)
                options = [(r, counts[r.code]) for r in candidates if counts[r.code] > 0]
                if options:
                    # The closest spelling first ("Medan Barru": Baru before Barat).
                    options.sort(key=lambda o: (edits[o[0]], -o[1], o[0].depth, o[0].code))
                    saved = await self.searches.save(
                        replace(search, kind="pick", candidates=[r.code for r, _ in options])
                    )
                    return PlaceChoice(
                        saved,
                        " ".join(terms[i : i + n]),
                        options[:MAX_PLACE_OPTIONS],
                        corrected=True,
                    )
        return None

    async def _counts_per_area(
        self, areas: list[Region], search: SavedSearch, filt: CooperativeFilter
    ) -> dict[str, int]:
        counts: dict[str, int] = {}
        for region in areas[:MAX_COUNTED_AREAS]:
            area_filt = replace(filt, area_code=region.code)
            if search.terms:
                counts[region.code] = len(await self.names.match(search.terms, filt=area_filt))
            else:
                counts[region.code] = await self.coops.count(area_filt)
        for region in areas[MAX_COUNTED_AREAS:]:
            counts[region.code] = 0
        return counts

    async def _start(self, search: SavedSearch) -> Outcome:
        result = await self._run(search, 0, save=True)
        return result

    async def _run(self, search: SavedSearch, page: int, *, save: bool = False) -> Outcome:
        filt = CooperativeFilter(
            type=search.type, service=search.service, area_code=search.area_code
        )
        area = self.gazetteer.get(search.area_code)
        skip = page * PAGE_SIZE
        if search.kind == "near" and search.point is not None:
            radius_m = (search.radius_km or RADII_KM[-1]) * 1000
            total, items = await self.coops.near_page(
                search.point, max_distance_m=radius_m, filt=filt, skip=skip, limit=PAGE_SIZE
            )
            if save:
                search = await self.searches.save(search)
            if total == 0:
                return NoResults("none_near", search=search, radius_km=search.radius_km)
            widened = (search.radius_km or 0) > RADII_KM[0]
            return ResultPage(search, items, page, total, area=area, widened=widened)
        if search.kind == "area" and area is not None:
            # The count and the page from one ranking of the area's cooperatives.
            total, items = await self.coops.near_page(
                area.center, max_distance_m=None, filt=filt, skip=skip, limit=PAGE_SIZE
            )
            if total == 0:
                return NoResults("nothing", search=search, area=area)
            if save:
                search = await self.searches.save(search)
            return ResultPage(search, items, page, total, area=area)
        # By name (optionally inside an area).
        if area is None and search.point is None:
            scored, crowd = await self.names.match_or_count(
                search.terms, name=search.query, filt=filt, limit=NAME_CANDIDATES
            )
            if crowd and not scored:
                # Words in so many names narrow nothing: ask where (a place or a location),
                # as for a type alone. A name typed in full is still answered at once.
                return NoResults(
                    "need_location",
                    parsed=ParsedQuery(
                        type=search.type, service=search.service, terms=search.terms
                    ),
                    query=search.query,
                    count=NAME_CAP,
                )
        else:
            scored = await self.names.match(search.terms, filt=filt, limit=NAME_CANDIDATES)
        if not scored:
            return NoResults("nothing", search=search, area=area)
        if save:
            search = await self.searches.save(search)
        ranked = self._rank(scored, search.point or (area.center if area else None))
        partial = any(s.matched < len([t for t in search.terms if t]) for s in scored)
        return ResultPage(
            search, ranked[skip : skip + PAGE_SIZE], page, len(ranked), area=area, partial=partial
        )

    @staticmethod
    def _rank(scored: list[Scored], reference: Point | None) -> list[Cooperative]:
        def key(s: Scored) -> tuple[float, int, float, str, str]:
            coop = s.coop
            dist = haversine_m(reference, coop.location) if reference else 0.0
            # Among equal scores a name typed in full comes first, then the nearest.
            whole = 0 if s.whole_name else 1
            return (-round(s.score, 3), whole, dist, coop.name.casefold(), coop.id)

        ordered = sorted(scored, key=key)
        if reference is not None:
            for s in ordered:
                s.coop.distance_m = haversine_m(reference, s.coop.location)
        return [s.coop for s in ordered]
