from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from xinspector import (
    InspectionResult,
    ProfileOptions,
    XInspector,
    XInspectorError,
    XInspectorNotFoundError,
    XInspectorUnsupportedError,
    generate_model,
)
from xinspector.cli import main
from xresource import ResourceFactory, SQLDatabaseResource, XResourceError

Write = Callable[[str, str], Path]

CSV = """id,name,price,when,flag,code,email,notes,blank
1,Ada,1.50,2024-01-01,true,007,ada@example.org,,
2,Bob,2,2024-01-02,false,012,bob@example.org,hello,
3,,3.25,2024-01-03,true,999,cy@example.org,NULL,
"""


async def test_csv_discovery_types_and_nulls(write: Write) -> None:
    path = write("people.csv", CSV)
    inspector = XInspector(ResourceFactory.from_url(str(path)))
    schema = await inspector.discover_schema()
    f = schema["fields"]
    assert schema["file"] == "people"
    assert {k: v["type"] for k, v in f.items()} == {
        "id": "int",
        "name": "str",
        "price": "Decimal",
        "when": "date",
        "flag": "bool",
        "code": "str",
        "email": "str",
        "notes": "str",
        "blank": "Any",
    }
    assert f["email"]["format"] == "email"
    assert (f["name"]["nullable"], f["id"]["nullable"], f["blank"]["nullable"]) == (
        True,
        False,
        True,
    )
    assert f["price"]["decimal_places"] == 2


async def test_csv_inspect_and_model(write: Write) -> None:
    path = write("people.csv", CSV)
    resource = ResourceFactory.from_url(str(path))
    inspector = XInspector(resource)
    result = await inspector.inspect()
    assert isinstance(result, InspectionResult)
    assert result.total_count == 3
    assert result.statistics["total_count"] == 3
    stats = result.statistics["field_statistics"]
    assert stats["blank"]["null_count"] == 3
    assert stats["notes"]["null_count"] == 2
    assert result.field_statistics["price"].mean == pytest.approx((1.5 + 2 + 3.25) / 3)
    assert result.field_statistics["when"].date_min == date(2024, 1, 1)
    assert result.data_quality["name"]["completeness"] == pytest.approx(2 / 3)
    Model = await inspector.generate_model()
    for row in await resource.read():
        record = Model.model_validate(row)
        assert record.code == row["code"]  # leading zeros kept
    assert Model.meta().collection == "people"
    preview = await inspector.preview_data(2)
    assert [r["id"] for r in preview] == ["1", "2"]
    with pytest.raises(XInspectorError, match="limit"):
        await inspector.preview_data(-1)


async def test_empty_and_header_only_files(write: Write) -> None:
    empty = XInspector(ResourceFactory.from_url(str(write("empty.csv", ""))))
    assert (await empty.discover_schema())["fields"] == {}
    assert (await empty.inspect()).total_count == 0
    header = XInspector(ResourceFactory.from_url(str(write("header.csv", "a,b\n"))))
    schema = await header.discover_schema()
    assert schema["fields"]["a"]["type"] == "Any"
    Model = await header.generate_model()
    assert Model.model_validate({"a": None, "b": 1}).b == 1


async def test_large_csv_switches_columns_to_sketches(write: Write) -> None:
    lines = ["id,kind,score"] + [
        f"{i},{'ab'[i % 2]},{'' if i % 10 == 0 else i % 7}" for i in range(3000)
    ]
    path = write("big.csv", "\n".join(lines) + "\n")
    options = ProfileOptions(exact_distinct_limit=200, chunk_size=500)
    result = await XInspector(ResourceFactory.from_url(str(path)), options=options).inspect()
    stats = result.field_statistics
    assert result.total_count == 3000
    assert not stats["id"].unique_exact
    assert abs(stats["id"].unique_count - 3000) < 150
    assert stats["id"].mean == pytest.approx(1499.5)
    assert (stats["id"].min, stats["id"].max) == (0, 2999)
    assert stats["kind"].unique_exact
    assert stats["kind"].distinct_values == ["a", "b"]
    assert stats["score"].null_count == 300
    assert stats["score"].unique_count == 7
    expected = [i % 7 for i in range(3000) if i % 10]
    assert stats["score"].mean == pytest.approx(sum(expected) / len(expected))


async def test_blank_lines_are_skipped(write: Write) -> None:
    path = write("blank.csv", "a,b\n\n1,x\n\n\n2,y\n")
    result = await XInspector(ResourceFactory.from_url(str(path))).inspect()
    assert result.total_count == 2
    assert result.field_statistics["a"].type == "int"
    assert result.field_statistics["b"].null_count == 0


async def test_mixed_types_and_ragged_rows(write: Write) -> None:
    path = write("mixed.csv", "v,w\n1,x\nabc,y\n2.5\n")
    resource = ResourceFactory.create("csv", path=str(path), on_ragged="pad")
    result = await XInspector(resource).inspect()
    v = result.field_statistics["v"]
    assert v.type == "str"
    assert v.quality.consistency < 1
    assert result.field_statistics["w"].null_count == 1


async def test_missing_file_and_bad_encoding(write: Write, tmp_path: Path) -> None:
    gone = XInspector(ResourceFactory.create("csv", path=str(tmp_path / "gone.csv")))
    with pytest.raises(XInspectorNotFoundError) as info:
        await gone.discover_schema()
    assert "gone.csv" in str(info.value)
    bad = tmp_path / "latin.csv"
    bad.write_bytes("name\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(XInspectorError, match="encoding"):
        await XInspector(ResourceFactory.create("csv", path=str(bad))).inspect()
    with pytest.raises(XInspectorNotFoundError):
        await XInspector(ResourceFactory.from_url(str(write("a.csv", "x\n1\n")))).discover("other")


async def test_json_nested_and_yaml(write: Write) -> None:
    docs = [
        {"id": 1, "user": {"name": "a", "tags": ["x"]}, "at": "2024-01-01T10:00:00"},
        {"id": 2, "user": {"name": "b", "tags": []}, "at": "2024-01-02T10:00:00", "extra": 1.5},
    ]
    path = write("docs.json", json.dumps(docs))
    resource = ResourceFactory.from_url(str(path))
    inspector = XInspector(resource)
    schema = await inspector.discover()
    assert schema.fields["user"].type == "object"
    assert schema.fields["user"].fields is not None
    assert schema.fields["user"].fields["tags"].type == "list"
    assert schema.fields["at"].type == "datetime"
    assert not schema.fields["extra"].required
    Model = generate_model(schema)
    rows = await resource.read()
    assert Model.model_validate(rows[0]).at == datetime(2024, 1, 1, 10)
    yaml_path = write("docs.yaml", "- {a: 1, b: x}\n- {a: 2, b: y}\n")
    ys = await XInspector(ResourceFactory.from_url(str(yaml_path))).discover()
    assert ys.fields["a"].type == "int"


async def test_sql_discovery(shop_db: SQLDatabaseResource) -> None:
    inspector = XInspector(shop_db)
    customer = await inspector.discover("customer")
    assert customer.primary_key == ["id"]
    assert customer.fields["id"].auto_increment
    assert not customer.fields["id"].nullable
    assert customer.fields["email"].unique
    assert customer.fields["email"].max_length == 80
    assert customer.fields["country"].default == "'US'"
    assert not customer.fields["country"].required
    assert customer.fields["created"].type == "datetime"
    assert customer.row_estimate == 50
    orders = await inspector.discover("orders")
    assert orders.fields["total"].type == "Decimal"
    assert orders.fields["total"].decimal_places == 2
    assert orders.fields["paid"].type == "bool"
    fk = orders.foreign_keys[0]
    assert (fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete) == (
        ["customer_id"],
        "customer",
        ["id"],
        "CASCADE",
    )
    assert any(ix.fields == ["customer_id"] for ix in orders.indexes)
    log = await inspector.discover("log")
    assert log.primary_key == []
    assert set(log.fields) == {"at", "message"}
    every = await inspector.discover_schema()
    assert set(every["collections"]) == {"customer", "orders", "log", "empty_table"}
    with pytest.raises(XInspectorNotFoundError, match="available: customer"):
        await inspector.discover("nope")
    with pytest.raises(XInspectorError, match="name one"):
        await inspector.discover()


async def test_sql_profile_by_pushdown(shop_db: SQLDatabaseResource) -> None:
    inspector = XInspector(shop_db)
    result = await inspector.inspect("customer")
    assert result.pushdown
    assert result.total_count == 50
    fs = result.field_statistics
    assert fs["name"].null_count == 5
    assert fs["email"].unique_count == 50
    assert fs["country"].is_categorical
    assert fs["country"].distinct_values == ["DE", "FR", "US"]
    assert fs["email"].pattern == "email"
    assert fs["id"].mean == pytest.approx(25.5)
    assert "country" in result.categorical_fields
    orders = await inspector.inspect("orders")
    assert orders.field_statistics["note"].null_count == 200
    assert orders.field_statistics["total"].min == Decimal("5")
    empty = await inspector.inspect("empty_table")
    assert empty.total_count == 0
    assert empty.field_statistics["v"].unique_count == 0
    nopk = await inspector.inspect("log")
    assert nopk.field_statistics["message"].unique_count == 1


async def test_sql_models_validate_every_row(shop_db: SQLDatabaseResource) -> None:
    inspector = XInspector(shop_db)
    for table in ("customer", "orders", "log", "empty_table"):
        Model = await inspector.generate_model(table)
        for row in await shop_db.fetch_all(f'SELECT * FROM "{table}"'):
            Model.model_validate(row)
    Profiled = await inspector.generate_model("customer", profile=True, enums=True)
    assert Profiled.model_fields["country"].annotation is not None
    with pytest.raises(ValueError, match="country"):
        Profiled.model_validate({"email": "x@y.org", "country": "XX"})


async def test_dead_server_and_unsupported() -> None:
    dead = ResourceFactory.from_url("postgresql://u:secret@127.0.0.1:9/db", connect_timeout=2)
    with pytest.raises((XInspectorError, XResourceError)) as info:
        await XInspector(dead).discover("t")
    assert "secret" not in str(info.value)
    with pytest.raises(XInspectorUnsupportedError):
        XInspector("not a resource")  # type: ignore[arg-type]


def test_cli(write: Write, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write("people.csv", CSV)
    assert main(["inspect", str(path), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_count"] == 3
    assert out["schema"]["fields"]["id"]["type"] == "int"
    assert main(["inspect", str(path)]) == 0
    assert "| id | int |" in capsys.readouterr().out
    target = tmp_path / "models.py"
    assert main(["generate", str(path), "--out", str(target)]) == 0
    assert "class People(XObjPrototype):" in target.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "missing.csv")]) == 1
    assert "missing.csv" in capsys.readouterr().err
    assert main(["inspect", "postgresql://u:hunter2@127.0.0.1:9/db", "-c", "t"]) == 1
    assert "hunter2" not in capsys.readouterr().err
    old, new = (
        write("old.json", '{"table": "t", "fields": {"a": {"type": "int"}}}'),
        write("new.json", '{"table": "t", "fields": {"a": {"type": "str"}}}'),
    )
    assert main(["diff", str(old), str(new)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["kind"] == "type_changed"
    with pytest.raises(SystemExit):
        main(["inspect"])


def test_cli_yaml(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML (xinspector[cli]) is not installed")
    assert main(["schema", str(write("p.csv", CSV)), "--format", "yaml"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["fields"]["flag"]["type"] == "bool"


async def test_a_text_file_larger_than_the_engine_holds_is_streamed(
    write: Write, caplog: pytest.LogCaptureFixture
) -> None:
    # Past engine_materialize_bytes the engine re-reads the file for every query: slower than one
    # streaming pass, with memory growing with the file (2.8 GB for a 2 GB CSV). engine=None
    # streams it; both paths give the same statistics.
    path = write("big.csv", CSV)
    caplog.set_level("INFO", logger="xinspector")
    tight = ProfileOptions(engine_materialize_bytes=10)
    streamed = await XInspector(ResourceFactory.from_url(str(path)), options=tight).inspect()
    assert "larger than the engine parses in memory" in caplog.text
    caplog.clear()
    default = await XInspector(ResourceFactory.from_url(str(path))).inspect()
    assert "larger than the engine" not in caplog.text
    assert streamed.total_count == default.total_count == 3
    for name in ("price", "when"):
        assert streamed.field_statistics[name].quantiles == default.field_statistics[name].quantiles
    # engine=False never asks; engine=True keeps the engine whatever the size.
    caplog.clear()
    await XInspector(ResourceFactory.from_url(str(path)), options=tight, engine=True).inspect()
    assert "larger than the engine" not in caplog.text
