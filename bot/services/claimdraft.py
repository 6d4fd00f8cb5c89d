"""An unfinished claim (``bot/services/claims.py``): the typed draft kept in ``user_data``.

The Telegram layer persists ``user_data`` after every update, so the form survives a
restart. The draft's name and phone are sealed values (``ClaimService.seal``): nothing
personal is kept in clear where ``user_data`` is stored, and /deletedata (which destroys the
person's key and drops ``user_data``) leaves nothing readable.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.models import Evidence


@dataclass(slots=True)
class ClaimDraft:
    """An unfinished claim as ``user_data["claim"]`` keeps it; ``name`` and ``phone`` are
    sealed values (the form asks the service to seal and open them)."""

    coop_id: str
    step: int | None = None
    role: str | None = None
    name: str | None = None
    phone: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    consent_version: str | None = None
    consent_at: datetime | None = None
    started_at: datetime | None = None

    KEY = "claim"

    def to_dict(self) -> dict[str, Any]:
        return {
            "coop_id": self.coop_id,
            "step": self.step,
            "role": self.role,
            "name": self.name,
            "phone": self.phone,
            "evidence": [
                {"file_id": e.file_id, "kind": e.kind, "mime": e.mime, "name": e.name}
                for e in self.evidence
            ],
            "consent_version": self.consent_version,
            "consent_at": self.consent_at.isoformat() if self.consent_at else None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClaimDraft | None:
        coop_id = data.get("coop_id")
        if not isinstance(coop_id, str):
            return None

        def moment(raw: object) -> datetime | None:
            try:
                return datetime.fromisoformat(raw) if isinstance(raw, str) else None
            except ValueError:
                return None

        def text(raw: object) -> str | None:
            return raw if isinstance(raw, str) else None

        step = data.get("step")
        return cls(
            coop_id=coop_id,
            step=step if isinstance(step, int) else None,
            role=text(data.get("role")),
            name=text(data.get("name")),
            phone=text(data.get("phone")),
            evidence=[
                Evidence(str(e["file_id"]), str(e.get("kind")), e.get("mime"), e.get("name"))
                for e in data.get("evidence") or []
                if isinstance(e, Mapping) and e.get("file_id")
            ],
            consent_version=text(data.get("consent_version")),
            consent_at=moment(data.get("consent_at")),
            started_at=moment(data.get("started_at")),
        )

    @classmethod
    def of(cls, user_data: Mapping[Any, Any]) -> ClaimDraft | None:
        stored = user_data.get(cls.KEY)
        return cls.from_dict(stored) if isinstance(stored, Mapping) else None

    def save(self, user_data: MutableMapping[Any, Any]) -> None:
        user_data[self.KEY] = self.to_dict()

    @staticmethod
    def drop(user_data: MutableMapping[Any, Any]) -> None:
        user_data.pop(ClaimDraft.KEY, None)
