# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, nothing is bound.
"""The model's view of a file in the DuckDB engine: one column per field, typed as the
repository's DuckDB compiler reads it.

A file's own types differ from the model's: Parquet holds lists as ``LIST`` and documents as
``STRUCT``, JSON Lines as DuckDB infers them, CSV holds text. The SQL compiler reads lists,
documents and untyped fields as JSON and scalars as typed columns, so :func:`rows_view` selects
each field of the model from the file's view as that: ``to_json()`` of a list or a document
(JSON text in a text column is parsed), a scalar cast to the model's type when the file holds
another (``TRY_CAST``: a cell that is not one reads as missing, as a memory repository's
validation would refuse it), and ``NULL`` for a field the file lacks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from xrepo.query import Kind
from xrepo.stores._protocol import RowLayout
from xresource import SQLDialect

__all__ = ["rows_view"]

#: The DuckDB type of each scalar kind, and the file types already of that kind.
_TYPES: dict[Kind, tuple[str, tuple[str, ...]]] = {
    Kind.STR: ("VARCHAR", ("VARCHAR",)),
    Kind.INT: (
        "BIGINT",
        ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"),
    ),
    Kind.FLOAT: ("DOUBLE", ("DOUBLE", "FLOAT")),
    # Exact sums: a file holds a Decimal as a JSON number or a double (the file store writes
    # floats), read back with the 10 places a DECIMAL keeps.
    Kind.DECIMAL: ("DECIMAL(38,10)", ("DECIMAL",)),
    Kind.BOOL: ("BOOLEAN", ("BOOLEAN",)),
    Kind.DATETIME: ("TIMESTAMPTZ", ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS")),
    Kind.DATE: ("DATE", ("DATE",)),
    Kind.TIME: ("TIME", ("TIME",)),
    Kind.UUID: ("VARCHAR", ("VARCHAR", "UUID")),
}
#: An ISO datetime with an offset (read as such); without one it means UTC.
_OFFSET = r"(Z|[+-]\d{2}(:?\d{2})?)$"


def _scalar(col: str, file_type: str, kind: Kind, *, optional: bool) -> str:
    target, same = _TYPES[kind]
    base = file_type.split("(")[0]
    if base == "VARCHAR" and optional:
        # An empty cell is how a missing value was written (as the file store reads it).
        col = f"NULLIF({col}, '')"
    if base in same:
        return col
    if kind is Kind.DATETIME and base == "VARCHAR":
        return (
            f"(CASE WHEN regexp_matches({col}, '{_OFFSET}') THEN TRY_CAST({col} AS TIMESTAMPTZ) "
            f"ELSE TRY_CAST({col} AS TIMESTAMP) END)"
        )
    if kind is Kind.DECIMAL:
        # Through the shortest text of the number: DuckDB casts a DOUBLE to a DECIMAL by
        # scaling it in binary (999999999.0 -> 999999999.0000001024).
        return f"TRY_CAST(CAST({col} AS VARCHAR) AS {target})"
    if kind is Kind.STR and base == "JSON":
        return f"json_extract_string({col}, '$')"
    return f"TRY_CAST({col} AS {target})"


def _json(col: str, file_type: str, *, untyped: bool) -> str:
    if file_type == "JSON":
        return col
    if file_type == "VARCHAR":
        # JSON text in a text cell (CSV holds lists and documents so); an untyped field's other
        # text is a string.
        parsed = f"CASE WHEN json_valid({col}) THEN CAST({col} AS JSON) END"
        if untyped:
            return (
                f"(CASE WHEN left(ltrim({col}), 1) IN ('[', '{{') AND json_valid({col}) "
                f"THEN CAST({col} AS JSON) ELSE to_json({col}) END)"
            )
        return f"({parsed})"
    return f"to_json({col})"


def rows_view(
    dialect: SQLDialect,
    view: str,
    types: Mapping[str, str],
    layout: RowLayout,
    optional: Collection[str] = (),
) -> str:
    """``SELECT`` of the model's fields over the engine view ``view`` whose columns have the
    DuckDB ``types``; an empty text cell of an ``optional`` field (one that allows ``None``)
    reads as ``NULL``."""
    q = dialect.quote
    columns: list[str] = []
    for name in sorted(layout.fields):
        kind = layout.field_types.get(name)
        k = kind.kind if kind is not None else Kind.ANY
        file_type = types.get(name)
        if file_type is None:
            sql_type = "JSON" if k not in _TYPES else _TYPES[k][0]
            columns.append(f"CAST(NULL AS {sql_type}) AS {q(name)}")
        elif k in _TYPES:
            cell = _scalar(q(name), file_type.upper(), k, optional=name in optional)
            columns.append(f"{cell} AS {q(name)}")
        else:
            untyped = k is Kind.ANY
            columns.append(f"{_json(q(name), file_type.upper(), untyped=untyped)} AS {q(name)}")
    return f"SELECT {', '.join(columns)} FROM {q(view)}"
