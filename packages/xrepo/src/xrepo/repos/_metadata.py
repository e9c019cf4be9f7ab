"""``RepoMetadata``: the configuration of one repository (the specification's options)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["RepoMetadata", "unknown_options"]


class RepoMetadata(BaseModel):
    """Configuration of one repository: the specification's ``RepoMetadata``, every option
    honoured by the repository built with it (directly or by ``XRepoFactory.create``).

    ``soft_delete`` and ``auto_timestamps`` take effect for the fields the model declares:
    soft deletes need ``deleted_at_field``, timestamps ``created_at_field``/``updated_at_field``,
    optimistic concurrency ``version_field``.

    ``enable_audit`` (on by default) records every write in a bounded in-memory log of the last
    ``audit_max_entries`` operations (:class:`~xrepo.audit.AuditRing`), unless the repository
    is given an ``AuditLogger``; ``get_audit_log()`` reads it. ``enable_statistics`` (on by
    default) records each operation's latency for ``get_statistics()``. ``cache_enabled`` caches
    reads in memory for ``cache_ttl`` seconds; every write of the repository invalidates them.

    An unknown option is an error, never ignored.

    Examples:
        >>> RepoMetadata(name="users", resource_name="main_db", model_name="User",
        ...              enable_audit=True, enable_statistics=True,
        ...              cache_enabled=True, cache_ttl=60).cache_ttl
        60
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None = None
    resource_name: str = "memory"
    model_name: str = ""
    collection: str | None = Field(default=None, description="Table or collection name.")
    id_field: str = "id"
    indexes: list[list[str]] = Field(default_factory=list)
    constraints: list[dict[str, Any]] = Field(default_factory=list)
    soft_delete: bool = True
    auto_timestamps: bool = True
    deleted_at_field: str = "deleted_at"
    created_at_field: str = "created_at"
    updated_at_field: str = "updated_at"
    version_field: str = "version"
    max_limit: int | None = Field(
        default=None, ge=1, description="Largest page list() hands out; None: no cap."
    )
    acl_rules: list[Any] = Field(
        default_factory=list,
        description="ACLRule list (or dicts): XRepoFactory.create applies them (SecureRepo).",
    )
    lookups: list[str] | Literal["*"] = Field(
        default_factory=list,
        description="Collections/tables a pipeline's $lookup may read; '*': any (an opt-in).",
    )
    enable_audit: bool = Field(
        default=True,
        strict=True,
        description="Audit every write (get_audit_log); a bounded in-memory log unless an "
        "AuditLogger is given.",
    )
    audit_max_entries: int = Field(
        default=10_000,
        ge=1,
        strict=True,
        description="Entries the in-memory audit log keeps; the oldest are dropped.",
    )
    enable_statistics: bool = Field(
        default=True,
        strict=True,
        description="Record each operation's latency (get_statistics().query_performance).",
    )
    cache_enabled: bool = Field(
        default=False, strict=True, description="Cache reads (in memory unless a cache is given)."
    )
    cache_ttl: int = Field(
        default=300, gt=0, strict=True, description="Seconds a cached read stays valid."
    )

    @model_validator(mode="before")
    @classmethod
    def _known_options(cls, data: Any) -> Any:
        # pydantic's own message ("Extra inputs are not permitted") does not say which options
        # exist or which one was probably meant.
        if isinstance(data, Mapping):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                raise ValueError(
                    f"unknown RepoMetadata option(s) {unknown_options(unknown, cls.model_fields)}"
                )
        return data


def unknown_options(unknown: Sequence[Any], known: Iterable[str]) -> str:
    """``"'cache_tll' (did you mean 'cache_ttl'?); known: ..."``: the unknown option names,
    each with the closest known one, then the known ones (for configuration errors)."""
    names = sorted(known)
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), names, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"{', '.join(hints)}; known: {', '.join(names)}"
