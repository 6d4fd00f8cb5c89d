"""Joining a cooperative: terms, consent (UU 27/2022), the form, review and submission.

A persistent ``ConversationHandler`` (name "membership", states in :class:`Step`; see
``membership.mmd``). Answers live in ``user_data["forms"][<coop id>]``, persisted after
every update, so a restart mid-form loses nothing; the NIK enters the draft encrypted.
Entry: the "Join" button (``jn:<coop id>``) and the deep link ``?start=join_<coop id>``.
Form buttons: ``mf:<action>[:<value>]``.
"""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, date, datetime
from enum import IntEnum
from html import escape
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.membership import CONSENT_VERSION, OCCUPATIONS, FormError
from bot.services.membership import check_address as _check_address
from bot.services.membership import check_occupation as _check_occupation
from bot.services.membership import check_person_name as _check_person_name
from bot.services.membership import check_phone as _check_phone
from bot.services.membership import check_place_name as _check_place_name
from handlers.keyboards import main_keyboard
from storage.models import Cooperative, Point

log = logging.getLogger(__name__)

FORM_TIMEOUT_S = 30 * 60


class Step(IntEnum):
    TERMS = 1
    CONSENT = 2
    NAME = 3
    NIK = 4
    NIK_CONFIRM = 5
    BIRTH_PLACE = 6
    ADDRESS = 7
    DOMICILE = 8
    PHONE = 9
    OCCUPATION = 10
    OCCUPATION_OTHER = 11
    REVIEW = 12
    CANCEL_CONFIRM = 13


# The question steps in order; DOMICILE and OCCUPATION_OTHER are asked only when needed.
ORDER = (
    Step.NAME,
    Step.NIK,
    Step.NIK_CONFIRM,
    Step.BIRTH_PLACE,
    Step.ADDRESS,
    Step.PHONE,
    Step.OCCUPATION,
    Step.REVIEW,
)
EDITABLE = {
    "name": Step.NAME,
    "nik": Step.NIK,
    "birth_place": Step.BIRTH_PLACE,
    "address": Step.ADDRESS,
    "phone": Step.PHONE,
    "occupation": Step.OCCUPATION,
}


# --- the draft in user_data ------------------------------------------------------------


def _forms(context: BotContext) -> dict[str, dict[str, Any]]:
    assert context.user_data is not None
    return context.user_data.setdefault("forms", {})


def _active(context: BotContext) -> tuple[str, dict[str, Any]] | None:
    assert context.user_data is not None
    coop_id = context.user_data.get("form")
    if not coop_id:
        return None
    draft = _forms(context).get(coop_id)
    return (coop_id, draft) if draft is not None else None


def _touch(draft: dict[str, Any], step: Step) -> None:
    draft["step"] = int(step)
    draft["updated_at"] = datetime.now(UTC).isoformat()


def _drop(context: BotContext, coop_id: str) -> None:
    assert context.user_data is not None
    _forms(context).pop(coop_id, None)
    if context.user_data.get("form") == coop_id:
        context.user_data.pop("form", None)
    if not _forms(context):
        context.user_data.pop("forms", None)


# --- texts ------------------------------------------------------------------------------


def _step_label(t: Translator, n: int) -> str:
    return t.gettext("Question {n} of {total}").format(n=n, total=6)


def _sex(t: Translator, sex: str | None) -> str:
    return t.gettext("female") if sex == "F" else t.gettext("male")


def _occupation_text(t: Translator, value: str | None) -> str:
    if not value:
        return "–"
    if value in OCCUPATIONS:
        return t.gettext(OCCUPATIONS[value])
    return value.removeprefix("other:")


def terms_text(t: Translator, coop: Cooperative, village: str) -> str:
    _ = t.gettext
    lines = [
        _("<b>Join {coop}</b>").format(coop=escape(coop.name)),
        "",
        _("<b>Membership terms</b>"),
    ]
    if coop.simpanan_pokok is not None:
        lines.append(
            "• "
            + _("Simpanan pokok (one-time deposit): {amount}").format(
                amount=t.money(coop.simpanan_pokok)
            )
        )
    if coop.simpanan_wajib is not None:
        lines.append(
            "• "
            + _("Simpanan wajib (monthly deposit): {amount}").format(
                amount=t.money(coop.simpanan_wajib)
            )
        )
    lines.append("• " + _("Indonesian citizen with an e-KTP, at least 17 years old"))
    if coop.village_restricted:
        lines.append(
            "• "
            + _("Living in {village} (the domicile on your e-KTP)").format(village=escape(village))
        )
    if coop.closed_loop:
        lines.append("• " + _("Savings products are for members only (closed-loop)"))
    lines += [
        "",
        _(
            "Membership starts when the board approves your application. The form "
            "takes about two minutes: name, NIK, place of birth, address, phone "
            "and occupation."
        ),
    ]
    return "\n".join(lines)


def consent_text(t: Translator, coop: Cooperative, retention_days: int) -> str:
    _ = t.gettext
    return "\n".join(
        [
            _("<b>Your personal data (UU 27/2022 on Personal Data Protection)</b>"),
            "",
            _(
                "<b>What we collect:</b> your full name, NIK, sex and date of birth (read from the "
                "NIK), place of birth, address, phone number and occupation."
            ),
            _(
                "<b>Why:</b> to process your membership application at {coop} and, once approved, "
                "to keep your membership."
            ).format(coop=escape(coop.name)),
            _(
                "<b>Who sees it:</b> the board of {coop} and the operators of the Gerbang Koperasi "
                "platform. Nobody else."
            ).format(coop=escape(coop.name)),
            _(
                "<b>How long:</b> while you are a member. If the application is rejected or "
                "withdrawn, your data is deleted after {days} days."
            ).format(days=retention_days),
            _("Your NIK is stored encrypted and shown only masked."),
            _(
                "<b>Your rights:</b> see and download your data (/mydata), have it corrected, "
                "delete it (/deletedata) and withdraw your consent at any time. More in /privacy."
            ),
            "",
            _("Do you agree that we process your data for this application?"),
        ]
    )


def review_text(t: Translator, coop: Cooperative, draft: dict[str, Any], village: str) -> str:
    _ = t.gettext
    born = draft.get("birth_date")
    born_text = t.date(date.fromisoformat(born)) if born else "–"
    lines = [
        _("<b>Check your application to {coop}</b>").format(coop=escape(coop.name)),
        "",
        _("Name: {value}").format(value=escape(draft.get("full_name", "–"))),
        _("NIK: {value}").format(value=f"<code>{escape(draft.get('nik_masked', '–'))}</code>"),
        _("Sex: {sex} · born {date} in {place}").format(
            sex=_sex(t, draft.get("sex")),
            date=born_text,
            place=escape(draft.get("birth_place", "–")),
        ),
        _("Address: {value}").format(value=escape(draft.get("address", "–"))),
        _("Phone: {value}").format(value=escape(draft.get("phone", "–"))),
        _("Occupation: {value}").format(
            value=escape(_occupation_text(t, draft.get("occupation")))
        ),
    ]
    if draft.get("domicile_declared"):
        lines.append(
            _("🏠 You declared that you live in {village} now; the board will check it.").format(
                village=escape(village)
            )
        )
    lines += ["", _("Tap a field to change it, or submit.")]
    return "\n".join(lines)


def error_text(t: Translator, error: FormError) -> str:
    _ = t.gettext
    messages = {
        "name_empty": _("Please type your full name."),
        "name_too_long": _("That name is longer than {max} characters. Type it as on your KTP."),
        "name_digits": _("A name cannot contain digits. Type your full name as on your KTP."),
        "name_chars": _(
            "A name can only contain letters, spaces and ' . , -  (no emoji or symbols)."
        ),
        "name_short": _("That is too short for a full name."),
        "nik_empty": _("Please type your NIK: the 16 digits on your KTP."),
        "nik_separators": _("Type the 16 digits of your NIK without spaces, dots or dashes."),
        "nik_not_digits": _("A NIK has only digits: type the 16 digits on your KTP."),
        "nik_length": _("A NIK has 16 digits; you typed {count}."),
        "nik_province": _(
            "The NIK starts with {digits}, which is not an Indonesian province code."
        ),
        "nik_regency": _("Digits 1–4 of the NIK ({digits}) are not a regency or city code."),
        "nik_district": _("Digits 1–6 of the NIK ({digits}) are not a district code."),
        "nik_day": _(
            "Digits 7–8 of the NIK ({day}) are not a day of birth (01–31, or 41–71 for women)."
        ),
        "nik_month": _("Digits 9–10 of the NIK ({month}) are not a month (01–12)."),
        "nik_date": _("The birth date in the NIK ({day}-{month}) does not exist."),
        "nik_future": _("The birth date in the NIK is in the future."),
        "nik_too_young": _("Members must be at least {min} years old; the NIK says {age}."),
        "nik_serial": _("The last four digits of a NIK cannot be 0000."),
        "nik_taken": _(
            "This NIK is already used for an application to this cooperative from "
            "another Telegram account. If that is a mistake, contact the "
            "cooperative."
        ),
        "place_short": _("Please type your place of birth (a town or regency)."),
        "place_too_long": _("That is longer than {max} characters."),
        "place_chars": _("A place of birth can only contain letters, spaces and ' . -"),
        "address_short": _(
            "Please type your address: street, RT/RW, village — or share your location."
        ),
        "address_too_long": _("That address is longer than {max} characters."),
        "address_outside": _("That location is not in Indonesia. Type your address instead."),
        "phone_invalid": _(
            "That is not an Indonesian phone number. Type it like 0812 3456 "
            "7890 or +62 812 3456 7890."
        ),
        "phone_not_own": _("Please share your own phone number with the button, or type it."),
        "occupation_short": _("Please type your occupation."),
        "occupation_too_long": _("That is longer than {max} characters."),
        "occupation_chars": _("An occupation can only contain letters, spaces and ' . , - /"),
    }
    return messages.get(error.code, error.code).format(**error.params)


def prompt(
    t: Translator,
    step: Step,
    coop: Cooperative,
    draft: dict[str, Any],
    village: str,
    retention_days: int,
) -> tuple[str, Any]:
    """The question for ``step`` and its keyboard."""
    _ = t.gettext
    remove = ReplyKeyboardRemove()
    if step == Step.TERMS:
        return terms_text(t, coop, village), InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(_("✅ Continue"), callback_data="mf:go"),
                    InlineKeyboardButton(_("✖ Cancel"), callback_data="mf:quit"),
                ]
            ]
        )
    if step == Step.CONSENT:
        return consent_text(t, coop, retention_days), InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(_("✅ I agree"), callback_data="mf:agree"),
                    InlineKeyboardButton(_("✖ I do not agree"), callback_data="mf:decline"),
                ]
            ]
        )
    if step == Step.NAME:
        return (_step_label(t, 1) + "\n" + _("Your <b>full name</b> as on your KTP:"), remove)
    if step == Step.NIK:
        return (
            _step_label(t, 2) + "\n" + _("Your <b>NIK</b>: the 16 digits on your KTP."),
            remove,
        )
    if step == Step.NIK_CONFIRM:
        born = date.fromisoformat(draft["birth_date"])
        return (
            _("From your NIK: <b>{sex}</b>, born <b>{date}</b>. Is that right?").format(
                sex=_sex(t, draft.get("sex")), date=t.date(born)
            ),
            InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(_("✅ Yes"), callback_data="mf:nik_ok"),
                        InlineKeyboardButton(
                            _("✏️ No, retype the NIK"), callback_data="mf:nik_redo"
                        ),
                    ]
                ]
            ),
        )
    if step == Step.BIRTH_PLACE:
        return (
            _step_label(t, 3) + "\n" + _("Your <b>place of birth</b> (town or regency):"),
            remove,
        )
    if step == Step.ADDRESS:
        return (
            _step_label(t, 4)
            + "\n"
            + _("Your <b>home address</b> (street, RT/RW, village), or share your location:"),
            ReplyKeyboardMarkup(
                [[KeyboardButton(_("📍 Share my location"), request_location=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
                input_field_placeholder=_("Street, RT/RW, village"),
            ),
        )
    if step == Step.DOMICILE:
        return (
            _(
                "{coop} is for people who live in {village}. Neither your NIK nor the "
                "address you gave is in {village}.\n\nIf you live there now, declare it: "
                "the board will check your domicile."
            ).format(coop=escape(coop.name), village=escape(village)),
            InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            _("🏠 I live in {village} now").format(village=village),
                            callback_data="mf:declare",
                        )
                    ],
                    [
                        InlineKeyboardButton(
                            _("✏️ Change my address"), callback_data="mf:edit:address"
                        )
                    ],
                    [InlineKeyboardButton(_("✖ Cancel"), callback_data="mf:cancel")],
                ]
            ),
        )
    if step == Step.PHONE:
        return (
            _step_label(t, 5)
            + "\n"
            + _("Your <b>phone number</b>: tap the button to share it, or type it (08…, +62…)."),
            ReplyKeyboardMarkup(
                [[KeyboardButton(_("📱 Share my phone number"), request_contact=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
                input_field_placeholder="08…",
            ),
        )
    if step == Step.OCCUPATION:
        buttons = [
            InlineKeyboardButton(t.gettext(label), callback_data=f"mf:occ:{code}")
            for code, label in OCCUPATIONS.items()
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append([InlineKeyboardButton(_("Other…"), callback_data="mf:occ:other")])
        return _step_label(t, 6) + "\n" + _("Your <b>occupation</b>:"), InlineKeyboardMarkup(rows)
    if step == Step.OCCUPATION_OTHER:
        return _("Type your occupation:"), remove
    if step == Step.REVIEW:
        return review_text(t, coop, draft, village), InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(_("✏️ Name"), callback_data="mf:edit:name"),
                    InlineKeyboardButton(_("✏️ NIK"), callback_data="mf:edit:nik"),
                ],
                [
                    InlineKeyboardButton(
                        _("✏️ Place of birth"), callback_data="mf:edit:birth_place"
                    ),
                    InlineKeyboardButton(_("✏️ Address"), callback_data="mf:edit:address"),
                ],
                [
                    InlineKeyboardButton(_("✏️ Phone"), callback_data="mf:edit:phone"),
                    InlineKeyboardButton(_("✏️ Occupation"), callback_data="mf:edit:occupation"),
                ],
                [
                    InlineKeyboardButton(_("◀ Back"), callback_data="mf:back"),
                    InlineKeyboardButton(_("✖ Cancel"), callback_data="mf:cancel"),
                ],
                [InlineKeyboardButton(_("✅ Submit application"), callback_data="mf:submit")],
            ]
        )
    # CANCEL_CONFIRM
    return (
        _("Stop the form for {coop}? The answers you gave so far will be deleted.").format(
            coop=escape(coop.name)
        ),
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _("🗑 Yes, delete my answers"), callback_data="mf:discard"
                    ),
                    InlineKeyboardButton(_("↩ No, continue"), callback_data="mf:keep"),
                ]
            ]
        ),
    )


# --- plumbing ---------------------------------------------------------------------------


async def _coop_and_draft(context: BotContext) -> tuple[Cooperative, dict[str, Any]] | None:
    active = _active(context)
    if active is None:
        return None
    coop = await context.services.membership.coop(active[0])
    if coop is None:
        _drop(context, active[0])
        return None
    return coop, active[1]


async def _ask(
    update: Update, context: BotContext, step: Step, *, prefix: str = "", edit: bool = False
) -> Step | int:
    """Send (or, for button answers, edit in) the question of ``step``; return the step."""
    found = await _coop_and_draft(context)
    chat = update.effective_chat
    if found is None or chat is None:
        return await _lost(update, context)
    coop, draft = found
    if step != Step.CANCEL_CONFIRM:
        _touch(draft, step)
    services = context.services
    village = services.membership.village_name(coop)
    text, markup = prompt(
        context.t, step, coop, draft, village, services.membership.retention_days
    )
    if prefix:
        text = prefix + "\n\n" + text
    query = update.callback_query
    if (
        edit
        and query is not None
        and query.message is not None
        and (markup is None or isinstance(markup, InlineKeyboardMarkup))
    ):
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    else:
        await context.bot.send_message(
            chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    return step


async def _lost(update: Update, context: BotContext) -> int:
    """The draft is gone (cooperative removed, data deleted): end politely."""
    chat = update.effective_chat
    if update.callback_query is not None:
        await update.callback_query.answer()
    if chat is not None:
        await context.bot.send_message(
            chat.id,
            context.gettext(
                "This form is no longer available. Open the cooperative again to join."
            ),
            reply_markup=main_keyboard(context.t),
        )
    return ConversationHandler.END


def _next_after(step: Step, draft: dict[str, Any]) -> Step:
    if draft.pop("editing", False) and step not in (Step.NIK, Step.ADDRESS):
        return Step.REVIEW
    if step == Step.NIK:
        return Step.NIK_CONFIRM
    if step == Step.NIK_CONFIRM and draft.get("editing_nik"):
        draft.pop("editing_nik", None)
        return Step.REVIEW
    return ORDER[ORDER.index(step) + 1]


async def _answered(update: Update, context: BotContext, step: Step) -> Step | int:
    """Move on after a valid answer to ``step``."""
    found = await _coop_and_draft(context)
    if found is None:
        return await _lost(update, context)
    coop, draft = found
    if step == Step.ADDRESS:
        editing = draft.pop("editing", False)
        if not context.services.membership.domicile_ok(coop, draft) and not draft.get(
            "domicile_declared"
        ):
            draft["editing"] = editing
            return await _ask(update, context, Step.DOMICILE)
        return await _ask(update, context, Step.REVIEW if editing else Step.PHONE)
    return await _ask(
        update, context, _next_after(step, draft), edit=update.callback_query is not None
    )


async def _reprompt(update: Update, context: BotContext, error: str) -> Step | int:
    found = await _coop_and_draft(context)
    if found is None:
        return await _lost(update, context)
    step = Step(found[1].get("step", Step.NAME))
    return await _ask(update, context, step, prefix="❗ " + error)


# --- entry ------------------------------------------------------------------------------


async def start_form(update: Update, context: BotContext, coop_id: str) -> Step | int:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None and context.user_data is not None
    _ = context.gettext
    if update.callback_query is not None:
        await update.callback_query.answer()
    services = context.services
    eligibility = await services.membership.eligibility(user.id, coop_id)
    coop = eligibility.coop
    if eligibility.status == "unknown" or coop is None:
        await context.bot.send_message(
            chat.id,
            _("I can't find that cooperative. It may have been removed from the directory."),
        )
        return ConversationHandler.END
    if eligibility.status != "ok" and eligibility.application is not None:
        application = eligibility.application
        if application.status == "pending":
            text = _(
                "You already applied to {coop} on {date} (application {number}). The "
                "board is reviewing it; you will get a message here."
            )
        elif application.status == "active":
            text = _("You are already a member of {coop}. Your card is in /cards.")
        else:
            text = _("Your membership of {coop} is suspended. Please contact the cooperative.")
        await context.bot.send_message(
            chat.id,
            text.format(
                coop=escape(coop.name),
                date=context.t.date(application.created_at),
                number=application.number,
            ),
            parse_mode=ParseMode.HTML,
        )
        return ConversationHandler.END
    previous = context.user_data.get("form")
    forms = _forms(context)
    context.user_data["form"] = coop_id
    draft = forms.get(coop_id)
    if draft is not None and draft.get("step"):
        step = Step(draft["step"])
        if step == Step.CANCEL_CONFIRM:
            step = Step(draft.get("resume", Step.NAME))
        return await _ask(
            update, context, step, prefix=_("Welcome back! Your answers are kept; let's continue.")
        )
    forms[coop_id] = {"started_at": datetime.now(UTC).isoformat()}
    prefix = ""
    if previous and previous != coop_id and previous in forms:
        prefix = _(
            "Your answers for the other form are kept; you can finish it later from "
            "that cooperative's page."
        )
    return await _ask(update, context, Step.TERMS, prefix=prefix)


async def join_button(update: Update, context: BotContext) -> Step | int:
    """Start (or resume) the form from the "Join" button."""
    assert update.callback_query is not None and update.callback_query.data is not None
    return await start_form(update, context, update.callback_query.data.split(":")[1])


async def join_link(update: Update, context: BotContext) -> Step | int:
    """Start (or resume) the form from the deep link ``?start=join_<id>``."""
    payload = context.args[0] if context.args else ""
    return await start_form(update, context, payload.removeprefix("join_"))


# --- buttons ----------------------------------------------------------------------------


async def on_button(update: Update, context: BotContext) -> Step | int | None:
    """Every form button: ``mf:<action>[:<value>]``."""
    query = update.callback_query
    assert query is not None and query.data is not None
    found = await _coop_and_draft(context)
    if found is None:
        return await _lost(update, context)
    coop, draft = found
    _ = context.gettext
    parts = query.data.split(":")
    action = parts[1]
    step = Step(draft.get("step", Step.TERMS))
    if action == "go" and step == Step.TERMS:
        await query.answer()
        return await _ask(update, context, Step.CONSENT, edit=True)
    if action in ("quit", "decline") and step in (Step.TERMS, Step.CONSENT):
        await query.answer()
        _drop(context, coop.id)
        text = _("No problem. Nothing was stored. You can join later from the cooperative's page.")
        await query.edit_message_text(text)
        return ConversationHandler.END
    if action == "agree" and step == Step.CONSENT:
        await query.answer()
        draft["consent_version"] = CONSENT_VERSION
        draft["consent_at"] = datetime.now(UTC).isoformat()
        await query.edit_message_text(_("✅ Thank you. Let's start."))
        return await _ask(update, context, Step.NAME)
    if action == "nik_ok" and step == Step.NIK_CONFIRM:
        await query.answer()
        return await _answered(update, context, Step.NIK_CONFIRM)
    if action == "nik_redo" and step == Step.NIK_CONFIRM:
        await query.answer()
        for key in ("nik_enc", "nik_hash", "nik_masked", "sex", "birth_date", "nik_district"):
            draft.pop(key, None)
        return await _ask(update, context, Step.NIK, edit=False)
    if action == "declare" and step == Step.DOMICILE:
        await query.answer()
        draft["domicile_declared"] = True
        editing = draft.pop("editing", False)
        return await _ask(update, context, Step.REVIEW if editing else Step.PHONE)
    if action == "occ" and step == Step.OCCUPATION and len(parts) == 3:
        await query.answer()
        if parts[2] == "other":
            return await _ask(update, context, Step.OCCUPATION_OTHER)
        if parts[2] not in OCCUPATIONS:
            return None
        draft["occupation"] = parts[2]
        draft.pop("editing", None)
        return await _ask(update, context, Step.REVIEW, edit=True)
    if (
        action == "edit"
        and step in (Step.REVIEW, Step.DOMICILE)
        and len(parts) == 3
        and parts[2] in EDITABLE
    ):
        await query.answer()
        target = EDITABLE[parts[2]]
        draft["editing"] = True
        if target == Step.NIK:
            draft["editing_nik"] = True
        if target == Step.ADDRESS:
            draft.pop("domicile_declared", None)
        return await _ask(update, context, target)
    if action == "back" and step == Step.REVIEW:
        await query.answer()
        return await _ask(update, context, Step.OCCUPATION, edit=True)
    if action == "cancel":
        await query.answer()
        draft["resume"] = int(step)
        return await _ask(update, context, Step.CANCEL_CONFIRM)
    if action == "submit" and step == Step.REVIEW:
        return await submit(update, context, coop, draft)
    await query.answer(_("This button belongs to an earlier question."), show_alert=False)
    return None


async def submit(
    update: Update, context: BotContext, coop: Cooperative, draft: dict[str, Any]
) -> Step | int | None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    _ = context.gettext
    try:
        application = await context.services.membership.submit(
            user.id, coop.id, draft, context.locale or "id"
        )
    except FormError as error:
        await query.answer()
        if error.code == "nik_taken":
            return await _ask(
                update, context, Step.NIK, prefix="❗ " + error_text(context.t, error)
            )
        if error.code.startswith("already_"):
            _drop(context, coop.id)
            await query.edit_message_text(
                _("Your application to {coop} was already sent.").format(coop=escape(coop.name)),
                parse_mode=ParseMode.HTML,
            )
            return ConversationHandler.END
        if error.code == "domicile":
            return await _ask(update, context, Step.DOMICILE)
        log.warning("submit refused code=%s", error.code)
        await context.bot.send_message(
            user.id, _("The application could not be sent. Please check your answers.")
        )
        return await _ask(update, context, Step.REVIEW)
    await query.answer()
    _drop(context, coop.id)
    log.info("application submitted coop=%s number=%s", coop.id, application.number)
    from handlers.notify import notify_admins

    await notify_admins(context, application, coop)
    t = context.t
    lines = [
        _("✅ <b>Application sent!</b>"),
        _("Application number: <code>{number}</code>").format(number=application.number),
        "",
        _("<b>What happens next</b>"),
        _("1. The board of {coop} reviews your application; you will get a message here.").format(
            coop=escape(coop.name)
        ),
    ]
    if coop.simpanan_pokok is not None or coop.simpanan_wajib is not None:
        lines.append(
            _(
                "2. Once approved, you pay the deposits to the cooperative: "
                "simpanan pokok {pokok} once and simpanan wajib {wajib} a month."
            ).format(
                pokok=t.money(coop.simpanan_pokok or 0), wajib=t.money(coop.simpanan_wajib or 0)
            )
        )
    lines.append(_("Your applications and cards are in /cards."))
    await query.edit_message_text("\n".join(lines), parse_mode=ParseMode.HTML)
    await context.bot.send_message(
        user.id, _("You can search for more cooperatives any time."), reply_markup=main_keyboard(t)
    )
    return ConversationHandler.END


async def on_cancel_choice(update: Update, context: BotContext) -> Step | int | None:
    """Discard the answers, or go back to the question."""
    query = update.callback_query
    assert query is not None and query.data is not None
    found = await _coop_and_draft(context)
    if found is None:
        return await _lost(update, context)
    coop, draft = found
    await query.answer()
    if query.data == "mf:discard":
        _drop(context, coop.id)
        await query.edit_message_text(context.gettext("Cancelled. Your answers were deleted."))
        if update.effective_chat is not None:
            await context.bot.send_message(
                update.effective_chat.id,
                context.gettext("You can search for cooperatives any time."),
                reply_markup=main_keyboard(context.t),
            )
        return ConversationHandler.END
    step = Step(draft.pop("resume", Step.NAME))
    await query.edit_message_text(context.gettext("OK, let's continue."))
    return await _ask(update, context, step)


# --- typed answers ----------------------------------------------------------------------


async def on_text(update: Update, context: BotContext) -> Step | int | None:
    """A typed answer to the current question."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    found = await _coop_and_draft(context)
    if found is None:
        return await _lost(update, context)
    coop, draft = found
    step = Step(draft.get("step", Step.NAME))
    text = message.text or ""
    membership = context.services.membership
    try:
        if step == Step.NAME:
            draft["full_name"] = _check_person_name(text)
        elif step == Step.NIK:
            draft.update(await membership.nik_answer(user.id, coop.id, text))
        elif step == Step.BIRTH_PLACE:
            draft["birth_place"] = _check_place_name(text)
        elif step == Step.ADDRESS:
            draft["address"] = _check_address(text)
            draft.pop("domicile_village", None)
            draft.pop("domicile_point", None)
        elif step == Step.PHONE:
            draft["phone"] = _check_phone(text)
            await message.reply_text(
                context.gettext("✅ Phone number saved."), reply_markup=ReplyKeyboardRemove()
            )
        elif step == Step.OCCUPATION_OTHER:
            draft["occupation"] = "other:" + _check_occupation(text)
            draft.pop("editing", None)
            return await _ask(update, context, Step.REVIEW)
        else:
            return await _reprompt(update, context, _expect_button(context))
    except FormError as error:
        return await _reprompt(update, context, error_text(context.t, error))
    return await _answered(update, context, step)


def _expect_button(context: BotContext) -> str:
    return context.gettext("Please answer with the buttons below.")


async def on_location(update: Update, context: BotContext) -> Step | int | None:
    """A shared location: the address, if that is the question."""
    message = update.effective_message
    assert message is not None and message.location is not None
    found = await _coop_and_draft(context)
    if found is None:
        return await _lost(update, context)
    _coop, draft = found
    step = Step(draft.get("step", Step.NAME))
    if step != Step.ADDRESS:
        return await _reprompt(
            update, context, context.gettext("A location is not an answer to this question.")
        )
    try:
        draft.update(
            context.services.membership.address_from_point(
                Point(message.location.latitude, message.location.longitude)
            )
        )
    except FormError as error:
        return await _reprompt(update, context, error_text(context.t, error))
    return await _answered(update, context, Step.ADDRESS)


async def on_contact(update: Update, context: BotContext) -> Step | int | None:
    """A shared contact: the phone number, if it is the user's own."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.contact is not None and user is not None
    found = await _coop_and_draft(context)
    if found is None:
        return await _lost(update, context)
    _coop, draft = found
    step = Step(draft.get("step", Step.NAME))
    if step != Step.PHONE:
        return await _reprompt(
            update, context, context.gettext("A contact is not an answer to this question.")
        )
    if message.contact.user_id != user.id:
        return await _reprompt(update, context, error_text(context.t, FormError("phone_not_own")))
    try:
        draft["phone"] = _check_phone(message.contact.phone_number)
    except FormError as error:
        return await _reprompt(update, context, error_text(context.t, error))
    await message.reply_text(
        context.gettext("✅ Phone number saved."), reply_markup=ReplyKeyboardRemove()
    )
    return await _answered(update, context, Step.PHONE)


async def on_other(update: Update, context: BotContext) -> Step | int | None:
    """Photos, stickers, voice notes, documents… where an answer is expected."""
    found = await _coop_and_draft(context)
    if found is None:
        return await _lost(update, context)
    step = Step(found[1].get("step", Step.NAME))
    _ = context.gettext
    if step == Step.ADDRESS:
        error = _("Please type your address, or share your location.")
    elif step == Step.PHONE:
        error = _("Please share your phone number with the button, or type it.")
    elif step in (
        Step.TERMS,
        Step.CONSENT,
        Step.NIK_CONFIRM,
        Step.DOMICILE,
        Step.OCCUPATION,
        Step.REVIEW,
        Step.CANCEL_CONFIRM,
    ):
        error = _expect_button(context)
    else:
        error = _("Please answer with text.")
    return await _reprompt(update, context, error)


async def on_cancel_command(update: Update, context: BotContext) -> Step | int | None:
    """/cancel (/batal) in the form: confirm before discarding."""
    found = await _coop_and_draft(context)
    if found is None:
        return await _lost(update, context)
    _coop, draft = found
    step = Step(draft.get("step", Step.NAME))
    if step in (Step.TERMS, Step.CONSENT):
        _drop(context, _coop.id)
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            context.gettext("Cancelled. Nothing was stored."),
            reply_markup=main_keyboard(context.t),
        )
        return ConversationHandler.END
    if step != Step.CANCEL_CONFIRM:
        draft["resume"] = int(step)
    return await _ask(update, context, Step.CANCEL_CONFIRM)


async def on_start_in_form(update: Update, context: BotContext) -> Step | int | None:
    """/start during the form: a cooperative link still opens; the form stays open."""
    payload = context.args[0] if context.args else ""
    if payload.startswith("c_"):
        from handlers.search import send_detail

        await send_detail(update, context, payload[2:])
    return await on_other_command(update, context)


async def on_other_command(update: Update, context: BotContext) -> Step | int | None:
    """Any other command in the middle of the form: remind, and ask again."""
    found = await _coop_and_draft(context)
    if found is None:
        return await _lost(update, context)
    return await _reprompt(
        update,
        context,
        context.gettext(
            "You are filling in the form to join {coop}. Answer the question below, or send "
            "/batal to stop."
        ).format(coop=escape(found[0].name)),
    )


async def on_timeout(update: Update, context: BotContext) -> None:
    """After 30 idle minutes: pause the form, keep the answers, offer to continue."""
    chat = update.effective_chat
    active = _active(context)
    if chat is None or active is None:
        return
    coop_id, _draft = active
    _ = context.gettext
    await context.bot.send_message(
        chat.id,
        _(
            "⏸ The form is paused after 30 minutes without an answer. Your answers are kept: "
            "continue whenever you are ready."
        ),
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(_("▶ Continue the form"), callback_data=f"jn:{coop_id}")]]
        ),
    )


# --- the conversation -------------------------------------------------------------------

TEXT = filters.TEXT & ~filters.COMMAND
# Commands that keep working in the middle of a form (rights, help, wallet, admin work);
# the form waits for them. Any other command gets a reminder and the question again.
PASS_THROUGH = (
    "help",
    "bantuan",
    "privacy",
    "privasi",
    "mydata",
    "dataku",
    "deletedata",
    "hapusdata",
    "cards",
    "kartu",
    "language",
    "bahasa",
    "admin",
    "stats",
    "import",
    "invite",
)
OTHER_COMMAND = (
    filters.COMMAND
    & ~filters.Regex(rf"^/({'|'.join(PASS_THROUGH)})(@\w+)?(\s|$)")
    & ~filters.Regex(r"^/start(@\w+)? (v_|adm_)")
)
OTHER = ~filters.COMMAND & ~filters.TEXT & ~filters.LOCATION & ~filters.CONTACT
MESSAGE = filters.UpdateType.MESSAGE


def _state_handlers() -> list[BaseHandler]:
    return [
        CallbackQueryHandler(on_cancel_choice, pattern=r"^mf:(discard|keep)$"),
        CallbackQueryHandler(on_button, pattern=r"^mf:[a-z_]+(:[a-z_]+)?$"),
        MessageHandler(MESSAGE & TEXT, on_text),
        MessageHandler(MESSAGE & filters.LOCATION, on_location),
        MessageHandler(MESSAGE & filters.CONTACT, on_contact),
        MessageHandler(MESSAGE & OTHER, on_other),
    ]


def build_conversation(timeout_s: float | None = FORM_TIMEOUT_S) -> ConversationHandler:
    """The persistent membership conversation."""
    states: dict[object, list[BaseHandler]] = {step: _state_handlers() for step in Step}
    states[ConversationHandler.TIMEOUT] = [
        MessageHandler(filters.ALL, on_timeout),
        CallbackQueryHandler(on_timeout),
    ]
    with warnings.catch_warnings():
        # Form buttons are tracked per user, not per message, on purpose.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message=False.*")
        return ConversationHandler(
            entry_points=[
                CallbackQueryHandler(join_button, pattern=r"^jn:[0-9a-f]{24}$"),
                CommandHandler(
                    "start", join_link, filters=filters.Regex(r"^/start join_[0-9a-f]{24}$")
                ),
            ],
            states=states,
            fallbacks=[
                CommandHandler(["cancel", "batal"], on_cancel_command),
                # A card check or an invitation opened mid-form is handled as usual.
                CommandHandler(
                    "start", on_start_in_form, filters=~filters.Regex(r"^/start(@\w+)? (v_|adm_)")
                ),
                MessageHandler(OTHER_COMMAND & MESSAGE, on_other_command),
            ],
            name="membership",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=timeout_s,
        )
