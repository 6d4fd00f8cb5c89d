"""Logging: structured lines (text or JSON), with a last-line redaction of personal data.

Code never logs NIK or phone numbers; :class:`RedactPersonalData` masks 16-digit runs and
phone-like numbers anyway, in case a library or an exception message carries one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
_PHONE = re.compile(r"(?<![\w])(\+?62|0)8\d{7,11}(?!\d)")


def redact(text: str) -> str:
    return _PHONE.sub("[phone]", _NIK.sub("[nik]", text))


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("time=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s")

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]
        return redact(super().formatException(ei))


def configure(
    level: str = "INFO", fmt: str = "text", *, quiet: bool = False, log_file: Path | None = None
) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(formatter)
    stream.addFilter(RedactPersonalData())
    stream.setLevel(logging.WARNING if quiet else getattr(logging, level, logging.INFO))
    root.addHandler(stream)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(formatter)
        file_handler.addFilter(RedactPersonalData())
        file_handler.setLevel(getattr(logging, level, logging.INFO))
        root.addHandler(file_handler)
    root.setLevel(getattr(logging, level, logging.INFO))
    # Their debug output echoes payloads (messages users typed, stored documents): never on,
    # whatever LOG_LEVEL says.
    for noisy in ("httpx", "apscheduler", "pymongo", "aiohttp.access", "geopy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(logging.INFO)
