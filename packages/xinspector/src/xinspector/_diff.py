"""Schema diff: two schemas in, the list of changes out.

Fields are compared by name (nested ``object`` fields by dotted path, list elements as
``name[]``): added, removed, and for fields in both the type (widened, narrowed or changed),
nullability, requiredness and constraints (``max_length``, ``max_digits``, ``decimal_places``,
``enum``), plus the primary key and indexes. Each change says whether it is *breaking*: whether
data valid under the old schema may be invalid under the new one (or a consumer of the old
schema may break). xregistry's versioning bumps a model's version from these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel

from xinspector._schema import CollectionSchema, FieldSchema
from xinspector._types import split_union

__all__ = ["ChangeKind", "SchemaChange", "diff_schemas", "type_relation"]

ChangeKind = Literal[
    "field_added",
    "field_removed",
    "type_widened",
    "type_narrowed",
    "type_changed",
    "nullability_widened",
    "nullability_narrowed",
    "required_added",
    "required_removed",
    "constraint_widened",
    "constraint_narrowed",
    "constraint_changed",
    "primary_key_changed",
    "index_added",
    "index_removed",
]

# A -> the types that hold every value of A (lax validation).
_WIDER: dict[str, set[str]] = {
    "bool": {"int", "float", "Decimal"},
    "int": {"float", "Decimal"},
    "float": {"Decimal"},
    "date": {"datetime"},
    "object": {"dict", "json"},
    "dict": {"object", "json"},
    "list": {"json"},
    "str": {"json"},
    "int | str": set(),
}


class SchemaChange(BaseModel):
    """One difference between two schemas."""

    kind: ChangeKind
    path: str
    old: Any = None
    new: Any = None
    breaking: bool = False
    message: str = ""


def type_relation(old: str, new: str) -> Literal["same", "widened", "narrowed", "changed"]:
    """How ``new`` relates to ``old``: every old value still fits (widened), the reverse
    (narrowed), neither (changed)."""
    if old == new:
        return "same"
    old_parts, new_parts = set(split_union(old)), set(split_union(new))
    if old_parts == new_parts:
        return "same"
    if "Any" in new_parts or _covers(new_parts, old_parts):
        return "widened"
    if "Any" in old_parts or _covers(old_parts, new_parts):
        return "narrowed"
    return "changed"


def _covers(wide: set[str], narrow: set[str]) -> bool:
    return all(n in wide or _WIDER.get(n, set()) & wide for n in narrow)


def _schema(value: CollectionSchema | Mapping[str, Any], name: str) -> CollectionSchema:
    if isinstance(value, CollectionSchema):
        return value
    return CollectionSchema.from_dict(value, name=name)


def diff_schemas(
    old: CollectionSchema | Mapping[str, Any], new: CollectionSchema | Mapping[str, Any]
) -> list[SchemaChange]:
    """The changes that turn ``old`` into ``new`` (empty when they describe the same data).

    Examples:
        >>> a = {"table": "t", "fields": {"id": {"type": "int"}, "x": {"type": "str"}}}
        >>> b = {"table": "t", "fields": {"id": {"type": "float"}, "y": {"type": "str"}}}
        >>> [(c.kind, c.path, c.breaking) for c in diff_schemas(a, b)]
        [('field_removed', 'x', True), ('type_widened', 'id', False), ('field_added', 'y', True)]
    """
    a, b = _schema(old, "old"), _schema(new, "new")
    changes: list[SchemaChange] = []
    _diff_fields(a.fields, b.fields, "", changes)
    if list(a.primary_key) != list(b.primary_key):
        changes.append(
            SchemaChange(
                kind="primary_key_changed",
                path="",
                old=a.primary_key,
                new=b.primary_key,
                breaking=True,
                message=f"primary key {a.primary_key} -> {b.primary_key}",
            )
        )
    old_ix = {tuple(ix.fields): ix for ix in a.indexes}
    new_ix = {tuple(ix.fields): ix for ix in b.indexes}
    for key in new_ix.keys() - old_ix.keys():
        changes.append(
            SchemaChange(
                kind="index_added",
                path=",".join(key),
                new=list(key),
                breaking=new_ix[key].unique,
                message=f"index on {list(key)} added",
            )
        )
    for key in old_ix.keys() - new_ix.keys():
        changes.append(
            SchemaChange(
                kind="index_removed",
                path=",".join(key),
                old=list(key),
                message=f"index on {list(key)} removed",
            )
        )
    return changes


def _diff_fields(
    old: Mapping[str, FieldSchema],
    new: Mapping[str, FieldSchema],
    prefix: str,
    changes: list[SchemaChange],
) -> None:
    for name, field in old.items():
        if name not in new:
            changes.append(
                SchemaChange(
                    kind="field_removed",
                    path=prefix + name,
                    old=field.type,
                    breaking=True,
                    message=f"field {prefix + name!r} removed",
                )
            )
    for name, field in new.items():
        path = prefix + name
        if name not in old:
            optional = field.nullable or not field.required
            changes.append(
                SchemaChange(
                    kind="field_added",
                    path=path,
                    new=field.type,
                    breaking=not optional,
                    message=f"field {path!r} added" + ("" if optional else " (required)"),
                )
            )
            continue
        _diff_field(old[name], field, path, changes)


def _diff_field(a: FieldSchema, b: FieldSchema, path: str, changes: list[SchemaChange]) -> None:
    relation = type_relation(a.type, b.type)
    if relation != "same":
        kind: ChangeKind = {"widened": "type_widened", "narrowed": "type_narrowed"}.get(
            relation, "type_changed"
        )  # type: ignore[assignment]
        changes.append(
            SchemaChange(
                kind=kind,
                path=path,
                old=a.type,
                new=b.type,
                breaking=relation != "widened",
                message=f"{path}: type {a.type} -> {b.type} ({relation})",
            )
        )
    if a.nullable != b.nullable:
        changes.append(
            SchemaChange(
                kind="nullability_widened" if b.nullable else "nullability_narrowed",
                path=path,
                old=a.nullable,
                new=b.nullable,
                breaking=not b.nullable,
                message=f"{path}: nullable {a.nullable} -> {b.nullable}",
            )
        )
    if a.required != b.required:
        changes.append(
            SchemaChange(
                kind="required_added" if b.required else "required_removed",
                path=path,
                old=a.required,
                new=b.required,
                breaking=b.required,
                message=f"{path}: required {a.required} -> {b.required}",
            )
        )
    for attr, larger_is_wider in (
        ("max_length", True),
        ("max_digits", True),
        ("decimal_places", True),
        ("min_length", False),
        ("maximum", True),
        ("minimum", False),
    ):
        va, vb = getattr(a, attr), getattr(b, attr)
        if va == vb:
            continue
        if vb is None:
            wider = True
        elif va is None:
            wider = False
        else:
            try:
                wider = (vb > va) == larger_is_wider
            except TypeError:
                wider = False
        changes.append(
            SchemaChange(
                kind="constraint_widened" if wider else "constraint_narrowed",
                path=path,
                old={attr: va},
                new={attr: vb},
                breaking=not wider,
                message=f"{path}: {attr} {va} -> {vb}",
            )
        )
    old_set = {repr(v) for v in a.enum or []}
    new_set = {repr(v) for v in b.enum or []}
    # An enum is a set of allowed values: the same values in another order (a CHECK rewritten,
    # values observed by another backend) allow the same records and are no change.
    if bool(a.enum) != bool(b.enum) or old_set != new_set:
        # No enum allows any value: dropping one widens, adding one narrows.
        if not b.enum or (a.enum and old_set <= new_set):
            kind2: ChangeKind = "constraint_widened"
        elif not a.enum or new_set <= old_set:
            kind2 = "constraint_narrowed"
        else:
            kind2 = "constraint_changed"
        changes.append(
            SchemaChange(
                kind=kind2,
                path=path,
                old={"enum": a.enum},
                new={"enum": b.enum},
                breaking=kind2 != "constraint_widened",
                message=f"{path}: enum {a.enum} -> {b.enum}",
            )
        )
    if a.fields is not None or b.fields is not None:
        _diff_fields(a.fields or {}, b.fields or {}, path + ".", changes)
    if a.items is not None and b.items is not None:
        _diff_field(a.items, b.items, path + "[]", changes)
