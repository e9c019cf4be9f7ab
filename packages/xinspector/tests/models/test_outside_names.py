"""Names from the outside world (tables ``Käufer`` and ``order items``, columns ``Straße``,
``naïve col``, ``ﬁle``) make models whose class, fields and namespace keep their letters, and
whose generated source reads back as the same model."""

from __future__ import annotations

from typing import Any

import pytest

from xinspector import generate_model, model_to_source
from xinspector.models import model_name_for
from xinspector.models._names import python_name
from xobj_prototype import validate_path

SCHEMA: dict[str, Any] = {
    "name": "Käufer",
    "fields": {
        "id": {"type": "int", "required": True, "nullable": False, "primary_key": True},
        "Straße": {"type": "str", "required": False, "nullable": True},
        "naïve col": {"type": "str", "required": False, "nullable": True},
        "ﬁle": {"type": "str", "required": False, "nullable": True},
        "2nd": {"type": "int", "required": False, "nullable": True},
    },
}


@pytest.mark.parametrize(
    ("collection", "expected"),
    [
        ("Käufer", "Käufer"),
        ("order items", "OrderItems"),
        ("заказы_строки", "ЗаказыСтроки"),
        ("2024 sales", "M2024Sales"),
        ("---", "Model"),
    ],
)
def test_model_names_keep_letters_of_any_script(collection: str, expected: str) -> None:
    name = model_name_for(collection)
    assert name == expected
    assert name.isidentifier()


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("Straße", "Straße"),
        ("naïve col", "naïve_col"),
        ("ﬁle", "file"),  # NFKC, as Python's parser would read it back
        ("2nd", "f_2nd"),
        (" \t", "field"),
        ("class", "class_"),
    ],
)
def test_python_names_are_identifiers_python_reads_back_unchanged(
    field: str, expected: str
) -> None:
    name = python_name(field, set())
    assert name == expected
    assert name.isidentifier()
    assert compile(f"{name} = 1", "<test>", "exec").co_names == (name,)


def test_the_generated_model_and_its_source_agree_on_outside_names() -> None:
    model = generate_model(SCHEMA)
    assert model.__name__ == "Käufer"
    assert model.default_ns() == "models.Käufer"  # type: ignore[attr-defined]
    validate_path(model.default_ns())  # type: ignore[attr-defined]
    record = {"id": 1, "Straße": "Hauptstraße 1 ", "naïve col": "x", "ﬁle": "a.csv", "2nd": 2}
    made = model.model_validate(record)
    assert made.model_dump(by_alias=True, exclude={"ns"}) == record
    namespace: dict[str, Any] = {}
    exec(compile(model_to_source(model), "<generated>", "exec"), namespace)
    again = namespace["Käufer"].model_validate(record)
    assert again.model_dump(by_alias=True) == made.model_dump(by_alias=True)
    assert list(type(again).model_fields) == list(model.model_fields)


def test_a_table_name_with_spaces_gets_a_namespace_segment() -> None:
    model = generate_model({**SCHEMA, "name": "order items"})
    assert model.__name__ == "OrderItems"
    assert model.default_ns() == "models.order_items"  # type: ignore[attr-defined]
