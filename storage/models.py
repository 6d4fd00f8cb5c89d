"""Records the repositories return: plain dataclasses, no driver or Telegram types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class Point:
    """A WGS84 position."""

    lat: float
    lon: float


@dataclass(slots=True)
class Cooperative:
    """One cooperative of the directory."""

    id: str
    name: str
    type: str
    location: Point
    services: list[str] = field(default_factory=list)
    registration_number: str | None = None
    address: str | None = None
    village_code: str | None = None
    phone: str | None = None
    simpanan_pokok: int | None = None
    simpanan_wajib: int | None = None
    description: str | None = None
    verified: bool = False
    member_count: int = 0  # members registered through the bot (approved, not left)
    members_declared: int | None = None  # the number the directory states, if any
    village_restricted: bool = False
    closed_loop: bool | None = None
    rat_year: int | None = None
    opening_hours: str | None = None
    demo: bool = False
    on_platform: bool = False  # has at least one admin: takes applications in the bot
    payment: PaymentInfo | None = None  # how members pay (the board's profile)
    name_tokens: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)  # province, regency, district, village codes
    distance_m: float | None = None  # set by nearest-first queries only


@dataclass(slots=True)
class CoopWrite:
    """One cooperative to create or update, identified by its import key."""

    key: str
    coop: Cooperative


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What one batch of cooperative writes did."""

    created: int
    updated: int
    unchanged: int


@dataclass(slots=True)
class CooperativeFilter:
    """What a directory query is narrowed to."""

    type: str | None = None
    service: str | None = None
    area_code: str | None = None


@dataclass(slots=True)
class UserProfile:
    """What the bot keeps about a Telegram user outside of forms: no name, no phone."""

    user_id: int
    language: str | None = None  # chosen with /language; None = follow Telegram
    telegram_language: str | None = None
    created_at: datetime | None = None
    last_seen: datetime | None = None


@dataclass(slots=True)
class SavedSearch:
    """A search the user ran, kept so its buttons (pages, filters) keep working."""

    id: str
    user_id: int
    kind: str  # "near" | "area" | "name" | "pick" (waiting for the user to pick a place)
    point: Point | None = None
    radius_km: float | None = None
    area_code: str | None = None
    terms: list[str] = field(default_factory=list)
    type: str | None = None
    service: str | None = None
    query: str = ""
    candidates: list[str] = field(default_factory=list)  # area codes, for kind == "pick"
    created_at: datetime | None = None


@dataclass(slots=True)
class Application:
    """A membership application, and the membership it becomes once approved."""

    id: str
    number: str
    coop_id: str
    user_id: int
    status: str
    created_at: datetime
    updated_at: datetime | None = None
    full_name: str | None = None
    nik_enc: str | None = None
    nik_hash: str | None = None
    nik_masked: str | None = None
    sex: str | None = None
    birth_date: str | None = None  # ISO date
    birth_place: str | None = None
    address: str | None = None
    domicile_village: str | None = None
    domicile_point: list[float] | None = None  # [lat, lon]
    phone: str | None = None
    occupation: str | None = None
    domicile_declared: bool = False
    language: str = "id"
    consent: dict[str, Any] = field(default_factory=dict)
    member_number: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    card_version: int = 0
    status_reason: str | None = None  # why an admin suspended or reinstated
    # Another open application to the cooperative has the same NIK: the board checks the
    # KTP (the applicant is not told, so that a NIK does not reveal where its owner applied).
    nik_conflict: bool = False
    # Personal values as stored, sealed with the person's key (``bot/services/personal.py``
    # opens them into the fields above; records that leave the services have none here).
    sealed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PersonKey:
    """One person's data key, wrapped under the key-encryption key (``<key id>:<token>``)."""

    user_id: int
    wrapped: str
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LegacyFields:
    """Personal values an application still holds in clear (written before sealing)."""

    application_id: str
    user_id: int | None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Broadcast:
    """An announcement job: who it goes to, what it says, how far it got."""

    id: str
    kind: str  # "coop" | "platform"
    coop_id: str | None
    text: str  # HTML
    photo: str | None  # a Telegram file id
    created_by: int
    status: str  # draft | scheduled | running | paused | done | cancelled
    paid: bool = False
    scheduled_at: datetime | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    total: int = 0
    progress_chat: int | None = None
    progress_message: int | None = None
    language: str = "id"
    audience: dict[str, Any] = field(default_factory=dict)
    # Who sends it, fixed when the job is created: the cooperative's name (None for the
    # platform). The senders put it in a header above the text, where the admin cannot.
    sender: str | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient of an announcement, as claimed by a sending worker."""

    id: str  # "<broadcast id>:<chat id>"
    broadcast_id: str
    chat_id: int
    status: str  # pending | sending | sent | blocked | failed | cancelled
    attempts: int = 0
    next_at: datetime | None = None
    # A notice (``Notice``) carries its own text and buttons, in the recipient's language.
    text: str | None = None
    buttons: list[list[dict[str, Any]]] | None = None
    # The recipient's language when the job was created (their choice, else Telegram's):
    # an announcement's header and mute button are rendered in it.
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """One message of a notice job: its own text (HTML) and inline buttons, each button
    as the Bot API spells it (``{"text": …, "callback_data" | "url" | "copy_text": …}``)."""

    chat_id: int
    text: str
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AdminGrant:
    """That a user may run a cooperative."""

    coop_id: str
    user_id: int
    added_by: int | None = None  # None: added from the command line
    added_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Invite:
    """A one-time admin invitation, known by the hash of its token."""

    token_hash: str
    coop_id: str
    created_by: int | None  # None once the operator's data was erased
    created_at: datetime
    expires_at: datetime
    used_by: int | None = None  # -1 once the user who accepted it was erased
    used_at: datetime | None = None
    kind: str = "operator"  # "board": a cooperative's admin invited a fellow board member


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin action, allowed or refused."""

    at: datetime
    actor: int | None  # None once the actor's data was erased
    action: str
    outcome: str  # "ok", "refused", "already_decided", "not_applicable", …
    coop_id: str | None = None
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    actor_erased: bool = False


@dataclass(frozen=True, slots=True)
class Notification:
    """A queued notice about an application, for the cooperative's admins."""

    id: str
    kind: str  # "application_submitted" | "member_left"
    coop_id: str | None
    application_id: str | None
    created_at: datetime | None = None
    delivered: bool = False


@dataclass(frozen=True, slots=True)
class UserState:
    """What the Telegram layer keeps about one user between updates (``user_data``)."""

    user_id: int
    data: dict[str, Any] = field(default_factory=dict)  # the layer's own keys, opaque here


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """A Telegram update not yet handled, as the inbox keeps it (``storage/updates.py``)."""

    update_id: int
    key: int | None  # whose it is: the user, else the chat
    body: str  # the update's JSON, sealed by the service
    received_at: datetime
    attempts: int  # how many starts have replayed it (counted before each replay)


@dataclass(frozen=True, slots=True)
class Demand:
    """A cooperative not on the platform that people asked for (``storage/onboarding.py``):
    open notify-me subscriptions and the distinct users who tried to join it."""

    coop_id: str
    name: str
    registration_number: str | None
    areas: tuple[str, ...]  # province, regency, district, village codes
    phone: str | None
    address: str | None
    subscribers: int
    attempts: int  # distinct users who tried to join
    last_attempt: datetime | None

    @property
    def total(self) -> int:
        return self.subscribers + self.attempts


@dataclass(frozen=True, slots=True)
class Median:
    """The median of some durations, and how many there were (None when there were none)."""

    count: int
    value: timedelta | None


@dataclass(frozen=True, slots=True)
class Evidence:
    """A file a claimant sent to show they run the cooperative (kept as Telegram's id)."""

    file_id: str
    kind: str  # "photo" | "document"
    mime: str | None = None
    name: str | None = None


@dataclass(slots=True)
class Claim:
    """A board member's claim to run a cooperative (``storage/claims.py``).

    ``name``, ``phone`` and ``answer`` are sealed with the claimant's key where they are
    stored; the repository returns them as stored and ``ClaimService`` opens them.
    """

    id: str
    coop_id: str
    user_id: int | None  # None once the claimant erased their data
    role: str
    status: str  # open | more | approved | rejected | superseded | withdrawn
    created_at: datetime
    updated_at: datetime | None = None
    name: str | None = None
    phone: str | None = None
    phone_matches: bool = False
    evidence: list[Evidence] = field(default_factory=list)
    decided_at: datetime | None = None
    decided_by: int | None = None
    reason: str | None = None  # why it was rejected (the operator's words)
    question: str | None = None  # what the operators asked for ("more")
    answer: str | None = None  # the claimant's typed answer to it
    consent: dict[str, Any] = field(default_factory=dict)  # version and time


@dataclass(frozen=True, slots=True)
class Subscription:
    """Someone asked to be told when a cooperative comes on the platform ("🔔 notify me").

    ``notified_at`` is set when they were told: they are told once; subscribing again after
    that starts a new subscription."""

    coop_id: str
    user_id: int
    created_at: datetime
    notified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class JoinAttempt:
    """Someone tried to join a cooperative that is not on the platform (the demand list)."""

    coop_id: str
    user_id: int
    first_at: datetime
    last_at: datetime
    count: int = 1


@dataclass(frozen=True, slots=True)
class BankAccount:
    """A bank account members transfer to."""

    bank: str  # "BRI", "Bank Sumut" …
    number: str  # as printed, digits kept as text
    holder: str  # the account's name (the cooperative's)


@dataclass(slots=True)
class PaymentInfo:
    """How a cooperative's members pay, set by its board (``cooperatives.payment``).

    ``due_day``: simpanan wajib is due on this day of each month (1–28); reminders go a
    few days before it while something is unpaid, unless ``reminders`` is off."""

    banks: list[BankAccount] = field(default_factory=list)
    qris_file_id: str | None = None  # a Telegram photo of the QRIS code
    cash: str | None = None  # "Kantor koperasi, Jl. … — Senin–Jumat 08.00–15.00"
    due_day: int = 10
    reminders: bool = True


LEDGER_KINDS = ("pokok", "wajib", "sukarela")


@dataclass(slots=True)
class LedgerEntry:
    """One payment in a membership's ledger (``storage/ledger.py``), kept by its board.

    Money is whole rupiah. Entries are never deleted: a void keeps the entry with
    ``status="void"`` and its reason; a correction voids the entry and adds the corrected
    one with ``replaces`` set. After the member erases their data ``user_id`` is None:
    the cooperative's bookkeeping keeps the amounts and dates, not the person."""

    id: str
    coop_id: str
    application_id: str
    member_number: str | None
    kind: str  # LEDGER_KINDS
    amount: int
    paid_on: date
    created_by: int
    created_at: datetime
    user_id: int | None = None
    reference: str | None = None  # unique per cooperative when given (bank reference …)
    note: str | None = None
    source: str = "board"  # board | import | proof
    status: str = "valid"  # valid | void
    void_reason: str | None = None
    voided_by: int | None = None
    voided_at: datetime | None = None
    replaces: str | None = None  # the entry this one corrects


@dataclass(frozen=True, slots=True)
class DuesMember:
    """An active membership as dues reminders see it: ids only, no personal data."""

    id: str
    coop_id: str
    user_id: int
    decided_at: datetime | None


PROOF_STATUSES = ("open", "confirmed", "rejected", "withdrawn")


@dataclass(frozen=True, slots=True)
class ProofFile:
    """The picture (or PDF) of a transfer receipt, kept as Telegram's file id."""

    file_id: str
    kind: str  # "photo" | "document"
    mime: str | None = None


@dataclass(slots=True)
class PaymentProof:
    """A member's proof of payment, waiting for or decided by the board (``storage/proofs.py``).

    ``file`` is None once the image is erased (retention after the decision, or the
    member's erasure); ``user_id`` is None after the member erased their data. ``notices``
    are the messages the board's admins got ({chat_id, message_id, locale}), so a decision
    updates all of them."""

    id: str
    coop_id: str
    application_id: str
    member_number: str | None
    kind: str  # LEDGER_KINDS
    amount: int
    paid_on: date  # the day it was sent, in the cooperative's time zone
    status: str  # PROOF_STATUSES
    created_at: datetime
    user_id: int | None = None
    file: ProofFile | None = None
    reason: str | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None
    ledger_entry_id: str | None = None
    notices: list[dict[str, Any]] = field(default_factory=list)
