"""AuditRecord: the one audit record shape (normalization, masking, principal, hostile input)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from xobj_prototype import ANONYMOUS, MASK, SYSTEM, AuditRecord, Principal


class Action(enum.StrEnum):
    REGISTER = "register"


def test_for_principal_takes_id_roles_and_request_id() -> None:
    ada = Principal(id="ada", roles={"viewer", "admin"}, request_id="req-7")
    r = AuditRecord.for_principal(ada, Action.REGISTER, target_kind="function", target_name="f")
    assert (r.principal_id, r.roles, r.request_id) == ("ada", ("admin", "viewer"), "req-7")
    assert r.action == "register"
    assert r.outcome == "success"
    assert r.allowed
    anon = AuditRecord.for_principal(ANONYMOUS, "read")
    assert anon.principal_id is None
    assert anon.roles == ("anonymous",)
    nobody = AuditRecord.for_principal(None, "read")
    assert nobody.principal_id is None
    assert nobody.roles == ()
    assert AuditRecord.for_principal(SYSTEM, "refresh").principal_id == "system"


def test_for_principal_refuses_something_else() -> None:
    with pytest.raises(TypeError, match="got str"):
        AuditRecord.for_principal("ada", "read")  # type: ignore[arg-type]


def test_timestamps_are_utc_and_ids_unique() -> None:
    naive = dt.datetime(2026, 1, 2, 3, 4, 5)
    paris = dt.datetime(2026, 1, 2, 4, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    a = AuditRecord(action="x", timestamp=naive)
    b = AuditRecord(action="x", timestamp=paris)
    assert a.timestamp == b.timestamp
    assert a.timestamp.tzinfo is dt.UTC
    assert a.id != b.id
    assert sorted([b, a], key=AuditRecord.sort_key)[0].id == min(a.id, b.id)


def test_secrets_are_masked_everywhere_and_values_become_json() -> None:
    class Row(BaseModel):
        name: str
        password: str

    r = AuditRecord(
        action="update",
        before=Row(name="Ada", password="old-secret"),
        after={"name": "Ada", "password": SecretStr("new-secret"), "at": dt.date(2026, 1, 2)},
        changes={"password": MASK},
        details={"price": Decimal("1.50"), "api_key": "k-123", "tags": ("a", "b")},
        error="connect postgresql://app:pw-123@db/main failed",
    )
    dumped = r.model_dump_json()
    for secret in ("old-secret", "new-secret", "k-123", "pw-123"):
        assert secret not in dumped
    assert r.before == {"name": "Ada", "password": MASK}
    assert r.after == {"name": "Ada", "password": MASK, "at": "2026-01-02"}
    assert r.details == {"price": "1.50", "api_key": MASK, "tags": ["a", "b"]}
    # A record reads back exactly as it was written.
    assert AuditRecord.model_validate_json(dumped) == r


def test_errors_are_text_and_bounded() -> None:
    r = AuditRecord(action="x", outcome="failure", error=KeyError("missing"))
    assert r.error == "KeyError: 'missing'"
    assert r.allowed
    long = AuditRecord(action="x", error="e" * 5000)
    assert long.error is not None
    assert len(long.error) == 2000
    assert long.error.endswith("...")


def test_target_ids_are_text() -> None:
    u = uuid.uuid4()
    assert AuditRecord(action="x", target_id=7).target_id == "7"
    assert AuditRecord(action="x", target_id=u).target_id == str(u)


def test_user_id_is_accepted_for_principal_id_and_denied_is_not_allowed() -> None:
    r = AuditRecord.model_validate({"action": "delete", "user_id": "bob", "outcome": "denied"})
    assert r.principal_id == "bob"
    assert not r.allowed


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "action"),
        ({"action": ""}, "action"),
        ({"action": "drop table; --"}, "action"),
        ({"action": "é"}, "action"),
        ({"action": "x", "outcome": "maybe"}, "outcome"),
        ({"action": "x", "target_id": True}, "scalar id"),
        ({"action": "x", "target_id": {"a": 1}}, "scalar id"),
        ({"action": "x", "details": ["a"]}, "must be a mapping, got list"),
        ({"action": "x", "roles": {"*"}}, "every principal"),
        ({"action": "x", "principal_id": "u" * 256}, "principal_id"),
        ({"action": "x", "kind": "function"}, "Extra inputs are not permitted"),
    ],
)
def test_hostile_fields_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AuditRecord(**fields)


def test_records_are_frozen() -> None:
    r = AuditRecord(action="x")
    with pytest.raises(ValidationError):
        r.action = "y"  # type: ignore[misc]
