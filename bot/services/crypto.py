"""Personal data at rest: NIK encrypted with DATA_KEY, plus a keyed hash for look-ups.

Sub-keys are derived from DATA_KEY with HKDF (one per purpose), so the encryption key,
the hashing key and the card-signing key never coincide. Encryption is Fernet
(AES-128-CBC + HMAC-SHA256, from ``cryptography``); every ciphertext carries the id of
the key that wrote it, so a key rotation can find what is left to re-encrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_FILE = "data.key"


class DataKeyError(Exception):
    """DATA_KEY is missing or unusable."""


def _derive(master: bytes, purpose: str, length: int = 32) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=length,
        salt=None,
        info=f"gerbang-koperasi/{purpose}".encode(),
    ).derive(master)


def generate_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def load_or_create_key(data_dir: Path) -> str:
    """The embedded default: a key generated once into ``DATA_DIR`` (mode 0600)."""
    path = data_dir / KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def previous_keys(data_dir: Path) -> list[str]:
    """Keys replaced by ``rotate-key`` in the embedded default (newest first)."""
    path = data_dir / (KEY_FILE + ".previous")
    if not path.exists():
        return []
    return [line.strip() for line in reversed(path.read_text().splitlines()) if line.strip()]


class Vault:
    """Encrypts, decrypts and hashes personal data with keys derived from DATA_KEY."""

    def __init__(self, data_key: str, previous: list[str] | None = None) -> None:
        if not data_key or len(data_key) < 16:
            raise DataKeyError(
                "DATA_KEY must be at least 16 characters (use a random 32-byte key)"
            )
        master = data_key.encode()
        self.key_id = hashlib.sha256(_derive(master, "key-id")).hexdigest()[:8]
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(master, "encryption")))
        self._hash_key = _derive(master, "lookup-hash")
        self._sign_key = _derive(master, "card-signature")
        self._previous = [Vault(k) for k in previous or []]

    def encrypt(self, plaintext: str) -> str:
        """``<key id>:<Fernet token>``."""
        return f"{self.key_id}:{self._fernet.encrypt(plaintext.encode()).decode()}"

    def decrypt(self, stored: str) -> str:
        key_id, _, token = stored.partition(":")
        for vault in (self, *self._previous):
            if vault.key_id == key_id:
                try:
                    return vault._fernet.decrypt(token.encode()).decode()
                except InvalidToken as exc:
                    raise DataKeyError("stored value does not decrypt with its key") from exc
        raise DataKeyError(f"no key {key_id} to decrypt with")

    def needs_rotation(self, stored: str) -> bool:
        return not stored.startswith(self.key_id + ":")

    @property
    def all_vaults(self) -> list[Vault]:
        return [self, *self._previous]

    def lookup_hash(self, value: str) -> str:
        """A keyed hash: equal values give equal hashes, without revealing the value."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def sign(self, data: bytes, length: int = 16) -> bytes:
        return hmac.new(self._sign_key, data, hashlib.sha256).digest()[:length]
