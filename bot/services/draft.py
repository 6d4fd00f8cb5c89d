"""An unfinished membership form: the typed draft and where a user's drafts are kept.

The Telegram layer persists ``user_data`` as plain documents, so a draft is stored in its
dict form (``MembershipDraft.to_dict``) under ``user_data["forms"][<coop id>]``, with
``user_data["form"]`` naming the one being filled in. The handler, ``MembershipService``,
the data export and key rotation all read and write drafts through this module only, so
the stored keys are spelled here and nowhere else. The NIK never enters a draft in clear:
only encrypted, as a keyed hash, and masked.

In memory the answers are plain; where ``user_data`` is stored (``bot/services/personal.py``)
every personal answer of every draft is sealed with the person's key (:func:`seal_forms`,
:func:`open_forms`), so deleting that key erases every stored copy of a draft too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

from bot.services.crypto import PersonCipher, is_sealed

# The form's questions in the order they are asked; each fills one answer and can be
# changed from the review. The handler numbers its questions from this tuple.
QUESTIONS = ("name", "nik", "birth_place", "address", "phone", "occupation")

# Where the drafts live in a user's data (the names persisted drafts already use).
_FORMS = "forms"
_OPEN = "form"

# Never exported and never shown: the encrypted NIK and its lookup hash.
_SECRET = ("nik_enc", "nik_hash")

# The answers that say who the person is: sealed with their key wherever drafts are stored.
PERSONAL = (
    "full_name",
    "nik_enc",
    "nik_hash",
    "nik_masked",
    "sex",
    "birth_date",
    "nik_district",
    "birth_place",
    "address",
    "domicile_village",
    "domicile_point",
    "domicile_declared",
    "phone",
    "occupation",
    "reuse_summary",
)
# Where a stored draft keeps its sealed personal answers (one sealed value for all).
_SEALED = "sealed"


@dataclass(frozen=True, slots=True)
class NikAnswer:
    """A checked NIK as the draft keeps it: encrypted, hashed, masked, and what it says."""

    enc: str
    hash: str
    masked: str
    sex: str  # "F" or "M"
    birth_date: date
    district: str  # Kemendagri district code, e.g. "12.71.05"


@dataclass(frozen=True, slots=True)
class SharedAddress:
    """An address read from a shared location: its label, village code and the point."""

    address: str
    village: str
    point: tuple[float, float]


@dataclass(slots=True)
class MembershipDraft:
    """The answers given so far to one cooperative's form, and where the form stands.

    ``step`` is the conversation state to resume at (a ``handlers.membership.Step``
    value) and ``resume`` the question to return to after "No, continue"; ``editing``
    and ``editing_nik`` mark an answer being changed from the review. Keys of the stored
    dict that this version does not know are kept in ``extra`` and written back as they
    were.
    """

    started_at: datetime | None = None
    updated_at: datetime | None = None
    step: int | None = None
    resume: int | None = None
    consent_version: str | None = None
    consent_at: datetime | None = None
    full_name: str | None = None
    nik_enc: str | None = None
    nik_hash: str | None = None
    nik_masked: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    nik_district: str | None = None
    birth_place: str | None = None
    address: str | None = None
    domicile_village: str | None = None
    domicile_point: tuple[float, float] | None = None
    domicile_declared: bool = False
    phone: str | None = None
    occupation: str | None = None  # an OCCUPATIONS code, or "other:<typed text>"
    # The last application's answers, masked, while the form offers to reuse them.
    reuse_summary: list[str] | None = None
    reuse_from: str | None = None  # that application's id
    editing: bool = False
    editing_nik: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, now: datetime | None = None) -> MembershipDraft:
        """A form just started."""
        return cls(started_at=now or datetime.now(UTC))

    # --- answers ------------------------------------------------------------------------

    def accept_consent(self, version: str, now: datetime | None = None) -> None:
        self.consent_version = version
        self.consent_at = now or datetime.now(UTC)

    def set_nik(self, answer: NikAnswer) -> None:
        self.nik_enc = answer.enc
        self.nik_hash = answer.hash
        self.nik_masked = answer.masked
        self.sex = answer.sex
        self.birth_date = answer.birth_date
        self.nik_district = answer.district

    def clear_nik(self) -> None:
        """Forget the NIK and what was read from it (the user retypes it)."""
        self.nik_enc = self.nik_hash = self.nik_masked = None
        self.sex = None
        self.birth_date = None
        self.nik_district = None

    def set_typed_address(self, address: str) -> None:
        """A typed address: no village or point is known for it."""
        self.address = address
        self.domicile_village = None
        self.domicile_point = None

    def set_shared_address(self, place: SharedAddress) -> None:
        self.address = place.address
        self.domicile_village = place.village
        self.domicile_point = place.point

    def take_editing(self) -> bool:
        """Whether an answer was being changed from the review; the mark is cleared."""
        editing, self.editing = self.editing, False
        return editing

    def missing(self) -> list[str]:
        """The stored names of the answers an application needs and the draft lacks."""
        required = {
            "full_name": self.full_name,
            "nik_enc": self.nik_enc,
            "nik_hash": self.nik_hash,
            "birth_place": self.birth_place,
            "address": self.address,
            "phone": self.phone,
            "occupation": self.occupation,
        }
        return [name for name, value in required.items() if not value]

    # --- the stored form ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The dict kept in ``user_data``: JSON-friendly, unset answers left out."""
        out: dict[str, Any] = dict(self.extra)
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None or value is False:
                continue
            if isinstance(value, date):  # datetime and date
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MembershipDraft:
        """Read a stored draft; a value of the wrong type is dropped, unknown keys kept."""
        known = {f.name: f for f in fields(cls) if f.name != "extra"}
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, raw in data.items():
            if key not in known:
                extra[str(key)] = raw
                continue
            value = _READERS.get(key, _text)(raw)
            if value is not None:
                values[key] = value
        return cls(**values, extra=extra)

    def export(self) -> dict[str, Any]:
        """What the user's data export shows of this draft (no encrypted NIK, no hash)."""
        return {k: v for k, v in self.to_dict().items() if k not in _SECRET}


def _text(raw: object) -> str | None:
    return raw if isinstance(raw, str) else None


def _number(raw: object) -> int | None:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def _flag(raw: object) -> bool | None:
    return raw if isinstance(raw, bool) else None


def _lines(raw: object) -> list[str] | None:
    if isinstance(raw, list) and all(isinstance(line, str) for line in raw):
        return list(raw)
    return None


def _moment(raw: object) -> datetime | None:
    if isinstance(raw, datetime):
        return raw
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _day(raw: object) -> date | None:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _point(raw: object) -> tuple[float, float] | None:
    if isinstance(raw, list | tuple) and len(raw) == 2:
        lat, lon = raw
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
            return (float(lat), float(lon))
    return None


_READERS = {
    "started_at": _moment,
    "updated_at": _moment,
    "consent_at": _moment,
    "step": _number,
    "resume": _number,
    "birth_date": _day,
    "domicile_point": _point,
    "domicile_declared": _flag,
    "editing": _flag,
    "editing_nik": _flag,
    "reuse_summary": _lines,
}


class Forms:
    """One user's drafts, by cooperative id, in that user's ``user_data``.

    Reads never add keys: a user without drafts keeps no ``forms`` entry at all.
    """

    def __init__(self, user_data: MutableMapping[Any, Any]) -> None:
        self.user_data = user_data

    def _stored(self) -> Mapping[str, Any]:
        forms = self.user_data.get(_FORMS)
        return forms if isinstance(forms, Mapping) else {}

    @property
    def open_id(self) -> str | None:
        """The cooperative whose form is being filled in."""
        coop_id = self.user_data.get(_OPEN)
        return coop_id if isinstance(coop_id, str) and coop_id else None

    def open(self, coop_id: str) -> None:
        self.user_data[_OPEN] = coop_id

    def get(self, coop_id: str) -> MembershipDraft | None:
        stored = self._stored().get(coop_id)
        return MembershipDraft.from_dict(stored) if isinstance(stored, Mapping) else None

    def active(self) -> tuple[str, MembershipDraft] | None:
        """The open form's cooperative and draft, if both still exist."""
        coop_id = self.open_id
        draft = self.get(coop_id) if coop_id else None
        return (coop_id, draft) if coop_id and draft is not None else None

    def __contains__(self, coop_id: object) -> bool:
        return coop_id in self._stored()

    def __iter__(self) -> Iterator[tuple[str, MembershipDraft]]:
        for coop_id in list(self._stored()):
            draft = self.get(coop_id)
            if draft is not None:
                yield coop_id, draft

    def put(self, coop_id: str, draft: MembershipDraft) -> None:
        forms = self.user_data.get(_FORMS)
        if not isinstance(forms, MutableMapping):
            forms = self.user_data[_FORMS] = {}
        forms[coop_id] = draft.to_dict()

    def drop(self, coop_id: str) -> None:
        """Delete one draft (and the keys, once no draft is left)."""
        forms = self.user_data.get(_FORMS)
        if isinstance(forms, MutableMapping):
            forms.pop(coop_id, None)
        if self.user_data.get(_OPEN) == coop_id:
            self.user_data.pop(_OPEN, None)
        if not self._stored():
            self.user_data.pop(_FORMS, None)


# --- drafts as stored: personal answers sealed with the person's key ---------------------


def _stored_forms(user_data: Mapping[Any, Any]) -> Mapping[str, Any]:
    forms = user_data.get(_FORMS)
    return forms if isinstance(forms, Mapping) else {}


def personal_in_clear(user_data: Mapping[Any, Any]) -> bool:
    """Whether any stored draft holds a personal answer in clear."""
    return any(
        isinstance(draft, Mapping) and any(key in draft for key in PERSONAL)
        for draft in _stored_forms(user_data).values()
    )


def sealed_drafts(user_data: Mapping[Any, Any]) -> bool:
    """Whether any stored draft holds sealed answers (opening it needs the person's key)."""
    return any(
        isinstance(draft, Mapping) and is_sealed(draft.get(_SEALED))
        for draft in _stored_forms(user_data).values()
    )


def seal_forms(user_data: Mapping[Any, Any], cipher: PersonCipher) -> dict[Any, Any]:
    """A copy of ``user_data`` whose drafts keep their personal answers sealed (the form's
    progress — step, dates, consent version — stays readable)."""
    out = dict(user_data)
    forms = _stored_forms(user_data)
    if not forms:
        return out
    sealed_forms: dict[str, Any] = {}
    for coop_id, draft in forms.items():
        if not isinstance(draft, Mapping):
            sealed_forms[coop_id] = draft
            continue
        personal = {k: v for k, v in draft.items() if k in PERSONAL}
        kept = {k: v for k, v in draft.items() if k not in PERSONAL}
        if personal:
            kept[_SEALED] = cipher.seal("draft", personal)
        sealed_forms[coop_id] = kept
    out[_FORMS] = sealed_forms
    return out


def open_forms(user_data: Mapping[Any, Any], cipher: PersonCipher | None) -> dict[Any, Any]:
    """A copy of ``user_data`` with every draft's sealed answers opened; without the
    person's key (erased) the sealed answers are left out."""
    out = dict(user_data)
    forms = _stored_forms(user_data)
    if not any(isinstance(d, Mapping) and _SEALED in d for d in forms.values()):
        return out
    opened: dict[str, Any] = {}
    for coop_id, draft in forms.items():
        if not isinstance(draft, Mapping) or _SEALED not in draft:
            opened[coop_id] = draft
            continue
        kept = {k: v for k, v in draft.items() if k != _SEALED}
        sealed = draft[_SEALED]
        if cipher is not None and is_sealed(sealed):
            answers = cipher.open("draft", sealed)
            if isinstance(answers, dict):
                kept.update(answers)
        opened[coop_id] = kept
    out[_FORMS] = opened
    return out
