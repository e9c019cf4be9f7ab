from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinspector._types import (
    TextColumnTyper,
    canonical_type,
    detect_pattern,
    infer_text_type,
    python_type,
    split_union,
    type_of_value,
    unify_types,
)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "-2", "+3", "0"], "int"),
        (["007", "1"], "str"),  # a leading zero is a code, not a number
        (["0062465600", "B005F9XFN0"], "str"),
        (["1.50", "2", "3.25"], "Decimal"),
        (["1e5", "2.5"], "float"),
        (["3.14159265358979", "1.0"], "float"),
        (["true", "False", "yes", "n"], "bool"),
        (["2024-01-01", "1999-12-31"], "date"),
        (["2024-01-01", "2024-01-02T10:00:00"], "datetime"),
        (["2024-01-02 10:00:00+02:00"], "datetime"),
        (["12:30", "01:00:05.25"], "time"),
        (["2024-13-45"], "str"),  # looks like a date, is not one
        (["8c5f5e0e-4c3b-4f8a-9d7e-0a1b2c3d4e5f"], "UUID"),
        (['{"a": 1}', "[1, 2]"], "json"),
        (["{not json"], "str"),
        (["a@b.org", "x"], "str"),
        ([], "None"),
        (["", "NULL", None], "None"),
    ],
)
def test_infer_text_type(values: list[Any], expected: str) -> None:
    assert infer_text_type(values) == expected


def test_typer_reports_decimal_places_and_formats() -> None:
    typer = TextColumnTyper()
    typer.update(["1.5", "2.25"])
    typer.update(["3.125"])
    assert typer.result() == ("Decimal", None, {"decimal_places": 3})
    emails = TextColumnTyper()
    emails.update(["ada@example.org", "bob@example.com"])
    assert emails.result() == ("str", "email", {})
    urls = TextColumnTyper()
    urls.update(["https://example.org/a", "http://x.io"])
    assert urls.result()[1] == "url"


def test_typer_narrows_across_chunks() -> None:
    typer = TextColumnTyper()
    typer.update(["1", "2"])
    assert typer.candidates[0] == "int"
    typer.update(["2.5"])
    assert typer.result()[0] == "Decimal"
    typer.update(["abc"])
    assert typer.result()[0] == "str"


def test_loose_leading_zeros_can_be_numbers() -> None:
    typer = TextColumnTyper(strict_leading_zeros=False)
    typer.update(["007", "12"])
    assert typer.result()[0] == "int"


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (True, "bool"),
        (1, "int"),
        (1.5, "float"),
        (Decimal("1"), "Decimal"),
        ("x", "str"),
        (datetime(2024, 1, 1), "datetime"),
        (date(2024, 1, 1), "date"),
        (UUID(int=1), "UUID"),
        (b"x", "bytes"),
        ({"a": 1}, "object"),
        ([1], "list"),
        (None, "None"),
        (object(), "Any"),
    ],
)
def test_type_of_value(value: Any, name: str) -> None:
    assert type_of_value(value) == name


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("int", "float", "float"),
        ("int", "Decimal", "Decimal"),
        ("date", "datetime", "datetime"),
        ("None", "str", "str"),
        ("int", "str", "int | str"),
        ("str", "Any", "Any"),
        ("int | str", "bool", "bool | int | str"),
    ],
)
def test_unify_types(a: str, b: str, expected: str) -> None:
    assert unify_types(a, b) == expected


def test_python_type_and_aliases() -> None:
    assert python_type("int | str") == int | str
    assert python_type("nonsense") is Any
    assert canonical_type("integer") == "int"
    assert split_union("EmailStr | null") == ["str", "None"]


def test_detect_pattern() -> None:
    assert detect_pattern(["a@b.org", "c@d.io"]) == ("email", 1.0)
    name, share = detect_pattern(["a@b.org", "nope", "x", "y"])
    assert name is None
    assert share == 0.25
    assert detect_pattern([]) == (None, 0.0)


@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=1))
def test_integers_always_infer_int(values: list[int]) -> None:
    assert infer_text_type([str(v) for v in values]) == "int"


@given(st.lists(st.text(alphabet="abcxyz ", min_size=1), min_size=1))
def test_words_never_infer_numbers(values: list[str]) -> None:
    assert infer_text_type(values) in {"str", "bool", "None"}
