"""Settings, read once from the environment (see DESIGN.md's table)."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"


class ConfigError(Exception):
    """The environment holds a value the bot cannot run with."""


def _ids(raw: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError as exc:
            raise ConfigError(f"ADMIN_IDS: {part!r} is not a Telegram user id") from exc
    return frozenset(ids)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {raw!r} is not a whole number") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {raw!r} is not a number of seconds") from exc
    if not 0 < value < 3600:
        raise ConfigError(f"{name}: {raw!r} must be more than 0 and under an hour")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the bot is configured with; built once by :meth:`from_env`."""

    telegram_bot_token: str | None = None
    telegram_api_base_url: str = DEFAULT_TELEGRAM_BASE_URL
    mongodb_uri: str | None = None
    mongodb_db: str = "gerbang_koperasi"
    data_dir: Path = field(default_factory=lambda: Path("var"))
    admin_ids: frozenset[int] = frozenset()
    data_key: str | None = None
    data_key_previous: tuple[str, ...] = ()  # keys being rotated out (still readable)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    port: int = 8080
    host: str = "0.0.0.0"  # the webhook's bind address: all interfaces, as platforms expect
    http_max_connections: int = 1000  # lowered to half the open-file limit (bot/web.py)
    http_header_timeout_s: float = 10.0  # a new connection's first request headers
    http_body_timeout_s: float = 30.0  # a request's whole body
    http_keepalive_timeout_s: float = 30.0  # an idle connection between requests
    geocoder: str = "offline"
    nominatim_user_agent: str | None = None
    nominatim_domain: str = "nominatim.openstreetmap.org"
    nominatim_scheme: str = "https"
    log_level: str = "INFO"
    log_format: str = "text"
    form_timeout_s: float | None = 30 * 60  # None: an open form never times out
    webhook_path: str = "/telegram"
    mongodb_timeout_ms: int = 3000
    flood_limit: int = 20
    flood_window_s: float = 10.0
    flood_pause_s: float = 30.0
    broadcast_rate: float = 25.0
    paid_broadcast_rate: float = 1000.0
    retention_days: int = 90
    privacy_contact: str = "privacy@gerbangkoperasi.id"
    gazetteer_path: Path = field(
        default_factory=lambda: PROJECT_ROOT / "data" / "wilayah" / "regions.csv.gz"
    )
    locales_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "locales")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (the process environment by default)."""
        env = os.environ if env is None else env
        geocoder = env.get("GEOCODER", "offline").strip().lower() or "offline"
        if geocoder not in ("offline", "nominatim"):
            raise ConfigError(f"GEOCODER must be 'offline' or 'nominatim', not {geocoder!r}")
        log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
        if log_format not in ("text", "json"):
            raise ConfigError(f"LOG_FORMAT must be 'text' or 'json', not {log_format!r}")
        return cls(
            telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN", "").strip() or None,
            telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL", "").strip()
            or DEFAULT_TELEGRAM_BASE_URL,
            mongodb_uri=env.get("MONGODB_URI", "").strip() or None,
            mongodb_db=env.get("MONGODB_DB", "").strip() or "gerbang_koperasi",
            data_dir=Path(env.get("DATA_DIR", "").strip() or "var"),
            admin_ids=_ids(env.get("ADMIN_IDS", "")),
            data_key=env.get("DATA_KEY", "").strip() or None,
            data_key_previous=tuple(
                k.strip() for k in env.get("DATA_KEY_PREVIOUS", "").split(",") if k.strip()
            ),
            webhook_url=env.get("WEBHOOK_URL", "").strip() or None,
            webhook_secret=env.get("WEBHOOK_SECRET", "").strip() or None,
            port=_int(env, "PORT", 8080),
            host=env.get("HOST", "").strip() or "0.0.0.0",
            http_max_connections=max(1, _int(env, "HTTP_MAX_CONNECTIONS", 1000)),
            http_header_timeout_s=_float(env, "HTTP_HEADER_TIMEOUT", 10.0),
            http_body_timeout_s=_float(env, "HTTP_BODY_TIMEOUT", 30.0),
            http_keepalive_timeout_s=_float(env, "HTTP_KEEPALIVE_TIMEOUT", 30.0),
            geocoder=geocoder,
            nominatim_user_agent=env.get("NOMINATIM_USER_AGENT", "").strip() or None,
            nominatim_domain=env.get("NOMINATIM_DOMAIN", "").strip()
            or "nominatim.openstreetmap.org",
            nominatim_scheme=env.get("NOMINATIM_SCHEME", "").strip() or "https",
            log_level=env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO",
            log_format=log_format,
            retention_days=_int(env, "RETENTION_DAYS", 90),
            webhook_path="/" + (env.get("WEBHOOK_PATH", "").strip().strip("/") or "telegram"),
            mongodb_timeout_ms=_int(env, "MONGODB_TIMEOUT_MS", 3000),
            flood_limit=_int(env, "FLOOD_LIMIT", 20),
            broadcast_rate=float(_int(env, "BROADCAST_RATE", 25)),
            paid_broadcast_rate=float(min(1000, _int(env, "PAID_BROADCAST_RATE", 1000))),
            privacy_contact=env.get("PRIVACY_CONTACT", "").strip() or "privacy@gerbangkoperasi.id",
        )

    @property
    def embedded_db(self) -> bool:
        """Whether the bot starts its own SecantusDB (no ``MONGODB_URI`` given)."""
        return self.mongodb_uri is None

    def resolve_webhook_secret(self) -> str:
        """WEBHOOK_SECRET, or one derived from the token (stable across restarts)."""
        if self.webhook_secret:
            return self.webhook_secret
        if not self.telegram_bot_token:
            raise ConfigError("the webhook needs TELEGRAM_BOT_TOKEN")
        return hmac.new(
            self.telegram_bot_token.encode(), b"gerbang-koperasi/webhook-secret", hashlib.sha256
        ).hexdigest()

    def resolve_data_key(self) -> str:
        """DATA_KEY; the embedded default generates one into DATA_DIR (mode 0600)."""
        if self.data_key:
            return self.data_key
        if not self.embedded_db:
            raise ConfigError(
                "DATA_KEY is required when MONGODB_URI is set: it encrypts every NIK at rest. "
                'Generate one with `python -c "import secrets; print(secrets.token_urlsafe(32))"`'
                " and keep it safe (without it the stored NIKs cannot be read)."
            )
        from bot.services.crypto import load_or_create_key

        return load_or_create_key(self.data_dir)

    def resolve_previous_keys(self) -> list[str]:
        """Keys still accepted for reading (DATA_KEY_PREVIOUS, or the embedded key files)."""
        if self.data_key_previous:
            return list(self.data_key_previous)
        if self.embedded_db and not self.data_key:
            from bot.services.crypto import previous_keys

            return previous_keys(self.data_dir)
        return []

    def validate_for_nominatim(self) -> None:
        """Refuse Nominatim without a real user agent (its usage policy requires one)."""
        if self.geocoder == "nominatim" and not self.nominatim_user_agent:
            raise ConfigError(
                "GEOCODER=nominatim needs NOMINATIM_USER_AGENT (an app name with a contact), "
                "as Nominatim's usage policy requires"
            )
