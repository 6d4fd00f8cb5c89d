"""Board and operator tools (issue 16, items 16–23): the register export, member counts,
services from the vocabulary, verification, approval, the statistics chart, scheduling and
empty audiences — each through the real Application where a person meets it."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest

from bot.app import Backend, Services
from bot.config import Settings
from bot.i18n import I18n
from bot.services.register import register_csv, register_xlsx
from bot.services.timezones import WIB, WITA, format_moment
from storage.models import Application
from tests.conftest import Chat, texts
from tests.test_broadcast import members  # noqa: F401  (a fixture)

ADMIN = 7001


async def _compose(chat: Chat, text: str = "Rapat anggota", language: str = "en") -> None:
    await chat.send("/admin", user_id=ADMIN, language=language)
    await chat.tap("📣", user_id=ADMIN, language=language)
    await chat.send(text, user_id=ADMIN, language=language)


@pytest.mark.usefixtures("members")
class TestScheduling:
    async def test_besok_jam_9_is_scheduled_and_echoed(self, chat: Chat, backend: Backend) -> None:
        await _compose(chat, language="id")
        await chat.tap("Anggota aktif", user_id=ADMIN, language="id")
        calls = await chat.tap("Jadwalkan", user_id=ADMIN, language="id")
        assert "besok jam 9" in texts(calls)[-1]  # the prompt gives examples that work
        calls = await chat.send("besok jam 9", user_id=ADMIN, language="id")
        tomorrow = datetime.now(WIB.tz).date() + timedelta(days=1)
        expected = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=WIB.tz)
        echo = format_moment(expected, WIB, "id", "full")
        assert f"Dijadwalkan pada {echo} untuk 3 penerima" in texts(calls)[-1]
        jobs = await backend.broadcasts.recent(ADMIN)
        assert jobs[0].scheduled_at == expected.astimezone(UTC)

    async def test_english_phrasings_and_refusals_say_why(self, chat: Chat) -> None:
        await _compose(chat)
        await chat.tap("Active members", user_id=ADMIN, language="en")
        await chat.tap("Schedule", user_id=ADMIN, language="en")
        calls = await chat.send("yesterday-ish", user_id=ADMIN, language="en")
        assert "did not understand" in texts(calls)[-1] and "in 2 hours" in texts(calls)[-1]
        calls = await chat.send("tomorrow", user_id=ADMIN, language="en")
        assert "At what time?" in texts(calls)[-1]
        calls = await chat.send("2025-01-01 08:00", user_id=ADMIN, language="en")
        assert "has already passed" in texts(calls)[-1] and "2025" in texts(calls)[-1]
        calls = await chat.send("in 2 hours", user_id=ADMIN, language="en")
        assert "Scheduled for " in texts(calls)[-1] and " WIB to 3 recipients" in texts(calls)[-1]


@pytest.mark.usefixtures("members")
class TestNobodyToSendTo:
    async def test_an_empty_audience_cannot_be_sent(
        self, chat: Chat, backend: Backend, services: Services
    ) -> None:
        empty = await services.directory.coops.get_by_key("reg:kdmp1")
        assert empty is not None
        await backend.admins.add(empty.id, 7002)
        await chat.send("/admin", user_id=7002, language="en")
        await chat.tap("📣", user_id=7002, language="en")
        await chat.send("Hello", user_id=7002, language="en")
        calls = await chat.tap("Active members", user_id=7002, language="en")
        assert "Recipients: <b>0</b>" in texts(calls)[-1]
        assert "Nobody would receive" in texts(calls)[-1]
        labels = [b["text"] for b in chat.buttons(7002)]
        assert not any("Send now" in label for label in labels)
        assert any("Active members" in label for label in labels)  # choose again

    async def test_a_platform_filter_nobody_matches_is_refused(self, chat: Chat) -> None:
        await chat.send("/broadcast", user_id=900, language="id")
        await chat.send("Halo", user_id=900, language="id")
        await chat.tap("provinsi", user_id=900, language="id")
        calls = await chat.send("Papua", user_id=900, language="id")
        assert "Penerima: <b>0</b>" in texts(calls)[-1]
        assert not any("Kirim sekarang" in b["text"] for b in chat.buttons(900))


@pytest.mark.usefixtures("members")
class TestVerify:
    async def test_the_page_shows_the_new_state(self, chat: Chat, services: Services) -> None:
        coop = await services.directory.coops.get_by_key("reg:kk2")
        assert coop is not None
        await chat.send(f"/start c_{coop.id}", user_id=900, language="en")
        calls = await chat.tap("✅ Verify", user_id=900, language="en")
        edited = [c for c in calls if c.method == "editMessageText"]
        assert edited and "✅ Verified by Gerbang Koperasi" in edited[-1].params["text"]
        labels = [b["text"] for b in chat.buttons(900)]
        assert "✖ Remove verification" in labels and "✅ Verify" not in labels
        calls = await chat.tap("Remove verification", user_id=900, language="id")
        edited = [c for c in calls if c.method == "editMessageText"]
        assert edited and "Diverifikasi" not in edited[-1].params["text"]
        assert any("Verifikasi" in b["text"] for b in chat.buttons(900))

    async def test_from_results_keeps_distance_and_way_back(self, chat: Chat) -> None:
        await chat.location(3.5952, 98.6722, user_id=900, language="en")
        await chat.tap("Konsumen Sejahtera", user_id=900, language="en")
        calls = await chat.tap("✅ Verify", user_id=900, language="en")
        text = next(c for c in calls if c.method == "editMessageText").params["text"]
        assert "from you" in text and "Verified by" in text
        assert any("Back to results" in b["text"] for b in chat.buttons(900))


class TestApprove:
    async def test_approve_asks_before_the_applicant_is_told(
        self,
        chat: Chat,
        services: Services,
        members: dict[str, Any],  # noqa: F811
    ) -> None:
        await chat.send("/admin", user_id=ADMIN, language="id")
        await chat.tap("Permohonan", user_id=ADMIN, language="id")
        calls = await chat.tap("Setujui", user_id=ADMIN, language="id")
        assert not [c for c in calls if c.params.get("chat_id") == members["pending"]]
        assert "Setujui" in texts(calls)[-1]
        application = await services.membership.apps.get(members["pending_app"])
        assert application is not None and application.status == "pending"
        # "Not yet" goes back to the application, still waiting.
        calls = await chat.tap("Belum", user_id=ADMIN, language="id")
        assert "Siti Aminah" in texts(calls)[-1]
        await chat.tap("Setujui", user_id=ADMIN, language="id")
        calls = await chat.tap("Ya, setujui", user_id=ADMIN, language="id")
        told = [c for c in calls if c.params.get("chat_id") == members["pending"]]
        assert told, "the applicant is told once confirmed"
        application = await services.membership.apps.get(members["pending_app"])
        assert application is not None and application.status == "active"
        # A stale confirmation (another admin approved already) changes nothing.
        calls = await chat.callback(f"ay:{members['pending_app']}", user_id=ADMIN, language="id")
        assert not [c for c in calls if c.params.get("chat_id") == members["pending"]]


def _member(**fields: Any) -> Application:
    values: dict[str, Any] = {
        "id": "a1",
        "number": "P-1",
        "coop_id": "c1",
        "user_id": 1,
        "status": "active",
        "created_at": datetime(2026, 11, 20, tzinfo=UTC),
        "member_number": "KKS-000001",
        "full_name": "Siti Aminah",
        "sex": "F",
        "birth_date": "1990-08-17",
        "birth_place": "Medan",
        "address": "Jl. Mawar 1",
        "phone": "+6281234567890",
        "occupation": "other:Penjahit",
        "decided_at": datetime(2026, 11, 29, 20, 30, tzinfo=UTC),  # 30 Nov in WIB
        "domicile_declared": True,
    }
    values.update(fields)
    return Application(**values)


NIK = "1708021234560007"


class TestRegisterExport:
    def _t(self, language: str) -> Any:
        return I18n(Settings().locales_dir).get(language)

    def test_csv_opens_in_indonesian_excel(self) -> None:
        data = register_csv([_member()], lambda m: NIK, self._t("id"), WIB)
        assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
        header, row = data.decode("utf-8-sig").splitlines()
        assert header.split(";")[:4] == ["No. anggota", "Nama lengkap", "NIK", "Jenis kelamin"]
        cells = row.split(";")
        assert cells[2] == '"=""1708021234560007"""'  # exact, as text, in any spreadsheet
        assert cells[3] == "perempuan" and cells[8] == "Penjahit"  # no "other:"
        assert cells[10] == "2026-11-30"  # the cooperative's date, not UTC's 29th
        assert cells[11] == "ya" and not data.decode("utf-8-sig").startswith("sep=")

    def test_csv_in_english_uses_commas(self) -> None:
        data = register_csv([_member()], lambda m: NIK, self._t("en"), WITA)
        header = data.decode("utf-8-sig").splitlines()[0]
        assert header.startswith("Member number,Full name,NIK,Sex")

    def test_xlsx_keeps_nik_and_phone_as_text(self) -> None:
        data = register_xlsx([_member()], lambda m: NIK, self._t("id"), WIB)
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        assert sheet is not None
        assert sheet["A1"].value == "No. anggota"
        assert sheet["C2"].value == NIK and sheet["C2"].data_type == "s"
        assert sheet["H2"].value == "+6281234567890" and sheet["H2"].data_type == "s"
        assert sheet["I2"].value == "Penjahit"
        assert sheet["K2"].value == datetime(2026, 11, 30)

    def test_typed_formulas_stay_text(self) -> None:
        evil = _member(full_name='=HYPERLINK("http://x","klik")', address="+1+1")
        sheet = openpyxl.load_workbook(
            io.BytesIO(register_xlsx([evil], lambda m: NIK, self._t("en"), WIB))
        ).active
        assert sheet is not None and sheet["B2"].data_type == "s"
        text = register_csv([evil], lambda m: NIK, self._t("en"), WIB).decode("utf-8-sig")
        assert ",'=HYPERLINK" in text.replace('"', "") and ",'+1+1," in text

    async def test_the_board_gets_both_files(
        self,
        chat: Chat,
        members: dict[str, Any],  # noqa: F811
    ) -> None:
        await chat.send("/admin", user_id=ADMIN, language="id")
        await chat.tap("Anggota", user_id=ADMIN, language="id")
        calls = await chat.tap("Ekspor (CSV)", user_id=ADMIN, language="id")
        name, content = next(c for c in calls if c.method == "sendDocument").files["document"][:2]
        assert name == "anggota-KK-2.csv" and content.decode("utf-8-sig").count(";") > 10
        calls = await chat.tap("Ekspor (Excel)", user_id=ADMIN, language="id")
        name = next(c for c in calls if c.method == "sendDocument").files["document"][0]
        assert name == "anggota-KK-2.xlsx"


class TestStatisticsChart:
    def test_whole_numbers_titles_and_month_names(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from bot.services.charts import _members_figure

        months = [f"2026-{m:02d}" for m in range(1, 13)]
        fig = _members_figure(
            plt,
            months,
            [0] * 11 + [1],
            [0] * 11 + [1],
            title="Anggota 12 bulan terakhir",
            total_label="anggota",
            joined_label="anggota baru",
            status_counts={"aktif": 1, "menunggu": 2},
            month_labels=[
                "Jan",
                "Feb",
                "Mar",
                "Apr",
                "Mei",
                "Jun",
                "Jul",
                "Agu",
                "Sep",
                "Okt",
                "Nov",
                "Des",
            ],
            status_title="Permohonan menurut status",
        )
        try:
            left, right = fig.axes
            assert all(float(v).is_integer() for v in left.get_yticks())
            assert all(float(v).is_integer() for v in right.get_xticks())
            assert right.get_title() == "Permohonan menurut status"
            assert [x.get_text() for x in left.get_xticklabels()][-1] == "Des"
        finally:
            plt.close(fig)

    async def test_the_board_reads_months_in_its_language(
        self,
        chat: Chat,
        members: dict[str, Any],  # noqa: F811
    ) -> None:
        await chat.send("/admin", user_id=ADMIN, language="id")
        calls = await chat.tap("Statistik", user_id=ADMIN, language="id")
        month = datetime.now(UTC)
        names = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli"]
        names += ["Agustus", "September", "Oktober", "November", "Desember"]
        assert f"• {names[month.month - 1]} {month.year}: +3 → 3" in texts(calls)[0]


class TestServicesVocabulary:
    def test_typed_services_must_be_known(self) -> None:
        from bot.services.profile import InputError, parse_profile

        assert parse_profile("services", "sembako; Apotek, simpan pinjam") == [
            "sembako",
            "apotek",
            "simpan_pinjam",
        ]
        for typed in ("Foo", "sembako; kapal_selam"):
            with pytest.raises(InputError) as caught:
                parse_profile("services", typed)
            assert caught.value.code == "service_unknown"

    async def test_import_reports_unknown_tags(self, services: Services) -> None:
        from bot.services.importer import describe_error
        from tests.factories import csv_bytes
        from tests.test_membership import ROWS

        rows = [{**ROWS[0], "services": "sembako;kapal_selam"}, ROWS[1]]
        report = await services.importer.import_bytes(csv_bytes(rows))
        assert report.created == 1
        assert [(e.line, e.code, e.value) for e in report.errors] == [
            (2, "service_unknown", "kapal_selam")
        ]
        assert "sembako, apotek" in describe_error(report.errors[0], lambda s: s)

    async def test_profile_chooses_services_with_toggles(
        self,
        chat: Chat,
        services: Services,
        members: dict[str, Any],  # noqa: F811
    ) -> None:
        await chat.send("/admin", user_id=ADMIN, language="id")
        await chat.tap("Profil", user_id=ADMIN, language="id")
        labels = [b["text"] for b in chat.buttons(ADMIN)]
        assert "✏️ Layanan" in labels and "✏️ Jasa" not in labels
        calls = await chat.tap("✏️ Layanan", user_id=ADMIN, language="id")
        assert "Ketuk layanan" in texts(calls)[-1]
        await chat.tap("Apotek", user_id=ADMIN, language="id")
        coop = await services.directory.get(members["coop"])
        assert coop is not None and "apotek" in coop.services
        assert any(b["text"].startswith("✅ 💊") for b in chat.buttons(ADMIN))
        await chat.tap("Apotek", user_id=ADMIN, language="id")
        coop = await services.directory.get(members["coop"])
        assert coop is not None and "apotek" not in coop.services
        calls = await chat.tap("Selesai", user_id=ADMIN, language="id")
        assert "Profil" in texts(calls)[-1]


class TestMemberCounts:
    async def test_page_and_panel_agree_and_say_where_numbers_come_from(
        self,
        chat: Chat,
        services: Services,
        members: dict[str, Any],  # noqa: F811
    ) -> None:
        await services.directory.coops.set_fields(members["coop"], {"members_declared": 554})
        calls = await chat.send(f"/start c_{members['coop']}", user_id=5, language="id")
        page = texts(calls)[-1]
        assert "👥 554 anggota (menurut direktori koperasi) · 3 terdaftar di Gerbang" in page
        calls = await chat.send("/admin", user_id=ADMIN, language="id")
        assert "👥 3 anggota" in texts(calls)[-1]
        calls = await chat.send(f"/start c_{members['coop']}", user_id=5, language="en")
        assert "554 members (according to the cooperative directory)" in texts(calls)[-1]

    async def test_without_a_stated_number_only_the_registered_show(
        self,
        chat: Chat,
        members: dict[str, Any],  # noqa: F811
    ) -> None:
        calls = await chat.send(f"/start c_{members['coop']}", user_id=5, language="en")
        assert "👥 3 members registered in Gerbang Koperasi" in texts(calls)[-1]
        assert "directory" not in texts(calls)[-1]
