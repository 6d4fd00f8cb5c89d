"""The Telegram edge. ``register`` adds every feature's handlers in one ordered list."""

from __future__ import annotations

from telegram.ext import Application

from handlers import (
    cards,
    detail,
    errors,
    fallback,
    inline,
    language,
    membership,
    preprocess,
    privacy,
    search,
    start,
)


def register(app: Application, *, form_timeout_s: float | None = None  # type: ignore[type-arg]
             ) -> None:
    """Add all handlers. Note: order matters — the first matching handler of a group wins."""
    for handler in preprocess.HANDLERS:
        app.add_handler(handler, group=-1)  # binds the user's locale before anything else
    # First: an open form takes the user's messages before search does.
    app.add_handler(membership.build_conversation(form_timeout_s))
    for module in (
        start,
        language,
        cards,
        privacy,
        search,
        detail,
        inline,
        fallback,  # last: unknown commands, unsupported messages, stale buttons
    ):
        app.add_handlers(module.HANDLERS)
    app.add_error_handler(errors.on_error)  # type: ignore[arg-type]
