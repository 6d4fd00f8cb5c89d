"""Member cards: the wallet of a user's memberships, signed verification tokens, images.

A card's QR holds the deep link ``?start=v_<token>``; the token is the membership id
(12 bytes) and an HMAC of it (12 bytes) under a key derived from DATA_KEY, base64url:
32 characters, within Telegram's 64-character payload limit, impossible to guess or
forge. Exactly one spelling verifies: the URL-safe alphabet the bot issues, unpadded
(``+``/``/`` for ``-``/``_`` or an added ``=`` make another string, which is refused).
Images are rendered once per card version and language, then reused.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.services.cardimage import CardData, render_card
from bot.services.crypto import Vault
from storage.base import Admins, Applications, Cooperatives
from storage.models import Application, Cooperative

# Wallet order: usable cards first, then what is waiting, then the past.
STATUS_ORDER = {
    "active": 0,
    "suspended": 1,
    "pending": 2,
    "rejected": 3,
    "withdrawn": 4,
    "left": 5,
}
SIGNATURE_BYTES = 12
DESIGN = "d2"  # the card pictures' design (d2: slips and status colours, issue 16)
IMAGE_CACHE = 256
# 24 bytes in base64url without padding: exactly 32 characters, all of them significant.
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(slots=True)
class WalletEntry:
    application: Application
    coop: Cooperative | None


@dataclass(slots=True)
class Verification:
    """What a scanned card's link says, and how much of it this viewer may see.

    Who sees what (the card's QR is printed and shown to cashiers, so its link reaches
    strangers): anyone learns whether the card is genuine and valid now, the cooperative,
    the status, the member-since date and the holder's initials (enough to match the
    person presenting it, not to learn a name). The member number and the full name are
    shown only to the member and to that cooperative's board (``full_view``): a number
    identifies someone in the cooperative's register. A genuine card of a membership that
    is suspended or has ended is "not valid" with its cooperative and status and nothing
    about the person; a forged or unknown link says only "not valid".
    """

    valid: bool
    application: Application | None = None
    coop: Cooperative | None = None
    full_view: bool = False  # the owner or an admin of the cooperative: name and number

    @property
    def status(self) -> str | None:
        return self.application.status if self.application is not None else None


def mask_name(name: str) -> str:
    """ "Siti Aminah" → "S*** A*****": enough to match a face, not to learn a name."""
    return " ".join(word[0] + "*" * min(len(word) - 1, 6) for word in name.split() if word)


class CardService:
    def __init__(
        self,
        apps: Applications,
        coops: Cooperatives,
        admins: Admins,
        vault: Vault,
    ) -> None:
        self.apps = apps
        self.coops = coops
        self.admins = admins
        self.vault = vault
        self._images: OrderedDict[str, bytes] = OrderedDict()
        self.renders = 0  # how many images were drawn (the cache's effect is testable)

    async def wallet(self, user_id: int) -> list[WalletEntry]:
        applications = await self.apps.for_user(user_id)
        applications.sort(
            key=lambda a: (
                STATUS_ORDER.get(a.status, 9),
                -(a.decided_at or a.created_at).timestamp(),
            )
        )
        coops = {c.id: c for c in await self.coops.get_many({a.coop_id for a in applications})}
        return [WalletEntry(a, coops.get(a.coop_id)) for a in applications]

    async def entry(self, user_id: int, application_id: str) -> WalletEntry | None:
        """One of the user's own entries (never someone else's)."""
        application = await self.apps.get(application_id)
        if application is None or application.user_id != user_id:
            return None
        return WalletEntry(application, await self.coops.get(application.coop_id))

    # --- verification -------------------------------------------------------------------

    def token(self, application_id: str) -> str:
        raw = self.apps.id_bytes(application_id)
        signature = self.vault.sign(raw, SIGNATURE_BYTES)
        return base64.urlsafe_b64encode(raw + signature).decode().rstrip("=")

    def _read_token(self, token: str) -> str | None:
        if not TOKEN.fullmatch(token):
            return None
        try:
            raw = base64.urlsafe_b64decode(token)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != 12 + SIGNATURE_BYTES:
            return None
        body, signature = raw[:12], raw[12:]
        # Cards printed before a key rotation stay valid while the old key is kept.
        if not any(
            hmac.compare_digest(signature, vault.sign(body, SIGNATURE_BYTES))
            for vault in self.vault.all_vaults
        ):
            return None
        return self.apps.id_from_bytes(body)

    async def verify(self, token: str, viewer_id: int) -> Verification:
        """Whether a scanned card is genuine and active now; who may see what."""
        application_id = self._read_token(token)
        if application_id is None:
            return Verification(False)
        application = await self.apps.get(application_id)
        if application is None:
            return Verification(False)
        coop = await self.coops.get(application.coop_id)
        if coop is None:
            return Verification(False)
        if application.status in ("suspended", "left"):
            # Genuine, but no longer valid: only the cooperative and the status are told.
            return Verification(False, application, coop)
        if application.status != "active":  # never carried a card (a token was never issued)
            return Verification(False)
        full = viewer_id == application.user_id or await self.admins.is_admin(coop.id, viewer_id)
        return Verification(True, application, coop, full)

    # --- images -------------------------------------------------------------------------

    @staticmethod
    def image_key(application: Application, locale: str) -> str:
        """Names one drawing; ``DESIGN`` changes whenever the drawing does, so Telegram's
        copies of the old pictures (file ids kept by key) are not sent again."""
        return (
            f"{application.id}:v{application.card_version}:{application.status}:{locale}:{DESIGN}"
        )

    def image(self, key: str, build: Callable[[], CardData]) -> bytes:
        """The card's PNG, drawn once per key (card version, status, language)."""
        cached = self._images.get(key)
        if cached is not None:
            self._images.move_to_end(key)
            return cached
        png = render_card(build())
        self.renders += 1
        self._images[key] = png
        if len(self._images) > IMAGE_CACHE:
            self._images.popitem(last=False)
        return png

    def forget(self, application_ids: Iterable[str]) -> None:
        """Drop cached images of these applications (their data was erased)."""
        prefixes = tuple(f"{i}:" for i in application_ids)
        for key in [k for k in self._images if k.startswith(prefixes)]:
            del self._images[key]

    async def telegram_file(self, key: str) -> str | None:
        """A file id Telegram already has for this image: resend without uploading."""
        return await self.apps.card_file(key)

    async def remember_telegram_file(self, key: str, file_id: str) -> None:
        await self.apps.remember_card_file(key, file_id)
