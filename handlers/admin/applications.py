"""The applications queue: one pending application per screen; approve, reject, reveal.

Every button re-checks the role in the service (``AdminService``): a forged callback pointing
at another cooperative's application gets the same answer as a missing one.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.i18n import Translator
from handlers.admin.reply import edit, respond
from handlers.callbacks import (
    APPROVE,
    APPROVE_YES,
    PANEL,
    QUEUE,
    REJECT_MENU,
    REJECT_PRESET,
    REJECT_TYPED,
    REVEAL,
)
from handlers.guard import actor, guarded
from handlers.notify import (
    REJECT_REASONS,
    application_keyboard,
    application_text,
    reason_text,
    tell_applicant,
)
from storage.models import Cooperative


def next_keyboard(t: Translator, coop: Cooperative) -> InlineKeyboardMarkup:
    """After a decision: the next application, or back to the panel."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t.gettext("📥 Next application"), callback_data=QUEUE(coop.id, 0)
                ),
                InlineKeyboardButton(t.gettext("⬅ Panel"), callback_data=PANEL(coop.id)),
            ]
        ]
    )


@guarded(QUEUE)
async def on_queue(
    update: Update, context: BotContext, user_id: int, coop_id: str, index: int
) -> None:
    """Show one pending application per screen."""
    admin = context.services.admin
    coop = await admin.coop_for_admin(user_id, coop_id)
    pending = await admin.pending(user_id, coop_id)
    assert update.callback_query is not None
    await update.callback_query.answer()
    t = context.t
    if not pending:
        await edit(
            update,
            context,
            t.gettext("✅ No applications are waiting."),
            InlineKeyboardMarkup(
                [[InlineKeyboardButton(t.gettext("⬅ Panel"), callback_data=PANEL(coop.id))]]
            ),
        )
        return
    index = min(index, len(pending) - 1)
    application = pending[index]
    village = context.services.membership.village_name(coop)
    text = application_text(t, application, coop, f"{index + 1}/{len(pending)}", village)
    await edit(
        update, context, text, application_keyboard(t, application, coop, index, len(pending))
    )


@guarded(APPROVE)
async def on_approve(
    update: Update, context: BotContext, user_id: int, application_id: str
) -> None:
    """Ask to confirm the approval: it issues a member number and tells the applicant."""
    admin = context.services.admin
    application, coop = await admin.application(user_id, application_id)
    query = update.callback_query
    assert query is not None
    t = context.t
    if application.status != "pending":
        await query.answer(t.gettext("This application was already decided."), show_alert=True)
        return
    await query.answer()
    # Back to this application in the queue (its position may have changed since).
    pending = [a.id for a in await admin.pending(user_id, coop.id)]
    index = pending.index(application.id) if application.id in pending else 0
    await edit(
        update,
        context,
        t.gettext(
            "Approve <b>{name}</b> as a member of {coop}? A member number is issued and "
            "{name} is told at once; this cannot be undone here."
        ).format(name=escape(application.full_name or ""), coop=escape(coop.name)),
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t.gettext("✅ Yes, approve"), callback_data=APPROVE_YES(application.id)
                    ),
                    InlineKeyboardButton(
                        t.gettext("↩ Not yet"), callback_data=QUEUE(coop.id, index)
                    ),
                ]
            ]
        ),
    )


@guarded(APPROVE_YES)
async def on_approve_yes(
    update: Update, context: BotContext, user_id: int, application_id: str
) -> None:
    """Approve: issue the member number and tell the applicant."""
    admin = context.services.admin
    _application, coop = await admin.application(user_id, application_id)
    decided = await admin.approve(user_id, application_id)
    query = update.callback_query
    assert query is not None
    t = context.t
    if decided is None:
        await query.answer(t.gettext("This application was already decided."), show_alert=True)
        return
    await query.answer(t.gettext("Approved."))
    await tell_applicant(context, decided, coop)
    await edit(
        update,
        context,
        t.gettext("✅ Approved: {name} is member {number} of {coop}.").format(
            name=escape(decided.full_name or ""),
            number=escape(decided.member_number or ""),
            coop=escape(coop.name),
        ),
        next_keyboard(t, coop),
    )


@guarded(REJECT_MENU)
async def on_reject_menu(
    update: Update, context: BotContext, user_id: int, application_id: str
) -> None:
    """Choose a reason for the rejection."""
    application, coop = await context.services.admin.application(user_id, application_id)
    assert update.callback_query is not None
    await update.callback_query.answer()
    t = context.t
    rows = [
        [
            InlineKeyboardButton(
                t.gettext(label)[:60], callback_data=REJECT_PRESET(application_id, key)
            )
        ]
        for key, label in REJECT_REASONS.items()
    ]
    rows.append(
        [
            InlineKeyboardButton(
                t.gettext("✍️ Type a reason"), callback_data=REJECT_TYPED(application_id)
            )
        ]
    )
    rows.append([InlineKeyboardButton(t.gettext("↩ Back"), callback_data=QUEUE(coop.id, 0))])
    await edit(
        update,
        context,
        t.gettext(
            "Why is the application of {name} rejected? The applicant will see the reason."
        ).format(name=escape(application.full_name or "")),
        InlineKeyboardMarkup(rows),
    )


async def reject_with(
    update: Update, context: BotContext, application_id: str, reason: str
) -> None:
    """Reject (from a preset or a typed reason) and tell the applicant."""
    user_id = actor(update)
    admin = context.services.admin
    t = context.t
    _application, coop = await admin.application(user_id, application_id)
    decided = await admin.reject(user_id, application_id, reason)
    if decided is None:
        text = t.gettext("This application was already decided.")
    else:
        await tell_applicant(context, decided, coop)
        text = t.gettext("❌ Rejected: the application of {name}. Reason: {reason}").format(
            name=escape(decided.full_name or ""), reason=escape(reason_text(t, decided.reason))
        )
    await respond(update, context, text, next_keyboard(t, coop))


@guarded(REJECT_PRESET)
async def on_reject_preset(
    update: Update, context: BotContext, user_id: int, application_id: str, key: str
) -> None:
    """Reject with a preset reason."""
    if key not in REJECT_REASONS:  # a forged button: refused like any other, and audited
        raise await context.services.admin.refuse(user_id, "reject", target=application_id)
    await reject_with(update, context, application_id, f"preset:{key}")


@guarded(REVEAL)
async def on_reveal(
    update: Update, context: BotContext, user_id: int, application_id: str
) -> None:
    """Show the full NIK in a pop-up (not in the chat history); written to the audit log."""
    nik = await context.services.admin.reveal_nik(user_id, application_id)
    assert update.callback_query is not None
    await update.callback_query.answer(
        context.gettext("NIK: {nik}\n(This was written to the audit log.)").format(nik=nik),
        show_alert=True,
    )
