"""The services handlers may call, in one typed bundle (``context.services``).

Only services: no store, no repositories (those stay with the composition root,
:class:`bot.app.Backend`). This module imports services and nothing above them, so
``bot.context`` can name :class:`Services` without reaching the composition root.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import I18n
from bot.services.admin import AdminService
from bot.services.board import BoardService
from bot.services.broadcast import BroadcastService
from bot.services.cards import CardService
from bot.services.claims import ClaimService
from bot.services.directory import DirectoryService
from bot.services.dues import DuesService
from bot.services.gazetteer import Gazetteer
from bot.services.geocode import Geocoder
from bot.services.health import HealthService
from bot.services.importer import Importer
from bot.services.ledger import LedgerService
from bot.services.membership import MembershipService
from bot.services.onboarding import OnboardingService
from bot.services.payments import PaymentSettings
from bot.services.platform import PlatformService
from bot.services.privacy import PrivacyService
from bot.services.proofs import ProofService
from bot.services.reminders import ReminderService
from bot.services.search import SearchService
from bot.services.sla import SlaService
from bot.services.updates import UpdateService
from bot.services.users import UserService


@dataclass
class Services:
    """Everything handlers may call; built once per process by ``bot.app.build_services``."""

    i18n: I18n
    gazetteer: Gazetteer
    users: UserService
    directory: DirectoryService
    search: SearchService
    importer: Importer
    membership: MembershipService
    cards: CardService
    admin: AdminService
    privacy: PrivacyService
    board: BoardService
    platform: PlatformService
    broadcast: BroadcastService
    claims: ClaimService
    health: HealthService
    updates: UpdateService
    onboarding: OnboardingService  # operators' onboarding figures (/stats)
    dues: DuesService  # what members owe, from the boards' ledgers (/tagihan)
    proofs: ProofService  # members' proofs of payment, decided by their boards
    ledger: LedgerService  # the board's ledger: record, correct, import, arrears, export
    sla: SlaService
    payments: PaymentSettings  # how members pay, set by each board
    reminders: ReminderService  # monthly dues reminders
    geocoder: Geocoder | None = None  # an online geocoder the search service uses, if any

    async def close(self) -> None:
        """Close the clients the services opened (the store is the backend's), after the
        searches saved in the background are written."""
        await self.search.settle()
        if self.geocoder is not None:
            await self.geocoder.close()
