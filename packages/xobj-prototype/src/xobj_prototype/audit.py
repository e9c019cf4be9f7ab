"""The one audit record shape of the stack: who did what to which target, when, and how it ended.

Registries and repositories record their operations as :class:`AuditRecord` s, so one sink, one
query and one screen read both. A record is normalized when it is built: the timestamp is UTC,
``before``/``after``/``changes``/``details`` become JSON data (datetimes and Decimals turn into
strings) with every secret masked, and ``error`` is redacted text; so a record reads back from any
sink exactly as it was written, and no sink ever stores a password.
"""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import to_jsonable_python

from xobj_prototype.principal import Principal, check_roles
from xobj_prototype.redaction import redact, redact_text

__all__ = ["AuditOutcome", "AuditRecord"]

#: How an audited operation ended: done, failed with an error, or refused by access control.
AuditOutcome = Literal["success", "failure", "denied"]

_MAX_ERROR = 2000
_MAX_TEXT = 255
_ACTION = r"^[A-Za-z][A-Za-z0-9_.:\-]{0,63}$"


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _utc(value: _dt.datetime) -> _dt.datetime:
    # A naive timestamp is taken as UTC (what datetime.utcnow() gives).
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC)


class AuditRecord(BaseModel):
    """One audited operation.

    Fields:
        id: the record's own id (a random hex string unless given).
        timestamp: when it happened, UTC (a naive value is taken as UTC).
        principal_id: who acted (``None``: an anonymous caller); ``user_id=`` is accepted too.
        roles: the roles the principal held, sorted.
        request_id: the request the operation belonged to.
        action: what was done: a name such as ``"register"``, ``"update"``, ``"bulk_delete"``
            (letters, digits, ``_ . : -``; an enum member gives its value).
        outcome: ``"success"``, ``"failure"`` (see ``error``) or ``"denied"``.
        target_kind: the sort of thing acted on (``"function"``, ``"model"``, an entity name).
        target_name: which one, by name (a registered name, a repository).
        target_id: which one, by id (an int, UUID or ObjectId is stored as text).
        before, after: the target's state around a change, when the recorder has it.
        changes: what changed (``{field: {"from": old, "to": new}}``, a secret one as a mask).
        details: anything else the recorder knows (counts, paths, flags).
        error: what went wrong, for a failure (an exception gives ``"Type: message"``).

    Build it with :meth:`for_principal` to take ``principal_id``, ``roles`` and ``request_id``
    from a :class:`~xobj_prototype.Principal`. A bad field raises pydantic's ``ValidationError``
    naming the field.

    Examples:
        >>> from xobj_prototype import Principal
        >>> ada = Principal(id="ada", roles={"admin"}, request_id="r-1")
        >>> r = AuditRecord.for_principal(ada, "update", target_kind="User", target_id=7,
        ...                              details={"password": "hunter2", "fields": 2})
        >>> r.principal_id, r.roles, r.target_id, r.details
        ('ada', ('admin',), '7', {'password': '**********', 'fields': 2})
        >>> r.allowed
        True
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)
    timestamp: _dt.datetime = Field(default_factory=_now)
    principal_id: str | None = Field(
        default=None, max_length=_MAX_TEXT, validation_alias=AliasChoices("principal_id", "user_id")
    )
    roles: tuple[str, ...] = ()
    request_id: str | None = Field(default=None, max_length=_MAX_TEXT)
    action: str = Field(pattern=_ACTION)
    outcome: AuditOutcome = "success"
    target_kind: str | None = Field(default=None, max_length=_MAX_TEXT)
    target_name: str | None = Field(default=None, max_length=_MAX_TEXT)
    target_id: str | None = Field(default=None, max_length=_MAX_TEXT)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    changes: dict[str, Any] | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None

    @field_validator("timestamp")
    @classmethod
    def _to_utc(cls, value: _dt.datetime) -> _dt.datetime:
        return _utc(value)

    @field_validator("action", mode="before")
    @classmethod
    def _action_value(cls, value: Any) -> Any:
        return value.value if isinstance(value, enum.Enum) else value

    @field_validator("roles", mode="before")
    @classmethod
    def _sorted_roles(cls, value: Any) -> tuple[str, ...]:
        return tuple(sorted(check_roles(value)))

    @field_validator("target_id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        # Ids are ints, UUIDs, ObjectIds, strings: stored as text so every sink can filter them.
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool | Mapping | list | tuple | set | frozenset | bytes):
            raise ValueError(
                f"target_id must be a scalar id (str, int, UUID...), got {type(value).__name__}"
            )
        return str(value)

    @field_validator("before", "after", "changes", "details", mode="before")
    @classmethod
    def _masked_json(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return {} if info.field_name == "details" else None
        if isinstance(value, BaseModel):
            value = value.model_dump()
        if not isinstance(value, Mapping):
            raise ValueError(f"must be a mapping, got {type(value).__name__}")
        # Mask before turning into JSON: a SecretStr must be masked, not dumped.
        return to_jsonable_python(redact(dict(value)), fallback=repr)

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
    def for_principal(
        cls, principal: Principal | None, action: str | enum.Enum, **fields: Any
    ) -> AuditRecord:
        """A record of ``action`` by ``principal`` (``None``: anonymous, no roles).

        ``principal_id``, ``roles`` and ``request_id`` come from the principal; every other
        field is a keyword argument.
        """
        if principal is not None and not isinstance(principal, Principal):
            raise TypeError(
                f"principal must be an xobj_prototype.Principal or None, "
                f"got {type(principal).__name__}"
            )
        who: dict[str, Any] = {}
        if principal is not None:
            who = {
                "principal_id": principal.id,
                "roles": principal.roles,
                "request_id": principal.request_id,
            }
        return cls.model_validate({**who, **fields, "action": action})

    @property
    def allowed(self) -> bool:
        """Whether access control let the operation through (``outcome != "denied"``)."""
        return self.outcome != "denied"

    def sort_key(self) -> tuple[_dt.datetime, str]:
        """Order of a log: by timestamp, then id."""
        return (self.timestamp, self.id)
