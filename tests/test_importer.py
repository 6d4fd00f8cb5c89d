"""The directory importer: validation, idempotency, encodings and separators."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from bot.app import Services
from bot.services import importer
from bot.services.importer import ImportFileError, describe_error, parse_amount
from storage.models import CooperativeFilter
from tests.factories import COLUMNS, csv_bytes

GOOD = {
    "name": "Koperasi Maju Jaya",
    "type": "konsumen",
    "latitude": "3.5952",
    "longitude": "98.6722",
    "registration_number": "518/BH/II/2019",
    "village_code": "12.71.05.1001",
    "phone": "0812-3456-7890",
    "services": "sembako; Apotek;simpan pinjam",
    "simpanan_pokok": "Rp 50.000",
    "simpanan_wajib": "10000",
    "description": "Toko & simpan pinjam",
}


class TestValidation:
    async def test_good_row(self, services: Services) -> None:
        report = await services.importer.import_bytes(csv_bytes([GOOD]))
        assert (report.rows, report.created, report.errors) == (1, 1, [])
        coop = (await services.directory.coops.by_tokens(["maju"]))[0]
        full = await services.directory.get(coop.id)
        assert full is not None
        assert full.services == ["sembako", "apotek", "simpan_pinjam"]
        assert full.simpanan_pokok == 50_000 and full.simpanan_wajib == 10_000
        assert full.phone == "+6281234567890"
        assert full.areas == ["12", "12.71", "12.71.05", "12.71.05.1001"]

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"name": ""}, "name_missing"),
            ({"name": "K" * 151}, "name_too_long"),
            ({"type": ""}, "type_missing"),
            ({"type": "bank"}, "type_unknown"),
            ({"latitude": "abc"}, "coordinate_invalid"),
            ({"longitude": ""}, "coordinate_missing"),
            ({"latitude": "51.5", "longitude": "-0.12"}, "outside_indonesia"),
            ({"latitude": "nan"}, "coordinate_invalid"),
            ({"village_code": "99.99.99.9999"}, "village_unknown"),
            ({"village_code": "12.71"}, "village_unknown"),
            ({"phone": "12345"}, "phone_invalid"),
            ({"simpanan_pokok": "-5"}, "amount_invalid"),
            ({"simpanan_wajib": "sepuluh ribu"}, "amount_invalid"),
            ({"simpanan_pokok": "1000000000"}, "amount_invalid"),
            ({"description": "x" * 1001}, "text_too_long"),
        ],
    )
    async def test_bad_rows_are_reported_with_line(
        self, services: Services, change: dict, code: str
    ) -> None:
        rows = [
            GOOD,
            {**GOOD, "registration_number": "B-2", **change},
            {**GOOD, "registration_number": "B-3", "name": "Koperasi Tiga"},
        ]
        report = await services.importer.import_bytes(csv_bytes(rows))
        assert report.created == 2
        assert [(e.line, e.code) for e in report.errors] == [(3, code)]
        assert describe_error(report.errors[0], lambda s: s)

    async def test_type_labels_accepted(self, services: Services) -> None:
        rows = [
            {**GOOD, "type": t, "registration_number": f"T{i}"}
            for i, t in enumerate(["Simpan Pinjam", "SERBA USAHA", "ksp", "Syariah"])
        ]
        report = await services.importer.import_bytes(csv_bytes(rows))
        assert report.errors == [] and report.created == 4

    @pytest.mark.parametrize(
        ("raw", "value"),
        [
            ("50000", 50000),
            ("50.000", 50000),
            ("Rp50.000", 50000),
            ("50,000", 50000),
            ("1.000.000", 1_000_000),
            ("50000.00", 50000),
        ],
    )
    def test_amounts(self, raw: str, value: int) -> None:
        assert parse_amount(raw) == value


class TestIdempotency:
    async def test_reimport_updates_never_duplicates(self, services: Services) -> None:
        rows = [
            GOOD,
            {**GOOD, "registration_number": "", "name": "Koperasi Tanpa Nomor"},
            {**GOOD, "registration_number": "", "village_code": "", "name": "Koperasi Titik"},
        ]
        first = await services.importer.import_bytes(csv_bytes(rows))
        assert first.created == 3
        rows[0] = {**GOOD, "description": "Baru"}
        second = await services.importer.import_bytes(csv_bytes(rows))
        assert second.created == 0 and second.updated == 3
        assert await services.directory.count() == 3
        coop = (await services.directory.coops.by_tokens(["maju"]))[0]
        full = await services.directory.get(coop.id)
        assert full is not None and full.description == "Baru"

    async def test_duplicate_rows_in_one_file(self, services: Services) -> None:
        report = await services.importer.import_bytes(csv_bytes([GOOD, GOOD]))
        assert report.created == 1
        assert [(e.line, e.code, e.value) for e in report.errors] == [(3, "duplicate", "2")]


class TestFormats:
    @pytest.mark.parametrize(
        ("kwargs"),
        [
            {"bom": True},
            {"newline": "\r\n"},
            {"delimiter": ";"},
            {"delimiter": "\t"},
            {"encoding": "cp1252"},
            {"encoding": "latin-1", "delimiter": ";", "newline": "\r\n", "bom": False},
        ],
    )
    async def test_variants(self, services: Services, kwargs: dict) -> None:
        row = {**GOOD, "name": "Koperasi Sejahtera Bersama", "address": "Jl. Kenanga, Pekanbaru"}
        if kwargs.get("encoding") in ("cp1252", "latin-1"):
            row["name"] = "Koperasi Café Müller"
        report = await services.importer.import_bytes(csv_bytes([row], **kwargs))
        assert report.errors == [] and report.created == 1
        coop = (
            await services.directory.coops.by_tokens(
                ["cafe"] if "Café" in row["name"] else ["sejahtera"]
            )
        )[0]
        assert coop.name == row["name"]

    async def test_only_required_columns(self, services: Services) -> None:
        data = csv_bytes([GOOD], columns=COLUMNS[:4])
        report = await services.importer.import_bytes(data)
        assert report.errors == [] and report.created == 1
        coop = (await services.directory.coops.by_tokens(["maju"]))[0]
        assert coop.village_code == "12.71.05.1001"  # placed by the nearest village

    async def test_missing_required_column(self, services: Services) -> None:
        with pytest.raises(ImportFileError) as exc:
            await services.importer.import_bytes(b"name,type,latitude\nA,konsumen,3.5\n")
        assert exc.value.code == "missing_columns" and "longitude" in exc.value.detail

    @pytest.mark.parametrize("data", [b"", b"   \n", b"\x89PNG\r\n\x1a\n\x00\x00"])
    async def test_not_a_csv(self, services: Services, data: bytes) -> None:
        with pytest.raises(ImportFileError):
            await services.importer.import_bytes(data)

    async def test_geojson(self, services: Services) -> None:
        data = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [110.37, -7.80]},
                    "properties": {
                        "name": "Koperasi Geo",
                        "type": "jasa",
                        "services": ["logistik", "gudang"],
                    },
                },
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [0, 0]},
                    "properties": {"name": "Nowhere", "type": "jasa"},
                },
            ],
        }
        report = await services.importer.import_bytes(json.dumps(data).encode())
        assert report.created == 1 and [e.code for e in report.errors] == ["outside_indonesia"]
        assert await services.directory.coops.count(CooperativeFilter(service="gudang")) == 1

    async def test_progress_is_reported(self, services: Services) -> None:
        rows = [
            {**GOOD, "registration_number": f"P{i}", "name": f"Koperasi {i}"} for i in range(25)
        ]
        seen: list[tuple[int, int]] = []
        await services.importer.import_bytes(
            csv_bytes(rows), progress=lambda d, t: seen.append((d, t)), batch=10
        )
        assert seen == [(10, 25), (20, 25), (25, 25)]


def _numbered(n: int, **change: str) -> list[dict[str, str]]:
    return [
        {**GOOD, "registration_number": f"S{i}", "name": f"Koperasi Aliran {i}", **change}
        for i in range(n)
    ]


class NoSeek(io.RawIOBase):
    """A pipe-like binary stream: read only, no seeking (stdin, a socket)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class TestStreaming:
    """Rows are read, validated and written a batch at a time from a stream."""

    async def test_errors_in_several_batches_keep_their_lines(self, services: Services) -> None:
        rows = _numbered(23)
        rows[2] = {**rows[2], "type": "bank"}  # line 4, batch 1
        rows[11] = {**rows[11], "latitude": "abc"}  # line 13, batch 2
        rows[15] = dict(rows[1])  # line 17: the same cooperative as line 3
        rows[21] = {**rows[21], "phone": "12345"}  # line 23, batch 3
        seen: list[tuple[int, int]] = []
        report = await services.importer.import_file(
            io.BytesIO(csv_bytes(rows, newline="\r\n")),
            progress=lambda d, t: seen.append((d, t)),
            batch=5,
        )
        assert (report.rows, report.created, report.updated) == (23, 19, 0)
        assert [(e.line, e.code) for e in report.errors] == [
            (4, "type_unknown"),
            (13, "coordinate_invalid"),
            (17, "duplicate"),
            (23, "phone_invalid"),
        ]
        assert report.errors[2].value == "3"
        assert seen == [(5, 23), (10, 23), (15, 23), (20, 23), (23, 23)]
        again = await services.importer.import_file(io.BytesIO(csv_bytes(rows)), batch=5)
        assert (again.created, again.updated, len(again.errors)) == (0, 19, 4)
        assert await services.directory.count() == 19

    async def test_reimport_across_batches_adds_only_new_rows(self, services: Services) -> None:
        rows = _numbered(12)
        first = await services.importer.import_file(io.BytesIO(csv_bytes(rows[:7])), batch=3)
        second = await services.importer.import_file(io.BytesIO(csv_bytes(rows)), batch=4)
        assert (first.created, first.updated) == (7, 0)
        assert (second.created, second.updated) == (5, 7)
        assert await services.directory.count() == 12

    async def test_line_numbers_after_a_cell_spanning_lines(self, services: Services) -> None:
        rows = _numbered(3)
        rows[0]["address"] = "Jl. Kenanga 1\nRT 02/RW 03"
        rows[2]["type"] = "bank"
        seen: list[tuple[int, int]] = []
        report = await services.importer.import_file(
            io.BytesIO(csv_bytes(rows)), progress=lambda d, t: seen.append((d, t)), batch=2
        )
        assert [(e.line, e.code) for e in report.errors] == [(5, "type_unknown")]
        # Four lines after the header, three rows: the total is corrected at the end.
        assert seen == [(2, 4), (3, 3)]
        coop = (await services.directory.coops.by_tokens(["aliran"]))[0]
        addresses = {
            (await services.directory.get(c.id)).address
            for c in await services.directory.coops.by_tokens(["aliran"])
        }
        assert coop is not None and "Jl. Kenanga 1 RT 02/RW 03" in addresses

    async def test_a_stream_that_cannot_seek(self, services: Services) -> None:
        source = io.BufferedReader(NoSeek(csv_bytes(_numbered(4), bom=True)))
        report = await services.importer.import_file(source, batch=3)
        assert (report.rows, report.created, report.errors) == (4, 4, [])

    async def test_the_callers_file_stays_open(self, services: Services, tmp_path: Any) -> None:
        path = tmp_path / "koperasi.csv"
        path.write_bytes(csv_bytes(_numbered(3)))
        with path.open("rb") as source:
            report = await services.importer.import_file(source)
            assert not source.closed
        assert report.created == 3

    @pytest.mark.parametrize(("byte", "text"), [(b"\xe9", "é"), (b"\x81", "\x81")])
    async def test_encoding_decided_by_the_whole_file(
        self, services: Services, monkeypatch: pytest.MonkeyPatch, byte: bytes, text: str
    ) -> None:
        # Chunks of 64 bytes: the one byte that is not UTF-8 comes chunks after the start.
        monkeypatch.setattr(importer, "CHUNK", 64)
        rows = _numbered(6)
        rows[5]["name"] = "Koperasi Aliran Caf\u00a4"
        data = csv_bytes(rows).replace("\u00a4".encode(), byte)
        report = await services.importer.import_file(io.BytesIO(data), batch=2)
        assert report.errors == [] and report.created == 6
        names = {c.name for c in await services.directory.coops.by_tokens(["aliran"])}
        assert "Koperasi Aliran Caf" + text in names

    async def test_trailing_blank_lines_end_the_progress_at_the_rows(
        self, services: Services
    ) -> None:
        seen: list[tuple[int, int]] = []
        data = csv_bytes(_numbered(4)) + b"\n\n,,,,,,,,,,,\n"
        report = await services.importer.import_file(
            io.BytesIO(data), progress=lambda d, t: seen.append((d, t)), batch=2
        )
        assert report.rows == 4 and seen == [(2, 7), (4, 7), (4, 4)]
