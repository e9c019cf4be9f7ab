"""What the registry store holds, as plain data: versions, model rows and change notices."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from xregistry._shared import utc_now

__all__ = ["StoreChange", "StoredModel", "StoredVersion", "iso"]


def iso(moment: datetime) -> str:
    """An ISO-8601 UTC timestamp (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class StoredVersion(BaseModel):
    """One version of a model: number, schema snapshot and the changes from the one before."""

    model: str
    version: str
    created_at: datetime = Field(default_factory=utc_now)
    #: What made it: ``code``, ``api``, ``discovery`` or ``drift``.
    source: str = "code"
    fingerprint: str
    fields_schema: dict[str, Any] = Field(default_factory=dict)
    json_schema: dict[str, Any] = Field(default_factory=dict)
    changes: list[dict[str, Any]] = Field(default_factory=list)
    #: The store revision that wrote it (0 for versions kept in memory only).
    revision: int = 0

    @property
    def created_at_iso(self) -> str:
        """``created_at`` as ISO-8601 UTC."""
        return iso(self.created_at)


class StoredModel(BaseModel):
    """A model row: its current version, own compatibility mode and registration metadata."""

    name: str
    current_version: str
    compatibility: str | None = None
    #: Namespace, source, resource, collection, tags, description: what another instance needs
    #: to register the model too.
    metadata: dict[str, Any] = Field(default_factory=dict)
    revision: int = 0


class StoreChange(BaseModel):
    """A notice that a registry change was committed: ``kind`` (``version``, ``compatibility``,
    ``enrichment``, ``catalog``) and the name it concerns."""

    revision: int
    kind: str
    name: str
