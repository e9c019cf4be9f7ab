"""XRegistry: the shared namespace, delegation, configuration from Dynaconf, the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from xobj_prototype import XConfigurationError, XNotFoundError
from xregistry import (
    AuditAction,
    AuditLog,
    RegistryConfig,
    RegistryConflictError,
    RegistryNotFoundError,
    RegistryValidationError,
    XRegistry,
    default_registry,
    load_config,
    register_function,
)


class User(BaseModel):
    name: str


def test_one_namespace_for_every_kind(registry: XRegistry) -> None:
    @registry.register_function(namespace="auth")
    def login(user: str) -> bool:
        return bool(user)

    registry.register_model(User, namespace="auth")
    registry.types.create_constraint_type("UserName", str, min_length=1, namespace="auth")
    assert registry.find("ns.*.auth.*") == [
        "ns.functions.auth.login",
        "ns.models.auth.User",
        "ns.types.auth.UserName",
    ]
    assert registry.resolve("ns.models.auth.User").metadata.name == "User"  # type: ignore[union-attr]
    assert registry.summary() == {"functions": 1, "models": 1, "types": 1}
    assert registry.get_model("User") is User
    assert registry.validate("UserName", "ada") == "ada"
    with pytest.raises(RegistryNotFoundError) as exc:
        registry.resolve("ns.models.auth.Usr")
    assert "did you mean ns.models.auth.User" in str(exc.value)
    assert isinstance(exc.value, XNotFoundError)
    with pytest.raises(RegistryValidationError):
        registry.find("")
    # The model registry sees only models in the shared index.
    assert [m.metadata.name for m in registry.models.find_by_namespace("ns.*")] == ["User"]


def test_names_are_unique_per_kind_not_across_kinds(registry: XRegistry) -> None:
    registry.register_model(User, namespace="x")
    registry.models.register(User, name="User2", namespace="x")  # another name is fine
    with pytest.raises(RegistryConflictError):
        registry.models.register(User, namespace="y")

    def make_user() -> None:
        return None

    # A function may share a model's name: names are unique within a kind.
    registry.functions.register(make_user, name="User", namespace="x")
    assert registry.find("ns.*.x.User") == ["ns.functions.x.User", "ns.models.x.User"]


def test_default_registry_and_decorator(registry: XRegistry) -> None:
    assert default_registry() is registry

    @register_function(namespace="util")
    def ping() -> str:
        return "pong"

    assert registry.functions.get("ping").metadata.ns_path == "ns.functions.util.ping"


async def test_execute_delegates(registry: XRegistry) -> None:
    @registry.register_function(namespace="math")
    def square(x: int) -> int:
        return x * x

    assert await registry.execute("square", [7]) == 49
    assert registry.functions.get("square").call_count == 1


def test_audit_log_is_bounded_and_filterable() -> None:
    log = AuditLog(max_events=3)
    for i in range(5):
        log.record(AuditAction.REGISTER, "function", f"f{i}", details={"password": "hunter2"})
    assert [e.name for e in log.events()] == ["f2", "f3", "f4"]
    assert log.events()[0].details == {"password": "**********"}
    assert [e.name for e in log.events(limit=1)] == ["f4"]
    seen = []
    unsubscribe = log.subscribe(seen.append)
    log.record(AuditAction.DENIED, "model", "m", allowed=False)
    unsubscribe()
    log.record(AuditAction.DENIED, "model", "m2", allowed=False)
    assert [e.name for e in seen] == ["m"]
    assert [e.name for e in log.events(allowed=False)] == ["m", "m2"]
    log.resize(1)
    assert len(log) == 1
    with pytest.raises(ValueError):
        AuditLog(max_events=0)


def test_audit_can_be_disabled() -> None:
    registry = XRegistry(RegistryConfig.model_validate({"audit": {"enabled": False}}))
    registry.register_model(User)
    assert len(registry.audit) == 0


# -- configuration --------------------------------------------------------------------------------
SETTINGS = """
[default.registry]
namespace_prefix = "app"
allow_override = false

[default.registry.functions]
default_permissions = ["execute", "view"]
execution_timeout = 5
max_call_history = 50

[default.registry.models]
max_version_history = 4
auto_generate_ui = false

[default.registry.types]
validate_on_register = false

[default.registry.audit]
max_events = 20

[production.registry.models]
max_version_history = 2
"""


def test_config_from_files_environments_and_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "settings.toml").write_text(SETTINGS)
    (tmp_path / ".secrets.toml").write_text("[default.registry.enrichment]\nsample_size = 7\n")
    monkeypatch.delenv("XREGISTRY_ENV", raising=False)
    config = load_config(root=tmp_path)
    assert config.namespace_prefix == "app"
    assert config.functions.default_permissions == {"*": ["execute", "view"]}
    assert config.functions.execution_timeout == 5
    assert config.models.max_version_history == 4
    assert config.enrichment.sample_size == 7
    assert load_config(root=tmp_path, environment="production").models.max_version_history == 2
    monkeypatch.setenv("XREGISTRY_REGISTRY__MODELS__MAX_VERSION_HISTORY", "9")
    assert load_config(root=tmp_path).models.max_version_history == 9
    monkeypatch.setenv("XREGISTRY_ENV", "production")
    assert load_config(root=tmp_path).models.max_version_history == 9  # variables win


def test_config_is_applied_to_every_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "settings.toml").write_text(SETTINGS)
    monkeypatch.delenv("XREGISTRY_ENV", raising=False)
    registry = XRegistry.from_settings(root=tmp_path)

    @registry.register_function(namespace="x")
    def f() -> None:
        return None

    registered = registry.functions.get("f")
    assert registered.metadata.ns_path == "app.functions.x.f"
    assert registered._tracker.recent.maxlen == 50
    assert registered.can("anyone", registered.metadata.permissions["*"].__iter__().__next__())
    model = registry.register_model(User, namespace="x")
    assert model.metadata.ns_path == "app.models.x.User"
    assert model.metadata.ui_schema is None
    assert registry.models.version_history["User"].maxlen == 4
    assert registry.audit.max_events == 20
    assert registry.get_enriched().config.sample_size == 100
    with pytest.raises(RegistryValidationError):  # the prefix is fixed once items exist
        registry.configure(RegistryConfig(namespace_prefix="other"))


def test_bad_settings_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XREGISTRY_ENV", raising=False)
    (tmp_path / "settings.toml").write_text("[default.registry.models]\nmax_version_history = -1\n")
    with pytest.raises(XConfigurationError) as exc:
        load_config(root=tmp_path)
    assert "models.max_version_history" in str(exc.value)
    (tmp_path / "settings.toml").write_text("[default.registry.functions]\nbogus = 1\n")
    with pytest.raises(XConfigurationError) as exc:
        load_config(root=tmp_path)
    assert "functions.bogus" in str(exc.value)
    (tmp_path / "settings.toml").write_text("[default.registry\n")
    with pytest.raises(XConfigurationError):
        load_config(root=tmp_path)
    with pytest.raises(XConfigurationError):
        load_config(root=tmp_path / "nowhere", overrides={"namespace_prefix": "a.b"})


def test_resolve_unknown(registry: XRegistry) -> None:
    with pytest.raises(XNotFoundError):
        registry.resolve("ns.functions.none")
    with pytest.raises(RegistryNotFoundError):
        registry.get_model("None")


def test_reads_are_audited_unless_switched_off() -> None:
    registry = XRegistry()
    registry.register_model(User, namespace="auth")
    registry.models.get("User", principal="reader")
    registry.models.find_by_namespace("ns.models.*")
    registry.types.create_constraint_type("Code", str, min_length=1)
    registry.validate("Code", "x")
    reads = [
        (e.action.value, e.name, e.principal, e.details.get("count"))
        for e in registry.audit.events()
        if e.action.value in ("access", "find", "validate")
    ]
    assert reads == [
        ("access", "User", "reader", None),
        ("find", "ns.models.*", "system", 1),
        ("validate", "Code", "system", None),
    ]
    quiet = XRegistry(RegistryConfig.model_validate({"audit": {"audit_reads": False}}))
    quiet.register_model(User)
    quiet.models.get("User")
    assert [e.action.value for e in quiet.audit.events()] == ["register"]
