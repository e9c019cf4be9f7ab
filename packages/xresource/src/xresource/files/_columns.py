"""Python records to typed DuckDB columns: what a Parquet write needs.

Records are dicts of Python values; a Parquet column has one type. Each field's type is chosen
from the values it holds (``int`` -> ``BIGINT``, ``int`` with ``float`` -> ``DOUBLE``, aware
datetimes -> ``TIMESTAMPTZ``...), and the rows reach DuckDB one *column* at a time, as one list
parameter unnested in SQL: DuckDB converts a Python list in one pass, where ``executemany``
converts row by row (a thousand times slower).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

__all__ = ["ColumnTypeError", "column_type", "insert_columns"]

_INT64 = (-(2**63), 2**63 - 1)
_MAX_DECIMAL_DIGITS = 38
#: Rows sent per INSERT: bounds the Python lists built at once.
BATCH_ROWS = 100_000


class ColumnTypeError(ValueError):
    """A field whose values no single column type holds; the message names the field."""


def _decimal_type(field: str, values: Iterable[Decimal | int]) -> str:
    scale = 0
    integer_digits = 1
    for value in values:
        d = value if isinstance(value, Decimal) else Decimal(value)
        if not d.is_finite():
            raise ColumnTypeError(
                f"field {field!r} holds {d}, which a Parquet DECIMAL column cannot store"
            )
        exponent = int(d.as_tuple().exponent)
        scale = max(scale, -exponent)
        integer_digits = max(integer_digits, d.adjusted() + 1)
    width = integer_digits + scale
    if width > _MAX_DECIMAL_DIGITS:
        raise ColumnTypeError(
            f"field {field!r} needs {width} decimal digits ({integer_digits} before the point, "
            f"{scale} after); a DECIMAL column holds at most {_MAX_DECIMAL_DIGITS}: round the "
            "values or store them as float or text"
        )
    return f"DECIMAL({max(width, 1)}, {scale})"


def _int_type(field: str, values: Sequence[int]) -> str:
    low, high = min(values, default=0), max(values, default=0)
    if _INT64[0] <= low and high <= _INT64[1]:
        return "BIGINT"
    # Parquet has no 128-bit integer (DuckDB would write HUGEINT as a double, losing digits):
    # larger integers are exact decimals, read back as Decimal.
    return _decimal_type(field, values)


def column_type(field: str, values: Sequence[Any], nested: Callable[[list[Any]], str]) -> str:
    """The DuckDB type of a column holding ``values`` (``None`` for missing or null).

    ``nested`` gives the one type of the dict or list values it is given (DuckDB's own).
    """
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if not kinds:
        return "VARCHAR"
    if kinds == {bool}:
        return "BOOLEAN"
    if bool not in kinds and kinds <= {int}:
        return _int_type(field, present)
    if bool not in kinds and kinds <= {int, float}:
        return "DOUBLE"
    if bool not in kinds and kinds <= {int, Decimal}:
        return _decimal_type(field, present)
    if kinds == {str}:
        return "VARCHAR"
    if kinds <= {bytes, bytearray}:
        return "BLOB"
    if kinds == {UUID}:
        return "UUID"
    if kinds == {dt.datetime}:
        aware = {v.utcoffset() is not None for v in present}
        if len(aware) > 1:
            raise ColumnTypeError(
                f"field {field!r} mixes naive and timezone-aware datetimes; a column is one "
                "or the other: give every value a timezone (or none)"
            )
        if aware == {True}:
            for value in present:
                try:
                    value.astimezone(dt.UTC)
                except OverflowError:
                    raise ColumnTypeError(
                        f"field {field!r} holds {value.isoformat()}, whose instant in UTC is "
                        "outside the years 1-9999 (the column stores UTC instants, which could "
                        "not be read back as datetimes)"
                    ) from None
            return "TIMESTAMPTZ"
        return "TIMESTAMP"
    if kinds == {dt.date}:
        return "DATE"
    if kinds == {dt.time}:
        return "TIMETZ" if all(v.utcoffset() is not None for v in present) else "TIME"
    if kinds == {dt.timedelta}:
        return "INTERVAL"
    if kinds <= {dict, list} and len(kinds) == 1:
        try:
            return nested(present)
        except ColumnTypeError as exc:
            raise ColumnTypeError(
                f"field {field!r} holds {exc}; a Parquet column has one type: make the values "
                "alike, or serialize them (json.dumps) first"
            ) from None
    names = ", ".join(sorted(k.__name__ for k in kinds))
    raise ColumnTypeError(
        f"field {field!r} holds values of several types ({names}); a Parquet column has one "
        "type: convert them first"
    )


def insert_columns(
    execute: Callable[[str, list[Any]], Any],
    table: str,
    columns: Mapping[str, str],
    rows: Sequence[Mapping[str, Any]],
    quote: Callable[[str], str],
) -> None:
    """Insert ``rows`` into ``table`` (its ``columns``: name -> DuckDB type), by column, in
    batches of :data:`BATCH_ROWS`; a row's missing key is NULL."""
    names = list(columns)
    targets = ", ".join(quote(n) for n in names)
    # unnest() of several lists of one length zips them: row i takes element i of each.
    values = ", ".join(f"unnest(${i}::{columns[n]}[])" for i, n in enumerate(names, start=1))
    sql = f"INSERT INTO {table} ({targets}) SELECT {values}"
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        execute(sql, [[row.get(n) for row in batch] for n in names])
