"""The Telegram edge. ``register`` adds every feature's handlers in one ordered list."""

from __future__ import annotations

from telegram.ext import Application, BaseHandler

from bot.persistence import FLUSH_HANDLER
from handlers import (
    admin,
    awaited,
    broadcast,
    cards,
    claims,
    errors,
    fallback,
    jobs,
    language,
    membership,
    operator,
    platform,
    preprocess,
    privacy,
    private,
    search,
    start,
)
from handlers.money import bills, ledger, ledger_import, ledger_view, proofs
from handlers.money import settings as pay


def register(
    app: Application,
    *,
    form_timeout_s: float | None = None,
    live: bool = False,
) -> None:
    """Add all handlers. Note: order matters — the first matching handler of a group wins.

    ``live``: real Telegram delivery, where flood control applies (not in the console,
    whose scripts are fast); redelivered updates are dropped before they are queued."""
    # Before anything else, in this order: flood control, the user's locale.
    if live:
        app.add_handler(preprocess.FLOOD, group=-3)
    app.add_handler(preprocess.LOCALE, group=-1)
    # First: awaited typed input and an open form take messages before search does. Admins'
    # typed input and operators' /import share one conversation: a new request replaces the
    # one waiting; so do the board's ledger steps (its buttons are entry points, its file
    # is a document awaited there, never the operators' nor a claim's).
    features: list[BaseHandler] = [
        awaited.build_conversation(
            [
                *admin.INPUT_ENTRY_POINTS,
                *operator.IMPORT_ENTRY_POINTS,
                *pay.ENTRY_POINTS,
                *ledger.ENTRY_POINTS,
                *ledger_import.ENTRY_POINTS,
            ],
            # The ledger's typed answers, then payment settings (which pass the rest on to
            # the admin's profile input).
            text=ledger.route(ledger.on_text, pay.on_text),
            location=admin.on_input_location,
            document=ledger.route(ledger_import.on_document, operator.on_import_document),
            photo=pay.on_photo,
        ),
        broadcast.build_conversation(),
        membership.build_conversation(form_timeout_s),
        claims.build_conversation(form_timeout_s),
        proofs.build_conversation(form_timeout_s),
    ]
    for module in (
        start,
        language,
        cards,
        admin,
        ledger_view,
        broadcast,
        operator,
        claims,
        bills,
        pay,
        proofs,
        privacy,
        platform,
        search,  # the search handlers, then a cooperative's page, then inline mode
        fallback,  # last: unknown commands, unsupported messages, stale buttons
    ):
        features += module.HANDLERS
    # Before every feature: outside a private chat only public ones answer; the rest point
    # to the private chat (it knows every command registered here).
    app.add_handler(private.PrivateOnly(features))
    app.add_handlers(features)
    app.add_error_handler(errors.on_error)
    # Last of all, after every other group: persist this update's conversation state now.
    app.add_handler(FLUSH_HANDLER, group=99)
    jobs.schedule(app)
