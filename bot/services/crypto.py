"""Personal data at rest: a key per person (crypto-shredding), NIK encrypted with DATA_KEY,
keyed hashes for look-ups.

Sub-keys are derived from DATA_KEY with HKDF (one per purpose), so the NIK encryption key,
the key-encryption key, the hashing key and the card-signing key never coincide. DATA_KEY
encryption is Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``); every ciphertext
carries the id of the key that wrote it, so a key rotation can find what is left to
re-encrypt.

Every personal value (name, NIK, phone, address, …) is sealed with its person's own random
key (:class:`PersonCipher`, AES-256-GCM). Those keys live in their own collection, each
wrapped (encrypted) under the key-encryption key derived from DATA_KEY
(:class:`Keyring`); destroying a person's key makes every copy of their data unreadable —
the live document, the oplog, the journal, a replica's oplog, every backup.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.base import PersonKeys

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
        self._kek = Fernet(base64.urlsafe_b64encode(_derive(master, "key-wrapping")))
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

    def wrap(self, key: bytes) -> str:
        """A person's key encrypted under the key-encryption key: ``<key id>:<token>``."""
        return f"{self.key_id}:{self._kek.encrypt(key).decode()}"

    def unwrap(self, stored: str) -> bytes:
        key_id, _, token = stored.partition(":")
        for vault in self.all_vaults:
            if vault.key_id == key_id:
                try:
                    return vault._kek.decrypt(token.encode())
                except InvalidToken as exc:
                    raise DataKeyError("a person's key does not unwrap with its key") from exc
        raise DataKeyError(f"no key {key_id} to unwrap a person's key with")

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


SEALED_PREFIX = "gk1."
_NONCE = 12


def is_sealed(value: object) -> bool:
    """Whether a stored value is a :class:`PersonCipher` seal (not a value in clear)."""
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


class PersonCipher:
    """Seals and opens one person's values with that person's own key (AES-256-GCM).

    A sealed value is ``gk1.<base64url(nonce | ciphertext | tag)>`` of the value's JSON, so
    strings, numbers, flags, lists and dicts keep their type. The field's name is bound to
    the ciphertext (associated data): a sealed phone cannot be passed off as a name.
    """

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, name: str, value: Any) -> str:
        nonce = secrets.token_bytes(_NONCE)
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        sealed = self._aead.encrypt(nonce, plain, name.encode())
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, name: str, stored: str) -> Any:
        """The value; :class:`DataKeyError` if it was not sealed with this key as ``name``."""
        if not is_sealed(stored):
            raise DataKeyError("not a sealed value")
        body = stored.removeprefix(SEALED_PREFIX)
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], name.encode())
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DataKeyError(f"sealed {name} does not open with this key") from exc
        return json.loads(plain)


class Keyring:
    """Every person's key: created on first need, unwrapped on use, destroyed on erasure.

    Keys are stored wrapped under the vault's key-encryption key (``storage/keys.py``), one
    per Telegram user. Unwrapped keys are cached (least recently used first out); a key
    only ever changes by being destroyed, so the cache cannot go stale, and
    :meth:`destroy` drops it from the cache too.
    """

    def __init__(self, vault: Vault, keys: PersonKeys, *, cache: int = 4096) -> None:
        self.vault = vault
        self.keys = keys
        self._cache: OrderedDict[int, PersonCipher] = OrderedDict()
        self._cache_size = cache

    def _remember(self, user_id: int, cipher: PersonCipher) -> PersonCipher:
        self._cache[user_id] = cipher
        self._cache.move_to_end(user_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return cipher

    async def cipher(self, user_id: int, *, create: bool = False) -> PersonCipher | None:
        """The person's cipher; with ``create``, a new key if they have none yet (a
        concurrent creation wins and both use its key); None if they have none."""
        cached = self._cache.get(user_id)
        if cached is not None:
            self._cache.move_to_end(user_id)
            return cached
        wrapped = (await self.keys.get_many([user_id])).get(user_id)
        if wrapped is None:
            if not create:
                return None
            wrapped = await self.keys.create(user_id, self.vault.wrap(secrets.token_bytes(32)))
        return self._remember(user_id, PersonCipher(self.vault.unwrap(wrapped)))

    async def ciphers(self, user_ids: Iterable[int]) -> dict[int, PersonCipher]:
        """The ciphers of those of ``user_ids`` who have a key (one query for the rest)."""
        found: dict[int, PersonCipher] = {}
        missing = []
        for user_id in set(user_ids):
            cached = self._cache.get(user_id)
            if cached is not None:
                found[user_id] = cached
            else:
                missing.append(user_id)
        for start in range(0, len(missing), 1000):  # a member register: many look-ups
            chunk = missing[start : start + 1000]
            for user_id, wrapped in (await self.keys.get_many(chunk)).items():
                found[user_id] = self._remember(user_id, PersonCipher(self.vault.unwrap(wrapped)))
        return found

    async def destroy(self, user_id: int) -> bool:
        """Delete the person's key: whatever was sealed with it can never be opened again."""
        self._cache.pop(user_id, None)
        return await self.keys.delete(user_id)
