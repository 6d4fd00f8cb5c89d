"""The composition root: the one place that wires handlers, services and storage, and the
one lifecycle (:func:`running`) that polling, the webhook server, the console and the tests
start and stop the bot with.

Three layers of objects, built here and nowhere else:

- :class:`Backend`: the store and its repositories (and the NIK vault, the keyring of every
  person's data key). The CLI and tests use it directly; handlers never see it.
- :class:`~bot.services.registry.Services`: what handlers may call (``context.services``).
- :class:`BotApplication`: python-telegram-bot's Application with every handler registered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest

import handlers
from bot.config import Settings
from bot.context import BotContext, BotData
from bot.i18n import I18n
from bot.persistence import MongoPersistence
from bot.services.admin import AdminService
from bot.services.board import BoardService
from bot.services.broadcast import BroadcastEngine, BroadcastService
from bot.services.cards import CardService
from bot.services.claims import ClaimService
from bot.services.crypto import Keyring, Vault
from bot.services.directory import DirectoryService
from bot.services.dues import DuesService
from bot.services.gazetteer import Gazetteer
from bot.services.geocode import Geocoder, NominatimGeocoder
from bot.services.health import HealthService
from bot.services.importer import Importer
from bot.services.ledger import LedgerService
from bot.services.membership import MembershipService
from bot.services.names import NameIndex
from bot.services.onboarding import OnboardingService
from bot.services.payments import PaymentSettings
from bot.services.personal import SealedApplications, SealedStates, seal_existing
from bot.services.platform import PlatformService
from bot.services.privacy import PrivacyService
from bot.services.proofs import ProofService
from bot.services.registry import Services
from bot.services.reminders import ReminderService
from bot.services.search import SearchService
from bot.services.sla import SlaService
from bot.services.updates import UpdateService
from bot.services.users import UserService
from bot.telegram.processing import FloodGuard, InboxQueue, KeptFirst, PerUserProcessor
from bot.telegram.request import AiohttpRequest
from bot.telegram.sender import HttpSender, make_sender
from handlers.broadcast.header import Dresser
from handlers.broadcast.progress import make_progress
from handlers.commands import set_default_commands
from handlers.money.bills import ReminderMessages
from handlers.platform.notices import TelegramNotices
from handlers.sla import SlaMessages
from storage.admins import AdminRepository
from storage.applications import ApplicationRepository, WaitingApplications
from storage.audit import AuditRepository
from storage.broadcasts import BroadcastRepository
from storage.claims import ClaimRepository
from storage.cooperatives import CooperativeRepository
from storage.invites import InviteRepository
from storage.join_attempts import JoinAttemptRepository
from storage.keys import KeyRepository
from storage.ledger import LedgerRepository
from storage.mongo import Store
from storage.onboarding import OnboardingRepository
from storage.privacy import PrivacyRepository
from storage.proofs import ProofRepository
from storage.reminders import ReminderRepository
from storage.searches import SearchRepository
from storage.state import StateRepository
from storage.subscriptions import SubscriptionRepository
from storage.updates import UpdateLog
from storage.users import UserRepository

__all__ = [
    "CONSOLE_TOKEN",
    "Backend",
    "BotApplication",
    "Services",
    "build_application",
    "build_services",
    "open_services",
    "poll",
    "running",
]

log = logging.getLogger(__name__)

CONSOLE_TOKEN = "123456:console-no-telegram"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)


@dataclass
class Backend:
    """The database under the services: the store, its repositories and the NIK vault.

    The client connects lazily, so building one does no I/O. The composition root builds the
    services over it; the CLI (``admins list``, ``rotate-key``) and tests reach storage
    through it. Handlers never see it.
    """

    store: Store
    vault: Vault
    coops: CooperativeRepository
    apps: ApplicationRepository
    admins: AdminRepository
    users: UserRepository
    searches: SearchRepository
    audit: AuditRepository
    invites: InviteRepository
    privacy: PrivacyRepository
    broadcasts: BroadcastRepository
    states: StateRepository
    updates: UpdateLog
    keys: KeyRepository  # every person's wrapped data key
    keyring: Keyring  # opens them with the vault
    sealed_states: SealedStates  # user_data as persisted: drafts sealed with the keyring
    claims: ClaimRepository
    ledger: LedgerRepository
    reminders: ReminderRepository
    proofs: ProofRepository

    @classmethod
    def over(cls, store: Store, settings: Settings) -> Backend:
        """The repositories over an open store (and the vault from the settings' keys)."""
        vault = Vault(settings.resolve_data_key(), settings.resolve_previous_keys())
        keys = KeyRepository(store)
        keyring = Keyring(vault, keys)
        return cls(
            store=store,
            vault=vault,
            coops=CooperativeRepository(store),
            apps=ApplicationRepository(store),
            admins=AdminRepository(store),
            users=UserRepository(store),
            searches=SearchRepository(store),
            audit=AuditRepository(store),
            invites=InviteRepository(store),
            privacy=PrivacyRepository(store),
            broadcasts=BroadcastRepository(store),
            states=StateRepository(store),
            updates=UpdateLog(store),
            keys=keys,
            keyring=keyring,
            sealed_states=SealedStates(store, keyring),
            claims=ClaimRepository(store),
            ledger=LedgerRepository(store),
            reminders=ReminderRepository(store),
            proofs=ProofRepository(store),
        )

    @classmethod
    def connect(cls, settings: Settings, uri: str) -> Backend:
        """A backend on the database at ``uri`` (``settings.mongodb_db``)."""
        store = Store.connect(uri, settings.mongodb_db, timeout_ms=settings.mongodb_timeout_ms)
        return cls.over(store, settings)

    async def close(self) -> None:
        await self.store.close()


def build_geocoder(settings: Settings) -> Geocoder | None:
    if settings.geocoder != "nominatim":
        return None
    settings.validate_for_nominatim()
    assert settings.nominatim_user_agent is not None
    return NominatimGeocoder(
        user_agent=settings.nominatim_user_agent,
        domain=settings.nominatim_domain,
        scheme=settings.nominatim_scheme,
    )


def build_services(
    source: Store | Backend, settings: Settings, *, geocoder: Geocoder | None = None
) -> Services:
    """Wire the services over a backend (or a bare store, whose repositories are made here)."""
    b = source if isinstance(source, Backend) else Backend.over(source, settings)
    i18n = I18n(settings.locales_dir)
    gazetteer = Gazetteer.load(settings.gazetteer_path)
    names = NameIndex(b.coops)
    importer = Importer(b.coops, gazetteer, names)
    apps = SealedApplications(b.apps, b.keyring)  # personal values sealed per person
    membership = MembershipService(
        apps, b.coops, gazetteer, b.vault, retention_days=settings.retention_days
    )
    users = UserService(b.users, i18n)
    broadcast = BroadcastService(b.broadcasts, i18n=i18n)
    platform = PlatformService(
        SubscriptionRepository(b.store),
        JoinAttemptRepository(b.store),
        b.coops,
        b.apps,
        b.admins,
        users,
        broadcast,
        TelegramNotices(),
    )
    board = BoardService(b.admins, b.coops, b.audit, platform, invites=b.invites)
    admin = AdminService(
        operators=settings.admin_ids,
        admins=b.admins,
        apps=apps,
        coops=b.coops,
        audit=b.audit,
        invites=b.invites,
        membership=membership,
        vault=b.vault,
        importer=importer,
        gazetteer=gazetteer,
        users=b.users,
        board=board,
    )
    board.bind(admin)  # the board's role checks are AdminService.authorize
    search = SearchService(b.coops, b.searches, gazetteer, names, geocoder)
    dues = DuesService(apps, b.coops, b.ledger)
    claims = ClaimService(
        b.claims, b.coops, admin, board, search, b.keyring, b.audit, settings.retention_days
    )
    proofs = ProofService(
        b.proofs, apps, b.coops, b.ledger, admin, dues, b.audit, settings.retention_days
    )
    return Services(
        i18n=i18n,
        gazetteer=gazetteer,
        users=users,
        directory=DirectoryService(b.coops, gazetteer),
        search=search,
        importer=importer,
        membership=membership,
        cards=CardService(apps, b.coops, b.admins, b.vault),
        admin=admin,
        privacy=PrivacyService(
            b.privacy,
            membership,
            b.admins,
            b.coops,
            b.users,
            settings.retention_days,
            b.keyring,
            board,
            claims=claims,
            platform=platform,
            ledger=b.ledger,
            proofs=proofs,
            searches=b.searches,
        ),
        claims=claims,
        board=board,
        platform=platform,
        broadcast=broadcast,
        health=HealthService(b.store),
        updates=UpdateService(b.updates, b.vault, b.keyring),
        onboarding=OnboardingService(OnboardingRepository(b.store), b.coops, admin, gazetteer),
        dues=dues,
        proofs=proofs,
        ledger=LedgerService(admin, apps, b.coops, b.ledger),
        sla=SlaService(
            WaitingApplications(b.store),
            b.coops,
            b.admins,
            broadcast,
            settings.admin_ids,
            SlaMessages(i18n, users),
        ),
        payments=PaymentSettings(admin, b.coops),
        reminders=ReminderService(b.reminders, dues, broadcast, ReminderMessages(i18n, users)),
        geocoder=geocoder,
    )


async def open_services(settings: Settings, backend: Backend) -> Services:
    """Create indexes, build the services over ``backend`` and fill derived fields."""
    await backend.store.ensure_indexes()
    await seal_existing(backend.apps, backend.states, backend.keyring)  # written in clear before
    services = build_services(backend, settings, geocoder=build_geocoder(settings))
    await backend.coops.ensure_derived_fields()
    await backend.admins.sync_all()
    if await backend.store.resolve_geo_mode() == "cells" and backend.store.spatial_index:
        await backend.coops.spatial().ready()  # starts building the index in the background
    return services


class BotApplication(Application[Any, BotContext, dict[Any, Any], dict[Any, Any], BotData, Any]):
    """The Application, plus what :func:`running` needs and handlers never see."""

    __slots__ = ("backend", "http_broadcasts")

    def __init__(self, *, backend: Backend, http_broadcasts: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.backend = backend
        self.http_broadcasts = http_broadcasts


def build_application(
    settings: Settings,
    backend: Backend,
    *,
    services: Services | None = None,
    request: BaseRequest | None = None,
    with_updater: bool = False,
    rate_limit: bool = False,
    live: bool = False,
    http_broadcasts: bool = False,
) -> BotApplication:
    """Build the python-telegram-bot Application with every handler registered.

    ``backend`` holds the conversations and forms (persistence). ``services``: given by
    tests, which own them; otherwise :func:`running` opens them over ``backend`` and closes
    both at the end. ``request`` replaces the network edge to Telegram (console, tests).
    ``live`` is for real Telegram delivery (polling, webhook): each update kept in the
    inbox before it is acknowledged and marked done after its handlers (redelivered ids
    dropped, what a crash left replayed by :func:`running`), flood control, updates in
    parallel across users and in order per user.
    ``http_broadcasts``: announcements go out through the broadcast engine's own lean HTTP
    client to the Bot API (polling, webhook) instead of through ``app.bot`` and its request
    (console and tests: the local stand-in).
    """
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .application_class(
            BotApplication, kwargs={"backend": backend, "http_broadcasts": http_broadcasts}
        )
        .token(settings.telegram_bot_token or CONSOLE_TOKEN)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_url.replace("/bot", "/file/bot", 1))
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .persistence(MongoPersistence(backend.sealed_states))
    )
    if request is not None:
        calls, polls = request, request
    else:  # real Telegram: aiohttp, a third of httpx's CPU per call (bot/telegram/request.py)
        calls, polls = AiohttpRequest(), AiohttpRequest(1)
    if live:  # handlers start while their update is being kept: their calls wait for it
        calls = KeptFirst(calls)
    builder = builder.request(calls).get_updates_request(polls)
    if not with_updater:
        builder = builder.updater(None)
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=2))
    if live:
        inbox = InboxQueue()
        processor = PerUserProcessor(256, inbox.done, inbox.keeping)
        builder = builder.update_queue(inbox).concurrent_updates(processor)
    app = builder.build()
    assert isinstance(app, BotApplication)
    bot_data: BotData = app.bot_data
    bot_data.settings = settings
    bot_data.services = services
    bot_data.flood = FloodGuard(
        settings.flood_limit, settings.flood_window_s, settings.flood_pause_s
    )
    handlers.register(app, form_timeout_s=settings.form_timeout_s, live=live)
    return app


@contextlib.asynccontextmanager
async def running(app: BotApplication) -> AsyncIterator[BotApplication]:
    """Run ``app`` for the body of ``async with running(app):`` and stop it gracefully.

    In order: initialize (the persistence loads conversations and forms), open the services
    unless the app was given some (indexes, derived fields), set the command menus, queue
    the updates a crash left in the inbox (live delivery), start (update processing, the
    job queue), start the broadcast engine (running announcements resume). At the end, in
    reverse: the engine pauses (jobs stay running in the database), queued and in-flight
    updates finish, the persistence flushes, and what was opened here is closed. Polling,
    the webhook server, the console and the tests all use this.
    """
    bot_data: BotData = app.bot_data
    settings = bot_data.settings
    assert settings is not None
    owned = bot_data.services is None
    async with contextlib.AsyncExitStack() as stack:
        if owned:
            stack.push_async_callback(_close_owned, app)  # last: the flush needs the database
        await app.initialize()
        stack.push_async_callback(app.shutdown)  # flushes persistence
        if bot_data.services is None:
            bot_data.services = await open_services(settings, app.backend)
        services = bot_data.services
        await set_default_commands(app.bot, services.i18n)
        if isinstance(app.update_queue, InboxQueue):  # before any new update is queued
            await app.update_queue.open(services.updates, app.bot)
            app.update_queue.before_marks.append(services.search.settle)
            stack.push_async_callback(app.update_queue.close)  # after the updates stopped
        await app.start()
        stack.push_async_callback(_stop_updates, app)  # waits for queued and running updates
        if services.broadcast.engine is None:
            await _start_broadcasts(app, services, settings, stack)
        yield app


async def _close_owned(app: BotApplication) -> None:
    services = app.bot_data.services
    app.bot_data.services = None
    try:
        if services is not None:
            await services.close()
    finally:
        await app.backend.close()


async def _stop_updates(app: BotApplication) -> None:
    if app.running:
        await app.stop()


async def _start_broadcasts(
    app: BotApplication,
    services: Services,
    settings: Settings,
    stack: contextlib.AsyncExitStack,
) -> None:
    """Start the engine; on exit it pauses (jobs stay running and resume at the next start)."""
    sender: Any
    if app.http_broadcasts:
        # The engine paces itself: its own lean HTTP client, not the bot's rate limiter.
        http = HttpSender(settings.telegram_api_base_url, app.bot.token, Dresser(services.i18n))
        await http.start()
        stack.push_async_callback(http.close)
        sender = http
    else:
        sender = make_sender(app.bot, Dresser(services.i18n))
    engine = BroadcastEngine(
        services.broadcast.repo,
        sender,
        make_progress(app.bot, services.i18n),
        rate=settings.broadcast_rate,
        paid_rate=settings.paid_broadcast_rate,
    )
    services.broadcast.engine = engine
    await engine.start()

    async def stop() -> None:
        await engine.stop()
        services.broadcast.engine = None

    stack.push_async_callback(stop)


def _polling_error(error: TelegramError) -> None:
    # Telegram unreachable, or the inbox could not keep what was fetched (then the offset is
    # not confirmed and the same updates come again): python-telegram-bot retries.
    log.warning("polling failed, retrying error=%s", type(error).__name__)


async def poll(app: BotApplication) -> None:
    """Long polling inside :func:`running` until SIGINT, SIGTERM or SIGABRT."""
    assert app.updater is not None, "build the application with_updater=True to poll"
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stopping.set)
    try:
        async with running(app):
            await app.updater.start_polling(
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
                error_callback=_polling_error,
            )
            log.info("polling")
            try:
                await stopping.wait()
            finally:
                log.info("stopping: finishing updates in flight")
                if app.updater.running:
                    await app.updater.stop()
        log.info("stopped")
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
