"""Importing the cooperative directory from CSV (or GeoJSON).

Columns (DESIGN.md): name,type,latitude,longitude (required), then registration_number,
address,village_code,phone,services,simpanan_pokok,simpanan_wajib,description.
Every row is validated; valid rows are upserted by an idempotency key (registration
number when present, otherwise name + village code, otherwise name + coordinates), so
re-importing a file updates and never duplicates. Bad rows are reported with their line
number and reason. Accepts UTF-8 with or without BOM, Windows-1252/Latin-1 text, and
comma, semicolon or tab separated files (Excel exports).
"""

from __future__ import annotations

import codecs
import csv
import inspect
import io
import itertools
import json
import math
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

from bot.services.catalog import SERVICES, normalise_service, normalise_type
from bot.services.gazetteer import Gazetteer, in_indonesia_bounds
from bot.services.names import NameIndex, name_tokens
from bot.services.phone import normalize_phone
from bot.services.query import STOPWORDS
from bot.services.text import fold
from storage.base import Cooperatives
from storage.models import Cooperative, CoopWrite, Point

COLUMNS = (
    "name",
    "type",
    "latitude",
    "longitude",
    "registration_number",
    "address",
    "village_code",
    "phone",
    "services",
    "simpanan_pokok",
    "simpanan_wajib",
    "description",
)
REQUIRED = COLUMNS[:4]
MAX_NAME = 150
MAX_ADDRESS = 300
MAX_DESCRIPTION = 1000
MAX_AMOUNT = 100_000_000
BATCH = 500

Progress = Callable[[int, int], Awaitable[None] | None]


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (wrong format, missing columns)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    code: str
    column: str | None = None
    value: str | None = None


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated


def describe_error(error: RowError, _: Callable[[str], str]) -> str:
    """One translated sentence for a rejected row."""
    messages = {
        "name_missing": _("the name is empty"),
        "name_too_long": _("the name is longer than {max} characters"),
        "type_missing": _("the type is empty"),
        "type_unknown": _(
            "unknown type “{value}” (use simpan_pinjam, konsumen, produsen, "
            "pemasaran, jasa, serba_usaha or syariah)"
        ),
        "coordinate_invalid": _("{column} “{value}” is not a number"),
        "coordinate_missing": _("{column} is empty"),
        "outside_indonesia": _("the coordinates {value} are outside Indonesia"),
        "village_unknown": _("village code “{value}” is not in the Kemendagri list"),
        "phone_invalid": _("phone “{value}” is not an Indonesian phone number"),
        "amount_invalid": _("{column} “{value}” is not an amount in rupiah"),
        "text_too_long": _("{column} is too long"),
        "service_unknown": _("unknown service “{value}” (use {services}, separated by ;)"),
        "duplicate": _("the same cooperative as line {value}"),
        "columns": _("the row has a different number of columns than the header"),
    }
    text = messages.get(error.code, error.code)
    return text.format(
        max=MAX_NAME,
        value=error.value or "",
        column=error.column or "",
        services=", ".join(SERVICES),
    )


def describe_file_error(error: ImportFileError, _: Callable[[str], str]) -> str:
    messages = {
        "empty": _("The file is empty."),
        "not_text": _("The file is not a CSV or GeoJSON text file."),
        "missing_columns": _(
            "The header lacks the required columns: {detail}. The first "
            "row must name the columns: name,type,latitude,longitude,…"
        ),
        "geojson": _("The GeoJSON file is not a FeatureCollection of points."),
    }
    return messages.get(error.code, error.code).format(detail=error.detail)


CHUNK = 1 << 20
# Bytes Windows-1252 leaves undefined: a file holding any of them is read as Latin-1.
_CP1252_HOLES = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


def _scan(stream: BinaryIO) -> tuple[str, bool, int]:
    """One pass over the bytes, a chunk at a time (the text is never held whole): the
    encoding (UTF-8 with or without BOM, else Windows-1252, else Latin-1, as for the whole
    file), GeoJSON or not, and the number of lines."""
    utf8: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8-sig")()
    head, last, blank, cp1252, lines = b"", b"", True, True, 0
    while chunk := stream.read(CHUNK):
        if len(head) < 4096:
            head += chunk[: 4096 - len(head)]
        blank = blank and not chunk.strip()
        lines += chunk.count(b"\n")
        last = chunk[-1:]
        if utf8 is not None:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                utf8 = None
        cp1252 = cp1252 and not any(hole in chunk for hole in _CP1252_HOLES)
    if blank:
        raise ImportFileError("empty")
    if b"\x00" in head:
        raise ImportFileError("not_text")
    if utf8 is not None:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = None
    encoding = "utf-8-sig" if utf8 is not None else "cp1252" if cp1252 else "latin-1"
    start = codecs.getincrementaldecoder(encoding)(errors="ignore").decode(head)
    if last not in (b"\n", b""):
        lines += 1  # the last line has no line break
    return encoding, start.lstrip().startswith("{"), lines


def _rows_csv(lines: Iterator[str]) -> Iterator[tuple[int, dict[str, str]]]:
    # The header is read (and checked) now, before any row is written.
    first = next(lines, "")
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    delimiter = max(counts, key=lambda d: counts[d])
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise ImportFileError("empty")
    columns = [fold(h).replace(" ", "_") for h in header]
    aliases = {
        "lat": "latitude",
        "lng": "longitude",
        "lon": "longitude",
        "nama": "name",
        "jenis": "type",
        "alamat": "address",
        "telepon": "phone",
    }
    columns = [aliases.get(c, c) for c in columns]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ImportFileError("missing_columns", ", ".join(missing))
    return _csv_body(reader, columns)


def _csv_body(reader: Any, columns: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            yield reader.line_num, {"__columns__": "mismatch"}
            continue
        yield reader.line_num, dict(zip(columns, row, strict=True))


def _rows_geojson(text: str) -> list[tuple[int, dict[str, str]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError("geojson") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ImportFileError("geojson")
    rows = []
    for number, feature in enumerate(data.get("features") or [], start=1):
        props = dict(feature.get("properties") or {}) if isinstance(feature, dict) else {}
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if isinstance(geometry, dict) and geometry.get("type") == "Point":
            coords = geometry.get("coordinates") or [None, None]
            props["longitude"], props["latitude"] = coords[0], coords[1]
        if isinstance(props.get("services"), list):
            props["services"] = ";".join(str(s) for s in props["services"])
        rows.append((number, {k: "" if v is None else str(v) for k, v in props.items()}))
    return rows


@dataclass(slots=True)
class Rows:
    """The rows of an opened file: ``expected`` (for the progress bar: the file's lines
    less the header, exact unless cells span lines) and the lazy (line, row) pairs."""

    expected: int
    rows: Iterator[tuple[int, dict[str, str]]]


def open_rows(source: bytes | BinaryIO) -> Rows:
    """The rows of a CSV or GeoJSON file, read lazily from ``source`` (bytes or a binary
    file object; one that cannot seek is spooled to a temporary file first). CSV is decoded
    and parsed as it is consumed; GeoJSON is one JSON document and is parsed whole. Raises
    :class:`ImportFileError` for unusable files before any row is returned."""
    stream: BinaryIO = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    own = not stream.seekable()
    if own:
        spool = tempfile.SpooledTemporaryFile(max_size=16 * CHUNK)  # noqa: SIM115 - closed below
        shutil.copyfileobj(stream, spool, CHUNK)
        spool.seek(0)
        stream = cast(BinaryIO, spool)
    try:
        start = stream.tell()
        encoding, geojson, lines = _scan(stream)
        stream.seek(start)
    except BaseException:
        if own:
            stream.close()
        raise
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        if geojson:
            rows = _rows_geojson(text.read())
            _release(text, own)
            return Rows(len(rows), iter(rows))
        return Rows(max(lines - 1, 0), _releasing(text, own, _rows_csv(iter(text))))
    except BaseException:
        _release(text, own)
        raise


def _release(text: io.TextIOWrapper, own: bool) -> None:
    # The caller's file stays open (closing the wrapper would close it); a spool is ours.
    if own:
        text.close()
    elif not text.closed:
        text.detach()


def _releasing(
    text: io.TextIOWrapper, own: bool, rows: Iterator[tuple[int, dict[str, str]]]
) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        yield from rows
    finally:
        _release(text, own)


def read_rows(data: bytes | BinaryIO) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a CSV or GeoJSON file."""
    return open_rows(data).rows


_AMOUNT_GROUPED = re.compile(r"^\d{1,3}([.,]\d{3})+$")
_AMOUNT_CENTS = re.compile(r"^(\d+)[.,]0{1,2}$")


def parse_amount(raw: str) -> int:
    """Rupiah as an integer: "50000", "50.000", "Rp 50.000", "50,000", "50000.00"."""
    text = raw.strip().lower().replace("rp", "").replace(" ", "").replace("\u00a0", "")
    if text.isdigit():
        return int(text)
    if _AMOUNT_GROUPED.match(text):
        return int(re.sub(r"[.,]", "", text))
    cents = _AMOUNT_CENTS.match(text)
    if cents:
        return int(cents.group(1))
    raise ValueError(raw)


def _coordinate(raw: str) -> float:
    value = float(raw.strip().replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(raw)
    return value


def import_key(
    name: str, registration_number: str | None, village_code: str | None, point: Point
) -> str:
    if registration_number:
        return "reg:" + fold(registration_number).replace(" ", "")
    if village_code:
        return f"nv:{fold(name)}|{village_code}"
    return f"nc:{fold(name)}|{point.lat:.4f},{point.lon:.4f}"


def is_village_cooperative(name: str) -> bool:
    """A Koperasi Desa/Kelurahan Merah Putih: membership needs domicile in the village."""
    folded = fold(name)
    return "merah putih" in folded and ("desa" in folded or "kelurahan" in folded)


class Importer:
    """Validates rows and upserts them into the directory."""

    def __init__(self, coops: Cooperatives, gazetteer: Gazetteer, names: NameIndex) -> None:
        self.coops = coops
        self.gazetteer = gazetteer
        self.names = names

    def validate(self, line: int, row: dict[str, str]) -> tuple[CoopWrite | None, list[RowError]]:
        """The write for one row, or the reasons it is rejected."""
        if row.get("__columns__"):
            return None, [RowError(line, "columns")]
        errors: list[RowError] = []
        get = lambda key: (row.get(key) or "").strip()  # noqa: E731

        name = " ".join(get("name").split())
        if not name:
            errors.append(RowError(line, "name_missing", "name"))
        elif len(name) > MAX_NAME:
            errors.append(RowError(line, "name_too_long", "name"))
        raw_type = get("type")
        coop_type = normalise_type(raw_type) if raw_type else None
        if not raw_type:
            errors.append(RowError(line, "type_missing", "type"))
        elif coop_type is None:
            errors.append(RowError(line, "type_unknown", "type", raw_type[:40]))
        coords: dict[str, float] = {}
        for column in ("latitude", "longitude"):
            raw = get(column)
            if not raw:
                errors.append(RowError(line, "coordinate_missing", column))
                continue
            try:
                coords[column] = _coordinate(raw)
            except ValueError:
                errors.append(RowError(line, "coordinate_invalid", column, raw[:40]))
        point = None
        if len(coords) == 2:
            point = Point(coords["latitude"], coords["longitude"])
            if not in_indonesia_bounds(point):
                errors.append(
                    RowError(line, "outside_indonesia", "latitude", f"{point.lat}, {point.lon}")
                )
        village_code = get("village_code") or None
        if village_code:
            region = self.gazetteer.get(village_code)
            if region is None or region.level != "village":
                errors.append(RowError(line, "village_unknown", "village_code", village_code[:40]))
        phone = None
        if get("phone"):
            phone = normalize_phone(get("phone"))
            if phone is None:
                errors.append(RowError(line, "phone_invalid", "phone", get("phone")[:40]))
        amounts: dict[str, int | None] = {}
        for column in ("simpanan_pokok", "simpanan_wajib"):
            raw = get(column)
            amounts[column] = None
            if raw:
                try:
                    value = parse_amount(raw)
                except ValueError:
                    value = -1
                if not 0 <= value <= MAX_AMOUNT:
                    errors.append(RowError(line, "amount_invalid", column, raw[:40]))
                else:
                    amounts[column] = value
        for column, limit in (("address", MAX_ADDRESS), ("description", MAX_DESCRIPTION)):
            if len(get(column)) > limit:
                errors.append(RowError(line, "text_too_long", column))
        # Only the vocabulary: search filters and the profile offer exactly these tags.
        services: list[str] = []
        for raw in re.split(r"[;|]", get("services")):
            tag = normalise_service(raw)
            if tag is None:
                continue
            if tag not in SERVICES:
                errors.append(RowError(line, "service_unknown", "services", raw.strip()[:40]))
            elif tag not in services:
                services.append(tag)
        if errors or point is None or coop_type is None:
            return None, errors

        if not village_code:
            nearest = self.gazetteer.nearest_village(point)
            if nearest is not None and nearest[1] < 50_000:
                village_code = nearest[0].code
        registration = get("registration_number") or None
        coop = Cooperative(
            id="",
            name=name,
            type=coop_type,
            location=point,
            services=services,
            registration_number=registration,
            address=" ".join(get("address").split()) or None,
            village_code=village_code,
            phone=phone,
            simpanan_pokok=amounts["simpanan_pokok"],
            simpanan_wajib=amounts["simpanan_wajib"],
            description=get("description") or None,
            village_restricted=is_village_cooperative(name),
            demo=registration is not None and registration.upper().startswith("DEMO-"),
            name_tokens=name_tokens(name),
            areas=self.gazetteer.area_codes(village_code) if village_code else [],
        )
        return CoopWrite(import_key(name, registration, village_code, point), coop), []

    async def import_bytes(
        self, data: bytes, *, progress: Progress | None = None, batch: int = BATCH
    ) -> ImportReport:
        """Import a whole file held in memory (a Telegram document); see :meth:`import_file`."""
        return await self.import_file(io.BytesIO(data), progress=progress, batch=batch)

    async def import_file(
        self, source: BinaryIO, *, progress: Progress | None = None, batch: int = BATCH
    ) -> ImportReport:
        """Import a file read from ``source`` as it goes: rows are validated and written
        ``batch`` at a time, so memory holds one batch (plus each row's key, to report
        duplicates), not the file. Raises :class:`ImportFileError` for unusable files,
        before anything is written."""
        opened = open_rows(source)
        report = ImportReport()
        seen: dict[str, int] = {}
        pending: list[CoopWrite] = []
        vocabulary: set[str] = set()  # name words written so far
        words: set[str] = set()  # this batch's new ones
        told = (0, 0)

        async def flush() -> None:
            result = await self.coops.upsert_many(pending)
            report.created += result.created
            report.updated += result.updated
            pending.clear()
            # Per batch: one write of ~47,000 words at the end peaked at +150 MiB.
            if words - STOPWORDS:
                await self.coops.add_vocabulary(words - STOPWORDS)
            vocabulary.update(words)
            words.clear()

        async def tell(done: int, total: int) -> None:
            if progress is not None:
                result: Any = progress(done, total)
                if inspect.isawaitable(result):
                    await result

        for line, row in opened.rows:
            report.rows += 1
            write, errors = self.validate(line, row)
            if write is not None:
                if write.key in seen:
                    errors = [RowError(line, "duplicate", None, str(seen[write.key]))]
                else:
                    seen[write.key] = line
                    pending.append(write)
                    words.update(t for t in write.coop.name_tokens if t not in vocabulary)
            report.errors.extend(errors)
            if len(pending) >= batch:
                await flush()
            if report.rows % batch == 0:
                # The expected count is the file's lines; it grows if cells span lines.
                told = (report.rows, max(opened.expected, report.rows))
                await tell(*told)
        if pending:
            await flush()
        if report.rows and told != (report.rows, report.rows):
            await tell(report.rows, report.rows)
        self.names.invalidate()
        return report
