"""xregistry reads the stack's one Principal and writes the one audit record shape."""

from __future__ import annotations

import httpx
import pytest

import xobj_prototype
from xregistry import (
    ANONYMOUS,
    SYSTEM,
    AuditAction,
    AuditEvent,
    AuditLog,
    FunctionPermission,
    Principal,
    RegistryPermissionError,
    RegistryValidationError,
    XRegistry,
)
from xregistry.api import ApiConfig, TokenConfig, create_app, hash_token
from xregistry.permissions import as_principal


def test_the_principal_is_the_stacks_own() -> None:
    assert Principal is xobj_prototype.Principal
    assert ANONYMOUS is xobj_prototype.ANONYMOUS
    assert SYSTEM is xobj_prototype.SYSTEM


def test_as_principal_maps_role_names_and_none() -> None:
    assert as_principal(None) is ANONYMOUS
    assert as_principal("anonymous") is ANONYMOUS
    clerk = as_principal("clerk")
    assert (clerk.id, clerk.roles) == ("clerk", frozenset({"clerk"}))
    ada = Principal(id="ada", roles={"admin"})
    assert as_principal(ada) is ada


@pytest.mark.parametrize("bad", ["", "*", "x" * 101, "a\nb", 42, ["admin"]])
def test_as_principal_refuses_what_is_no_role_name(bad: object) -> None:
    with pytest.raises(RegistryValidationError):
        as_principal(bad)  # type: ignore[arg-type]


def test_audit_events_are_audit_records_with_the_registry_names() -> None:
    log = AuditLog()
    ada = Principal(id="ada", roles={"viewer", "admin"}, request_id="req-1")
    event = log.record(
        AuditAction.EXECUTE, "function", "f", principal=ada, details={"api_key": "k-9"}
    )
    assert isinstance(event, xobj_prototype.AuditRecord)
    assert (event.target_kind, event.target_name) == ("function", "f")
    assert (event.kind, event.name, event.principal) == ("function", "f", "ada")
    assert (event.principal_id, event.roles, event.request_id) == (
        "ada",
        ("admin", "viewer"),
        "req-1",
    )
    assert event.details == {"api_key": xobj_prototype.MASK}
    assert event.action is AuditAction.EXECUTE
    assert event.outcome == "success"
    assert event.allowed


def test_anonymous_system_and_denied_events() -> None:
    log = AuditLog()
    anon = log.record(AuditAction.ACCESS, "model", "m", principal=ANONYMOUS)
    system = log.record(AuditAction.REGISTER, "model", "m", trusted=True, details={"n": 1})
    denied = log.record(AuditAction.DENIED, "model", "m", principal=ANONYMOUS, allowed=False)
    assert anon is not None
    assert system is not None
    assert denied is not None
    assert (anon.principal_id, anon.principal, anon.roles) == (None, "anonymous", ("anonymous",))
    assert (system.principal_id, system.principal, system.roles) == ("system", "system", ())
    assert system.action is AuditAction.REGISTER
    assert (denied.outcome, denied.allowed) == ("denied", False)
    assert [e.name for e in log.events(principal="anonymous")] == ["m", "m"]
    assert log.events(allowed=False) == [denied]


def test_events_can_be_built_with_the_registry_names_and_read_back_from_json() -> None:
    event = AuditEvent.model_validate(
        {"action": "denied", "kind": "function", "name": "f", "principal": "bob", "allowed": False}
    )
    assert (event.target_name, event.principal_id, event.outcome) == ("f", "bob", "denied")
    again = AuditEvent.model_validate_json(event.model_dump_json())
    assert again == event
    assert again.action is AuditAction.DENIED
    with pytest.raises(ValueError, match="action"):
        AuditEvent(action="format_disk", target_kind="function", target_name="f")


async def test_a_refused_execution_names_the_anonymous_caller() -> None:
    registry = XRegistry()

    @registry.functions.register(permissions={"admin": {FunctionPermission.EXECUTE}})
    def reset() -> str:
        return "done"

    with pytest.raises(RegistryPermissionError, match="'anonymous'"):
        await registry.execute("reset")
    denied = registry.audit.events(action=AuditAction.DENIED)
    assert [(e.name, e.principal, e.principal_id) for e in denied] == [("reset", "anonymous", None)]
    ok = await registry.execute("reset", principal=Principal(id="root", roles={"admin"}))
    assert ok == "done"
    assert registry.functions.get("reset").metadata.registered_by == "system"


async def test_the_audit_endpoint_answers_the_record_shape() -> None:
    registry = XRegistry()
    registry.audit.record(
        AuditAction.DENIED,
        "function",
        "reset",
        principal=Principal(id="eve", roles={"guest"}),
        allowed=False,
        details={"password": "hunter2"},
    )
    token = "t0ken-for-the-audit-test"
    config = ApiConfig(
        tokens=[TokenConfig(id="ada", roles=["admin"], token_hash=hash_token(token))]
    )
    app = create_app(registry, config=config)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        response = await client.get("/api/audit", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    [event] = response.json()
    assert {k: event[k] for k in ("action", "principal_id", "roles", "outcome")} == {
        "action": "denied",
        "principal_id": "eve",
        "roles": ["guest"],
        "outcome": "denied",
    }
    assert (event["target_kind"], event["target_name"]) == ("function", "reset")
    assert event["details"] == {"password": xobj_prototype.MASK}
    assert AuditEvent.model_validate(event).principal == "eve"
