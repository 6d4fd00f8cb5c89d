"""Every callback-data prefix the bot uses, with its build and parse helpers.

Telegram gives a button at most 64 bytes of ``callback_data``; the bot keeps it short and
structured: a two- or three-letter prefix and ``:``-separated fields. Each kind of button
is one :class:`Callback` here, which builds the data (``PANEL(coop_id)`` → ``"ad:…"``),
gives the exact pattern its handler listens on (``PANEL.pattern``) and parses the data
back into typed values (``PANEL.parse(query.data)``). Nothing else in the code base spells
a prefix, so a button and its handler cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.services.broadcast import PLATFORM
from bot.services.catalog import SERVICES, TYPES
from bot.services.claims import ROLES
from bot.services.draft import QUESTIONS
from bot.services.membership import OCCUPATIONS
from storage.models import LEDGER_KINDS

# Bot API limit for callback_data, in bytes.
MAX_BYTES = 64


@dataclass(frozen=True)
class Field:
    """One ``:``-separated part: the regex it must match and how to read it."""

    regex: str
    convert: Callable[[str], Any] = str


def number(digits: int) -> Field:
    """A non-negative integer of at most ``digits`` digits."""
    return Field(rf"\d{{1,{digits}}}", int)


def choice(*values: str) -> Field:
    """One of the given words."""
    return Field("|".join(re.escape(v) for v in values))


def word(low: int = 1, high: int = 16) -> Field:
    """A lower-case word (letters and ``_``)."""
    return Field(rf"[a-z_]{{{low},{high}}}")


ID = Field(r"[0-9a-f]{24}")  # a database id (cooperative, application, job)
SID = Field(r"[A-Za-z0-9_-]{1,16}")  # a saved search's short id


@dataclass(frozen=True)
class Callback:
    """A kind of button: ``prefix`` and its fields."""

    prefix: str
    fields: tuple[Field, ...] = ()
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.body))

    @property
    def body(self) -> str:
        """The regex of this kind's data, without anchors."""
        parts = [re.escape(self.prefix)] + [f"({f.regex})" for f in self.fields]
        return ":".join(parts)

    @property
    def pattern(self) -> str:
        """The anchored pattern a ``CallbackQueryHandler`` listens on."""
        return f"^{self.body}$"

    def __call__(self, *values: object) -> str:
        """Build the data of one button."""
        if len(values) != len(self.fields):
            raise ValueError(f"{self.prefix}: {len(self.fields)} fields, got {len(values)}")
        data = ":".join([self.prefix, *(str(v) for v in values)])
        if not self.matches(data) or len(data.encode()) > MAX_BYTES:
            raise ValueError(f"invalid callback data {data!r}")
        return data

    def matches(self, data: str | None) -> bool:
        return data is not None and self._regex.fullmatch(data) is not None

    def parse(self, data: str | None) -> tuple[Any, ...]:
        """The typed fields of ``data`` (``ValueError`` when it is not this kind)."""
        match = self._regex.fullmatch(data or "")
        if match is None:
            raise ValueError(f"not {self.prefix} data: {data!r}")
        return tuple(f.convert(v) for f, v in zip(self.fields, match.groups(), strict=True))


def any_of(*kinds: Callback) -> str:
    """One anchored pattern for a handler that serves several kinds of button."""
    return "^(?:" + "|".join(k.body for k in kinds) + ")$"


def which(data: str | None, *kinds: Callback) -> Callback:
    """The kind among ``kinds`` that ``data`` belongs to."""
    for kind in kinds:
        if kind.matches(data):
            return kind
    raise ValueError(f"unexpected callback data {data!r}")


# -- everywhere -------------------------------------------------------------------------
NOOP = Callback("noop")  # a label-only button (page counter)
LANGUAGE = Callback("lg", (choice("id", "en"),))

# -- search and a cooperative's page ----------------------------------------------------
PAGE = Callback("pg", (SID, number(4)))
OPEN = Callback("co", (ID,))  # a cooperative's page (from a link or elsewhere)
OPEN_FROM = Callback("co", (ID, SID, number(4)))  # … from a result list (Back returns there)
MAP = Callback("mp", (ID,))
TYPE_MENU = Callback("ft", (SID,))
SERVICE_MENU = Callback("fs", (SID,))
SET_TYPE = Callback("st", (SID, choice(*TYPES, "-")))
SET_SERVICE = Callback("ss", (SID, choice(*SERVICES, "-")))
PICK_PLACE = Callback("pk", (SID, number(2)))

# -- the membership form ----------------------------------------------------------------
JOIN = Callback("jn", (ID,))  # start or resume a cooperative's form


def _form(action: str, *fields: Field) -> Callback:
    """A form button: ``mf:<action>`` and its fields.

    One kind per button, so each state of the form listens only to its own buttons; the
    data stays what it was, so buttons already sent keep working.
    """
    return Callback(f"mf:{action}", fields)


TERMS_ACCEPT = _form("go")
TERMS_QUIT = _form("quit")
CONSENT_AGREE = _form("agree")
CONSENT_DECLINE = _form("decline")
NIK_CONFIRM = _form("nik_ok")
NIK_RETYPE = _form("nik_redo")
DOMICILE_DECLARE = _form("declare")
OCCUPATION = _form("occ", choice(*OCCUPATIONS, "other"))
FORM_EDIT = _form("edit", choice(*QUESTIONS))  # change one answer (review, domicile)
FORM_BACK = _form("back")  # from the review to the occupation
FORM_SUBMIT = _form("submit")
FORM_CANCEL = _form("cancel")  # ask before discarding
FORM_DISCARD = _form("discard")
FORM_KEEP = _form("keep")
FORM_REUSE = _form("reuse")  # fill the form with the last application's answers
FORM_FRESH = _form("fresh")  # answer every question anew
FORM_BUTTONS = (
    TERMS_ACCEPT,
    TERMS_QUIT,
    CONSENT_AGREE,
    CONSENT_DECLINE,
    NIK_CONFIRM,
    NIK_RETYPE,
    DOMICILE_DECLARE,
    OCCUPATION,
    FORM_EDIT,
    FORM_BACK,
    FORM_SUBMIT,
    FORM_CANCEL,
    FORM_DISCARD,
    FORM_KEEP,
    FORM_REUSE,
    FORM_FRESH,
)

# -- member cards -----------------------------------------------------------------------
CARD = Callback("wl", (ID,))  # browse the wallet to this card
CARD_OPEN = Callback("wo", (ID,))  # open a card from the list view
CARD_LIST = Callback("wlist")
LEAVE_ASK = Callback("lq", (ID,))
LEAVE = Callback("ly", (ID,))
WITHDRAW_ASK = Callback("wq", (ID,))
WITHDRAW = Callback("wy", (ID,))

# -- a cooperative's admins -------------------------------------------------------------
PANEL = Callback("ad", (ID,))
QUEUE = Callback("aq", (ID, number(4)))  # applications waiting, at an index
APPROVE = Callback("aa", (ID,))  # ask to confirm the approval
APPROVE_YES = Callback("ay", (ID,))  # approve, confirmed: the applicant is told
REJECT_MENU = Callback("ar", (ID,))
REJECT_PRESET = Callback("rr", (ID, Field(r"[a-z]{1,12}")))  # a preset reason's key
REJECT_TYPED = Callback("rt", (ID,))  # ask for a typed reason
REVEAL = Callback("av", (ID,))  # show an applicant's full data
MEMBERS = Callback("am", (ID, number(5)))
MEMBER = Callback("mo", (ID,))
MEMBER_SEARCH = Callback("ams", (ID,))
EXPORT = Callback("ax", (ID,))  # the register as .xlsx
EXPORT_CSV = Callback("axc", (ID,))  # … as CSV for Excel in the admin's language
SUSPEND = Callback("su", (ID,))
REINSTATE = Callback("ri", (ID,))
PROFILE = Callback("ap", (ID,))
PROFILE_EDIT = Callback("pe", (ID, Field(r"[a-z]{2,6}")))  # a profile field's short key
LOOP = Callback("pl", (ID, choice("c", "o", "x")))  # closed-loop, open-loop, not set
PROFILE_SERVICES = Callback("ps", (ID,))  # the services offered, as toggles
SERVICE_TOGGLE = Callback("pt", (ID, choice(*SERVICES)))  # switch one service on or off
STATS = Callback("as", (ID,))
# The board (issue 15): its admins, inviting a fellow board member, removing one, leaving.
USER = number(16)  # a Telegram user id (another admin of the same cooperative)
BOARD = Callback("ab", (ID,))
BOARD_INVITE = Callback("abi", (ID,))
BOARD_REMOVE_ASK = Callback("abq", (ID, USER))
BOARD_REMOVE = Callback("abr", (ID, USER))
BOARD_LEAVE_ASK = Callback("abl", (ID,))
BOARD_LEAVE = Callback("aby", (ID,))

# -- platform operators -----------------------------------------------------------------
OPERATOR_MENU = Callback("op")
OPERATOR_STATS = Callback("os")
OPERATOR_AUDIT = Callback("oa")
OPERATOR_IMPORT = Callback("oim")
VERIFY = Callback("ov", (ID, choice("0", "1")))  # 1 = mark verified, 0 = unmark
INVITE = Callback("oi", (ID,))
DEMAND_EXPORT = Callback("odx")  # the spreadsheet of off-platform cooperatives in demand

# -- announcements ----------------------------------------------------------------------
COMPOSE = Callback("bc", (ID,))  # a cooperative's announcement
COMPOSE_PLATFORM = Callback("bcp")
AUDIENCE = Callback("ba", (choice("m", "p"),))  # members; members and pending applicants
PLATFORM_AUDIENCE = Callback("bo", (choice("all", "place", "type"),))
AUDIENCE_TYPE = Callback("bt", (choice(*TYPES),))
SEND = Callback("bs", (choice("now", "later", "paid", "cancel"),))
JOB_PAUSE = Callback("bp", (ID,))
JOB_RESUME = Callback("br", (ID,))
JOB_CANCEL = Callback("bx", (ID,))
# The mute key: a cooperative's id or the platform's own announcements.
MUTE_KEY = Field(f"{ID.regex}|{PLATFORM}")
MUTE = Callback("mu", (MUTE_KEY,))
UNMUTE = Callback("um", (MUTE_KEY,))

# -- claims: a board member's form, the claimant's answer, the operators' decisions -----
CLAIM_AGREE = Callback("kl:ok")  # consent to the processing
CLAIM_ROLE = Callback("kl:role", (choice(*ROLES),))
CLAIM_SEND = Callback("kl:send")
CLAIM_STOP = Callback("kl:stop")
CLAIM_REPLY = Callback("kl:reply", (ID,))  # answer the operators' question
CLAIM_RETURN = Callback("kl:back", (ID,))  # send the answer: back to the queue
CLAIM_FORM_BUTTONS = (CLAIM_AGREE, CLAIM_ROLE, CLAIM_SEND, CLAIM_STOP, CLAIM_RETURN)
CLAIM_APPROVE = Callback("ko:yes", (ID,))
CLAIM_REJECT = Callback("ko:no", (ID,))  # asks for the reason
CLAIM_ASK = Callback("ko:ask", (ID,))  # asks what is missing
CLAIM_QUEUE = Callback("ko:q")
CLAIM_SHOW = Callback("ko:see", (ID,))

# -- privacy ----------------------------------------------------------------------------
DELETE_DATA = Callback("dd", (choice("yes", "no"),))

# -- boards coming aboard ---------------------------------------------------------------
# "I run this cooperative" on the card of a cooperative not on the platform: the claim
# form starts (its handler is the claims feature's).
CLAIM_START = Callback("clm", (ID,))
NOTIFY_ME = Callback("nm", (ID,))  # tell me when this cooperative comes aboard
NOTIFY_CANCEL = Callback("nc", (ID,))  # … not any more (from its contact card)
NOTIFY_LIST = Callback("nl")  # the cooperatives I wait for
NOTIFY_UNLIST = Callback("nx", (ID,))  # stop waiting for one (from that list)

# -- members' money: bills and proofs ---------------------------------------------------
# "✅ I have paid" on a bill (one membership): the proof flow is the proofs feature's.
PROOF_START = Callback("prf", (ID,))  # application id
HOW_TO_PAY = Callback("htp", (ID,))  # a cooperative's how-to-pay message (accounts, QRIS, cash)
BILLS = Callback("bill")  # the member's bill across all memberships (/tagihan)
DUES_MUTE = Callback("dmu", (ID,))  # no more dues reminders about this cooperative
DUES_UNMUTE = Callback("dum", (ID,))  # … remind me again
# The board's payment settings (admin profile): the screen, a typed part, remove an
# account or the QRIS image, reminders on/off.
PAY_SETTINGS = Callback("pay", (ID,))
PAY_EDIT = Callback("pay:e", (ID, choice("bank", "qris", "cash", "due")))
PAY_ACCOUNT_DEL = Callback("pay:d", (ID, number(1)))
PAY_QRIS_DEL = Callback("pay:q", (ID,))
PAY_REMINDERS = Callback("pay:r", (ID, choice("0", "1")))

# -- members' money: proofs of payment (the member's form, the board's decision) --------
PROOF_KIND = Callback("pf:k", (choice(*LEDGER_KINDS),))  # which simpanan was paid
PROOF_SUGGESTED = Callback("pf:s")  # the amount still open, as suggested
PROOF_SEND = Callback("pf:send")
PROOF_STOP = Callback("pf:stop")
PROOF_FORM_BUTTONS = (PROOF_KIND, PROOF_SUGGESTED, PROOF_SEND, PROOF_STOP)
PROOF_CONFIRM = Callback("pf:ok", (ID,))
PROOF_REJECT = Callback("pf:no", (ID,))  # asks for the reason

# -- members' money: the board's ledger -------------------------------------------------


def _ledger(action: str, *fields: Field) -> Callback:
    """A ledger button: ``lb:<action>`` and its fields."""
    return Callback(f"lb:{action}", fields)


LEDGER_MENU = _ledger("m", ID)  # the cooperative's savings screen (from its panel)
LEDGER_RECORD = _ledger("r", ID)  # record a payment: ask for the member
LEDGER_FIND = _ledger("f", ID)  # a member's ledger: ask for the member
LEDGER_PICK = _ledger("p", ID)  # record a payment of this member (application id)
LEDGER_KIND = _ledger("k", choice("pokok", "wajib", "sukarela"))
LEDGER_DAY = _ledger("d", choice("0", "1"))  # paid today, yesterday
LEDGER_SKIP = _ledger("s")  # no note
LEDGER_SAVE = _ledger("y")  # record it (or the correction)
LEDGER_STOP = _ledger("q")  # forget the payment being entered
LEDGER_VIEW = _ledger("v", ID)  # a member's ledger (application id)
LEDGER_ENTRY = _ledger("e", ID)  # one entry, with correct and void
LEDGER_VOID = _ledger("x", ID)  # void an entry: ask the reason
LEDGER_FIX = _ledger("c", ID)  # correct an entry: ask the reason, then the new values
LEDGER_IMPORT = _ledger("i", ID)  # wait for a spreadsheet
LEDGER_OWING = _ledger("a", ID, number(4))  # members who owe, a page
LEDGER_TOTALS = _ledger("t", ID)
LEDGER_EXPORT = _ledger("o", ID)  # the ledger as .xlsx
