"""Joining a cooperative: eligibility, answer checks, submission, and the board's decision.

The form's answers live in a :class:`~bot.services.draft.MembershipDraft` (which the
Telegram layer persists in its dict form); this service validates each answer, encrypts
the NIK before it enters the draft, and turns a complete draft into a pending
application. The applications it is given seal every personal value with the applicant's
key when they are stored (``bot/services/personal.py``). Nothing here knows Telegram.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.services.catalog import N_
from bot.services.crypto import Vault
from bot.services.draft import MembershipDraft, NikAnswer, SharedAddress
from bot.services.gazetteer import Gazetteer, display_name
from bot.services.nik import NikError, parse_nik
from bot.services.phone import normalize_phone
from bot.services.text import clean_line, fold
from storage.applications import OPEN_STATUSES, Application, DuplicateApplication
from storage.base import Applications, Cooperatives
from storage.models import Cooperative, Point

# The consent text's version: stored with every consent so it is known what was accepted.
CONSENT_VERSION = "2026-11-27"
RETENTION_DAYS = 90
MAX_NAME = 100

OCCUPATIONS: dict[str, str] = {
    "petani": N_("Farmer"),
    "nelayan": N_("Fisher"),
    "pedagang": N_("Trader"),
    "wiraswasta": N_("Self-employed"),
    "karyawan": N_("Private employee"),
    "asn": N_("Civil servant (PNS/ASN)"),
    "buruh": N_("Labourer"),
    "guru": N_("Teacher"),
    "pelajar": N_("Student"),
    "irt": N_("Homemaker"),
    "pensiunan": N_("Retired"),
}


class FormError(ValueError):
    """An answer the form refuses: ``code`` names why; ``params`` fill the message."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(slots=True)
class Eligibility:
    # ok | unknown | pending | active | suspended | off_platform (no board here to decide)
    status: str
    coop: Cooperative | None = None
    application: Application | None = None


_NAME_CHARS = re.compile(r"^[^\W\d_]+(?:[ '’.,\-][^\W\d_]*)*\.?$", re.UNICODE)


def _letters(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch).startswith("L"))


def check_person_name(raw: str) -> str:
    """A full name as on the KTP: letters, spaces, ' . , - ; 2–100 characters."""
    text = clean_line(raw, 1000)
    if not text:
        raise FormError("name_empty")
    if len(text) > MAX_NAME:
        raise FormError("name_too_long", max=MAX_NAME)
    if any(ch.isdigit() for ch in text):
        raise FormError("name_digits")
    if not _NAME_CHARS.match(text):
        raise FormError("name_chars")
    if _letters(text) < 2:
        raise FormError("name_short")
    return text


def check_place_name(raw: str) -> str:
    text = clean_line(raw, 1000)
    if not text or _letters(text) < 2:
        raise FormError("place_short")
    if len(text) > 60:
        raise FormError("place_too_long", max=60)
    if any(ch.isdigit() for ch in text) or not _NAME_CHARS.match(
        text.replace("(", "").replace(")", "")
    ):
        raise FormError("place_chars")
    return text


def check_address(raw: str) -> str:
    text = clean_line(raw, 1000)
    if _letters(text) < 3 or len(text) < 5:
        raise FormError("address_short")
    if len(text) > 200:
        raise FormError("address_too_long", max=200)
    return text


def check_occupation(raw: str) -> str:
    text = clean_line(raw, 1000)
    if _letters(text) < 2:
        raise FormError("occupation_short")
    if len(text) > 60:
        raise FormError("occupation_too_long", max=60)
    if any(ch.isdigit() for ch in text) or not _NAME_CHARS.match(text.replace("/", " ")):
        raise FormError("occupation_chars")
    return text


def check_phone(raw: str) -> str:
    phone = normalize_phone(raw)
    if phone is None:
        raise FormError("phone_invalid")
    return phone


def member_prefix(name: str) -> str:
    """ "Koperasi Desa Merah Putih Sukamaju" → "KDMPS": the start of its member numbers."""
    words = [w for w in re.findall(r"[A-Za-z]+", name) if w.lower() != "demo"]
    return ("".join(w[0] for w in words).upper() or "KOP")[:5]


class MembershipService:
    """Applications and memberships."""

    def __init__(
        self,
        apps: Applications,
        coops: Cooperatives,
        gazetteer: Gazetteer,
        vault: Vault,
        *,
        retention_days: int = RETENTION_DAYS,
    ) -> None:
        self.apps = apps
        self.coops = coops
        self.gazetteer = gazetteer
        self.vault = vault
        self.retention_days = retention_days

    async def eligibility(self, user_id: int, coop_id: str) -> Eligibility:
        """Whether the user may start a form for this cooperative now."""
        coop = await self.coops.get(coop_id)
        if coop is None:
            return Eligibility("unknown")
        current = await self.apps.open_for(user_id, coop_id)
        if current is not None:
            return Eligibility(current.status, coop, current)
        if not coop.on_platform:  # nobody here would read the application
            return Eligibility("off_platform", coop)
        return Eligibility("ok", coop)

    async def coop(self, coop_id: str) -> Cooperative | None:
        return await self.coops.get(coop_id)

    # --- answers ------------------------------------------------------------------------

    async def nik_answer(
        self, user_id: int, coop_id: str, raw: str, today: date | None = None
    ) -> NikAnswer:
        """Check a NIK and return it as the draft keeps it: encrypted, never in clear."""
        try:
            info = parse_nik(raw, self.gazetteer, today)
        except NikError as exc:
            raise FormError("nik_" + exc.code, **exc.params) from exc
        nik_hash = self.vault.lookup_hash(info.nik)
        # A NIK already in another account's application is not refused here: saying so
        # would tell whoever knows a NIK where its owner applied. The application is
        # flagged for the board instead (submit).
        return NikAnswer(
            enc=self.vault.encrypt(info.nik),
            hash=nik_hash,
            masked=info.masked,
            sex=info.sex,
            birth_date=info.birth_date,
            district=info.district,
        )

    def address_from_point(self, point: Point) -> SharedAddress:
        """A shared location as an address: its village and a readable label."""
        nearest = self.gazetteer.nearest_village(point)
        if nearest is None or nearest[1] > 30_000:
            raise FormError("address_outside")
        village = nearest[0]
        return SharedAddress(
            address=self.gazetteer.label(village.code, depth=3),
            village=village.code,
            point=(round(point.lat, 6), round(point.lon, 6)),
        )

    def domicile_ok(self, coop: Cooperative, draft: MembershipDraft) -> bool:
        """A village cooperative takes residents: NIK district or shared location match."""
        if not coop.village_restricted or not coop.village_code:
            return True
        district = ".".join(coop.village_code.split(".")[:3])
        if draft.nik_district == district:
            return True
        if draft.domicile_village == coop.village_code:
            return True
        return draft.domicile_village is None and self.names_village(coop, draft.address)

    def names_village(self, coop: Cooperative, address: str | None) -> bool:
        """Whether a typed address names the cooperative's village ("…, Kesawan", "Desa
        Sukamaju"): as a self-declared domicile it counts, and the board sees the address."""
        region = self.gazetteer.get(coop.village_code) if coop.village_code else None
        if region is None or not address:
            return False
        return f" {fold(region.name)} " in f" {fold(address)} "

    def village_name(self, coop: Cooperative) -> str:
        region = self.gazetteer.get(coop.village_code)
        return display_name(region) if region else coop.name

    # --- submission and decisions -------------------------------------------------------

    async def submit(
        self, user_id: int, coop_id: str, draft: MembershipDraft, language: str
    ) -> Application:
        """Store a pending application; raises :class:`FormError` when it cannot be."""
        missing = draft.missing()
        if missing:
            raise FormError("incomplete", fields=", ".join(missing))
        # missing() guarantees these; the asserts tell the type checker.
        assert draft.nik_enc and draft.nik_hash
        eligibility = await self.eligibility(user_id, coop_id)
        if eligibility.status == "unknown" or eligibility.coop is None:
            raise FormError("coop_gone")
        if eligibility.status == "off_platform":
            raise FormError("off_platform")
        if eligibility.status != "ok":
            raise FormError("already_" + eligibility.status)
        if not self.domicile_ok(eligibility.coop, draft) and not draft.domicile_declared:
            raise FormError("domicile")
        sequence = await self.apps.next_number("applications")
        now = datetime.now(UTC)
        values = {
            "number": f"GK-{now.year}-{sequence:06d}",
            "coop_id": coop_id,
            "user_id": user_id,
            "full_name": draft.full_name,
            "nik_enc": draft.nik_enc,
            "nik_hash": draft.nik_hash,
            # The DATA_KEY the NIK's encryption and hash were made with (a rotation finds it).
            "nik_kid": draft.nik_enc.partition(":")[0],
            "nik_masked": draft.nik_masked,
            "sex": draft.sex,
            "birth_date": draft.birth_date.isoformat() if draft.birth_date else None,
            "birth_place": draft.birth_place,
            "address": draft.address,
            "domicile_village": draft.domicile_village,
            "domicile_point": list(draft.domicile_point) if draft.domicile_point else None,
            "phone": draft.phone,
            "occupation": draft.occupation,
            "domicile_declared": draft.domicile_declared,
            "language": language,
            "consent": {
                "version": draft.consent_version or CONSENT_VERSION,
                "accepted_at": (draft.consent_at or now).isoformat(),
                "purpose": "membership",
                "coop_id": coop_id,
            },
        }
        try:
            application = await self.apps.create(values)
        except DuplicateApplication as exc:
            if exc.field != "nik":
                raise FormError("already_pending") from exc
            other = await self.apps.open_with_nik(coop_id, draft.nik_hash)
            if other is not None and other.user_id == user_id:
                raise FormError("already_pending") from exc
            try:
                application = await self.apps.create({**values, "nik_conflict": True})
            except DuplicateApplication as again:
                raise FormError("already_pending") from again
        await self.apps.notify(
            "application_submitted", {"coop_id": coop_id, "application_id": application.id}
        )
        return application

    async def approve(self, application_id: str) -> Application | None:
        """Approve a pending application and issue its member number.

        The status changes first (atomically, once), then the number is taken from the
        cooperative's counter: a repeated or concurrent approval takes no number, so the
        numbers stay consecutive and never repeat.
        """
        decided = await self.apps.claim_approval(application_id)
        if decided is None:
            return None
        coop = await self.coops.get(decided.coop_id)
        await self.coops.change_member_count(decided.coop_id, 1)
        return await self.ensure_member_number(decided, coop.name if coop else "")

    async def ensure_member_number(self, application: Application, coop_name: str) -> Application:
        """Give an approved member their number (also repairs one lost to a crash)."""
        if application.member_number or application.status not in ("active", "suspended", "left"):
            return application
        sequence = await self.apps.next_number(f"member:{application.coop_id}")
        application.member_number = f"{member_prefix(coop_name)}-{sequence:06d}"
        await self.apps.set_fields(application.id, {"member_number": application.member_number})
        return application

    async def reject(self, application_id: str, reason: str) -> Application | None:
        return await self.apps.transition(
            application_id,
            ("pending",),
            "rejected",
            {"reason": reason[:300], "decided_at": datetime.now(UTC)},
        )

    async def withdraw(self, user_id: int, application_id: str) -> Application | None:
        application = await self.apps.get(application_id)
        if application is None or application.user_id != user_id:
            return None
        return await self.apps.transition(
            application_id, ("pending",), "withdrawn", {"decided_at": datetime.now(UTC)}
        )

    async def leave(self, user_id: int, application_id: str) -> Application | None:
        """End an active membership at the member's request."""
        application = await self.apps.get(application_id)
        if application is None or application.user_id != user_id:
            return None
        left = await self.apps.transition(
            application_id, ("active", "suspended"), "left", {"left_at": datetime.now(UTC)}
        )
        if left is not None:
            await self.coops.change_member_count(left.coop_id, -1)
            await self.apps.notify(
                "member_left", {"coop_id": left.coop_id, "application_id": left.id}
            )
        return left

    async def mark_delivered(self, kind: str, application_id: str) -> None:
        """A notification of ``kind`` about this application has reached its recipients."""
        await self.apps.mark_delivered(kind, application_id)

    async def reusable(self, user_id: int, coop_id: str) -> Application | None:
        """The user's latest application (to another cooperative) whose answers are still
        kept, to offer them for a new form; None when there is none."""
        applications = [
            a
            for a in await self.apps.for_user(user_id)
            if a.coop_id != coop_id
            and a.full_name
            and a.nik_enc
            and a.birth_place
            and a.address
            and a.phone
            and a.occupation
        ]
        if not applications:
            return None
        return max(applications, key=lambda a: a.created_at or datetime.min.replace(tzinfo=UTC))

    async def reuse(self, user_id: int, coop_id: str, draft: MembershipDraft) -> bool:
        """Fill ``draft`` with the answers of :meth:`reusable` (checked again for this
        cooperative, the NIK included); False when they cannot be used any more."""
        if draft.reuse_from is None:
            return False
        previous = await self.apps.get(draft.reuse_from)
        nik = self.reveal_nik(previous) if previous and previous.user_id == user_id else None
        if previous is None or nik is None:
            return False
        try:
            answer = await self.nik_answer(user_id, coop_id, nik)
        except FormError:
            return False
        draft.full_name = previous.full_name
        draft.set_nik(answer)
        draft.birth_place = previous.birth_place
        draft.address = previous.address
        draft.domicile_village = previous.domicile_village
        point = previous.domicile_point
        draft.domicile_point = (float(point[0]), float(point[1])) if point else None
        draft.phone = previous.phone
        draft.occupation = previous.occupation
        return True

    async def of_user(self, user_id: int) -> list[Application]:
        return await self.apps.for_user(user_id)

    def reveal_nik(self, application: Application) -> str | None:
        return self.vault.decrypt(application.nik_enc) if application.nik_enc else None

    @staticmethod
    def is_open(application: Application) -> bool:
        return application.status in OPEN_STATUSES
