"""``ACLRule``: what one role may do, on which rows and which fields (the spec's model).

A rule grants ``permissions`` to ``role``. Its ``conditions`` narrow the grant::

    ACLRule(role="agent", permissions=["read", "list", "update"], conditions={
        "rows": {"owner_id": "$user.id"},          # row level: only the caller's records
        "hidden_fields": ["salary"],               # column level: never shown, never queried
        "readonly_fields": ["owner_id"],           # column level: shown, never written
    })

Condition keys:

- ``rows``: a filter (Mongo or Django style, as for ``list``) a record must match; values
  ``"$user.id"`` and ``"$user.<attribute>"`` are replaced by the caller's id and attributes as
  bound values, never as text;
- ``fields`` (readable whitelist) or ``hidden_fields`` (blacklist): which fields the role reads;
- ``writable_fields`` (whitelist) or ``readonly_fields`` (blacklist): which fields it writes.
  Read-only fields may be given when a record is created (the row filter still decides which
  values are allowed: ``owner`` must be the caller) but never changed afterwards.

A ``conditions`` mapping without any of these keys is read as a ``rows`` filter (the spec's
shorthand ``conditions={"owner_id": "$user.id"}``). ``admin`` implies every permission.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from xrepo._context import Permission
from xrepo.errors import XRepoConfigurationError

__all__ = ["CONDITION_KEYS", "ACLRule", "Permission"]

#: The reserved keys of ``ACLRule.conditions``.
CONDITION_KEYS = frozenset(
    {"rows", "fields", "hidden_fields", "writable_fields", "readonly_fields"}
)


def _names(value: Any, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset):
        raise ValueError(f"conditions[{key!r}] must be a list of field names")
    out = []
    for name in value:
        if not isinstance(name, str) or not name or "." in name or name.startswith("$"):
            raise ValueError(f"conditions[{key!r}]: {name!r} is not a top-level field name")
        out.append(name)
    return tuple(sorted(set(out)))


class ACLRule(BaseModel):
    """One grant: ``role`` may do ``permissions``, restricted by ``conditions``.

    Examples:
        >>> rule = ACLRule(role="viewer", permissions=["read", "list"],
        ...                conditions={"hidden_fields": ["ssn"]})
        >>> rule.grants(Permission.LIST), rule.grants(Permission.DELETE)
        (True, False)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = Field(min_length=1, max_length=200)
    permissions: tuple[Permission, ...] = Field(min_length=1)
    conditions: dict[str, Any] | None = None

    @field_validator("permissions", mode="before")
    @classmethod
    def _perms(cls, value: Any) -> Any:
        if isinstance(value, str | Permission):
            value = [value]
        return value

    @model_validator(mode="after")
    def _check_conditions(self) -> ACLRule:
        cond = self.conditions
        if cond is None:
            return self
        reserved = [k for k in cond if k in CONDITION_KEYS]
        if reserved and len(reserved) != len(cond):
            extra = sorted(str(k) for k in cond if k not in CONDITION_KEYS)
            raise ValueError(
                f"conditions mix reserved keys {sorted(reserved)} with {extra}; put a row "
                "filter under 'rows'"
            )
        if reserved:
            if "fields" in cond and "hidden_fields" in cond:
                raise ValueError("give 'fields' or 'hidden_fields', not both")
            if "writable_fields" in cond and "readonly_fields" in cond:
                raise ValueError("give 'writable_fields' or 'readonly_fields', not both")
            rows = cond.get("rows")
            if rows is not None and not isinstance(rows, Mapping):
                raise ValueError("conditions['rows'] must be a filter document (a dict)")
            for key in CONDITION_KEYS - {"rows"}:
                _names(cond.get(key), key)
        return self

    # -- accessors -----------------------------------------------------------------------------
    def grants(self, permission: Permission) -> bool:
        """Whether this rule allows ``permission`` (``admin`` allows everything)."""
        return Permission.ADMIN in self.permissions or permission in self.permissions

    @property
    def row_filter(self) -> Mapping[str, Any] | None:
        """The row-level filter (with ``$user`` placeholders), or ``None`` for every row."""
        cond = self.conditions
        if not cond:
            return None
        if any(k in CONDITION_KEYS for k in cond):
            rows = cond.get("rows")
            return rows if rows else None
        return cond

    def _get(self, key: str) -> tuple[str, ...] | None:
        cond = self.conditions
        if not cond or not any(k in CONDITION_KEYS for k in cond):
            return None
        return _names(cond.get(key), key)

    def readable(self, fields: frozenset[str]) -> frozenset[str]:
        """The fields among ``fields`` this rule lets its role read."""
        allowed = self._get("fields")
        if allowed is not None:
            return fields & frozenset(allowed)
        hidden = self._get("hidden_fields") or ()
        return fields - frozenset(hidden)

    def writable(self, fields: frozenset[str], *, creating: bool = False) -> frozenset[str]:
        """The fields among ``fields`` this rule lets its role write (never a hidden one);
        ``creating``: for a new record, where read-only fields may be set."""
        allowed = self._get("writable_fields")
        base = self.readable(fields)
        if allowed is not None:
            return base & frozenset(allowed)
        if creating:
            return base
        return base - frozenset(self._get("readonly_fields") or ())

    def check_fields(self, fields: frozenset[str], repo: str | None = None) -> None:
        """Raise ``XRepoConfigurationError`` when a condition names a field the model lacks."""
        named: set[str] = set()
        for key in CONDITION_KEYS - {"rows"}:
            named |= set(self._get(key) or ())
        unknown = sorted(named - fields)
        if unknown:
            raise XRepoConfigurationError(
                f"ACL rule for role {self.role!r} names unknown field(s) {unknown}; known: "
                + ", ".join(sorted(fields)),
                repo=repo,
                operation="configure acl",
            )
