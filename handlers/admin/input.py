"""Typed input for admins: a rejection reason, a suspension reason, a member search, a field.

The buttons that ask (``REJECT_TYPED``, ``SUSPEND`` / ``REINSTATE``, ``MEMBER_SEARCH``,
``PROFILE_EDIT``) are entry points of the shared awaited-input conversation
(:mod:`handlers.awaited`); ``on_text`` and ``on_location`` take the answer. The role is
checked when the button is pressed and again when the answer arrives.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ConversationHandler

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.admin import Forbidden
from bot.services.profile import InputError
from handlers.admin.applications import reject_with
from handlers.admin.members import show_member, show_members
from handlers.admin.profile import show_profile
from handlers.awaited import clear, expect, pending, prompt_text
from handlers.callbacks import MEMBER_SEARCH, PROFILE_EDIT, REINSTATE, REJECT_TYPED, SUSPEND
from handlers.guard import actor, guarded, refuse
from handlers.notify import tell_member
from storage.models import Point

# The profile buttons' short keys and the fields they edit.
FIELDS = {
    "desc": "description",
    "svc": "services",
    "phone": "phone",
    "hours": "opening_hours",
    "pokok": "simpanan_pokok",
    "wajib": "simpanan_wajib",
    "rat": "rat_year",
    "loc": "location",
}


def error_text(t: Translator, error: InputError) -> str:
    _ = t.gettext
    messages = {
        "reason_short": _("Please type a reason of a few words."),
        "too_long": _("That is longer than {max} characters."),
        "services_empty": _("Please type at least one service."),
        "service_unknown": _(
            "“{value}” is not one of the services; choose them with the buttons."
        ),
        "phone_invalid": _("That is not an Indonesian phone number."),
        "amount_invalid": _("Type an amount in rupiah, e.g. 50000 or 50.000."),
        "year_invalid": _("Type a year between 1945 and {max}."),
        "location_outside": _("That location is outside Indonesia."),
        "unknown_field": _("That cannot be changed here."),
    }
    return "❗ " + messages.get(error.code, error.code).format(**error.params)


# --- the buttons that ask ----------------------------------------------------------------


@guarded(REJECT_TYPED, refused=ConversationHandler.END)
async def ask_reason(
    update: Update, context: BotContext, user_id: int, application_id: str
) -> int:
    """Ask for the rejection's reason in the admin's own words."""
    await context.services.admin.application(user_id, application_id)
    return await expect(update, context, "reject", target=application_id)


@guarded(SUSPEND, refused=ConversationHandler.END)
async def ask_suspend(
    update: Update, context: BotContext, user_id: int, application_id: str
) -> int:
    """Ask why the member is suspended."""
    await context.services.admin.member(user_id, application_id)
    return await expect(update, context, "suspend", target=application_id)


@guarded(REINSTATE, refused=ConversationHandler.END)
async def ask_reinstate(
    update: Update, context: BotContext, user_id: int, application_id: str
) -> int:
    """Ask why the member is reinstated."""
    await context.services.admin.member(user_id, application_id)
    return await expect(update, context, "reinstate", target=application_id)


@guarded(MEMBER_SEARCH, refused=ConversationHandler.END)
async def ask_search(update: Update, context: BotContext, user_id: int, coop_id: str) -> int:
    """Ask for a name or member number to search the register for."""
    await context.services.admin.coop_for_admin(user_id, coop_id)
    return await expect(update, context, "search", coop=coop_id)


@guarded(PROFILE_EDIT, refused=ConversationHandler.END)
async def ask_field(
    update: Update, context: BotContext, user_id: int, coop_id: str, key: str
) -> int:
    """Ask for a profile field's new value."""
    if key not in FIELDS:  # a forged button: refused like any other, and audited
        raise await context.services.admin.refuse(user_id, "edit_profile", target=coop_id)
    await context.services.admin.coop_for_admin(user_id, coop_id)
    return await expect(update, context, "profile", coop=coop_id, field=FIELDS[key])


ENTRY_POINTS: list[BaseHandler] = [
    CallbackQueryHandler(ask_reason, pattern=REJECT_TYPED.pattern),
    CallbackQueryHandler(ask_suspend, pattern=SUSPEND.pattern),
    CallbackQueryHandler(ask_reinstate, pattern=REINSTATE.pattern),
    CallbackQueryHandler(ask_search, pattern=MEMBER_SEARCH.pattern),
    CallbackQueryHandler(ask_field, pattern=PROFILE_EDIT.pattern),
]


# --- the answer --------------------------------------------------------------------------


async def on_text(update: Update, context: BotContext) -> int | None:
    """Take the awaited text: a reason, a search, a profile value."""
    message = update.effective_message
    assert message is not None
    waiting = pending(context)
    if waiting is None:
        return ConversationHandler.END
    kind = waiting["kind"]
    text = message.text or ""
    admin = context.services.admin
    user_id = actor(update)
    try:
        if kind == "reject":
            await reject_with(update, context, waiting["target"], text)
        elif kind in ("suspend", "reinstate"):
            action = admin.suspend if kind == "suspend" else admin.reinstate
            changed = await action(user_id, waiting["target"], text)
            if changed is not None:
                await tell_member(context, changed)
            await show_member(update, context, waiting["target"])
        elif kind == "search":
            await show_members(update, context, waiting["coop"], 0, query_text=text[:100])
        elif kind == "profile":
            if waiting["field"] == "location":
                await message.reply_text(prompt_text(context.t, "profile", "location"))
                return None
            value = admin.parse_profile(waiting["field"], text)
            coop = await admin.update_profile(user_id, waiting["coop"], waiting["field"], value)
            await show_profile(update, context, coop)
        elif kind == "import":  # the operators' /import waits for a file, not text
            await message.reply_text(prompt_text(context.t, "import"))
            return None
    except InputError as error:
        await message.reply_text(
            error_text(context.t, error)
            + "\n\n"
            + prompt_text(context.t, kind, waiting.get("field"))
        )
        return None
    except Forbidden:
        await refuse(update, context)
    clear(context)
    return ConversationHandler.END


async def on_location(update: Update, context: BotContext) -> int | None:
    """Take a shared location or venue as the cooperative's position."""
    message = update.effective_message
    assert message is not None
    waiting = pending(context)
    if waiting is None or waiting.get("field") != "location":
        await message.reply_text(context.gettext("Please type your answer, or /cancel."))
        return None
    location = message.venue.location if message.venue else message.location
    assert location is not None
    try:
        coop = await context.services.admin.set_location(
            actor(update), waiting["coop"], Point(location.latitude, location.longitude)
        )
    except InputError as error:
        await message.reply_text(error_text(context.t, error))
        return None
    except Forbidden:
        await refuse(update, context)
        clear(context)
        return ConversationHandler.END
    clear(context)
    await show_profile(update, context, coop)
    return ConversationHandler.END
