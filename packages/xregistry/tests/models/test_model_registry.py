"""ModelRegistry: the document's tests in Pydantic v2 form, versions, migrations, permissions,
external schemas and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from xregistry import (
    ModelPermission,
    ModelRegistry,
    ModelSource,
    Principal,
    RegistryConflictError,
    RegistryNotFoundError,
    RegistryPermissionError,
    RegistryValidationError,
    XRegistry,
)
from xregistry.config import ModelRegistryConfig


class SampleModel(BaseModel):
    """Test model"""

    name: str = Field(min_length=1)
    value: int = Field(gt=0)


FULL = {
    "admin": {
        ModelPermission.CREATE,
        ModelPermission.READ,
        ModelPermission.UPDATE,
        ModelPermission.DELETE,
    },
    "user": {ModelPermission.READ},
}


# -- the document's examples ----------------------------------------------------------------------
def test_static_model_registration(model_registry: ModelRegistry) -> None:
    registered = model_registry.register_static_model(
        SampleModel, namespace="test", tags={"test", "example"}
    )
    assert registered.metadata.source == ModelSource.STATIC
    assert registered.metadata.name == "SampleModel"
    assert "test" in registered.metadata.tags
    assert registered.model_class is SampleModel
    assert registered.metadata.ns_path == "ns.models.test.SampleModel"
    assert registered.metadata.description == "Test model"
    assert registered.metadata.json_schema["properties"]["value"]["exclusiveMinimum"] == 0
    assert registered.metadata.fields_schema["fields"]["value"] == {
        "type": "int",
        "required": True,
        "nullable": False,
    }
    assert registered.metadata.ui_schema is not None
    assert model_registry.get_by_namespace("ns.models.test.SampleModel") is registered
    # Default permissions: everyone may read and list.
    assert model_registry.check_access("SampleModel", "read", "anyone")
    assert not model_registry.check_access("SampleModel", "delete", "anyone")


def test_model_versioning(model_registry: ModelRegistry) -> None:
    model_registry.register_static_model(SampleModel, name="VersionedModel")

    class UpdatedModel(BaseModel):
        name: str
        value: int
        description: str = ""  # new field

    updated = model_registry.update_model("VersionedModel", UpdatedModel, version="2.0.0")
    assert updated.metadata.version == "2.0.0"
    assert updated.model_class is UpdatedModel
    assert len(model_registry.version_history["VersionedModel"]) == 2
    (evolution,) = model_registry.history("VersionedModel")
    assert (evolution.from_version, evolution.to_version) == ("1.0.0", "2.0.0")
    assert [(c["type"], c["field"]) for c in evolution.changes] == [("field_added", "description")]
    # The old class is still there, by version.
    assert model_registry.get_version("VersionedModel", "1.0.0").model_class is SampleModel


def test_model_permissions(model_registry: ModelRegistry) -> None:
    registered = model_registry.register_static_model(SampleModel, permissions=FULL)
    admin_perms = registered.metadata.permissions["admin"]
    assert ModelPermission.CREATE in admin_perms
    assert ModelPermission.DELETE in admin_perms
    user_perms = registered.metadata.permissions["user"]
    assert ModelPermission.READ in user_perms
    assert ModelPermission.CREATE not in user_perms


def test_document_usage_example() -> None:
    class User(BaseModel):
        """User model"""

        id: str
        name: str = Field(min_length=1, max_length=100)
        email: str
        is_active: bool = True

    registry = ModelRegistry()
    registry.register_static_model(
        User, namespace="auth", tags={"user", "authentication"}, permissions=FULL
    )
    assert [m.metadata.name for m in registry.find_by_tag("authentication")] == ["User"]
    assert registry.get_by_namespace("ns.models.auth.User").model_class is User
    assert registry.check_access("User", "create", "admin")
    assert registry.check_access("User", "delete", "admin")
    assert registry.check_access("User", "read", "user")
    assert not registry.check_access("User", "delete", "user")


# -- versions -------------------------------------------------------------------------------------
def test_version_numbers_follow_the_changes(model_registry: ModelRegistry) -> None:
    model_registry.register_static_model(SampleModel, name="M")

    class Added(BaseModel):
        name: str
        value: int
        note: str | None = None

    class Removed(BaseModel):
        name: str
        note: str | None = None

    class Retyped(BaseModel):
        name: int
        note: str | None = None

    assert model_registry.update_model("M", Added).metadata.version == "1.1.0"
    assert model_registry.update_model("M", Removed).metadata.version == "2.0.0"
    assert model_registry.update_model("M", Retyped).metadata.version == "3.0.0"
    assert model_registry.update_model("M", Retyped).metadata.version == "3.0.1"  # no change
    kinds = [c["type"] for e in model_registry.history("M") for c in e.changes]
    assert kinds == ["field_added", "field_removed", "type_changed"]


def test_versions_must_go_forward(model_registry: ModelRegistry) -> None:
    model_registry.register_static_model(SampleModel, name="M", version="2.0.0")
    with pytest.raises(RegistryValidationError):
        model_registry.update_model("M", SampleModel, version="1.9.9")
    with pytest.raises(RegistryValidationError):
        model_registry.update_model("M", SampleModel, version="two")
    with pytest.raises(RegistryValidationError):
        model_registry.update_model("M", dict)  # type: ignore[arg-type]
    with pytest.raises(RegistryNotFoundError):
        model_registry.update_model("Nope", SampleModel)
    assert model_registry.get("M").metadata.version == "2.0.0"


def test_version_history_is_bounded() -> None:
    registry = ModelRegistry(config=ModelRegistryConfig(max_version_history=3))
    registry.register_static_model(SampleModel, name="M")
    for _ in range(6):
        registry.update_model("M", SampleModel)
    assert [v.version for v in registry.version_history["M"]] == ["1.0.4", "1.0.5", "1.0.6"]
    assert len(registry.history("M")) == 3
    with pytest.raises(RegistryNotFoundError) as exc:
        registry.get_version("M", "1.0.0")
    assert "kept" in str(exc.value)


def test_migration_hooks_carry_old_records_forward(model_registry: ModelRegistry) -> None:
    class V1(BaseModel):
        full_name: str

    class V2(BaseModel):
        first: str
        last: str

    class V3(BaseModel):
        first: str
        last: str
        active: bool

    def split(record: dict[str, Any]) -> dict[str, Any]:
        first, _, last = record.pop("full_name").partition(" ")
        return {**record, "first": first, "last": last}

    model_registry.register_static_model(V1, name="Person")
    model_registry.update_model("Person", V2, migration=split, migration_script="split name")
    model_registry.update_model("Person", V3)
    model_registry.register_migration("Person", "2.0.0", "3.0.0", lambda r: {**r, "active": True})
    migrated = model_registry.migrate("Person", {"full_name": "Ada Lovelace"}, "1.0.0")
    assert isinstance(migrated, V3)
    assert (migrated.first, migrated.last, migrated.active) == ("Ada", "Lovelace", True)
    assert model_registry.history("Person")[0].migration_script == "split name"
    assert model_registry.history("Person")[0].has_migration
    v2 = model_registry.migrate("Person", {"full_name": "Ada Lovelace"}, "1.0.0", "2.0.0")
    assert isinstance(v2, V2)


def test_migration_errors_are_clear(model_registry: ModelRegistry) -> None:
    class V1(BaseModel):
        a: int

    class V2(BaseModel):
        a: int
        b: int

    model_registry.register_static_model(V1, name="Thing")
    model_registry.update_model("Thing", V2, migration=lambda r: {**r, "b": 1 // r["a"]})
    with pytest.raises(RegistryValidationError) as exc:
        model_registry.migrate("Thing", {"a": 0}, "1.0.0")
    assert "ZeroDivisionError" in str(exc.value)
    with pytest.raises(RegistryNotFoundError):
        model_registry.migrate("Thing", {"a": 1}, "0.5.0")
    with pytest.raises(RegistryValidationError):
        model_registry.register_migration("Thing", "2.0.0", "1.0.0", lambda r: r)
    with pytest.raises(RegistryValidationError):  # the hook's result does not validate
        model_registry.migrate("Thing", {"a": "x"}, "1.0.0")


# -- permissions ----------------------------------------------------------------------------------
def test_access_checks_are_audited_and_unknowns_answer_false() -> None:
    registry = XRegistry()
    registry.models.register_static_model(SampleModel, permissions=FULL)
    assert registry.check_access("SampleModel", "UPDATE", "admin")
    assert not registry.check_access("SampleModel", "update", "user")
    assert not registry.check_access("Missing", "read", "admin")
    assert not registry.check_access("SampleModel", "launch", "admin")
    answers = [
        (e.name, e.allowed)
        for e in registry.audit.events(kind="model")
        if e.action.value in ("access", "denied")
    ]
    assert answers == [
        ("SampleModel", True),
        ("SampleModel", False),
        ("Missing", False),
        ("SampleModel", False),
    ]


def test_require_access_and_accessible_models(model_registry: ModelRegistry) -> None:
    model_registry.register_static_model(SampleModel, permissions=FULL)

    class Other(BaseModel):
        x: int

    model_registry.register_static_model(Other, permissions={"admin": ["read"]})
    ada = Principal(id="ada", roles=frozenset({"admin"}))
    assert model_registry.require_access("SampleModel", "delete", ada).metadata.name
    with pytest.raises(RegistryPermissionError):
        model_registry.require_access("SampleModel", "delete", "user")
    with pytest.raises(RegistryValidationError):
        model_registry.require_access("SampleModel", "launch", ada)
    assert model_registry.get_accessible_models("admin") == ["Other", "SampleModel"]
    assert model_registry.get_accessible_models("user") == ["SampleModel"]
    assert model_registry.get_accessible_models("nobody") == []
    with pytest.raises(RegistryPermissionError):
        model_registry.get("Other", principal="user")
    assert [m.metadata.name for m in model_registry.list_models(principal="user")] == []
    with pytest.raises(RegistryPermissionError):
        model_registry.unregister("SampleModel", principal="user")
    model_registry.unregister("SampleModel", principal=ada)
    assert "SampleModel" not in model_registry.models


# -- external models ------------------------------------------------------------------------------
def test_external_json_schema_becomes_a_model(model_registry: ModelRegistry) -> None:
    schema = {
        "title": "Order",
        "type": "object",
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "status": {"enum": ["open", "paid"]},
            "placed_at": {"type": "string", "format": "date-time"},
            "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}},
            "note": {"type": ["string", "null"]},
        },
        "required": ["id", "status", "lines"],
        "$defs": {
            "Line": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                "required": ["sku", "qty"],
            }
        },
    }
    registered = model_registry.register_external(schema, namespace="erp")
    assert registered.metadata.source is ModelSource.EXTERNAL
    assert registered.metadata.ns_path == "ns.models.erp.Order"
    order = registered.model_class.model_validate(
        {"id": 1, "status": "paid", "lines": [{"sku": "A", "qty": "2"}]}
    )
    assert order.lines[0].qty == 2  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        registered.model_class.model_validate({"id": 0, "status": "paid", "lines": []})
    with pytest.raises(ValueError):
        registered.model_class.model_validate({"id": 1, "status": "lost", "lines": []})
    ui = registered.metadata.ui_schema
    assert ui is not None
    assert ui["fields"]["status"]["widget"] == "select"
    assert ui["fields"]["lines"]["widget"] == "array"
    assert ui["fields"]["lines"]["items"]["widget"] == "fieldset"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string"},
        {"type": "object", "properties": {"x": {"$ref": "#/$defs/Missing"}}},
        {"type": "object", "properties": {"x": {"type": "complex"}}},
        {"type": "object", "properties": {"not valid": {"type": "string"}}},
        {"type": "object", "properties": {"x": {"type": "string", "pattern": "("}}},
        "not a schema",
    ],
)
def test_bad_external_schemas_are_refused(model_registry: ModelRegistry, schema: Any) -> None:
    with pytest.raises(RegistryValidationError):
        model_registry.register_external(schema, name="Bad")
    assert "Bad" not in model_registry.models


# -- bad input ------------------------------------------------------------------------------------
def test_duplicates_conflict_unless_overridden(model_registry: ModelRegistry) -> None:
    model_registry.register_static_model(SampleModel, namespace="a")
    with pytest.raises(RegistryConflictError) as exc:
        model_registry.register_static_model(SampleModel, namespace="b")
    assert "update_model()" in str(exc.value)
    model_registry.register_static_model(SampleModel, namespace="b", override=True)
    assert model_registry.find_by_namespace("ns.models.a.*") == []
    assert len(model_registry.find_by_namespace("ns.models.b.*")) == 1


def test_non_models_and_unknown_names(model_registry: ModelRegistry) -> None:
    with pytest.raises(RegistryValidationError):
        model_registry.register(dict)  # type: ignore[arg-type]
    with pytest.raises(RegistryValidationError):
        model_registry.register(SampleModel, name="bad name")
    with pytest.raises(RegistryValidationError):
        model_registry.register(SampleModel, permissions={"admin": {"fly"}})
    with pytest.raises(RegistryNotFoundError) as exc:
        model_registry.get("SampleModl")
    assert isinstance(exc.value, KeyError)
    model_registry.register(SampleModel)
    with pytest.raises(RegistryNotFoundError) as exc:
        model_registry.get("SampleModl")
    assert "did you mean SampleModel" in str(exc.value)


def test_static_namespace_defaults_to_the_module_tail(model_registry: ModelRegistry) -> None:
    registered = model_registry.register_static_model(SampleModel)
    assert registered.metadata.ns_path == f"ns.models.{__name__.rsplit('.', 1)[-1]}.SampleModel"
    dynamic = model_registry.register(SampleModel, name="Dyn", source="dynamic")
    assert dynamic.metadata.ns_path == "ns.models.dynamic.Dyn"
    assert [m.metadata.name for m in model_registry.list_models("dynamic")] == ["Dyn"]


def test_many_models_register_and_resolve(model_registry: ModelRegistry) -> None:
    from pydantic import create_model

    for i in range(100):
        model_registry.register_static_model(
            create_model(f"TestModel{i}", value=(int, ...)), namespace="perf"
        )
    assert all(model_registry.models.get(f"TestModel{i}") is not None for i in range(100))
    assert len(model_registry.find_by_namespace("ns.models.perf.TestModel1*")) == 11
