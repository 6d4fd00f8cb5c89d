"""The composition root: the one place that wires handlers, services and storage."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest

import handlers
from bot.config import Settings
from bot.context import BotContext, BotData
from bot.i18n import I18n
from bot.persistence import FLUSH_HANDLER, MongoPersistence
from bot.services.admin import AdminService
from bot.services.broadcast import BroadcastEngine, BroadcastService
from bot.services.cards import CardService
from bot.services.crypto import Vault
from bot.services.directory import DirectoryService
from bot.services.gazetteer import Gazetteer
from bot.services.geocode import Geocoder, NominatimGeocoder
from bot.services.importer import Importer
from bot.services.membership import MembershipService
from bot.services.names import NameIndex
from bot.services.privacy import PrivacyService
from bot.services.search import SearchService
from bot.services.users import UserService
from bot.telegram.processing import FloodGuard, PerUserProcessor
from handlers.commands import set_default_commands
from storage.admins import AdminRepository
from storage.applications import ApplicationRepository
from storage.audit import AuditRepository
from storage.broadcasts import BroadcastRepository
from storage.cooperatives import CooperativeRepository
from storage.invites import InviteRepository
from storage.mongo import Store
from storage.privacy import PrivacyRepository
from storage.searches import SearchRepository
from storage.state import StateRepository
from storage.updates import UpdateLog
from storage.users import UserRepository

log = logging.getLogger(__name__)

CONSOLE_TOKEN = "123456:console-no-telegram"


@dataclass
class Services:
    """Everything handlers may call; built once per process."""

    store: Store
    i18n: I18n
    gazetteer: Gazetteer
    users: UserService
    directory: DirectoryService
    search: SearchService
    importer: Importer
    membership: MembershipService
    cards: CardService
    admin: AdminService
    admins: AdminRepository
    vault: Vault
    privacy: PrivacyService
    broadcast: BroadcastService
    flood: FloodGuard
    updates: UpdateLog
    geocoder: Geocoder | None = None

    async def close(self) -> None:
        if self.geocoder is not None:
            await self.geocoder.close()


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
    store: Store, settings: Settings, *, geocoder: Geocoder | None = None
) -> Services:
    """Wire the services over an open store."""
    i18n = I18n(settings.locales_dir)
    gazetteer = Gazetteer.load(settings.gazetteer_path)
    coops = CooperativeRepository(store)
    names = NameIndex(coops)
    vault = Vault(settings.resolve_data_key(), settings.resolve_previous_keys())
    apps = ApplicationRepository(store)
    admins = AdminRepository(store)
    users = UserRepository(store)
    importer = Importer(coops, gazetteer, names)
    membership = MembershipService(
        apps, coops, gazetteer, vault, retention_days=settings.retention_days
    )
    return Services(
        store=store,
        i18n=i18n,
        gazetteer=gazetteer,
        users=UserService(users, i18n),
        directory=DirectoryService(coops, gazetteer),
        search=SearchService(coops, SearchRepository(store), gazetteer, names, geocoder),
        importer=importer,
        membership=membership,
        cards=CardService(apps, coops, admins, vault),
        admin=AdminService(
            operators=settings.admin_ids,
            admins=admins,
            apps=apps,
            coops=coops,
            audit=AuditRepository(store),
            invites=InviteRepository(store),
            membership=membership,
            vault=vault,
            importer=importer,
            gazetteer=gazetteer,
            users=users,
        ),
        admins=admins,
        vault=vault,
        privacy=PrivacyService(
            PrivacyRepository(store), membership, admins, coops, users, settings.retention_days
        ),
        broadcast=BroadcastService(BroadcastRepository(store)),
        flood=FloodGuard(settings.flood_limit, settings.flood_window_s, settings.flood_pause_s),
        updates=UpdateLog(store),
        geocoder=geocoder,
    )


async def open_services(settings: Settings, store: Store) -> Services:
    """Create indexes and build the services over ``store``."""
    await store.ensure_indexes()
    services = build_services(store, settings, geocoder=build_geocoder(settings))
    await services.directory.coops.ensure_derived_fields()
    return services


async def start_services(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Open what post_init opens; for runners other than run_polling (console, webhook)."""
    assert app.post_init is not None
    await app.post_init(app)


async def stop_services(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Close the services this application opened (not those it was given)."""
    bot_data: BotData = app.bot_data
    if bot_data.owns_services and bot_data.services is not None:
        await bot_data.services.close()
        await bot_data.services.store.close()
        bot_data.services = None
        bot_data.owns_services = False


async def start_background(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Start the broadcast engine (running announcements resume by themselves)."""
    from bot.telegram.localapi import LocalBotApi
    from bot.telegram.progress import make_progress
    from bot.telegram.sender import HttpSender, make_sender

    bot_data: BotData = app.bot_data
    services, settings = bot_data.services, bot_data.settings
    assert services is not None and settings is not None
    if services.broadcast.engine is not None:
        return
    if isinstance(app.bot.request, LocalBotApi):
        sender: Any = make_sender(app.bot)  # console and tests: the in-process stand-in
    else:
        # The engine paces itself: its own lean HTTP client, not the bot's rate limiter.
        sender = HttpSender(settings.telegram_api_base_url, app.bot.token)
        await sender.start()
        bot_data.sender_bot = sender
    engine = BroadcastEngine(
        services.broadcast.repo,
        sender,
        make_progress(app.bot, services.i18n),
        rate=settings.broadcast_rate,
        paid_rate=settings.paid_broadcast_rate,
    )
    services.broadcast.engine = engine
    await engine.start()


async def stop_background(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Pause sending (jobs stay running in the database and resume at the next start)."""
    bot_data: BotData = app.bot_data
    services = bot_data.services
    if services is not None and services.broadcast.engine is not None:
        await services.broadcast.engine.stop()
        services.broadcast.engine = None
    if bot_data.sender_bot is not None:
        await bot_data.sender_bot.close()
        bot_data.sender_bot = None


def build_application(
    settings: Settings,
    *,
    mongodb_uri: str | None = None,
    services: Services | None = None,
    request: BaseRequest | None = None,
    with_updater: bool = False,
    rate_limit: bool = False,
    live: bool = False,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the python-telegram-bot Application with every handler registered.

    Give either ``services`` (tests) or ``mongodb_uri`` (opened in post_init, closed in
    post_shutdown; runners other than ``run_polling`` call :func:`start_services` and
    :func:`stop_services` around their work).
    ``request`` replaces the network edge to Telegram (console, tests). ``live`` is for
    real Telegram delivery (polling, webhook): redelivered update ids are dropped and
    updates run in parallel across users, in order per user.
    """
    if services is None and mongodb_uri is None:
        raise ValueError("build_application needs services or a MongoDB URI")
    # The client connects lazily: creating it here does no I/O.
    store = (
        services.store
        if services is not None
        else Store.connect(
            mongodb_uri or "", settings.mongodb_db, timeout_ms=settings.mongodb_timeout_ms
        )
    )

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        bot_data: BotData = app.bot_data
        bot_data.settings = settings
        if bot_data.services is None:
            bot_data.services = await open_services(settings, store)
            bot_data.owns_services = True
        await set_default_commands(app.bot, bot_data.services.i18n)
        if with_updater:  # run_polling: no other hook starts background work
            await start_background(app)

    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token or CONSOLE_TOKEN)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_url.replace("/bot", "/file/bot", 1))
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .post_init(post_init)
        .post_stop(stop_background)
        .post_shutdown(stop_services)
        .persistence(MongoPersistence(StateRepository(store)))
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if not with_updater:
        builder = builder.updater(None)
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=2))
    if live:
        builder = builder.concurrent_updates(PerUserProcessor(256))
    app = builder.build()
    if services is not None:
        app.bot_data.services = services
        app.bot_data.settings = settings
    app.bot_data.on_start.append(start_background)
    app.bot_data.on_stop.append(stop_background)
    handlers.register(app, form_timeout_s=settings.form_timeout_s, live=live)
    app.add_handler(FLUSH_HANDLER, group=99)  # last: persist this update's state now
    return app
