"""``AuditEntry`` (one audited operation), ``AuditFilter`` (a query of the log) and the diff.

Entries are normalized when they are built: the timestamp is UTC, ``before``/``after``/
``changes``/``metadata`` are turned into JSON data (datetimes and Decimals become strings) with
every secret masked, so an entry reads back from any sink exactly as it was written and no sink
ever stores a password.
"""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_core import to_jsonable_python

from xobj_prototype import MASK, redact, redact_text
from xrepo.errors import XRepoValidationError

__all__ = [
    "AuditAction",
    "AuditEntry",
    "AuditFilter",
    "AuditOutcome",
    "diff_changes",
    "parse_filter",
    "timestamp_us",
]

_MAX_ERROR = 2000
_NAME = r"^[A-Za-z][A-Za-z0-9_.:\-]{0,63}$"


class AuditAction(enum.StrEnum):
    """The actions repositories record; any other name matching ``[A-Za-z][\\w.:-]*`` is fine."""

    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    LIST = "list"
    RESTORE = "restore"
    AGGREGATE = "aggregate"
    BULK_CREATE = "bulk_create"
    BULK_UPDATE = "bulk_update"
    BULK_DELETE = "bulk_delete"
    PERMISSION_DENIED = "permission_denied"


AuditOutcome = Literal["success", "failure", "denied"]


def _utc(value: _dt.datetime) -> _dt.datetime:
    # A naive timestamp is taken as UTC (what datetime.utcnow() of the spec's example gives).
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC)


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def timestamp_us(value: _dt.datetime) -> int:
    """Microseconds since the Unix epoch of an aware (or UTC naive) datetime: exact, sortable."""
    delta = _utc(value) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _json_data(value: Any, secret_fields: Iterable[str] = ()) -> Any:
    """JSON data with secrets masked: secret-looking keys, SecretStr, ``secret_fields``."""
    secrets = set(secret_fields)
    if secrets and isinstance(value, Mapping):
        value = {k: (MASK if k in secrets else v) for k, v in value.items()}
    masked = redact(value)  # before JSON: SecretStr must be masked, not dumped
    return to_jsonable_python(masked, fallback=repr)


def diff_changes(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    secret_fields: Iterable[str] = (),
) -> dict[str, Any]:
    """The fields that differ between two records: ``{field: {"from": old, "to": new}}``.

    Only changed fields appear (added and removed ones too, with ``None`` on the missing side).
    A secret field that changed appears as :data:`~xobj_prototype.MASK` instead of its two
    values: the log shows *that* it changed, never what it was or became.

    >>> diff_changes({"name": "Ada", "age": 36}, {"name": "Ada", "age": 37})
    {'age': {'from': 36, 'to': 37}}
    >>> diff_changes({"password": "a"}, {"password": "b"})
    {'password': '**********'}
    """
    old = dict(before or {})
    new = dict(after or {})
    secrets = set(secret_fields)
    out: dict[str, Any] = {}
    for field in sorted(old.keys() | new.keys(), key=str):
        a, b = old.get(field), new.get(field)
        if field in old and field in new and a == b:
            continue
        if field in secrets or (isinstance(field, str) and redact({field: 1})[field] == MASK):
            out[str(field)] = MASK
        else:
            out[str(field)] = {"from": _json_data(a), "to": _json_data(b)}
    return out


class AuditEntry(BaseModel):
    """One audited operation.

    Build it with :meth:`for_operation` to get ``changes`` computed and secrets masked; every
    field is validated either way.

    Examples:
        >>> e = AuditEntry.for_operation("update", user_id="u1", repo="users", entity_id=7,
        ...     before={"name": "Ada", "password": "x"}, after={"name": "Ada L.", "password": "y"})
        >>> e.changes["name"], e.changes["password"]
        ({'from': 'Ada', 'to': 'Ada L.'}, '**********')
        >>> e.after["password"]
        '**********'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)
    timestamp: _dt.datetime = Field(default_factory=_now)
    user_id: str | None = Field(default=None, max_length=255)
    roles: tuple[str, ...] = ()
    action: str = Field(pattern=_NAME, validation_alias=AliasChoices("action", "operation"))
    repo: str | None = Field(default=None, max_length=255)
    entity: str | None = Field(default=None, max_length=255)
    entity_id: str | None = Field(default=None, max_length=255)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    changes: dict[str, Any] | None = None
    outcome: AuditOutcome = "success"
    error: str | None = None
    request_id: str | None = Field(default=None, max_length=255)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def operation(self) -> str:
        """The specification's name for :attr:`action` (``entry.operation == "update"``).

        Read-only, and not a field: ``model_dump()`` and every sink store ``action`` only, so an
        entry reads back from a sink exactly as written. ``operation=`` is accepted when an
        entry is built, as the specification's example builds it.
        """
        return self.action

    @field_validator("timestamp")
    @classmethod
    def _to_utc(cls, value: _dt.datetime) -> _dt.datetime:
        return _utc(value)

    @field_validator("action", mode="before")
    @classmethod
    def _action_value(cls, value: Any) -> Any:
        return value.value if isinstance(value, enum.Enum) else value

    @field_validator("entity_id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        # Ids are ints, UUIDs, ObjectIds, strings: stored as text so every sink can filter them.
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool | Mapping | list | tuple | set):
            raise ValueError("entity_id must be a scalar id (str, int, UUID...)")
        return str(value)

    @field_validator("before", "after", "changes", "metadata", mode="before")
    @classmethod
    def _mask(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, BaseModel):
            value = value.model_dump()
        if not isinstance(value, Mapping):
            raise ValueError("must be a mapping")
        return _json_data(value)

    @field_validator("error", mode="before")
    @classmethod
    def _error_text(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, BaseException):
            value = f"{type(value).__name__}: {value}"
        text = redact_text(str(value))
        return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 3] + "..."

    @classmethod
    def for_operation(
        cls,
        action: str | AuditAction,
        *,
        before: Mapping[str, Any] | BaseModel | None = None,
        after: Mapping[str, Any] | BaseModel | None = None,
        secret_fields: Iterable[str] = (),
        **fields: Any,
    ) -> AuditEntry:
        """An entry with ``changes`` computed from ``before``/``after`` (changed fields only).

        ``secret_fields`` names fields masked in addition to the secret-looking ones
        (``password``, ``token``...). Raises ``XRepoValidationError`` for bad fields.
        """
        secrets = tuple(secret_fields)
        old = before.model_dump() if isinstance(before, BaseModel) else before
        new = after.model_dump() if isinstance(after, BaseModel) else after
        if old is not None and new is not None and "changes" not in fields:
            fields["changes"] = diff_changes(old, new, secret_fields=secrets)
        data = {
            "action": action,
            "before": None if old is None else _json_data(old, secrets),
            "after": None if new is None else _json_data(new, secrets),
            **fields,
        }
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _invalid(exc, "audit entry") from None

    def sort_key(self) -> tuple[_dt.datetime, str]:
        """Order of the log: by timestamp, then id (queries return newest first)."""
        return (self.timestamp, self.id)


def _invalid(exc: ValidationError, subject: str) -> XRepoValidationError:
    errors = [
        {"loc": ".".join(str(p) for p in e.get("loc", ())) or "(root)", "msg": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    listed = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
    return XRepoValidationError(f"invalid {subject}: {listed}", operation="audit", errors=errors)


class AuditFilter(BaseModel):
    """A query of the audit log; every condition given must hold. Newest entries first.

    ``action`` takes one name or several (``operation`` is accepted as the spec's spelling);
    ``since`` is inclusive, ``until`` exclusive.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str | None = None
    action: tuple[str, ...] | None = Field(
        default=None, validation_alias=AliasChoices("action", "operation", "actions")
    )
    repo: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    outcome: AuditOutcome | None = None
    since: _dt.datetime | None = None
    until: _dt.datetime | None = None
    limit: int = Field(default=100, ge=1, le=100_000)

    @field_validator("action", mode="before")
    @classmethod
    def _actions(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str | enum.Enum):
            value = [value]
        if not isinstance(value, list | tuple | set | frozenset) or not value:
            raise ValueError("action must be a name or a non-empty list of names")
        return tuple(v.value if isinstance(v, enum.Enum) else v for v in value)

    @field_validator("entity_id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return AuditEntry._id_text(value)

    @field_validator("since", "until")
    @classmethod
    def _to_utc(cls, value: _dt.datetime | None) -> _dt.datetime | None:
        return None if value is None else _utc(value)

    def matches(self, entry: AuditEntry) -> bool:
        """Whether ``entry`` satisfies every condition (the in-memory evaluation)."""
        return (
            (self.user_id is None or entry.user_id == self.user_id)
            and (self.action is None or entry.action in self.action)
            and (self.repo is None or entry.repo == self.repo)
            and (self.entity is None or entry.entity == self.entity)
            and (self.entity_id is None or entry.entity_id == self.entity_id)
            and (self.outcome is None or entry.outcome == self.outcome)
            and (self.since is None or entry.timestamp >= self.since)
            and (self.until is None or entry.timestamp < self.until)
        )

    def select(self, entries: Iterable[AuditEntry]) -> list[AuditEntry]:
        """The matching entries, newest first, at most ``limit``."""
        hits = [e for e in entries if self.matches(e)]
        hits.sort(key=AuditEntry.sort_key, reverse=True)
        return hits[: self.limit]


def parse_filter(
    filters: AuditFilter | Mapping[str, Any] | None = None, *, limit: int | None = None
) -> AuditFilter:
    """An :class:`AuditFilter` from a filter, a mapping or ``None``; ``limit`` overrides.

    Raises:
        XRepoValidationError: an unknown key or a value of the wrong type.
    """
    if isinstance(filters, AuditFilter):
        if limit is None:
            return filters
        filters = filters.model_dump()
    if filters is not None and not isinstance(filters, Mapping):
        raise XRepoValidationError(
            f"audit filters must be a mapping or an AuditFilter, got {type(filters).__name__}",
            operation="get_audit_log",
        )
    data = dict(filters or {})
    if limit is not None:
        data["limit"] = limit
    try:
        return AuditFilter.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, "audit filter") from None
