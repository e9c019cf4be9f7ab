"""``AuditEntry`` (one audited operation), ``AuditFilter`` (a query of the log) and the diff.

An entry is an :class:`xobj_prototype.AuditRecord`, normalized when it is built: the timestamp is
UTC, ``before``/``after``/``changes``/``details`` are turned into JSON data (datetimes and Decimals
become strings) with every secret masked, so an entry reads back from any sink exactly as it was
written and no sink ever stores a password.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_core import to_jsonable_python

from xobj_prototype import MASK, AuditOutcome, AuditRecord, redact
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


class AuditEntry(AuditRecord):
    """One audited repository operation: an :class:`xobj_prototype.AuditRecord`.

    The stack has one audit record shape; an entry *is* that record, so one sink, one query and
    one screen read what repositories and registries write. The repository names of its fields
    are accepted when an entry is built (``user_id=``, ``repo=``, ``entity=``, ``entity_id=``,
    ``metadata=``, ``operation=``) and read back as properties:

    ================  =================
    repository name   record field
    ================  =================
    ``user_id``       ``principal_id``
    ``operation``     ``action``
    ``repo``          ``target_name``
    ``entity``        ``target_kind``
    ``entity_id``     ``target_id`` (an id as text: ``7`` reads back as ``"7"``)
    ``metadata``      ``details``
    ================  =================

    ``model_dump()`` and every sink's payload use the record's names; a payload stored under the
    repository names (before xrepo 0.x moved to the record) still validates. Giving both
    spellings of one field (``repo=`` and ``target_name=``) is refused naming the extra one.

    Build it with :meth:`for_operation` to get ``changes`` computed and secrets masked; every
    field is validated either way.

    Examples:
        >>> e = AuditEntry.for_operation("update", user_id="u1", repo="users", entity_id=7,
        ...     before={"name": "Ada", "password": "x"}, after={"name": "Ada L.", "password": "y"})
        >>> e.changes["name"], e.changes["password"]
        ({'from': 'Ada', 'to': 'Ada L.'}, '**********')
        >>> e.after["password"]
        '**********'
        >>> (e.principal_id, e.target_name, e.target_id) == (e.user_id, e.repo, e.entity_id)
        True
    """

    # The record's fields again, with the same constraints (a unit test checks they match),
    # only to accept the repository's names too. ``principal_id`` takes ``user_id`` already.
    action: str = Field(pattern=_NAME, validation_alias=AliasChoices("action", "operation"))
    target_name: str | None = Field(
        default=None, max_length=255, validation_alias=AliasChoices("target_name", "repo")
    )
    target_kind: str | None = Field(
        default=None, max_length=255, validation_alias=AliasChoices("target_kind", "entity")
    )
    target_id: str | None = Field(
        default=None, max_length=255, validation_alias=AliasChoices("target_id", "entity_id")
    )
    details: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("details", "metadata")
    )

    @property
    def operation(self) -> str:
        """The specification's name for :attr:`action` (``entry.operation == "update"``).

        Read-only, and not a field: ``model_dump()`` and every sink store ``action`` only, so an
        entry reads back from a sink exactly as written. ``operation=`` is accepted when an
        entry is built, as the specification's example builds it.
        """
        return self.action

    @property
    def user_id(self) -> str | None:
        """Who acted: :attr:`principal_id` (``None``: an anonymous caller)."""
        return self.principal_id

    @property
    def repo(self) -> str | None:
        """The repository's name: :attr:`target_name`."""
        return self.target_name

    @property
    def entity(self) -> str | None:
        """The model's name: :attr:`target_kind`."""
        return self.target_kind

    @property
    def entity_id(self) -> str | None:
        """The row's id as text: :attr:`target_id` (an int id ``7`` reads ``"7"``, as before)."""
        return self.target_id

    @property
    def metadata(self) -> dict[str, Any]:
        """Anything else the repository recorded: :attr:`details`."""
        return self.details

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
    ``since`` is inclusive, ``until`` exclusive. Each condition takes the repository's name or
    the :class:`~xobj_prototype.AuditRecord` field's: ``user_id`` or ``principal_id``, ``repo``
    or ``target_name``, ``entity`` or ``target_kind``, ``entity_id`` or ``target_id``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The repository's names stay the fields: they are the sinks' indexed columns.
    user_id: str | None = Field(
        default=None, validation_alias=AliasChoices("user_id", "principal_id")
    )
    action: tuple[str, ...] | None = Field(
        default=None, validation_alias=AliasChoices("action", "operation", "actions")
    )
    repo: str | None = Field(default=None, validation_alias=AliasChoices("repo", "target_name"))
    entity: str | None = Field(default=None, validation_alias=AliasChoices("entity", "target_kind"))
    entity_id: str | None = Field(
        default=None, validation_alias=AliasChoices("entity_id", "target_id")
    )
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
        # The same rule as the entry's id: a scalar id compared as text.
        try:
            return AuditEntry._id_text(value)
        except ValueError:
            raise ValueError(
                f"entity_id must be a scalar id (str, int, UUID...), got {type(value).__name__}"
            ) from None

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
