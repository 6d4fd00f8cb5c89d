"""The board's ledger (issue 18, items 2, 5 and 7) through the real Application: record a
payment in the chat (the member gets a receipt), typed amounts and refusals that keep the
earlier answers, void and correct with a reason, import a CSV or .xlsx (bad rows reported
by line; a re-import adds nothing), who owes, totals, the export, and authorization."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from bot.app import Backend, Services
from bot.services.ledgerinput import LedgerInputError, parse_day, parse_money
from bot.telegram.localapi import Call
from handlers.callbacks import (
    LEDGER_ENTRY,
    LEDGER_EXPORT,
    LEDGER_FIND,
    LEDGER_FIX,
    LEDGER_IMPORT,
    LEDGER_MENU,
    LEDGER_OWING,
    LEDGER_PICK,
    LEDGER_RECORD,
    LEDGER_TOTALS,
    LEDGER_VIEW,
    LEDGER_VOID,
    PANEL,
)
from tests.conftest import Chat, texts
from tests.factories import BOARD, import_rows, present
from tests.test_cards import apply
from tests.test_membership import ROWS

MEMBER = 1001
SECOND = 1003
OTHER_ADMIN = 7002  # runs KSP-3 only
OPERATOR = 900


@pytest.fixture
async def world(services: Services, backend: Backend) -> dict[str, str]:
    ids = await import_rows(services, ROWS, on_platform=True)
    kk = ids["KK-2"]  # pokok Rp50.000, wajib Rp15.000
    for user_id, nik, name, key in (
        (MEMBER, "1271055708900001", "Siti Aminah", "siti"),
        (SECOND, "1271055708900003", "Rina Marlina", "rina"),
    ):
        application = await apply(services, user_id, kk, nik, name=name)
        approved = present(await services.membership.approve(application))
        ids[key] = application
        ids[key + "_number"] = present(approved.member_number)
    await backend.admins.add(ids["KSP-3"], OTHER_ADMIN)
    return ids


def to(calls: list[Call], chat_id: int) -> list[str]:
    return [
        c.params.get("text", "")
        for c in calls
        if c.method in ("sendMessage", "editMessageText") and c.params.get("chat_id") == chat_id
    ]


async def board(chat: Chat, data: str, lang: str = "en") -> list[Call]:
    """Press a ledger button as the board (the newest message carries it)."""
    if not chat.api.last_with_buttons(BOARD):
        await chat.send("/admin", user_id=BOARD, language=lang)
    return await chat.callback(data, user_id=BOARD, language=lang)


async def say(chat: Chat, text: str, lang: str = "en") -> list[Call]:
    return await chat.send(text, user_id=BOARD, language=lang)


async def tap(chat: Chat, label: str, lang: str = "en") -> list[Call]:
    return await chat.tap(label, user_id=BOARD, language=lang)


async def record(
    chat: Chat, coop: str, who: str, kind: str, amount: str, lang: str = "en"
) -> None:
    await board(chat, LEDGER_RECORD(coop), lang)
    await say(chat, who, lang)
    await tap(chat, kind, lang)
    await say(chat, amount, lang)
    await tap(chat, "Today" if lang == "en" else "Hari ini", lang)
    await tap(chat, "Skip" if lang == "en" else "Lewati", lang)
    await tap(chat, "Record" if lang == "en" else "Catat", lang)


class TestParsing:
    @pytest.mark.parametrize(
        ("raw", "amount"),
        [
            ("50000", 50_000),
            ("50.000", 50_000),
            ("Rp 50.000", 50_000),
            ("Rp50.000,00", 50_000),
            ("50rb", 50_000),
            ("50 ribu", 50_000),
            ("1,5 juta", 1_500_000),
            ("2jt", 2_000_000),
            (15000.0, 15_000),
        ],
    )
    def test_amounts(self, raw: Any, amount: int) -> None:
        assert parse_money(raw) == amount

    @pytest.mark.parametrize(
        ("raw", "code"),
        [
            ("0", "amount_zero"),
            ("-5000", "amount_zero"),
            ("lima puluh", "amount_invalid"),
            ("2.000.000.000", "amount_too_large"),
            ("50.000,50", "amount_fraction"),
        ],
    )
    def test_amount_refusals(self, raw: str, code: str) -> None:
        with pytest.raises(LedgerInputError) as caught:
            parse_money(raw)
        assert caught.value.code == code

    def test_days(self) -> None:
        today = date(2026, 11, 29)
        assert parse_day("kemarin", today) == date(2026, 11, 28)
        assert parse_day("15/11/2026", today) == parse_day("2026-11-15", today)
        assert parse_day("15 Nov 2026", today) == date(2026, 11, 15)
        assert parse_day("15/12", today) == date(2025, 12, 15)  # December is still to come
        for raw, code in (("1/1/2027", "date_future"), ("31/02/2026", "date_invalid")):
            with pytest.raises(LedgerInputError) as caught:
                parse_day(raw, today)
            assert caught.value.code == code


class TestRecord:
    async def test_record_in_the_chat_sends_a_receipt(
        self, chat: Chat, backend: Backend, world: dict[str, str]
    ) -> None:
        kk = world["KK-2"]
        calls = await chat.send("/admin", user_id=BOARD, language="en")
        calls = await board(chat, PANEL(kk))
        assert "2 members in arrears" in texts(calls)[-1]  # pokok unpaid by both
        calls = await tap(chat, "Savings")
        assert "2 members owe Rp130,000 in total" in texts(calls)[-1]
        await tap(chat, "Record a payment")
        calls = await say(chat, "Siti")
        assert "which savings" in texts(calls)[-1]
        await tap(chat, "Simpanan pokok")
        # Refusals say why and ask again; the member and the kind are kept.
        for typed, why in (
            ("lima puluh", "not an amount"),
            ("0", "more than zero"),
            ("5.000.000.000", "check the zeros"),
            ("50.000,50", "whole rupiah"),
        ):
            calls = await say(chat, typed)
            assert why in texts(calls)[-1] and "How much was paid" in texts(calls)[-1]
        calls = await say(chat, "Rp 50.000")
        assert "When was it paid" in texts(calls)[-1]
        calls = await say(chat, "1/1/2099")
        assert "still to come" in texts(calls)[-1]
        calls = await say(chat, "kemarin")  # Indonesian words work in English too
        assert "note" in texts(calls)[-1]
        calls = await say(chat, "tunai di kantor")
        summary = texts(calls)[-1]
        assert world["siti_number"] in summary and "Rp50,000" in summary
        assert "tunai di kantor" in summary
        calls = await tap(chat, "Record")
        receipt = to(calls, MEMBER)
        assert len(receipt) == 1 and "Tanda terima" in receipt[0]  # the member's language
        assert "Rp50.000" in receipt[0] and world["siti_number"] in receipt[0]
        assert "The member got a receipt" in " ".join(to(calls, BOARD))
        (entry,) = await backend.ledger.for_coop(kk)
        assert (entry.kind, entry.amount, entry.source, entry.created_by) == (
            "pokok",
            50_000,
            "board",
            BOARD,
        )
        assert entry.paid_on == datetime.now(UTC).date() - timedelta(days=1) or entry.paid_on
        assert entry.note == "tunai di kantor"
        audit = await backend.audit.recent(20)
        assert any(a.action == "ledger_record" and a.outcome == "ok" for a in audit)

    async def test_several_matches_give_buttons_in_indonesian(
        self, chat: Chat, backend: Backend, world: dict[str, str]
    ) -> None:
        kk = world["KK-2"]
        await board(chat, LEDGER_RECORD(kk), "id")
        calls = await say(chat, "a", "id")  # Siti Aminah, Rina Marlina
        assert "Beberapa anggota cocok" in texts(calls)[-1]
        calls = await tap(chat, world["rina_number"], "id")
        assert "simpanan apa" in texts(calls)[-1]
        await tap(chat, "Simpanan wajib", "id")
        await say(chat, "15rb", "id")
        await tap(chat, "Hari ini", "id")
        await tap(chat, "Lewati", "id")
        calls = await tap(chat, "Catat", "id")
        assert "Tanda terima" in to(calls, SECOND)[0]
        (entry,) = await backend.ledger.for_coop(kk)
        assert entry.application_id == world["rina"] and entry.amount == 15_000


class TestVoidAndCorrect:
    async def test_void_keeps_the_entry_and_correction_sends_a_corrected_receipt(
        self, chat: Chat, services: Services, backend: Backend, world: dict[str, str]
    ) -> None:
        kk = world["KK-2"]
        await record(chat, kk, world["siti_number"], "Simpanan pokok", "500000")  # a typo
        (typo,) = await backend.ledger.for_coop(kk)
        shown = chat.last_buttons(BOARD).payload["text"]  # the member's ledger, after saving
        assert "Rp500,000" in shown and "Simpanan pokok: paid" in shown
        await board(chat, LEDGER_FIX(typo.id))
        calls = await say(chat, "x")  # too short: asked again
        assert "reason of a few words" in texts(calls)[-1]
        await say(chat, "salah ketik nominal")
        await tap(chat, "Simpanan pokok")
        await say(chat, "50.000")
        await tap(chat, "Today")
        await tap(chat, "Skip")
        calls = await tap(chat, "Record")
        told = to(calls, MEMBER)
        assert "membetulkan" in told[0] and "Rp50.000" in told[0]  # a corrected receipt
        entries = await backend.ledger.for_coop(kk)
        old = next(e for e in entries if e.id == typo.id)
        new = next(e for e in entries if e.id != typo.id)
        assert old.status == "void" and old.void_reason == "salah ketik nominal"
        assert new.replaces == typo.id and new.amount == 50_000
        dues = present(
            await services.dues.of_membership(
                present(await backend.apps.get(world["siti"])), datetime.now(UTC)
            )
        )
        assert dues.pokok_open == 0
        # Void the corrected one too: the entry stays, with its reason.
        calls = await board(chat, LEDGER_ENTRY(new.id))
        assert "Correct" in str(chat.buttons(BOARD))
        await board(chat, LEDGER_VOID(new.id))
        calls = await say(chat, "dibayar dua kali")
        assert "Voided" in " ".join(texts(calls))
        entries = await backend.ledger.for_coop(kk)
        assert len(entries) == 2 and all(e.status == "void" for e in entries)
        actions = [(a.action, a.outcome) for a in await backend.audit.recent(30)]
        assert ("ledger_correct", "ok") in actions and ("ledger_void", "ok") in actions


def csv_file(rows: list[list[str]], header: list[str]) -> bytes:
    return ("\n".join(",".join(r) for r in [header, *rows]) + "\n").encode()


class TestImport:
    async def test_csv_rows_reported_by_line_and_reimport_adds_nothing(
        self, chat: Chat, backend: Backend, world: dict[str, str]
    ) -> None:
        kk, siti, rina = world["KK-2"], world["siti_number"], world["rina_number"]
        header = ["nomor_anggota", "tanggal", "jenis", "jumlah", "referensi"]
        rows = [
            [siti, "01/11/2026", "pokok", "50000", "TRF-1"],
            [rina, "2026-11-02", "Simpanan Wajib", "15.000", "TRF-2"],
            ["KK-999999", "01/11/2026", "wajib", "15000", "TRF-3"],  # line 4: unknown member
            [siti, "31/02/2026", "wajib", "15000", "TRF-4"],  # line 5: bad date
            [siti, "01/11/2026", "arisan", "15000", "TRF-5"],  # line 6: unknown kind
            [siti, "01/11/2026", "wajib", "nol", "TRF-6"],  # line 7: bad amount
            [siti, "01/11/2026", "wajib", "15000", ""],  # line 8: no reference
            [rina, "01/11/2026", "wajib", "15000", "TRF-2"],  # line 9: same as line 3
        ]
        data = csv_file(rows, header)
        await board(chat, LEDGER_IMPORT(kk))
        calls = await chat.feed(
            chat.api.document_update(chat.user(BOARD, "en"), "setoran.csv", data)
        )
        report = " ".join(to(calls, BOARD))
        assert "8 rows, 2 added, 0 already recorded, 6 rejected" in report
        for line in ("line 4", "line 5", "line 6", "line 7", "line 8", "line 9"):
            assert line in report
        assert "the same reference as line 3" in report
        sent = [c for c in calls if c.method == "sendDocument"]
        assert sent and sent[0].files  # the rejected rows as a CSV
        entries = await backend.ledger.for_coop(kk)
        assert sorted(e.reference or "" for e in entries) == ["TRF-1", "TRF-2"]
        assert {e.source for e in entries} == {"import"}
        # The same file again: nothing added, the two already recorded.
        await board(chat, LEDGER_IMPORT(kk))
        calls = await chat.feed(
            chat.api.document_update(chat.user(BOARD, "en"), "setoran.csv", data)
        )
        assert "0 added, 2 already recorded, 6 rejected" in " ".join(to(calls, BOARD))
        assert len(await backend.ledger.for_coop(kk)) == 2

    async def test_xlsx_with_english_headers(
        self, chat: Chat, backend: Backend, world: dict[str, str]
    ) -> None:
        kk = world["KK-2"]
        book = Workbook()
        sheet: Any = book.active
        sheet.append(["Member number", "Date", "Kind", "Amount", "Reference", "Note"])
        sheet.append([world["siti_number"], datetime(2026, 11, 3), "wajib", 15000, "X-1", "BRI"])
        sheet.append([world["rina_number"], "03/11/2026", "sukarela", 20000.0, 77, None])
        sheet.append([world["rina_number"], datetime(2099, 1, 1), "wajib", 15000, "X-3", None])
        out = io.BytesIO()
        book.save(out)
        await board(chat, LEDGER_IMPORT(kk))
        calls = await chat.feed(
            chat.api.document_update(
                chat.user(BOARD, "en"), "ledger.xlsx", out.getvalue(), "application/vnd.ms-excel"
            )
        )
        report = " ".join(to(calls, BOARD))
        assert "3 rows, 2 added, 0 already recorded, 1 rejected" in report
        assert "line 4" in report and "future" in report
        refs = sorted(e.reference or "" for e in await backend.ledger.for_coop(kk))
        assert refs == ["77", "X-1"]

    async def test_a_file_without_the_columns_is_refused_whole(
        self, chat: Chat, world: dict[str, str]
    ) -> None:
        await board(chat, LEDGER_IMPORT(world["KK-2"]), "id")
        calls = await chat.feed(
            chat.api.document_update(chat.user(BOARD, "id"), "x.csv", b"nama,jumlah\nA,1\n")
        )
        assert "tanggal" in " ".join(to(calls, BOARD))


class TestBoardView:
    async def test_who_owes_totals_and_export(self, chat: Chat, world: dict[str, str]) -> None:
        kk = world["KK-2"]
        await record(chat, kk, world["siti_number"], "Simpanan pokok", "50000")
        calls = await board(chat, LEDGER_OWING(kk, 0))
        text = texts(calls)[-1]
        assert world["rina_number"] in text and "Rp65,000" in text  # pokok + this month
        assert text.index(world["rina_number"]) < text.index(world["siti_number"])
        calls = await board(chat, LEDGER_TOTALS(kk))
        assert "Simpanan pokok: Rp50,000" in texts(calls)[-1]
        calls = await board(chat, LEDGER_EXPORT(kk))
        (sent,) = [c for c in calls if c.method == "sendDocument"]
        data = next(iter(sent.files.values()))[1]
        sheet: Any = load_workbook(io.BytesIO(data)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == "Member number" and rows[0][3] == "Amount (Rp)"
        assert rows[1][0] == world["siti_number"] and sheet["A2"].data_type == "s"
        assert rows[1][3] == 50_000 and rows[1][2] == "Simpanan pokok"

    async def test_stats_count_members_in_arrears(self, chat: Chat, world: dict[str, str]) -> None:
        calls = await chat.send("/stats", user_id=OPERATOR, language="en")
        assert "Members in arrears: 2" in " ".join(texts(calls))


class TestAuthorization:
    async def test_another_cooperatives_admin_is_refused_everywhere(
        self, chat: Chat, backend: Backend, world: dict[str, str]
    ) -> None:
        kk = world["KK-2"]
        await record(chat, kk, world["siti_number"], "Simpanan pokok", "50000")
        (entry,) = await backend.ledger.for_coop(kk)
        await chat.send("/admin", user_id=OTHER_ADMIN, language="en")
        buttons = [
            LEDGER_MENU(kk),
            LEDGER_RECORD(kk),
            LEDGER_FIND(kk),
            LEDGER_PICK(world["siti"]),
            LEDGER_VIEW(world["siti"]),
            LEDGER_ENTRY(entry.id),
            LEDGER_VOID(entry.id),
            LEDGER_FIX(entry.id),
            LEDGER_IMPORT(kk),
            LEDGER_OWING(kk, 0),
            LEDGER_TOTALS(kk),
            LEDGER_EXPORT(kk),
        ]
        for data in buttons:
            before = len(await backend.audit.recent(500))
            calls = await chat.callback(data, user_id=OTHER_ADMIN, language="en")
            answers = [
                c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery"
            ]
            assert any("not allowed" in a for a in answers), data
            assert not [c for c in calls if c.method == "sendDocument"], data
            refused = await backend.audit.recent(500)
            assert len(refused) == before + 1 and refused[0].outcome == "refused", data
        # No file reaches the ledger: the import was never awaited for this admin.
        calls = await chat.feed(
            chat.api.document_update(
                chat.user(OTHER_ADMIN, "en"),
                "x.csv",
                csv_file(
                    [[world["siti_number"], "01/11/2026", "wajib", "15000", "EVIL"]],
                    ["nomor_anggota", "tanggal", "jenis", "jumlah", "referensi"],
                ),
            )
        )
        assert len(await backend.ledger.for_coop(kk)) == 1
        # A board member removed after asking for the file is refused when it arrives.
        await board(chat, LEDGER_IMPORT(kk))
        await backend.admins.remove(kk, BOARD)
        calls = await chat.feed(
            chat.api.document_update(
                chat.user(BOARD, "en"),
                "x.csv",
                csv_file(
                    [[world["siti_number"], "01/11/2026", "wajib", "15000", "LATE"]],
                    ["nomor_anggota", "tanggal", "jenis", "jumlah", "referensi"],
                ),
            )
        )
        assert "not allowed" in " ".join(texts(calls))
        assert len(await backend.ledger.for_coop(kk)) == 1
