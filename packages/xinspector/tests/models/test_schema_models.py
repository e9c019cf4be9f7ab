from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from xinspector import (
    CollectionSchema,
    FieldSchema,
    XInspectorSchemaError,
    diff_schemas,
    generate_joined_model,
    generate_model,
    joined_schema,
    model_to_source,
    schema_from_records,
    schema_to_source,
    type_relation,
)
from xobj_prototype import XError, XObjPrototype

USERS: dict[str, Any] = {
    "table": "users",
    "fields": {
        "id": {"type": "int", "required": False, "primary_key": True, "auto_increment": True},
        "email": {"type": "str", "max_length": 40, "format": "email"},
        "Order Date": {"type": "date", "nullable": True},
        "_id": {"type": "ObjectId", "nullable": True},
        "class": {"type": "str", "nullable": True},
        "ns": {"type": "str", "nullable": True},
        "price": {"type": "Decimal", "max_digits": 6, "decimal_places": 2},
        "status": {
            "type": "str",
            "enum": ["new", "paid"],
            "cardinality": "low",
            "observed": ["enum"],
        },
        "address": {
            "type": "object",
            "fields": {"city": {"type": "str"}, "zip": {"type": "str", "nullable": True}},
        },
        "tags": {"type": "list", "items": {"type": "str", "max_length": 5}},
        "extra": {"type": "json", "nullable": True},
    },
    "indexes": [{"name": "users_email", "fields": ["email"], "unique": True}, ["status"]],
    "primary_key": ["id"],
}
ROW = {
    "id": 1,
    "email": "ada@example.org",
    "Order Date": "2024-01-02",
    "_id": None,
    "class": "x",
    "ns": "n",
    "price": "12.50",
    "status": "new",
    "address": {"city": "Paris"},
    "tags": ["a"],
    "extra": '{"k": [1]}',
}


def test_schema_round_trip_and_old_spellings() -> None:
    schema = CollectionSchema.from_dict(USERS)
    assert schema.name == "users"
    assert schema.kind == "table"
    assert [ix.fields for ix in schema.indexes] == [["email"], ["status"]]
    again = CollectionSchema.from_dict(schema.to_dict())
    assert again == schema
    old = CollectionSchema.from_dict(
        {"collection": "c", "fields": {"a": {"type": "EmailStr"}}, "indexes": ["a"]}
    )
    assert old.kind == "collection"
    assert old.fields["a"].type == "str"
    assert old.to_dict()["collection"] == "c"


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"fields": {}},
        {"table": "t", "fields": []},
        {"table": "t", "fields": {"a": 3}},
        {"table": "t", "fields": {"a": {"type": "int", "required": "maybe"}}},
        {"table": "t", "fields": {}, "indexes": [3]},
    ],
)
def test_bad_schemas_raise_schema_error(bad: Any) -> None:
    with pytest.raises(XInspectorSchemaError) as info:
        CollectionSchema.from_dict(bad)
    assert isinstance(info.value, XError)


def test_generated_model_validates_and_constrains() -> None:
    Users = generate_model(USERS, enums=True)
    assert issubclass(Users, XObjPrototype)
    user = Users.model_validate(ROW)
    assert user.price == Decimal("12.50")
    assert user.model_dump(by_alias=True)["Order Date"] == date(2024, 1, 2)
    assert user.extra == {"k": [1]}
    assert type(user).model_fields["address"].annotation is not None
    meta = Users.meta()
    assert (meta.collection, meta.auto_generated, meta.ns) == ("users", True, "models.users")
    assert meta.indexes == (("email",), ("status",))
    assert meta.source_schema is not None
    assert meta.source_schema["table"] == "users"
    for field, value in [
        ("email", "not-an-email"),
        ("email", "a" * 40 + "@x.org"),
        ("price", "1234.567"),
        ("status", "lost"),
        ("tags", ["toolong"]),
    ]:
        with pytest.raises(ValidationError):
            Users.model_validate({**ROW, field: value})
    without_enums = generate_model(USERS)
    assert without_enums.model_validate({**ROW, "status": "lost"}).status == "lost"


def test_optional_and_required_fields() -> None:
    Users = generate_model(USERS)
    minimal = {k: ROW[k] for k in ("email", "price", "status", "address", "tags")}
    assert Users.model_validate(minimal).id is None  # auto-increment: optional
    with pytest.raises(ValidationError):
        Users.model_validate({k: v for k, v in minimal.items() if k != "email"})


def test_bad_model_names() -> None:
    with pytest.raises(XInspectorSchemaError, match="identifier"):
        generate_model(USERS, "not a name")
    with pytest.raises(XInspectorSchemaError):
        generate_model(42)  # type: ignore[arg-type]


def test_joined_model_prefixes_fields() -> None:
    users = {"table": "users", "fields": {"user_id": {"type": "int"}, "name": {"type": "str"}}}
    orders = {"table": "orders", "fields": {"user_id": {"type": "int"}, "total": {"type": "float"}}}
    schema = joined_schema(
        {"db.users": users, "db.orders": orders}, {"on": "user_id", "type": "left_join"}
    )
    assert list(schema.fields) == ["user_id", "users_name", "orders_total"]
    assert schema.fields["orders_total"].nullable  # right side of a left join
    assert not schema.fields["users_name"].nullable
    assert schema.model_extra is not None
    assert schema.model_extra["view_type"] == "joined"
    View = generate_joined_model({"users": users, "orders": orders}, {"on": "user_id"})
    assert View.__name__ == "UsersOrdersView"
    assert View(user_id=1, users_name="a", orders_total=2.5).orders_total == 2.5
    with pytest.raises(XInspectorSchemaError, match="join key"):
        joined_schema({"users": users}, {"on": "missing"})
    with pytest.raises(XInspectorSchemaError):
        joined_schema({}, {"on": "id"})


def _load(source: str, tmp_path: Path, name: str) -> dict[str, Any]:
    """Write ``source`` as module ``name`` and import it the normal way."""
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return vars(module)


def _ruff(path: Path) -> None:
    # ruff is a test dependency (xinspector[test]): run the one installed with this Python.
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("the lint check of generated source needs ruff: install xinspector[test]")
    ruff = [sys.executable, "-m", "ruff"]
    root = Path(__file__).resolve().parents[4] / "pyproject.toml"
    config = ["--config", str(root)] if root.is_file() else []
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        result = subprocess.run(
            [*ruff, *command, *config, str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_schema_source_is_equivalent_and_clean(tmp_path: Path) -> None:
    source = schema_to_source(USERS, enums=True)
    namespace = _load(source, tmp_path, "users_models")
    Exported = namespace["Users"]
    Built = generate_model(USERS, enums=True)
    assert Exported.model_json_schema() == Built.model_json_schema()
    assert Exported.model_validate(ROW).model_dump() == Built.model_validate(ROW).model_dump()
    assert Exported.meta().collection == "users"
    assert Exported.meta().auto_generated
    # A generated model exports the same module as its schema does.
    assert model_to_source(Built) == source
    assert all(len(line) <= 100 for line in source.splitlines())
    _ruff(tmp_path / "users_models.py")


class Inner(BaseModel):
    x: int = Field(ge=0, le=10)


class Outer(XObjPrototype):
    """A hand-written model."""

    class Meta:
        collection = "outer"

    items: list[Inner] = []
    tags: dict[str, int] = Field(default_factory=dict)
    label: str | None = Field(default=None, max_length=3, description="short")
    when: date | None = None


def test_hand_written_model_source(tmp_path: Path) -> None:
    source = model_to_source(Outer)
    namespace = _load(source, tmp_path, "outer_models")
    Exported = namespace["Outer"]
    assert Exported.model_json_schema() == Outer.model_json_schema()
    assert Exported.meta().collection == "outer"
    _ruff(tmp_path / "outer_models.py")
    with pytest.raises(TypeError):
        model_to_source(int)  # type: ignore[arg-type]


def test_records_schema_nesting_and_presence() -> None:
    schema = schema_from_records(
        [
            {"a": 1, "nested": {"b": "x", "when": "2024-01-01"}, "arr": [1, 2]},
            {"a": None, "nested": {"b": "y"}, "arr": [3.5], "opt": True},
            {"a": 3, "nested": {"b": "x"}, "arr": []},
        ],
        "docs",
    )
    f = schema.fields
    assert (f["a"].type, f["a"].nullable, f["a"].required) == ("int", True, True)
    assert (f["opt"].required, f["opt"].presence) == (False, pytest.approx(1 / 3))
    assert f["nested"].fields is not None
    assert f["nested"].fields["when"].type == "date"
    assert not f["nested"].fields["when"].required
    assert f["arr"].items is not None
    assert f["arr"].items.type == "float"
    assert f["nested"].fields["b"].cardinality == "low"
    Docs = generate_model(schema)
    Docs.model_validate({"a": None, "nested": {"b": "x"}, "arr": [1.0]})
    assert schema_from_records([], "empty").fields == {}


def test_diff_schemas() -> None:
    new = {**USERS, "fields": {**USERS["fields"]}}
    new["fields"]["email"] = {**USERS["fields"]["email"], "max_length": 80}
    new["fields"]["price"] = {"type": "float"}
    new["fields"]["age"] = {"type": "int", "nullable": True}
    del new["fields"]["class"]
    new["fields"]["Order Date"] = {"type": "date", "nullable": False}
    new["fields"]["address"] = {"type": "object", "fields": {"city": {"type": "str"}}}
    changes = {(c.kind, c.path): c for c in diff_schemas(USERS, new)}
    assert changes[("constraint_widened", "email")].breaking is False
    assert changes[("type_narrowed", "price")].breaking  # Decimal -> float loses digits
    assert changes[("field_added", "age")].breaking is False
    assert changes[("field_removed", "class")].breaking
    assert changes[("nullability_narrowed", "Order Date")].breaking
    assert ("field_removed", "address.zip") in changes
    assert diff_schemas(USERS, USERS) == []
    assert type_relation("int", "float") == "widened"
    assert type_relation("datetime", "date") == "narrowed"
    assert type_relation("int", "int | str") == "widened"
    assert type_relation("str", "int") == "changed"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (["new", "paid"], ["paid", "new"], None),  # order: the same allowed values
        (["a", "A", "á", "a "], ["a ", "á", "A", "a"], None),
        ([2, 10, 1], [1, 2, 10], None),
        (None, [], None),
        ([], None, None),
        (["new"], ["paid", "new"], ("constraint_widened", False)),
        (["paid", "new"], ["new"], ("constraint_narrowed", True)),
        (["new", "paid"], ["lost", "new"], ("constraint_changed", True)),
        (["a", "b"], ["A", "b"], ("constraint_changed", True)),  # case is a value
        ([1, 2], ["2", "1"], ("constraint_changed", True)),  # so is the type
        (["new", "paid"], None, ("constraint_widened", False)),
        (None, ["paid", "new"], ("constraint_narrowed", True)),
    ],
)
def test_diff_schemas_compares_enums_as_sets(
    old: list[Any] | None, new: list[Any] | None, expected: tuple[str, bool] | None
) -> None:
    a = {"name": "t", "fields": {"status": {"type": "str", "enum": old}}}
    b = {"name": "t", "fields": {"status": {"type": "str", "enum": new}}}
    changes = [(c.kind, c.breaking) for c in diff_schemas(a, b)]
    assert changes == ([] if expected is None else [expected])


def test_field_schema_to_dict_keeps_extras() -> None:
    fs = FieldSchema.from_dict({"type": "integer", "x-custom": 1})
    assert fs.type == "int"
    assert fs.to_dict()["x-custom"] == 1


def test_cli_module_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "xinspector.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "xinspector" in result.stdout
