"""The announcement being composed, kept in ``user_data["broadcast"]`` between steps.

``user_data`` is persisted (the conversation survives a restart), so the draft is stored
as the plain dict it always was: ``kind``, ``coop_id``, ``text`` (HTML), ``photo`` (a file
id), ``include_pending``, ``province``, ``regency``, ``coop_type``, ``paid``; absent keys
mean "not chosen". :class:`Draft` reads and writes that dict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from bot.context import BotContext
from bot.services.broadcast import Audience

KEY = "broadcast"


@dataclass
class Draft:
    """An announcement being composed."""

    kind: str  # "coop" | "platform"
    coop_id: str | None = None
    text: str = ""  # HTML, as the creator formatted it
    photo: str | None = None  # a Telegram file id
    include_pending: bool = False  # a cooperative's pending applicants too
    province: str | None = None  # a platform announcement's filters
    regency: str | None = None
    coop_type: str | None = None
    paid: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        """Read a stored draft (unknown keys are ignored, missing ones take defaults;
        ``kind`` is always there, set when the conversation begins)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and v is not None}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The stored form: every field that is set."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def audience(self) -> Audience:
        """Who the announcement goes to."""
        return Audience(
            kind=self.kind,
            coop_id=self.coop_id,
            include_pending=self.include_pending,
            province=self.province,
            regency=self.regency,
            coop_type=self.coop_type,
        )


def load(context: BotContext) -> Draft:
    """The draft of this user's open conversation (an empty one if there is none)."""
    assert context.user_data is not None
    return Draft.from_dict(context.user_data.get(KEY) or {})


def save(context: BotContext, draft: Draft) -> None:
    """Keep the draft for the next step."""
    assert context.user_data is not None
    context.user_data[KEY] = draft.to_dict()


def discard(context: BotContext) -> None:
    """Forget the draft."""
    assert context.user_data is not None
    context.user_data.pop(KEY, None)
