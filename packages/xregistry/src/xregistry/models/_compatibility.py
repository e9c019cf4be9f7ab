"""Compatibility modes of model versions, as schema registries define them.

A model version is a schema that *reads* records. Between a previous version and a new one:

- ``backward``: the new version can read what the previous one accepted (a consumer upgraded
  first still reads old records). Adding a required field, narrowing a type or a constraint,
  making a nullable field required or removing a default break it.
- ``forward``: the previous version can read what the new one accepts (a consumer not yet
  upgraded reads new records). Removing a required field, widening a type or a constraint,
  making a required field nullable or giving a field a default break it.
- ``full``: both; ``none``: nothing is checked.

Changes come from :func:`xregistry.models._versioning.diff_fields` (the inspector's schema diff);
:func:`classify` turns each into the API's shape (``kind`` ``added``, ``removed``, ``retyped``,
``nullability``, ``constraint`` or ``default``, with the modes it ``breaks``).

Example:
    >>> changes = [{"change": "field_added", "field": "sku", "new": "str", "required": True}]
    >>> [c["breaks"] for c in classify(changes)]
    [['backward', 'full']]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from xregistry.errors import RegistryValidationError

__all__ = [
    "CompatibilityMode",
    "annotate_required",
    "breaking_changes",
    "classify",
    "classify_change",
    "parse_mode",
]


class CompatibilityMode(StrEnum):
    """Which readers a new model version must keep working for."""

    NONE = "none"
    BACKWARD = "backward"
    FORWARD = "forward"
    FULL = "full"


_B, _F = "backward", "forward"

#: Inspector change kind -> (API kind, directions it breaks). Added and removed fields depend on
#: whether the field is required, which :func:`classify_change` reads from the change itself.
_RULES: dict[str, tuple[str, frozenset[str]]] = {
    "type_widened": ("retyped", frozenset({_F})),
    "type_narrowed": ("retyped", frozenset({_B})),
    "type_changed": ("retyped", frozenset({_B, _F})),
    "nullability_widened": ("nullability", frozenset({_F})),
    "nullability_narrowed": ("nullability", frozenset({_B})),
    # Required -> optional means the field gained a default: new records may lack it.
    "required_removed": ("default", frozenset({_F})),
    "required_added": ("default", frozenset({_B})),
    "constraint_widened": ("constraint", frozenset({_F})),
    "constraint_narrowed": ("constraint", frozenset({_B})),
    "constraint_changed": ("constraint", frozenset({_B, _F})),
    # Another key identifies other records: neither side can rely on the old identity.
    "primary_key_changed": ("constraint", frozenset({_B, _F})),
    "index_removed": ("constraint", frozenset()),
    "index_added": ("constraint", frozenset()),
}


def parse_mode(value: CompatibilityMode | str) -> CompatibilityMode:
    """A mode from its name (any case).

    Raises:
        RegistryValidationError: not one of none, backward, forward, full.
    """
    try:
        return CompatibilityMode(value.lower() if isinstance(value, str) else value)
    except ValueError:
        raise RegistryValidationError(
            f"unknown compatibility mode {value!r}; expected one of "
            f"{[m.value for m in CompatibilityMode]}"
        ) from None


def _directions(change: Mapping[str, Any]) -> tuple[str, set[str]]:
    kind = str(change.get("change") or change.get("type") or "")
    if kind == "field_added":
        # A new field that the new version requires is missing from every old record.
        return "added", ({_B} if _required(change) else set())
    if kind == "field_removed":
        # Old readers still require the field when it was required: new records lack it.
        return "removed", ({_F} if _required(change, default=True) else set())
    if kind in ("index_added", "index_removed"):
        unique = _unique_index(change)
        if not unique:
            return "constraint", set()
        # A new unique index refuses duplicates the old version accepted, and the reverse.
        return "constraint", {_B} if kind == "index_added" else {_F}
    api_kind, directions = _RULES.get(kind, ("constraint", frozenset({_B, _F})))
    return api_kind, set(directions)


def _required(change: Mapping[str, Any], *, default: bool = False) -> bool:
    if "required" in change:
        return bool(change["required"])
    # Without the flag, the inspector's own verdict: an added field is breaking when required.
    breaking = change.get("breaking")
    return bool(breaking) if breaking is not None else default


def _unique_index(change: Mapping[str, Any]) -> bool:
    for side in ("new", "old"):
        value = change.get(side)
        if isinstance(value, Mapping) and value.get("unique"):
            return True
    return bool(change.get("breaking")) and change.get("change") == "index_added"


def _strict(info: Any) -> bool:
    return isinstance(info, Mapping) and bool(info.get("required")) and not info.get("nullable")


def classify_change(change: Mapping[str, Any]) -> dict[str, Any]:
    """One change in the API's shape: ``kind``, ``field``, ``before``, ``after``,
    ``description``, ``breaks`` (the modes it breaks, among backward, forward and full) and
    ``change`` (the inspector's own kind)."""
    kind, directions = _directions(change)
    breaks = [d for d in (_B, _F) if d in directions]
    if breaks:
        breaks.append("full")
    return {
        "kind": kind,
        "change": str(change.get("change") or change.get("type") or ""),
        "field": str(change.get("field") or ""),
        "before": change.get("old"),
        "after": change.get("new"),
        "description": str(change.get("message") or kind),
        "breaks": breaks,
    }


def classify(changes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """:func:`classify_change` for each change, in order."""
    return [classify_change(c) for c in changes]


def breaking_changes(
    classified: Iterable[Mapping[str, Any]], mode: CompatibilityMode | str
) -> list[dict[str, Any]]:
    """The classified changes that break ``mode`` (none for ``none``)."""
    name = parse_mode(mode).value
    if name == "none":
        return []
    return [dict(c) for c in classified if name in c.get("breaks", ())]


def annotate_required(
    changes: list[dict[str, Any]], old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The changes with ``required`` set on added and removed fields (from the schema dict
    where the field lives), which :func:`classify_change` reads."""
    old_fields = old.get("fields") or {}
    new_fields = new.get("fields") or {}
    out = []
    for change in changes:
        kind = change.get("change") or change.get("type")
        path = str(change.get("field") or "")
        # A nullable field reads as null where it is missing: only required non-null counts.
        if kind == "field_added" and path in new_fields:
            info = new_fields[path]
            change = {**change, "required": _strict(info)}
        elif kind == "field_removed" and path in old_fields:
            info = old_fields[path]
            change = {**change, "required": _strict(info)}
        out.append(change)
    return out
