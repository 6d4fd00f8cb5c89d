"""What the claims feature says: the form, the operators' card, the notices."""

from __future__ import annotations

from html import escape

from bot.i18n import Translator
from bot.services.claims import MAX_FILES, ROLES, ClaimError, ClaimView
from bot.services.phone import mask_phone, normalize_phone
from handlers.claims.states import NUMBERED, Step
from storage.models import Claim, Cooperative


def role_label(t: Translator, role: str | None) -> str:
    return t.gettext(ROLES[role]) if role in ROLES else "–"


def status_label(t: Translator, status: str) -> str:
    _ = t.gettext
    labels = {
        "open": _("waiting for the operators"),
        "more": _("the operators asked you for more"),
        "approved": _("approved"),
        "rejected": _("not approved"),
        "superseded": _("closed: another claim was approved"),
        "withdrawn": _("withdrawn"),
    }
    return labels.get(status, status)


def consent_text(t: Translator, coop: Cooperative, retention_days: int) -> str:
    _ = t.gettext
    return "\n".join(
        [
            _("🏛 <b>Run {coop} on Gerbang Koperasi</b>").format(coop=escape(coop.name)),
            "",
            _(
                "If you are on this cooperative's board (pengurus or pengawas), you can run it "
                "here: accept members' applications, keep its page up to date and send "
                "announcements."
            ),
            _(
                "I will ask for your role, your full name, your phone number (your own Telegram "
                "contact) and a photo or PDF of the SK pengurus, the akta pendirian or the "
                "cooperative's NIK certificate. The platform's operators check them and decide."
            ),
            "",
            _(
                "<b>Consent:</b> your name, phone number and files are used only to check this "
                "claim, and only the platform's operators see them. The files are deleted "
                "{days} days after the decision. /mydata shows your data; /deletedata deletes "
                "it."
            ).format(days=retention_days),
        ]
    )


def question_text(t: Translator, step: Step, coop: Cooperative) -> str:
    _ = t.gettext
    number = _("Question {n} of {total}").format(
        n=NUMBERED.index(step) + 1 if step in NUMBERED else 0, total=len(NUMBERED)
    )
    questions = {
        Step.ROLE: _("What is your role in <b>{coop}</b>?"),
        Step.NAME: _("Type your full name as on your KTP."),
        Step.PHONE: _(
            "Share your phone number with the button below (your own Telegram contact)."
        ),
        Step.EVIDENCE: _(
            "Send a photo or a PDF of the SK pengurus, the akta pendirian or the "
            "cooperative's NIK certificate (at most 10 MB)."
        ),
    }
    return f"<i>{number}</i>\n" + questions[step].format(coop=escape(coop.name))


def review_text(
    t: Translator,
    coop: Cooperative,
    role: str | None,
    name: str | None,
    phone: str | None,
    files: int,
) -> str:
    _ = t.gettext
    return "\n".join(
        [
            _("<b>Your claim</b>"),
            _("Cooperative: {value}").format(value=escape(coop.name)),
            _("Role: {value}").format(value=escape(role_label(t, role))),
            _("Name: {value}").format(value=escape(name or "–")),
            _("Phone: {value}").format(value=escape(phone or "–")),
            _("Files: {n}").format(n=files),
            "",
            _("Send more files if you like (up to {max}), or send the claim.").format(
                max=MAX_FILES
            ),
        ]
    )


def error_text(t: Translator, error: ClaimError, coop: Cooperative | None = None) -> str:
    """Why the claim (or an answer in it) was refused."""
    _ = t.gettext
    name = escape(coop.name) if coop is not None else ""
    messages = {
        "unknown": _(
            "I can't find that cooperative. It may have been removed from the directory."
        ),
        "on_platform": _(
            "<b>{coop}</b> is already run on Gerbang Koperasi by its board. Ask its admins to "
            "invite you."
        ),
        "already_admin": _("You already run <b>{coop}</b>: open the panel with /admin."),
        "evidence_type": _(
            "Only a photo or a PDF can be accepted as evidence. Your earlier answers are kept."
        ),
        "evidence_size": _(
            "That file is larger than {max} MB. Send a smaller photo or PDF. Your earlier "
            "answers are kept."
        ),
        "evidence_many": _("That is enough files (at most {max}). Send the claim."),
        "text_short": _("Please type a few words."),
        "text_long": _("That is longer than {max} characters."),
        "incomplete": _("Some answers are missing. Start the claim again, please."),
        "consent": _("Some answers are missing. Start the claim again, please."),
        "not_waiting": _("This claim is not waiting for your answer any more."),
    }
    text = messages.get(error.code, error.code)
    return text.format(coop=name, **error.params)


def open_claim_text(t: Translator, coop: Cooperative, claim: Claim) -> str:
    return t.gettext(
        "You already sent a claim for <b>{coop}</b> on {date}: {status}. The operators will tell "
        "you here."
    ).format(
        coop=escape(coop.name), date=t.date(claim.created_at), status=status_label(t, claim.status)
    )


def submitted_text(t: Translator, coop: Cooperative) -> str:
    return t.gettext(
        "📨 Your claim for <b>{coop}</b> was sent. The platform's operators will check it and "
        "tell you here."
    ).format(coop=escape(coop.name))


# --- the operators' card -----------------------------------------------------------------


def _phone_check(t: Translator, view: ClaimView) -> str:
    _ = t.gettext
    if view.coop is None or normalize_phone(view.coop.phone or "") is None:
        return _("the directory has no phone number")
    if view.claim.phone_matches:
        return _("✅ the same as the directory's")
    return _("⚠️ not the directory's ({phone})").format(
        phone=escape(mask_phone(normalize_phone(view.coop.phone or "") or ""))
    )


def claim_card(t: Translator, view: ClaimView) -> str:
    """A claim as operators see it, with what helps to decide."""
    _ = t.gettext
    claim, coop = view.claim, view.coop
    lines = [
        _("🏛 <b>Claim</b> · {coop}").format(coop=escape(coop.name if coop else claim.coop_id)),
        _("Registration number: {value}").format(
            value=escape((coop.registration_number if coop else None) or "–")
        ),
        "",
        _("Claimant: {name} · {role}").format(
            name=escape(claim.name or "–"), role=escape(role_label(t, claim.role))
        ),
        _("Phone: {phone} · {check}").format(
            phone=escape(claim.phone or "–"), check=_phone_check(t, view)
        ),
        _("Telegram id: {id} · sent {date}").format(
            id=claim.user_id or "–", date=t.date(claim.created_at)
        ),
        _("Files: {n} (above)").format(n=len(claim.evidence)),
        _("Status: {value}").format(value=status_label(t, claim.status)),
    ]
    if claim.question:
        lines.append(_("Asked: {value}").format(value=escape(claim.question)))
    if claim.answer:
        lines.append(_("Answer: {value}").format(value=escape(claim.answer)))
    if view.others:
        lines += [
            "",
            _("⚠️ Other open claims for this cooperative: {n}").format(n=len(view.others)),
        ]
        lines += [
            f"• {escape(o.name or '–')} · {escape(role_label(t, o.role))} · {t.date(o.created_at)}"
            for o in view.others
        ]
    return "\n".join(lines)


# --- to the claimant ---------------------------------------------------------------------


def approved_text(t: Translator, coop: Cooperative | None, name: str) -> str:
    _ = t.gettext
    return "\n".join(
        [
            _("✅ Your claim was approved: you now run <b>{coop}</b> on Gerbang Koperasi.").format(
                coop=escape(name)
            ),
            _("1. Send /admin to open the cooperative's panel."),
            _("2. 📥 Applications: approve or reject the people who ask to join."),
            _("3. ✏️ Profile: check the phone, address and opening hours members see."),
        ]
    )


def rejected_text(t: Translator, name: str, reason: str) -> str:
    return t.gettext(
        "Your claim for <b>{coop}</b> was not approved.\nReason: {reason}\n\nYou can send a new "
        "claim with other evidence."
    ).format(coop=escape(name), reason=escape(reason))


def superseded_text(t: Translator, name: str) -> str:
    return t.gettext(
        "Thank you for your claim for <b>{coop}</b>. Another board member's claim was approved, "
        "so yours was closed. If you also help run the cooperative, ask its admins to invite "
        "you."
    ).format(coop=escape(name))


def question_to_claimant(t: Translator, name: str, question: str) -> str:
    return t.gettext(
        "❓ The platform's operators need more for your claim for <b>{coop}</b>:\n"
        "<i>{question}</i>\n\nTap the button, then send a photo or PDF, or type your answer."
    ).format(coop=escape(name), question=escape(question))
