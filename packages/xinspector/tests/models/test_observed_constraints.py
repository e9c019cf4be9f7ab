"""Declared constraints are rules, observed facts are information (issue 15).

No network: CSV files in ``tmp_path``, records in memory, SQLite, and CHECK clauses as the
PostgreSQL and MariaDB catalogs print them.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from xinspector import (
    CollectionSchema,
    FieldSchema,
    XInspector,
    XInspectorSchemaError,
    generate_model,
    model_to_source,
    schema_from_records,
    schema_to_source,
)
from xinspector.discovery import apply_check, parse_check
from xresource import ResourceFactory, SQLDatabaseResource


def _import(source: str, tmp_path: Path, name: str) -> dict[str, Any]:
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


def _sku_csv(tmp_path: Path) -> Path:
    path = tmp_path / "skus.csv"
    rows = [f"S{i},{i % 3},{i}.25,user{i}@example.org" for i in range(300)]
    path.write_text("sku,kind,price,email\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


# -- the SKU case ------------------------------------------------------------------------------
async def test_csv_model_accepts_a_longer_sku(tmp_path: Path) -> None:
    inspector = XInspector(ResourceFactory.from_url(str(_sku_csv(tmp_path))))
    schema = await inspector.discover("skus")
    sku = schema.fields["sku"]
    assert sku.max_length == 4
    assert sku.observed == ["max_length"]
    assert not sku.is_declared("max_length")
    assert "format" in schema.fields["email"].observed
    assert "decimal_places" in schema.fields["price"].observed

    Model = await inspector.generate_model("skus")
    record = Model.model_validate(
        {"sku": "S1000", "kind": "7", "price": "1.125", "email": "not an e-mail"}
    )
    assert record.sku == "S1000"
    assert record.price == Decimal("1.125")
    # The observed facts are still there, as information.
    sku_schema = Model.model_json_schema()["properties"]["sku"]
    assert "maxLength" not in sku_schema
    assert sku_schema["x-observed"] == {"max_length": 4}
    assert "max_length 4" in sku_schema["description"]
    with pytest.raises(ValidationError):
        Model.model_validate({"sku": "S1", "kind": "x", "price": "1", "email": "a@b.org"})


async def test_strict_observed_makes_the_facts_rules(tmp_path: Path) -> None:
    inspector = XInspector(ResourceFactory.from_url(str(_sku_csv(tmp_path))))
    Strict = await inspector.generate_model("skus", strict_observed=True)
    good = {"sku": "S12", "kind": "1", "price": "1.25", "email": "a@b.org"}
    assert Strict.model_validate(good).sku == "S12"
    for field, value in [
        ("sku", "S1000"),  # longer than any SKU seen
        ("price", "1.125"),  # more decimals than seen
        ("email", "not an e-mail"),  # every value seen was an e-mail
        ("kind", "7"),  # kind held 0, 1, 2 only
    ]:
        with pytest.raises(ValidationError) as info:
            Strict.model_validate({**good, field: value})
        assert info.value.errors()[0]["loc"][0] == field
    assert "x-observed" not in Strict.model_json_schema()["properties"]["sku"]


def test_records_complete_read_reports_but_does_not_enforce() -> None:
    users = [{"name": n, "age": a} for n, a in [("Ann", 31), ("Bob", 42), ("Cyd", 31)]]
    schema = schema_from_records(users, "users")
    assert schema.fields["name"].max_length == 3
    assert schema.fields["name"].observed[0] == "max_length"
    Users = generate_model(schema)
    assert Users(name="Bartholomew", age=99).name == "Bartholomew"
    Strict = generate_model(schema, strict_observed=True)
    with pytest.raises(ValidationError):
        Strict(name="Bartholomew", age=31)
    with pytest.raises(ValidationError):
        Strict(name="Dee", age=50)  # age held 31 and 42 only: a low-cardinality value set
    assert generate_model(schema, enums=True)(name="Bartholomew", age=31).age == 31


def test_declared_constraints_stay_rules() -> None:
    schema = {
        "table": "items",
        "fields": {
            "name": {"type": "str", "max_length": 120},
            "price": {"type": "Decimal", "max_digits": 10, "decimal_places": 2, "minimum": 0},
            "qty": {"type": "int", "exclusive_minimum": 0, "maximum": 100},
            "status": {"type": "str", "enum": ["new", "paid"]},
        },
    }
    Items = generate_model(schema)
    good = {"name": "x" * 120, "price": "12345678.90", "qty": 100, "status": "paid"}
    assert Items.model_validate(good).qty == 100
    for field, value in [
        ("name", "x" * 121),
        ("name", None),
        ("price", "1.234"),
        ("price", "123456789.00"),
        ("price", "-1"),
        ("qty", 0),
        ("qty", 101),
        ("status", "lost"),
    ]:
        with pytest.raises(ValidationError):
            Items.model_validate({**good, field: value})


def test_observed_names_are_checked() -> None:
    with pytest.raises(XInspectorSchemaError, match="max_lenght"):
        FieldSchema.from_dict({"type": "str", "observed": ["max_lenght"]})
    with pytest.raises(XInspectorSchemaError, match="observed"):
        FieldSchema.from_dict({"type": "str", "observed": "max_length"})
    fs = FieldSchema(type="str")
    fs.set_observed("max_length", 4)
    assert fs.observed == ["max_length"]
    fs.set_declared("max_length", 10)
    assert (fs.max_length, fs.observed, fs.is_declared("max_length")) == (10, [], True)
    round_trip = FieldSchema.from_dict(FieldSchema.from_dict({"observed": ["enum"]}).to_dict())
    assert round_trip.observed == ["enum"]


@pytest.mark.parametrize("option", ["strict_observed", "include_samples", "enums"])
def test_options_must_be_booleans(option: str) -> None:
    with pytest.raises(XInspectorSchemaError, match=option):
        generate_model({"table": "t", "fields": {}}, **{option: "yes"})


# -- samples and the source ----------------------------------------------------------------------
async def test_samples_stay_out_of_models_and_source(tmp_path: Path) -> None:
    inspector = XInspector(ResourceFactory.from_url(str(_sku_csv(tmp_path))))
    result = await inspector.inspect("skus")
    assert "user0@example.org" in str(result.schema)  # the schema does hold samples
    Model = await inspector.generate_model("skus", profile=True)
    assert "user0@example.org" not in str(Model.model_json_schema())
    source = model_to_source(Model)
    assert "example.org" not in source
    assert "import xinspector" not in source
    assert "from xinspector" not in source
    exported = _import(source, tmp_path, "skus_default")["Skus"]
    assert exported.model_json_schema() == Model.model_json_schema()
    with_samples = model_to_source(Model, include_samples=True)
    assert "user0@example.org" in with_samples
    Sampled = await inspector.generate_model("skus", include_samples=True)
    assert "user0@example.org" in str(Sampled.model_json_schema())
    with pytest.raises(TypeError, match="include_samples"):
        model_to_source(Model, include_samples="yes")  # type: ignore[arg-type]


def test_observed_value_sets_are_data() -> None:
    schema = {
        "collection": "people",
        "fields": {
            "city": {
                "type": "str",
                "enum": ["Zürich", "Nice"],
                "observed": ["enum"],
                "cardinality": "low",
                "sample_values": ["Zürich"],
            },
            "age": {
                "type": "int",
                "minimum": 17,
                "maximum": 99,
                "observed": ["minimum", "maximum"],
            },
        },
    }
    source = schema_to_source(schema)
    assert "Zürich" not in source
    assert "Z\\u00fcrich" not in source
    assert "17" not in source
    assert "99" not in source
    assert "Zürich" in schema_to_source(schema, include_samples=True)
    # Asked for as rules, they are in the class body, and so in the source.
    strict = schema_to_source(schema, strict_observed=True)
    assert 'Literal["Zürich", "Nice"]' in strict
    assert "ge=17" in strict


def test_source_defines_its_own_validators(tmp_path: Path) -> None:
    schema = {
        "file": "mixed",
        "source": "csv",
        "fields": {
            "oid": {"type": "ObjectId"},
            "amount": {"type": "Decimal", "nullable": True},
            "doc": {"type": "json", "nullable": True},
        },
    }
    source = schema_to_source(schema)
    assert "import xinspector" not in source
    assert "from xinspector" not in source
    Exported = _import(source, tmp_path, "mixed_models")["Mixed"]
    Built = generate_model(schema)
    row = {"oid": "65f0c0ffee0000000000beef", "amount": " NULL ", "doc": '{"a": [1]}'}
    assert Exported.model_validate(row).model_dump() == Built.model_validate(row).model_dump()
    assert Exported.model_validate(row).doc == {"a": [1]}
    assert Exported.model_validate({**row, "amount": "1.50"}).amount == Decimal("1.50")
    with pytest.raises(ValidationError):
        Exported.model_validate({**row, "amount": "abc"})


# -- CHECK constraints -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("clause", "column", "constraints", "complete"),
    [
        ("(price >= (0)::numeric)", "price", {"minimum": Decimal(0)}, True),
        ("`price` >= 0", "price", {"minimum": Decimal(0)}, True),
        (
            "((qty > 0) AND (qty <= 100))",
            "qty",
            {"exclusive_minimum": Decimal(0), "maximum": Decimal(100)},
            True,
        ),
        ("((0.5)::double precision < r)", "r", {"exclusive_minimum": Decimal("0.5")}, True),
        (
            "((n >= '-5'::integer) AND (n <= 5))",
            "n",
            {"minimum": Decimal(-5), "maximum": Decimal(5)},
            True,
        ),
        ("`n` between -5 and 5", "n", {"minimum": Decimal(-5), "maximum": Decimal(5)}, True),
        (
            "((status)::text = ANY ((ARRAY['new'::character varying, "
            "'paid'::character varying])::text[]))",
            "status",
            {"enum": ["new", "paid"]},
            True,
        ),
        ("`status` in ('new','it''s')", "status", {"enum": ["new", "it's"]}, True),
        ("(price >= 0 AND price <> 5)", "price", {"minimum": Decimal(0)}, False),
        ("(a > 1 OR a < 0)", "a", {}, False),
        ("(x > n)", None, {}, False),
        ("(char_length(name) > 2)", None, {}, False),
        ("", None, {}, False),
        ("price >= 0 ; DROP TABLE t", None, {}, False),
        ("((odd % 2) = 1)", "odd", {}, False),
    ],
)
def test_parse_check(
    clause: str, column: str | None, constraints: dict[str, Any], complete: bool
) -> None:
    check = parse_check(clause)
    assert (check.column, check.constraints, check.complete) == (column, constraints, complete)


def test_apply_check_types_values_and_keeps_the_rest() -> None:
    qty = FieldSchema(type="int")
    apply_check(qty, "qty > 0 AND qty <= 100", parse_check("qty > 0 AND qty <= 100"))
    assert (qty.exclusive_minimum, qty.maximum, qty.checks) == (0, 100, None)
    assert isinstance(qty.maximum, int)
    ratio = FieldSchema(type="float", observed=["minimum"], minimum=0.3)
    apply_check(ratio, "ratio >= 0", parse_check("ratio >= 0"))
    assert (ratio.minimum, ratio.observed) == (0.0, [])
    name = FieldSchema(type="str")
    clause = "name >= 'a' AND name IN ('a', 'b')"
    apply_check(name, clause, parse_check(clause))
    assert name.enum == ["a", "b"]
    assert name.checks == [clause]  # the comparison of text is not a model constraint
    Model = generate_model({"table": "t", "fields": {"name": name.to_dict()}})
    assert "Check: name >= 'a'" in (Model.model_fields["name"].description or "")


async def test_sqlite_declared_and_observed(tmp_path: Path) -> None:
    db = ResourceFactory.from_url(f"sqlite:///{tmp_path / 'c.db'}")
    assert isinstance(db, SQLDatabaseResource)
    async with db:
        await db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, code VARCHAR(5) NOT NULL)")
        await db.execute("INSERT INTO item (code) VALUES ('ab')")
        Item = await XInspector(db).generate_model("item", profile=True)
    assert Item(code="abcde").code == "abcde"
    with pytest.raises(ValidationError):
        Item(code="abcdef")  # varchar(5) is declared
    with pytest.raises(ValidationError):
        Item(code=None)  # NOT NULL is declared


def test_schema_keeps_observed_through_round_trip() -> None:
    schema = CollectionSchema.from_dict(
        {"file": "f", "fields": {"a": {"type": "str", "max_length": 2, "observed": ["max_length"]}}}
    )
    again = CollectionSchema.from_dict(schema.to_dict())
    assert again.fields["a"].observed == ["max_length"]
    assert generate_model(again)(a="abc").a == "abc"


def test_cli_generate_options(tmp_path: Path) -> None:
    from xinspector.cli import main

    csv_path = _sku_csv(tmp_path)
    plain, strict = tmp_path / "plain.py", tmp_path / "strict.py"
    assert main(["generate", str(csv_path), "--out", str(plain)]) == 0
    assert (
        main(
            [
                "generate",
                str(csv_path),
                "--strict-observed",
                "--include-samples",
                "--out",
                str(strict),
            ]
        )
        == 0
    )
    plain_source = plain.read_text(encoding="utf-8")
    strict_source = strict.read_text(encoding="utf-8")
    assert "example.org" not in plain_source
    assert "user0@example.org" in strict_source
    Plain = _import(plain_source, tmp_path, "cli_plain")["Skus"]
    Strict = _import(strict_source, tmp_path, "cli_strict")["Skus"]
    record = {"sku": "S1000", "kind": "1", "price": "1.25", "email": "a@b.org"}
    assert Plain.model_validate(record).sku == "S1000"
    with pytest.raises(ValidationError):
        Strict.model_validate(record)


def _assert_ruff_clean(ruff: list[str], path: Path) -> None:
    root = Path(__file__).resolve().parents[4] / "pyproject.toml"
    config = ["--config", str(root)] if root.is_file() else []
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        result = subprocess.run(
            [*ruff, *command, *config, str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


async def test_source_with_long_value_sets_is_ruff_clean(tmp_path: Path) -> None:
    # ruff is a test dependency (xinspector[test]): run the one installed with this Python.
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("the lint check of generated source needs ruff: install xinspector[test]")
    ruff = [sys.executable, "-m", "ruff"]
    long_name = "a_rather_long_column_name_for_a_field_with_many_values_in_it"
    rows = [
        f"{i % 40},city number {i % 30},{'' if i % 2 else i % 5},{'x' * (i % 20)}"
        for i in range(400)
    ]
    path = tmp_path / "wide.csv"
    path.write_text(f"size,city,maybe,{long_name}\n" + "\n".join(rows) + "\n", encoding="utf-8")
    inspector = XInspector(ResourceFactory.from_url(str(path)))
    Model = await inspector.generate_model(strict_observed=True, include_samples=True)
    source = model_to_source(Model, include_samples=True)
    target = tmp_path / "wide_models.py"
    target.write_text(source, encoding="utf-8")
    _assert_ruff_clean(ruff, target)
    Exported = _import(source, tmp_path, "wide_models")["Wide"]
    assert Exported.model_json_schema() == Model.model_json_schema()
    record = {"size": "3", "city": "city number 3", "maybe": "", long_name: "xx"}
    assert Exported.model_validate(record).size == Model.model_validate(record).size == 3
    with pytest.raises(ValidationError):
        Exported.model_validate({**record, "size": "40"})
