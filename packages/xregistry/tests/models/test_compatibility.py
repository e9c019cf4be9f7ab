"""Compatibility rules of model versions: a fixed table of changes with the modes each breaks,
the verdict per mode, and properties over generated schemas (full = backward or forward; a
change that breaks backward one way breaks forward the other way)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xregistry.errors import RegistryValidationError
from xregistry.models import CompatibilityMode, breaking_changes, classify, classify_change
from xregistry.models._compatibility import annotate_required, parse_mode
from xregistry.models._versioning import diff_fields


def f(kind: str = "str", *, required: bool = True, nullable: bool = False, **extra: Any) -> dict:
    return {"type": kind, "required": required, "nullable": nullable, **extra}


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    a, b = {"fields": old}, {"fields": new}
    return classify(annotate_required(diff_fields(a, b), a, b))


BASE = {"id": f("int"), "name": f("str")}

# (case, old fields, new fields, [(kind, field, breaks)]) - every row is a rule of the contract.
CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, str, list[str]]]]] = [
    ("same schema", BASE, BASE, []),
    (
        "required field without default added",
        BASE,
        {**BASE, "sku": f("str")},
        [("added", "sku", ["backward", "full"])],
    ),
    (
        "optional field added",
        BASE,
        {**BASE, "note": f("str", required=False)},
        [("added", "note", [])],
    ),
    (
        "nullable field added (old records read as null)",
        BASE,
        {**BASE, "note": f("str", nullable=True)},
        [("added", "note", [])],
    ),
    ("required field removed", BASE, {"id": f("int")}, [("removed", "name", ["forward", "full"])]),
    (
        "optional field removed",
        {**BASE, "note": f("str", required=False)},
        BASE,
        [("removed", "note", [])],
    ),
    (
        "type widened int -> float",
        BASE,
        {**BASE, "id": f("float")},
        [("retyped", "id", ["forward", "full"])],
    ),
    (
        "type narrowed float -> int",
        {**BASE, "id": f("float")},
        BASE,
        [("retyped", "id", ["backward", "full"])],
    ),
    (
        "type changed str -> int",
        BASE,
        {**BASE, "name": f("int")},
        [("retyped", "name", ["backward", "forward", "full"])],
    ),
    (
        "nullable -> required",
        {**BASE, "name": f("str", nullable=True)},
        BASE,
        [("nullability", "name", ["backward", "full"])],
    ),
    (
        "required -> nullable",
        BASE,
        {**BASE, "name": f("str", nullable=True)},
        [("nullability", "name", ["forward", "full"])],
    ),
    (
        "default removed (optional -> required)",
        {**BASE, "name": f("str", required=False)},
        BASE,
        [("default", "name", ["backward", "full"])],
    ),
    (
        "default added (required -> optional)",
        BASE,
        {**BASE, "name": f("str", required=False)},
        [("default", "name", ["forward", "full"])],
    ),
    (
        "max_length narrowed",
        {**BASE, "name": f("str", max_length=200)},
        {**BASE, "name": f("str", max_length=20)},
        [("constraint", "name", ["backward", "full"])],
    ),
    (
        "max_length widened",
        {**BASE, "name": f("str", max_length=20)},
        {**BASE, "name": f("str", max_length=200)},
        [("constraint", "name", ["forward", "full"])],
    ),
    (
        "enum values removed",
        {**BASE, "name": f("str", enum=["a", "b", "ü"])},
        {**BASE, "name": f("str", enum=["a", "ü"])},
        [("constraint", "name", ["backward", "full"])],
    ),
    (
        "non-ASCII field name added as required",
        BASE,
        {**BASE, "straße": f("str")},
        [("added", "straße", ["backward", "full"])],
    ),
]


@pytest.mark.parametrize(("case", "old", "new", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_change_breaks_the_modes_of_the_contract(
    case: str, old: dict, new: dict, expected: list
) -> None:
    found = changes(old, new)
    assert [(c["kind"], c["field"], c["breaks"]) for c in found] == expected
    for mode in CompatibilityMode:
        flagged = breaking_changes(found, mode)
        if mode is CompatibilityMode.NONE:
            assert flagged == []
        else:
            assert [c["field"] for c in flagged] == [
                field for _, field, breaks in expected if mode.value in breaks
            ]


def test_a_change_names_its_sides_and_describes_itself() -> None:
    [change] = changes(BASE, {**BASE, "id": f("Decimal")})
    assert change["before"] == "int"
    assert change["after"] == "Decimal"
    assert change["change"] == "type_widened"
    assert "id" in change["description"]


def test_a_change_without_the_required_flag_falls_back_on_the_inspector_verdict() -> None:
    added = {"change": "field_added", "field": "x", "new": "int", "breaking": True}
    assert classify_change(added)["breaks"] == ["backward", "full"]
    assert classify_change({**added, "breaking": False})["breaks"] == []
    removed = {"change": "field_removed", "field": "x", "old": "int"}
    assert classify_change(removed)["breaks"] == ["forward", "full"]  # unknown: assumed required
    unknown = classify_change({"change": "something_new", "field": "x"})
    assert unknown["breaks"] == ["backward", "forward", "full"]  # unknown kinds break everything


def test_unique_indexes_are_constraints_in_both_directions() -> None:
    added = {"change": "index_added", "field": "ix", "new": {"unique": True}, "breaking": True}
    removed = {"change": "index_removed", "field": "ix", "old": {"unique": True}}
    plain = {"change": "index_added", "field": "ix", "new": {"unique": False}, "breaking": False}
    assert classify_change(added)["breaks"] == ["backward", "full"]
    assert classify_change(removed)["breaks"] == ["forward", "full"]
    assert classify_change(plain)["breaks"] == []


@pytest.mark.parametrize("value", ["sideways", "", "BACKWARD_TRANSITIVE", 3, None])
def test_unknown_modes_are_refused_by_name(value: Any) -> None:
    with pytest.raises(RegistryValidationError, match="compatibility mode"):
        parse_mode(value)


@pytest.mark.parametrize("value", ["FULL", "Backward", "none"])
def test_modes_are_read_in_any_case(value: str) -> None:
    assert parse_mode(value).value == value.lower()


# -- properties over generated schemas -----------------------------------------------------------
TYPES = st.sampled_from(["int", "float", "Decimal", "str", "bool", "date", "datetime"])
FIELD = st.builds(
    lambda kind, required, nullable: f(kind, required=required, nullable=nullable),
    TYPES,
    st.booleans(),
    st.booleans(),
)
NAMES = st.sampled_from(["id", "name", "Zoë", "ß", "a b", "x1"])
SCHEMA = st.dictionaries(NAMES, FIELD, max_size=5)


@settings(max_examples=300, deadline=None)
@given(SCHEMA, SCHEMA)
def test_full_is_backward_or_forward_and_reversing_swaps_them(old: dict, new: dict) -> None:
    forth = changes(old, new)
    back = changes(new, old)
    for change in forth:
        breaks = set(change["breaks"])
        assert ("full" in breaks) == bool(breaks & {"backward", "forward"})
    swap = {"backward": "forward", "forward": "backward", "full": "full"}

    def summary(found: list[dict[str, Any]], mapping: dict[str, str] | None = None) -> set:
        out = set()
        for c in found:
            breaks = {mapping[b] for b in c["breaks"]} if mapping else set(c["breaks"])
            out.add((c["field"], frozenset(breaks)))
        return out

    # What old -> new breaks backward, new -> old breaks forward, field by field.
    forward_fields = {field for field, breaks in summary(forth, swap) if "backward" in breaks}
    assert forward_fields == {field for field, breaks in summary(back) if "backward" in breaks}
    assert changes(old, old) == []
