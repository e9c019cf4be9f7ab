"""AuditEntry, the change diff, secret masking and AuditFilter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from xobj_prototype import AuditRecord
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


# -- one record shape: AuditEntry is xobj_prototype.AuditRecord ---------------------------------
def test_an_entry_is_the_stacks_audit_record() -> None:
    entry = AuditEntry.for_operation(
        AuditAction.UPDATE,
        user_id="u1",
        roles=["viewer", "editor"],
        repo="users",
        entity="User",
        entity_id=7,
        metadata={"via": "api", "api_key": "k-1"},
    )
    assert isinstance(entry, AuditRecord)
    assert set(AuditEntry.model_fields) == set(AuditRecord.model_fields)
    assert (entry.principal_id, entry.target_name, entry.target_kind, entry.target_id) == (
        "u1",
        "users",
        "User",
        "7",
    )
    assert entry.details == {"via": "api", "api_key": MASK}
    # The repository's names still read the same values.
    assert (entry.user_id, entry.repo, entry.entity, entry.entity_id) == (
        "u1",
        "users",
        "User",
        "7",
    )
    assert entry.metadata is entry.details
    assert entry.operation == entry.action == "update"
    assert entry.roles == ("editor", "viewer")  # sorted, as every record's
    dumped = entry.model_dump()
    assert {"principal_id", "target_name", "target_kind", "target_id", "details"} <= set(dumped)
    assert not {"user_id", "repo", "entity", "entity_id", "metadata"} & set(dumped)


def test_the_record_names_build_an_entry_too() -> None:
    entry = AuditEntry(
        action="read", principal_id="ü-1", target_name="users", target_kind="User", target_id=3
    )
    assert (entry.user_id, entry.repo, entry.entity, entry.entity_id) == (
        "ü-1",
        "users",
        "User",
        "3",
    )
    assert AuditEntry(action="read", details=None).metadata == {}


def test_the_redeclared_fields_keep_the_records_constraints() -> None:
    # AuditEntry repeats five fields only to add the old names: the rules must stay the record's.
    for name in ("action", "target_name", "target_kind", "target_id", "details"):
        mine, theirs = AuditEntry.model_fields[name], AuditRecord.model_fields[name]
        assert mine.annotation == theirs.annotation, name
        assert repr(mine.metadata) == repr(theirs.metadata), name  # no __eq__ on all of them
        assert mine.is_required() == theirs.is_required(), name


@pytest.mark.parametrize(
    ("old", "new", "value"),
    [
        ("user_id", "principal_id", "u1"),
        ("repo", "target_name", "users"),
        ("entity", "target_kind", "User"),
        ("entity_id", "target_id", "7"),
        ("metadata", "details", {}),
        ("operation", "action", "read"),
    ],
)
def test_both_spellings_of_one_field_are_refused(old: str, new: str, value: Any) -> None:
    data = {"action": "read", old: value, new: value}
    with pytest.raises(ValidationError, match=old):
        AuditEntry.model_validate(data)


def test_an_entry_stored_under_the_old_names_still_reads_back(legacy_audit_payload: str) -> None:
    entry = AuditEntry.model_validate_json(legacy_audit_payload)
    assert (entry.user_id, entry.repo, entry.entity, entry.entity_id) == (
        "u1",
        "users",
        "User",
        "7",
    )
    assert entry.metadata == {"via": "api"}
    assert entry.request_id == "r-1"
    assert entry.timestamp == dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
    assert entry.changes == {"n": {"from": 1, "to": 2}, "password": MASK}
    # Written again, it takes the record's names and reads back equal.
    assert AuditEntry.model_validate_json(entry.model_dump_json()) == entry


def test_bad_old_names_are_refused_naming_the_spelling_given() -> None:
    with pytest.raises(XRepoValidationError, match="repo"):
        AuditEntry.for_operation("read", repo="r" * 256)
    with pytest.raises(XRepoValidationError, match="entity_id"):
        AuditEntry.for_operation("read", entity_id=[1])
    with pytest.raises(XRepoValidationError, match="metadata"):
        AuditEntry.for_operation("read", metadata="not a mapping")


def test_filters_take_both_spellings() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    entries = [
        AuditEntry(action="update", user_id=u, repo=r, entity="User", entity_id=i, timestamp=t0)
        for i, (u, r) in enumerate([("u1", "users"), ("u2", "users"), ("u1", "orders")])
    ]
    old = parse_filter({"user_id": "u1", "repo": "users", "entity": "User", "entity_id": 0})
    new = parse_filter(
        {"principal_id": "u1", "target_name": "users", "target_kind": "User", "target_id": 0}
    )
    assert old == new
    assert [e.entity_id for e in new.select(entries)] == ["0"]
    with pytest.raises(XRepoValidationError, match="entity_id"):
        parse_filter({"target_id": {"$ne": None}})
    with pytest.raises(XRepoValidationError):
        parse_filter({"user_id": "u1", "principal_id": "u2"})
