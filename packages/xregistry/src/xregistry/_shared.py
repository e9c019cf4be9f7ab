"""Helpers that the function, model and type registries share, in one module below all of them.

Every registry module imports from here and nothing here imports a registry, so the registries,
the enrichment layer and :class:`~xregistry.XRegistry` depend on each other in one direction only:
names, tags, timestamps and the principal of in-process calls are checked the same way everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from xregistry.errors import RegistryValidationError
from xregistry.permissions import Principal, as_principal

__all__ = ["check_name", "optional_principal", "tags_of", "utc_now"]

_NAME = re.compile(r"\w[\w\-]*")  # one namespace segment (validate_path's rule)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (every registry timestamp)."""
    return datetime.now(UTC)


def check_name(name: object, kind: str) -> str:
    """A registered name: one namespace segment (letters, digits, ``_``, ``-`` not first)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise RegistryValidationError(
            f"{kind} name {name!r} is not usable: a name holds only letters, digits, '_' and "
            "'-' (not first); pass name=... to choose one"
        )
    return name


def tags_of(tags: Iterable[str] | None) -> frozenset[str]:
    """Tags as a frozenset of non-empty strings (one string is one tag)."""
    if tags is None:
        return frozenset()
    if isinstance(tags, str):
        tags = [tags]
    out = frozenset(tags)
    bad = [t for t in out if not isinstance(t, str) or not t.strip()]
    if bad:
        raise RegistryValidationError(f"tags must be non-empty strings, got {bad!r}")
    return out


def optional_principal(principal: Principal | str | None) -> Principal | None:
    """``principal`` as a :class:`Principal`, or None for in-process code that gave none."""
    return as_principal(principal) if principal is not None else None
