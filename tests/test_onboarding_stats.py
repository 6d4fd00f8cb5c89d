"""Operators see onboarding (/stats): cooperatives on the platform by province, open claims,
median decision times, applications waiting too long, the demand for cooperatives not on
the platform (text, chart, spreadsheet), and who may see it."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from openpyxl import load_workbook

from bot.app import Backend, Services
from bot.services.admin import Forbidden
from bot.services.charts import onboarding_figure
from bot.telegram.localapi import LocalBotApi
from handlers.operator.onboarding import duration
from storage import base
from storage import onboarding as onboarding_storage
from storage.onboarding import OnboardingRepository
from tests.conftest import Chat, texts
from tests.factories import import_rows

OPERATOR = 900  # ADMIN_IDS in the test settings
STRANGER = 5555
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)

# Medan (Sumatera Utara, 12) ×3, Yogyakarta (DI Yogyakarta, 34) ×2, Denpasar (Bali, 51) ×1.
ROWS: list[dict[str, Any]] = [
    {"name": "Koperasi Medan Satu", "lat": 3.59, "lon": 98.67, "reg": "MD-1", "phone": ""},
    {"name": "Koperasi Medan Dua", "lat": 3.58, "lon": 98.66, "reg": "MD-2", "phone": ""},
    {
        "name": "Koperasi Medan Tiga",
        "lat": 3.57,
        "lon": 98.65,
        "reg": "MD-3",
        "phone": "081234567890",
    },
    {"name": "Koperasi Jogja Satu", "lat": -7.7956, "lon": 110.3695, "reg": "YK-1", "phone": ""},
    {
        "name": "Koperasi Jogja Dua",
        "lat": -7.80,
        "lon": 110.37,
        "reg": "YK-2",
        "phone": "0274123456",
    },
    {"name": "Koperasi Bali Satu", "lat": -8.65, "lon": 115.22, "reg": "BL-1", "phone": ""},
]


@pytest.fixture
async def world(services: Services, backend: Backend) -> dict[str, str]:
    """Six cooperatives; MD-1, MD-2 and YK-1 have admins (on the platform)."""
    ids = await import_rows(
        services,
        [
            {
                "name": r["name"],
                "type": "konsumen",
                "latitude": str(r["lat"]),
                "longitude": str(r["lon"]),
                "registration_number": r["reg"],
                "address": f"Jl. {r['name'][9:]} 1",
                "phone": r["phone"],
            }
            for r in ROWS
        ],
    )
    for n, ref in enumerate(("MD-1", "MD-2", "YK-1")):
        await backend.admins.add(ids[ref], 7000 + n)
    return ids


async def claim(
    backend: Backend, coop_id: str, status: str, created: datetime, decided: datetime | None
) -> None:
    await backend.store["claims"].insert_one(
        {
            "_id": ObjectId(),
            "coop_id": coop_id,
            "user_id": 1,
            "status": status,
            "created_at": created,
            "decided_at": decided,
        }
    )


async def application(
    backend: Backend,
    coop_id: str,
    status: str,
    created: datetime,
    decided: datetime | None = None,
) -> None:
    await backend.store["applications"].insert_one(
        {
            "coop_id": coop_id,
            "user_id": 1,
            "status": status,
            "created_at": created,
            "decided_at": decided,
        }
    )


async def subscribe(
    backend: Backend, coop_id: str, user_id: int, notified: datetime | None = None
) -> None:
    await backend.store["subscriptions"].insert_one(
        {
            "_id": f"{coop_id}:{user_id}",
            "coop_id": coop_id,
            "user_id": user_id,
            "created_at": NOW - timedelta(days=3),
            "notified_at": notified,
        }
    )


async def attempt(
    backend: Backend, coop_id: str, user_id: int, last: datetime, count: int = 1
) -> None:
    await backend.store["join_attempts"].insert_one(
        {
            "_id": f"{coop_id}:{user_id}",
            "coop_id": coop_id,
            "user_id": user_id,
            "first_at": last - timedelta(days=1),
            "last_at": last,
            "count": count,
        }
    )


async def demand(backend: Backend, w: dict[str, str]) -> None:
    """MD-3: 3 open subscriptions (a 4th was notified) → 3; YK-2: 1 subscriber and 2 users
    who tried (one of them 5 times) → 3, fewer subscribers; BL-1: 1 attempt; MD-1 (on the
    platform): 5 subscribers, never listed."""
    for user in (11, 12, 13):
        await subscribe(backend, w["MD-3"], user)
    await subscribe(backend, w["MD-3"], 14, notified=NOW - timedelta(days=1))
    await subscribe(backend, w["YK-2"], 21)
    # 2026-06-29 18:30 UTC is already 30 June in Yogyakarta (WIB, UTC+7).
    await attempt(backend, w["YK-2"], 22, datetime(2026, 6, 29, 18, 30, tzinfo=UTC), count=5)
    await attempt(backend, w["YK-2"], 23, NOW - timedelta(days=5))
    await attempt(backend, w["BL-1"], 31, NOW - timedelta(days=2))
    for user in range(41, 46):
        await subscribe(backend, w["MD-1"], user)


class TestFigures:
    async def test_on_platform_count_share_and_by_province(
        self, services: Services, world: dict[str, str]
    ) -> None:
        stats = await services.onboarding.stats(OPERATOR, now=NOW)
        assert (stats.cooperatives, stats.on_platform, stats.share) == (6, 3, 0.5)
        assert stats.by_province == [("12", 2, 3), ("34", 1, 2)]  # Bali has none aboard

    async def test_open_claims(
        self, services: Services, backend: Backend, world: dict[str, str]
    ) -> None:
        for status in ("open", "more", "open", "approved", "rejected", "withdrawn"):
            await claim(backend, world["BL-1"], status, NOW - timedelta(days=1), None)
        stats = await services.onboarding.stats(OPERATOR, now=NOW)
        assert stats.open_claims == 3

    @pytest.mark.parametrize(
        ("hours", "median"),
        [([5, 1, 10], 5), ([1, 3, 5, 100], 4), ([7], 7), ([], None)],
        ids=["odd", "even", "one", "none"],
    )
    async def test_medians_over_the_last_90_days(
        self,
        services: Services,
        backend: Backend,
        world: dict[str, str],
        hours: list[int],
        median: int | None,
    ) -> None:
        coop = world["BL-1"]
        for i, h in enumerate(hours):
            decided = NOW - timedelta(days=i + 1)
            status = ("approved", "rejected")[i % 2]
            await claim(backend, coop, status, decided - timedelta(hours=h), decided)
            app_status = ("active", "rejected", "suspended")[i % 3]
            await application(backend, coop, app_status, decided - timedelta(hours=2 * h), decided)
        # Not counted: decided before the window, or not a decision of the board/operator.
        old = NOW - timedelta(days=91)
        await claim(backend, coop, "approved", old - timedelta(hours=900), old)
        await claim(backend, coop, "withdrawn", NOW - timedelta(hours=900), NOW)
        await claim(backend, coop, "open", NOW - timedelta(hours=900), None)
        await application(backend, coop, "active", old - timedelta(hours=900), old)
        await application(backend, coop, "withdrawn", NOW - timedelta(hours=900), NOW)
        await application(backend, coop, "left", NOW - timedelta(hours=900), NOW)
        stats = await services.onboarding.stats(OPERATOR, now=NOW)
        assert stats.claims.count == stats.applications.count == len(hours)
        if median is None:
            assert stats.claims.value is None and stats.applications.value is None
        else:
            assert stats.claims.value == timedelta(hours=median)
            assert stats.applications.value == timedelta(hours=2 * median)

    async def test_applications_waiting_over_7_days(
        self, services: Services, backend: Backend, world: dict[str, str]
    ) -> None:
        coop = world["BL-1"]
        for days in (8, 30, 6, 7 - 1 / 24):
            await application(backend, coop, "pending", NOW - timedelta(days=days))
        await application(backend, coop, "active", NOW - timedelta(days=10), NOW)
        assert (await services.onboarding.stats(OPERATOR, now=NOW)).waiting == 2
        later = NOW + timedelta(days=2)  # the injected clock moves: two more are overdue
        assert (await services.onboarding.stats(OPERATOR, now=later)).waiting == 4

    async def test_demand_ranking(
        self, services: Services, backend: Backend, world: dict[str, str]
    ) -> None:
        await demand(backend, world)
        stats = await services.onboarding.stats(OPERATOR, now=NOW)
        got = [(d.registration_number, d.subscribers, d.attempts) for d in stats.demand]
        assert got == [("MD-3", 3, 0), ("YK-2", 1, 2), ("BL-1", 0, 1)]
        assert stats.demand[1].last_attempt == datetime(2026, 6, 29, 18, 30, tzinfo=UTC)
        top = await services.onboarding.stats(OPERATOR, now=NOW, top=2)
        assert [d.registration_number for d in top.demand] == ["MD-3", "YK-2"]

    @pytest.mark.parametrize("limit", [1, 2, 3, None])
    async def test_demand_in_small_chunks(
        self,
        backend: Backend,
        world: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
        limit: int | None,
    ) -> None:
        """Chunked reads (as at national size) give the same ranking, ties by name."""
        await demand(backend, world)
        await subscribe(backend, world["MD-2"], 99)  # on the platform: excluded
        await attempt(backend, world["MD-3"], 98, NOW)  # 4 now
        await attempt(backend, world["BL-1"], 97, NOW)  # BL-1: 2 … tie with nothing
        await subscribe(backend, world["BL-1"], 96)  # BL-1: 3, 1 subscriber: tie with YK-2
        repo: base.Onboarding = OnboardingRepository(backend.store)
        whole = [d.registration_number for d in await repo.demand()]
        assert whole == ["MD-3", "BL-1", "YK-2"]  # BL-1 before YK-2: by name
        monkeypatch.setattr(onboarding_storage, "CHUNK", 1)
        chunked = [d.registration_number for d in await repo.demand(limit)]
        assert chunked == whole[:limit]

    async def test_only_operators_and_audited(
        self, services: Services, world: dict[str, str]
    ) -> None:
        with pytest.raises(Forbidden):
            await services.onboarding.stats(STRANGER)
        with pytest.raises(Forbidden):
            await services.onboarding.demand_export(STRANGER, "t", ["a"])
        await services.onboarding.stats(OPERATOR)
        entries = await services.admin.audit.recent(20)
        seen = {(e.actor, e.action, e.outcome) for e in entries}
        assert (STRANGER, "onboarding_stats", "refused") in seen
        assert (STRANGER, "export_demand", "refused") in seen
        assert (OPERATOR, "onboarding_stats", "ok") in seen


class TestFormatting:
    @pytest.mark.parametrize(
        ("value", "en", "id_"),
        [
            (timedelta(days=2, hours=3, minutes=20), "2 days 3 hours", "2 hari 3 jam"),
            (timedelta(days=1), "1 day", "1 hari"),
            (timedelta(hours=5, minutes=10), "5 hours 10 minutes", "5 jam 10 menit"),
            (timedelta(minutes=45), "45 minutes", "45 menit"),
            (timedelta(seconds=20), "< 1 minute", "< 1 menit"),
            (timedelta(days=40), "40 days", "40 hari"),
        ],
    )
    def test_durations_in_both_languages(
        self, services: Services, value: timedelta, en: str, id_: str
    ) -> None:
        assert duration(services.i18n.get("en"), value) == en
        assert duration(services.i18n.get("id"), value) == id_

    @pytest.mark.parametrize(
        ("provinces", "wanted"),
        [
            (
                [("Sumatera Utara", 2), ("Daerah Istimewa Yogyakarta", 1)],
                [("Koperasi A", 3, 0), ("B", 1, 2)],
            ),
            ([], []),
        ],
        ids=["data", "empty"],
    )
    def test_chart_axes_are_whole_numbers(self, provinces: Any, wanted: Any) -> None:
        import matplotlib.pyplot as plt

        fig = onboarding_figure(
            provinces,
            wanted,
            title="Onboarding",
            provinces_title="On the platform",
            demand_title="Most wanted",
            subscribers_label="subscribers",
            attempts_label="tried to join",
        )
        try:
            assert len(fig.axes) == 2
            for axis in fig.axes:
                ticks = [t for t in axis.get_xticks() if t >= 0]
                assert ticks and all(float(t).is_integer() for t in ticks), ticks
            assert fig.axes[0].get_title() == "On the platform"
        finally:
            plt.close(fig)


def sent_text(calls: list[Any], needle: str) -> str:
    return next(t for t in texts(calls) if needle in t)


class TestThroughTheChat:
    async def test_operator_sees_onboarding_and_exports_english(
        self, chat: Chat, services: Services, backend: Backend, world: dict[str, str]
    ) -> None:
        now = datetime.now(UTC)
        await demand(backend, world)
        await claim(backend, world["BL-1"], "open", now - timedelta(days=1), None)
        await claim(
            backend,
            world["BL-1"],
            "approved",
            now - timedelta(days=3, hours=3),
            now - timedelta(days=1),
        )
        await application(backend, world["MD-1"], "pending", now - timedelta(days=9))
        # Decided within a minute: "< 1 minute" is escaped in the HTML message.
        await application(backend, world["MD-1"], "active", now - timedelta(seconds=20), now)
        calls = await chat.send("/stats", user_id=OPERATOR, language="en")
        assert "Cooperatives: 6" in texts(calls)[0]  # the platform figures come first
        text = sent_text(calls, "Onboarding")
        assert "On the platform: 3 of 6 cooperatives (50%)" in text
        assert "• Sumatera Utara: 2 · 3 · 66.67%" in text
        assert "• Daerah Istimewa Yogyakarta: 1 · 2 · 50%" in text
        assert "Open claims: 1" in text
        assert "over the last 90 days" in text
        assert "• claims: 2 days 3 hours (1 decided)" in text
        assert "• applications: &lt; 1 minute (1 decided)" in text
        assert "Applications waiting over 7 days: 1" in text
        assert "1. Koperasi Medan Tiga (Sumatera Utara): 3 · 0" in text
        assert "2. Koperasi Jogja Dua (Daerah Istimewa Yogyakarta): 1 · 2" in text
        assert "3. Koperasi Bali Satu (Bali): 0 · 1" in text
        assert "Medan Satu" not in text.split("Most wanted")[1]  # on the platform
        photo = next(c for c in calls if c.method == "sendPhoto")
        assert photo.files["photo"][1].startswith(b"\x89PNG")
        calls = await chat.tap("Demand list", user_id=OPERATOR, language="en")
        document = next(c for c in calls if c.method == "sendDocument")
        name, data = document.files["document"][0], document.files["document"][1]
        assert name.endswith(".xlsx")
        sheet: Any = load_workbook(io.BytesIO(data)).active
        rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert sheet.title == "Demand"
        assert rows[0] == [
            "Name",
            "Registration number",
            "Province",
            "Regency/city",
            "Phone",
            "Address",
            "Notify-me subscribers",
            "Tried to join",
            "Last attempt",
        ]
        assert [r[0] for r in rows[1:]] == [
            "Koperasi Medan Tiga",
            "Koperasi Jogja Dua",
            "Koperasi Bali Satu",
        ]
        medan, jogja, bali = rows[1:]
        assert medan[1:4] == ["MD-3", "Sumatera Utara", "Kota Medan"]
        assert medan[6:9] == [3, 0, None]
        assert jogja[2] == "Daerah Istimewa Yogyakarta" and jogja[6:8] == [1, 2]
        # The later attempt was 18:30 UTC on the 29th: 30 June in WIB.
        assert jogja[8].date() == date(2026, 6, 30)
        assert bali[8] is not None
        phone = sheet.cell(row=2, column=5)
        assert phone.data_type == "s" and phone.number_format == "@"
        assert phone.value and phone.value.lstrip("+").isdigit()
        stored = await services.directory.get(world["MD-3"])
        assert stored is not None and phone.value == stored.phone
        audit = await services.admin.audit.recent(20)
        assert any(
            e.action == "export_demand" and e.actor == OPERATOR and e.outcome == "ok"
            for e in audit
        )

    async def test_operator_sees_onboarding_in_indonesian(
        self, chat: Chat, backend: Backend, world: dict[str, str]
    ) -> None:
        now = datetime.now(UTC)
        await demand(backend, world)
        await claim(
            backend,
            world["BL-1"],
            "rejected",
            now - timedelta(days=3, hours=3),
            now - timedelta(days=1),
        )
        calls = await chat.send("/stats", user_id=OPERATOR, language="id")
        text = sent_text(calls, "Bergabung ke platform")
        assert "Di platform: 3 dari 6 koperasi (50%)" in text
        assert "• Sumatera Utara: 2 · 3 · 66,67%" in text
        assert "• klaim: 2 hari 3 jam (1 diputuskan)" in text
        assert "90 hari terakhir" in text
        assert "1. Koperasi Medan Tiga (Sumatera Utara): 3 · 0" in text
        assert any(c.method == "sendPhoto" for c in calls)
        calls = await chat.tap("Daftar permintaan", user_id=OPERATOR, language="id")
        document = next(c for c in calls if c.method == "sendDocument")
        sheet: Any = load_workbook(io.BytesIO(document.files["document"][1])).active
        assert sheet.cell(row=1, column=1).value == "Nama"
        assert sheet.cell(row=2, column=1).value == "Koperasi Medan Tiga"

    async def test_others_are_refused_and_audited(
        self, chat: Chat, services: Services, backend: Backend, world: dict[str, str]
    ) -> None:
        await demand(backend, world)
        calls = await chat.send("/stats", user_id=STRANGER, language="en")
        assert "not allowed" in texts(calls)[0]
        assert not [c for c in calls if c.method in ("sendPhoto", "sendDocument")]
        assert not any("Medan Tiga" in str(c.params) for c in calls)
        await chat.send("/start", user_id=7000, language="en")  # a cooperative's admin
        message = chat.api.last_with_buttons(7000)
        assert message is not None
        calls = await chat.feed(
            chat.api.callback_update(LocalBotApi.user(7000, "en"), message, "odx")
        )
        alerts = [c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery"]
        assert any("not allowed" in a for a in alerts)
        assert not [c for c in calls if c.method == "sendDocument"]
        audit = await services.admin.audit.recent(50)
        refused = {(e.actor, e.action) for e in audit if e.outcome == "refused"}
        assert (STRANGER, "platform_stats") in refused
        assert (7000, "export_demand") in refused
