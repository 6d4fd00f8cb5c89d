"""What the membership form says: the terms, the consent, each question, review, errors.

Pure functions of a :class:`~bot.i18n.Translator` and typed values; the keyboards that go
with the questions are in ``keyboards.py``.
"""

from __future__ import annotations

from html import escape

from bot.i18n import Translator
from bot.services.draft import MembershipDraft
from bot.services.membership import OCCUPATIONS, FormError
from handlers.membership.steps import Step, number
from storage.models import Application, Cooperative


def step_label(t: Translator, step: Step) -> str:
    """ "Question 2 of 6": the place of a numbered question in the form."""
    n, total = number(step)
    return t.gettext("Question {n} of {total}").format(n=n, total=total)


def sex_text(t: Translator, sex: str | None) -> str:
    return t.gettext("female") if sex == "F" else t.gettext("male")


def occupation_text(t: Translator, value: str | None) -> str:
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
                "<b>What we collect:</b> your full name, NIK, sex and date of birth (read from "
                "the NIK), place of birth, address, phone number and occupation."
            ),
            _(
                "<b>Why:</b> to process your membership application at {coop} and, once approved, "
                "to keep your membership."
            ).format(coop=escape(coop.name)),
            _(
                "<b>Who sees it:</b> the board of {coop} and the operators of the Gerbang "
                "Koperasi platform. Nobody else."
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


def review_text(t: Translator, coop: Cooperative, draft: MembershipDraft, village: str) -> str:
    _ = t.gettext
    born_text = t.date(draft.birth_date) if draft.birth_date else "–"
    lines = [
        _("<b>Check your application to {coop}</b>").format(coop=escape(coop.name)),
        "",
        _("Name: {value}").format(value=escape(draft.full_name or "–")),
        _("NIK: {value}").format(value=f"<code>{escape(draft.nik_masked or '–')}</code>"),
        _("Sex: {sex} · born {date} in {place}").format(
            sex=sex_text(t, draft.sex),
            date=born_text,
            place=escape(draft.birth_place or "–"),
        ),
        _("Address: {value}").format(value=escape(draft.address or "–")),
        _("Phone: {value}").format(value=escape(draft.phone or "–")),
        _("Occupation: {value}").format(value=escape(occupation_text(t, draft.occupation))),
    ]
    if draft.domicile_declared:
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
            "A name can only contain letters, spaces and ' . , - (no emoji or symbols)."
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
        "nik_too_young": _("Members must be at least {min} years old; the NIK says {age}.").format(
            min=error.params.get("min", ""),
            age=t.ngettext("{n} year", "{n} years", int(str(error.params.get("age", 0)))).format(
                n=error.params.get("age", "")
            ),
        ),
        "nik_serial": _("The last four digits of a NIK cannot be 0000."),
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


def question_text(
    t: Translator,
    step: Step,
    coop: Cooperative,
    draft: MembershipDraft,
    village: str,
    retention_days: int,
) -> str:
    """What the form says at ``step`` (its buttons are ``keyboards.question_keyboard``)."""
    _ = t.gettext
    match step:
        case Step.TERMS:
            return terms_text(t, coop, village)
        case Step.CONSENT:
            return consent_text(t, coop, retention_days)
        case Step.NAME:
            return step_label(t, step) + "\n" + _("Your <b>full name</b> as on your KTP:")
        case Step.NIK:
            return step_label(t, step) + "\n" + _("Your <b>NIK</b>: the 16 digits on your KTP.")
        case Step.NIK_CONFIRM:
            return _("From your NIK: <b>{sex}</b>, born <b>{date}</b>. Is that right?").format(
                sex=sex_text(t, draft.sex),
                date=t.date(draft.birth_date) if draft.birth_date else "–",
            )
        case Step.BIRTH_PLACE:
            return step_label(t, step) + "\n" + _("Your <b>place of birth</b> (town or regency):")
        case Step.ADDRESS:
            return (
                step_label(t, step)
                + "\n"
                + _("Your <b>home address</b> (street, RT/RW, village), or share your location:")
            )
        case Step.DOMICILE:
            return _(
                "{coop} is for people who live in {village}. Neither your NIK nor the "
                "address you gave is in {village}.\n\nIf you live there now, declare it: "
                "the board will check your domicile."
            ).format(coop=escape(coop.name), village=escape(village))
        case Step.PHONE:
            return (
                step_label(t, step)
                + "\n"
                + _(
                    "Your <b>phone number</b>: tap the button to share it, or type it (08…, +62…)."
                )
            )
        case Step.OCCUPATION:
            return step_label(t, step) + "\n" + _("Your <b>occupation</b>:")
        case Step.OCCUPATION_OTHER:
            return _("Type your occupation:")
        case Step.REVIEW:
            return review_text(t, coop, draft, village)
        case Step.REUSE:
            return "\n".join(
                [
                    *(draft.reuse_summary or []),
                    "",
                    _(
                        "Use these answers for {coop}? You can change any of them before you send."
                    ).format(coop=escape(coop.name)),
                ]
            )
        case Step.CANCEL_CONFIRM:
            return _(
                "Stop the form for {coop}? The answers you gave so far will be deleted."
            ).format(coop=escape(coop.name))


# --- why an answer is refused (besides error_text) -------------------------------------


def expect_button(t: Translator) -> str:
    return t.gettext("Please answer with the buttons below.")


def expect_text(t: Translator) -> str:
    return t.gettext("Please answer with text.")


def expect_address(t: Translator) -> str:
    return t.gettext("Please type your address, or share your location.")


def expect_phone(t: Translator) -> str:
    return t.gettext("Please share your phone number with the button, or type it.")


def not_a_location(t: Translator) -> str:
    return t.gettext("A location is not an answer to this question.")


def not_a_contact(t: Translator) -> str:
    return t.gettext("A contact is not an answer to this question.")


# --- after the form ---------------------------------------------------------------------


def submitted_text(t: Translator, coop: Cooperative, application: Application) -> str:
    _ = t.gettext
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
    return "\n".join(lines)


def open_application_text(t: Translator, coop: Cooperative, application: Application) -> str:
    """Why a form cannot start: the user applied already, is a member, or is suspended."""
    _ = t.gettext
    if application.status == "pending":
        text = _(
            "You already applied to {coop} on {date} (application {number}). The "
            "board is reviewing it; you will get a message here."
        )
    elif application.status == "active":
        text = _("You are already a member of {coop}. Your card is in /cards.")
    else:
        text = _("Your membership of {coop} is suspended. Please contact the cooperative.")
    return text.format(
        coop=escape(coop.name), date=t.date(application.created_at), number=application.number
    )


def missing_note(t: Translator, draft: MembershipDraft) -> str:
    """ "Still missing: phone, occupation." — the answers an application lacks, by name."""
    _ = t.gettext
    labels = {
        "full_name": _("full name"),
        "nik_enc": _("NIK"),
        "birth_place": _("place of birth"),
        "address": _("address"),
        "phone": _("phone"),
        "occupation": _("occupation"),
    }
    names = [labels[name] for name in draft.missing() if name in labels]
    return "❗ " + _("Still missing: {answers}. Please answer the question below.").format(
        answers=", ".join(names)
    )


def _masked_words(text: str, keep: int = 1) -> str:
    """ "Siti Aminah" → "S*** A*****": enough to recognise, not to read."""
    words = text.split()
    out = [w[:keep] + "*" * max(0, len(w) - keep) for w in words[:6]]
    return " ".join(out) + (" …" if len(words) > 6 else "")


def reuse_summary(t: Translator, previous: Application, coop: Cooperative | None) -> list[str]:
    """The last application's answers, masked, as the form offers to reuse them."""
    _ = t.gettext
    phone = previous.phone or ""
    return [
        _("You applied to {coop} on {date} with these answers:").format(
            coop=escape(coop.name if coop else "–"),
            date=t.date(previous.created_at) if previous.created_at else "–",
        ),
        _("Name: {value}").format(value=escape(_masked_words(previous.full_name or ""))),
        _("NIK: {value}").format(value=f"<code>{escape(previous.nik_masked or '–')}</code>"),
        _("Place of birth: {value}").format(value=escape(previous.birth_place or "–")),
        _("Address: {value}").format(value=escape(_masked_words(previous.address or ""))),
        _("Phone: {value}").format(value=escape("•••• " + phone[-4:] if phone else "–")),
        _("Occupation: {value}").format(value=escape(occupation_text(t, previous.occupation))),
    ]
