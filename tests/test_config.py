"""Settings come from the environment once, with the documented defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_TELEGRAM_BASE_URL, ConfigError, Settings


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.telegram_bot_token is None and s.mongodb_uri is None and s.embedded_db
    assert s.data_dir == Path("var") and s.port == 8080 and s.geocoder == "offline"
    assert s.telegram_api_base_url == DEFAULT_TELEGRAM_BASE_URL and s.admin_ids == frozenset()


def test_values() -> None:
    s = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": " 1:abc ",
            "ADMIN_IDS": "1, 2,,3",
            "MONGODB_URI": "mongodb://db",
            "PORT": "9000",
            "DATA_DIR": "/d",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
        }
    )
    assert s.telegram_bot_token == "1:abc" and s.admin_ids == frozenset({1, 2, 3})
    assert not s.embedded_db and s.port == 9000 and s.data_dir == Path("/d")
    assert s.telegram_api_base_url == "http://127.0.0.1:8081/bot"


@pytest.mark.parametrize(
    "env",
    [{"ADMIN_IDS": "1,abc"}, {"PORT": "http"}, {"GEOCODER": "google"}, {"LOG_FORMAT": "xml"}],
)
def test_bad_values(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_nominatim_needs_a_user_agent() -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({"GEOCODER": "nominatim"}).validate_for_nominatim()
    Settings.from_env(
        {"GEOCODER": "nominatim", "NOMINATIM_USER_AGENT": "gk/1 (a@b.c)"}
    ).validate_for_nominatim()
