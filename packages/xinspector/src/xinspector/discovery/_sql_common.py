"""What every SQL catalog reader shares: the not-found error, table keys onto fields."""

from __future__ import annotations

from xinspector._errors import XInspectorNotFoundError
from xinspector._schema import CollectionSchema

__all__: list[str] = []


def _not_found(target: str, table: str, available: list[str]) -> XInspectorNotFoundError:
    shown = ", ".join(available[:20]) + (" ..." if len(available) > 20 else "")
    return XInspectorNotFoundError(
        f"table {table!r} not found; available: {shown or '(none)'}",
        target=target,
        operation="discover_schema",
    )


def _apply_keys(schema: CollectionSchema) -> None:
    """Copy table-level keys onto the fields (primary_key, unique, foreign_key)."""
    for name in schema.primary_key:
        if name in schema.fields:
            schema.fields[name].primary_key = True
    for cols in schema.unique_constraints:
        if len(cols) == 1 and cols[0] in schema.fields:
            schema.fields[cols[0]].unique = True
    if len(schema.primary_key) == 1 and schema.primary_key[0] in schema.fields:
        schema.fields[schema.primary_key[0]].unique = True
    for fk in schema.foreign_keys:
        for col, ref in zip(fk.columns, fk.ref_columns, strict=False):
            if col in schema.fields:
                schema.fields[col].foreign_key = {"table": fk.ref_table, "column": ref}
