"""How the boards come aboard, for operators (/stats): cooperatives on the platform, claims,
how long decisions take, applications waiting too long, and the cooperatives people ask for
that are not on the platform yet — with a spreadsheet of that demand, so operators can reach
those boards first.

Only operators (``AdminService.require_operator``: refusals audited); every read is audited.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.i18n import JAKARTA
from bot.services.admin import AdminService
from bot.services.gazetteer import Gazetteer
from bot.services.spreadsheet import xlsx
from storage.base import Cooperatives, Onboarding
from storage.models import Demand, Median

WINDOW_DAYS = 90  # medians over the decisions of the last 90 days
WAITING_DAYS = 7  # an application waiting longer than this is overdue
TOP = 10


@dataclass(slots=True)
class OnboardingStats:
    cooperatives: int
    on_platform: int
    # province code, cooperatives on the platform, all; most on the platform first
    by_province: list[tuple[str, int, int]]
    open_claims: int
    claims: Median  # time from a claim to its decision
    applications: Median  # time from an application to its decision
    waiting: int  # pending applications older than WAITING_DAYS
    demand: list[Demand] = field(default_factory=list)  # the TOP most wanted
    window_days: int = WINDOW_DAYS
    waiting_days: int = WAITING_DAYS

    @property
    def share(self) -> float:
        return self.on_platform / self.cooperatives if self.cooperatives else 0.0


class OnboardingService:
    def __init__(
        self,
        repo: Onboarding,
        coops: Cooperatives,
        admin: AdminService,
        gazetteer: Gazetteer,
    ) -> None:
        self.repo = repo
        self.coops = coops
        self.admin = admin
        self.gazetteer = gazetteer

    async def stats(
        self, actor: int, now: datetime | None = None, top: int = TOP
    ) -> OnboardingStats:
        await self.admin.require_operator(actor, "onboarding_stats")
        now = now or datetime.now(UTC)
        everything: Counter[str] = Counter()
        for (province, _), n in (await self.coops.count_by_province_and_type()).items():
            everything[province] += n
        on = await self.repo.on_platform_by_province()
        provinces = sorted(
            (p for p in set(on) | set(everything) if on.get(p)),
            key=lambda p: (-on.get(p, 0), p),
        )
        since = now - timedelta(days=WINDOW_DAYS)
        result = OnboardingStats(
            cooperatives=sum(everything.values()),
            on_platform=sum(on.values()),
            by_province=[(p, on.get(p, 0), everything[p]) for p in provinces],
            open_claims=await self.repo.open_claims(),
            claims=await self.repo.claim_decision_median(since),
            applications=await self.repo.application_decision_median(since),
            waiting=await self.repo.applications_waiting(now - timedelta(days=WAITING_DAYS)),
            demand=await self.repo.demand(top),
        )
        await self.admin.record(actor, "onboarding_stats")
        return result

    def region_name(self, code: str | None) -> str:
        region = self.gazetteer.get(code)
        return region.name if region else (code or "")

    async def demand_export(self, actor: int, title: str, headers: Sequence[str]) -> bytes:
        """Every cooperative not on the platform with demand, most wanted first, as .xlsx:
        name, registration number, province, regency, phone (text), address, subscribers,
        join attempts, the last attempt's date in Indonesia's western time (WIB).
        ``title`` and ``headers`` come in the reader's language."""
        await self.admin.require_operator(actor, "export_demand")
        rows = await self.repo.demand()
        data = xlsx(
            title,
            headers,
            (
                (
                    row.name,
                    row.registration_number,
                    self.region_name(row.areas[0] if row.areas else None),
                    self.region_name(row.areas[1] if len(row.areas) > 1 else None),
                    row.phone,
                    row.address,
                    row.subscribers,
                    row.attempts,
                    _local_date(row.last_attempt),
                )
                for row in rows
            ),
            text_columns=(1, 4),
        )
        await self.admin.record(actor, "export_demand", rows=len(rows))
        return data


def _local_date(moment: datetime | None) -> date | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # the driver may hand back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(JAKARTA).date()
