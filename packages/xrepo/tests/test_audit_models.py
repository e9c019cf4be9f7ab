"""AuditEntry, the change diff, secret masking and AuditFilter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from xrepo.audit import (
    AuditAction,
    AuditEntry,
    AuditFilter,
    diff_changes,
    parse_filter,
    timestamp_us,
)
from xrepo.errors import XRepoValidationError

MASK = "**********"


def test_defaults_id_and_utc_timestamp() -> None:
    a, b = AuditEntry(action="read"), AuditEntry(action=AuditAction.READ)
    assert a.id != b.id
    assert a.timestamp.tzinfo is dt.UTC
    assert b.action == "read"
    assert a.outcome == "success"


def test_timestamps_are_normalized_to_utc() -> None:
    naive = AuditEntry(action="read", timestamp=dt.datetime(2026, 1, 1, 12))
    assert naive.timestamp == dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    eastern = dt.timezone(dt.timedelta(hours=-5))
    shifted = AuditEntry(action="read", timestamp=dt.datetime(2026, 1, 1, 7, tzinfo=eastern))
    assert shifted.timestamp == dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    assert shifted.timestamp.utcoffset() == dt.timedelta(0)
    assert timestamp_us(naive.timestamp) == 1767268800 * 1_000_000


def test_the_spec_spelling_operation_is_accepted() -> None:
    assert AuditEntry.model_validate({"operation": "delete"}).action == "delete"


def test_changes_hold_changed_fields_only() -> None:
    before = {"id": 7, "name": "Ada", "age": 36, "tags": ["a"], "gone": 1}
    after = {"id": 7, "name": "Ada", "age": 37, "tags": ["a", "b"], "new": None}
    assert diff_changes(before, after) == {
        "age": {"from": 36, "to": 37},
        "gone": {"from": 1, "to": None},
        "new": {"from": None, "to": None},
        "tags": {"from": ["a"], "to": ["a", "b"]},
    }
    assert diff_changes(before, before) == {}
    assert diff_changes(None, {"a": 1}) == {"a": {"from": None, "to": 1}}


class Account(BaseModel):
    id: int
    owner: str
    api_key: SecretStr
    balance: Decimal
    pin: str


def test_secrets_are_masked_in_before_after_and_changes() -> None:
    old = Account(
        id=1, owner="Ada", api_key=SecretStr("k-old"), balance=Decimal("1.5"), pin="p-1111"
    )
    new = Account(id=1, owner="Ada", api_key=SecretStr("k-new"), balance=Decimal("2"), pin="p-2222")
    entry = AuditEntry.for_operation(
        "update",
        user_id="u1",
        repo="accounts",
        entity_id=1,
        before=old,
        after=new,
        secret_fields=["pin"],
    )
    text = entry.model_dump_json()
    for secret in ("k-old", "k-new", "p-1", "p-2"):
        assert secret not in text
    assert entry.before == {"id": 1, "owner": "Ada", "api_key": MASK, "balance": "1.5", "pin": MASK}
    assert entry.changes == {"api_key": MASK, "balance": {"from": "1.5", "to": "2"}, "pin": MASK}
    assert entry.entity_id == "1"


def test_secret_looking_keys_and_urls_are_masked_everywhere() -> None:
    entry = AuditEntry.for_operation(
        "create",
        after={"password": "hunter2", "dsn": "postgresql://app:hunter2@db/x", "author": "Ann"},
        # Not hex: the entry's random id is hex and once contained "abc".
        metadata={"token": "tok-zq9", "ip": "10.0.0.1"},
        error=ConnectionError("cannot reach redis://:hunter2@cache:6379"),
        outcome="failure",
    )
    assert "hunter2" not in entry.model_dump_json()
    assert "tok-zq9" not in entry.model_dump_json()
    assert entry.metadata["token"] == MASK
    assert entry.after is not None
    assert entry.after["author"] == "Ann"
    assert entry.error == f"ConnectionError: cannot reach redis://:{MASK}@cache:6379"


def test_long_errors_are_truncated() -> None:
    entry = AuditEntry(action="read", error="x" * 10_000)
    assert entry.error is not None
    assert len(entry.error) == 2000


def test_entries_are_json_data_and_round_trip() -> None:
    entry = AuditEntry.for_operation(
        "update",
        before={"when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "n": Decimal("1.10")},
        after={"when": dt.date(2026, 1, 2), "n": Decimal("1.10"), "weird": object()},
    )
    assert entry.changes is not None
    assert set(entry.changes) == {"when", "weird"}
    back = AuditEntry.model_validate_json(entry.model_dump_json())
    assert back == entry


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"action": ""}, "action"),
        ({"action": "drop table; --"}, "action"),
        ({"action": "x" * 65}, "action"),
        ({"action": "read", "entity_id": {"$gt": ""}}, "entity_id"),
        ({"action": "read", "entity_id": True}, "entity_id"),
        ({"action": "read", "outcome": "maybe"}, "outcome"),
        ({"action": "read", "before": ["not", "a", "mapping"]}, "before"),
        ({"action": "read", "user_id": "u" * 256}, "user_id"),
        ({"action": "read", "surprise": 1}, "surprise"),
    ],
)
def test_bad_entries_are_refused_naming_the_field(fields: dict[str, Any], where: str) -> None:
    action = fields.pop("action")
    with pytest.raises(XRepoValidationError) as info:
        AuditEntry.for_operation(action, **fields)
    assert where in str(info.value)


def test_filters_match_and_select_newest_first() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    entries = [
        AuditEntry(action=a, user_id=u, repo="users", entity_id=i, timestamp=t0 + dt.timedelta(i))
        for i, (a, u) in enumerate(
            [("create", "u1"), ("update", "u1"), ("update", "u2"), ("delete", "u1")]
        )
    ]
    flt = parse_filter({"user_id": "u1", "operation": ["update", "delete"]})
    assert [e.entity_id for e in flt.select(entries)] == ["3", "1"]
    span = parse_filter({"since": t0 + dt.timedelta(1), "until": t0 + dt.timedelta(3)})
    assert [e.entity_id for e in span.select(entries)] == ["2", "1"]
    assert [e.entity_id for e in parse_filter(None, limit=1).select(entries)] == ["3"]
    assert parse_filter({"entity_id": 2}).select(entries)[0].entity_id == "2"
    assert parse_filter(AuditFilter(limit=5), limit=2).limit == 2


@pytest.mark.parametrize(
    "filters",
    [
        {"user": "u1"},
        {"limit": 0},
        {"limit": 10**9},
        {"action": []},
        {"action": 5},
        {"since": "not a date"},
        {"entity_id": {"$ne": None}},
        ["user_id", "u1"],
    ],
)
def test_bad_filters_are_refused(filters: Any) -> None:
    with pytest.raises(XRepoValidationError):
        parse_filter(filters)
    with pytest.raises(XRepoValidationError):
        parse_filter(AuditFilter(), limit=0)
