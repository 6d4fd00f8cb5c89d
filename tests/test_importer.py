"""The directory importer: validation, idempotency, encodings and separators."""

from __future__ import annotations

import json

import pytest

from bot.app import Services
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
