"""What the proofs of payment say, to the member and to the board, and their buttons."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.services.proofs import ProofError
from handlers.callbacks import (
    PROOF_CONFIRM,
    PROOF_KIND,
    PROOF_REJECT,
    PROOF_SEND,
    PROOF_START,
    PROOF_STOP,
    PROOF_SUGGESTED,
)
from handlers.money.receipts import kind_text
from storage.models import LEDGER_KINDS, Cooperative, PaymentProof

CAPTION_LIMIT = 1024  # Telegram's limit for a photo's or a document's caption


def _cancel(t: Translator) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(t.gettext("✖ Cancel"), callback_data=PROOF_STOP())]


def heading(t: Translator, coop: Cooperative, member_number: str | None) -> str:
    return t.gettext("💸 <b>Proof of payment</b> · {coop}\nMember number: {number}").format(
        coop=escape(coop.name), number=f"<code>{escape(member_number or '–')}</code>"
    )


def kind_question(t: Translator) -> str:
    return t.gettext("What did you pay?")


def kind_keyboard(t: Translator, open_: dict[str, int]) -> InlineKeyboardMarkup:
    """One button per simpanan, with what is still open."""
    rows = []
    for kind in LEDGER_KINDS:
        label = kind_text(t, kind)
        if open_.get(kind):
            label = t.gettext("{kind} · {amount} open").format(
                kind=label, amount=t.money(open_[kind])
            )
        rows.append([InlineKeyboardButton(label, callback_data=PROOF_KIND(kind))])
    return InlineKeyboardMarkup([*rows, _cancel(t)])


def amount_question(t: Translator, kind: str, suggested: int | None) -> str:
    text = t.gettext(
        "How much did you pay for {kind}? Type the amount in rupiah, for example 50000, "
        "50.000 or 50rb."
    ).format(kind=escape(kind_text(t, kind)))
    if suggested:
        text += "\n" + t.gettext("Still open: {amount} (tap the button to use it).").format(
            amount=t.money(suggested)
        )
    return text


def amount_keyboard(t: Translator, suggested: int | None) -> InlineKeyboardMarkup:
    rows = []
    if suggested:
        rows.append([InlineKeyboardButton(t.money(suggested), callback_data=PROOF_SUGGESTED())])
    return InlineKeyboardMarkup([*rows, _cancel(t)])


def file_question(t: Translator) -> str:
    return t.gettext(
        "Send a photo of the transfer receipt (or a PDF): the screenshot of your banking app "
        "or the slip from the bank."
    )


def cancel_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([_cancel(t)])


def review_text(t: Translator, kind: str, amount: int, day: str) -> str:
    _ = t.gettext
    return "\n".join(
        [
            _("Please check before sending:"),
            _("Payment: {kind}").format(kind=escape(kind_text(t, kind))),
            _("Amount: {amount}").format(amount=t.money(amount)),
            _("Date: {date}").format(date=day),
            _("Transfer receipt: ✅ attached (send another one to replace it)"),
        ]
    )


def review_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t.gettext("📨 Send to the board"), callback_data=PROOF_SEND())],
            _cancel(t),
        ]
    )


def continue_keyboard(t: Translator, application_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t.gettext("▶ Continue"), callback_data=PROOF_START(application_id)
                )
            ]
        ]
    )


def error_text(t: Translator, error: ProofError) -> str:
    """A refusal in the member's (or the admin's) words."""
    _ = t.gettext
    params = error.params
    texts = {
        "amount_format": _(
            "Type the amount in whole rupiah, for example 50000, 50.000, Rp50.000 or 50rb."
        ),
        "amount_positive": _("The amount must be more than Rp0."),
        "amount_large": _("That is more than {max}: please check the amount.").format(
            max=t.money(int(str(params.get("max", 0))))
        ),
        "file_type": _("Only a photo or a PDF of the transfer receipt, please."),
        "file_size": _("The file is too large: at most {max} MB.").format(
            max=params.get("max", 10)
        ),
        "inactive": _(
            "This membership is not active, so there is nothing to pay through the bot. "
            "Ask the cooperative."
        ),
        "incomplete": _("Something is missing: please start again from /dues."),
        "reason_short": _("The reason is too short: at least 3 characters."),
        "reason_long": _("The reason is too long: at most {max} characters.").format(
            max=params.get("max", 300)
        ),
    }
    if error.code == "open" and error.proof is not None:
        return open_text(t, error.proof)
    return texts.get(error.code, _("That did not work. Please try again."))


def open_text(t: Translator, proof: PaymentProof) -> str:
    return t.gettext(
        "You already sent a proof of payment for this membership on {date} ({kind}, "
        "{amount}), and the board has not decided yet. You can send another one once they "
        "have."
    ).format(
        date=t.date(proof.paid_on),
        kind=escape(kind_text(t, proof.kind)),
        amount=t.money(proof.amount),
    )


def submitted_text(t: Translator, coop: Cooperative) -> str:
    return t.gettext(
        "📨 Sent to the board of {coop}. You will get a receipt as soon as they confirm your "
        "payment."
    ).format(coop=escape(coop.name))


def rejected_text(t: Translator, proof: PaymentProof, coop_name: str) -> str:
    """To the member: the board did not confirm, and why."""
    _ = t.gettext
    return "\n".join(
        [
            _(
                "❌ The board of {coop} did not confirm your proof of payment ({kind}, "
                "{amount}, sent {date})."
            ).format(
                coop=escape(coop_name),
                kind=escape(kind_text(t, proof.kind)),
                amount=t.money(proof.amount),
                date=t.date(proof.paid_on),
            ),
            _("Reason: {reason}").format(reason=escape(proof.reason or "–")),
            "",
            _("If you did pay, send a new proof from /dues or contact the cooperative."),
        ]
    )


def board_caption(t: Translator, proof: PaymentProof, coop: Cooperative, name: str | None) -> str:
    """The proof as the board sees it: who, what, how much, when; and its decision."""
    _ = t.gettext
    lines = [
        _("🧾 <b>Proof of payment</b> · {coop}").format(coop=escape(coop.name)),
        _("Member: {name} · {number}").format(
            name=escape(name or "–"),
            number=f"<code>{escape(proof.member_number or '–')}</code>",
        ),
        _("Payment: {kind}").format(kind=escape(kind_text(t, proof.kind))),
        _("Amount: {amount}").format(amount=t.money(proof.amount)),
        _("Sent: {date}").format(date=t.date(proof.paid_on)),
        "",
    ]
    if proof.status == "confirmed":
        lines.append(_("✅ Confirmed: recorded in the ledger, the member got a receipt."))
    elif proof.status == "rejected":
        lines.append(_("❌ Rejected: {reason}").format(reason=escape((proof.reason or "–")[:300])))
    elif proof.status == "withdrawn":
        lines.append(_("Withdrawn by the member."))
    else:
        lines.append(_("Check your account statement, then confirm or reject."))
    return "\n".join(lines)[:CAPTION_LIMIT]


def decision_keyboard(t: Translator, proof: PaymentProof) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t.gettext("✅ Confirm"), callback_data=PROOF_CONFIRM(proof.id)
                ),
                InlineKeyboardButton(t.gettext("❌ Reject"), callback_data=PROOF_REJECT(proof.id)),
            ]
        ]
    )
