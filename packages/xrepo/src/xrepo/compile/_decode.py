"""Values out of SQL, as the Python types that ``list()`` gives for the same fields.

SQL drivers hand back what the database stores: SQLite booleans as ``0``/``1`` and datetimes as ISO
text, JSON arrays as text, ``numeric`` sums as ``Decimal``, naive datetimes from ``DATETIME``
columns. ``list()`` turns rows into models, so pydantic types them; ``aggregate()`` and
``distinct()`` return plain values, so they are typed here, by the kind of the field a value comes
from. The kinds are the query layer's (:class:`xrepo.query.FieldType`), followed through
the stages of a pipeline by :func:`xrepo.query.pipeline_types`; an unknown kind (``None``,
:attr:`~xrepo.query.Kind.ANY`) leaves a value as the driver gave it.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from xrepo.query import FieldType, Kind, as_utc

__all__ = ["decode"]


def _datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return as_utc(value) if isinstance(value, _dt.datetime) else value


def _date(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value


def _decimal(value: Any) -> Any:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return value
    return value


def decode(kind: FieldType | None, value: Any) -> Any:
    """``value`` as the driver returned it, typed as a field of ``kind`` is typed by ``list()``.

    A value that does not have the shape of its kind is returned as it is.

    Examples:
        >>> decode(FieldType(Kind.LIST, Kind.BOOL), "[1, 0]")
        [True, False]
    """
    if value is None or kind is None:
        return value
    k = kind.kind
    if k is Kind.LIST:
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        if isinstance(value, list) and kind.element not in (None, Kind.ANY):
            element = FieldType(kind.element)  # a list of lists: arrays of untyped elements
            return [decode(element, v) for v in value]
        return value
    if k is Kind.JSON:
        if isinstance(value, str | bytes):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value
    if k is Kind.BOOL:
        return bool(value) if value.__class__ is int and value in (0, 1) else value
    if k is Kind.INT:
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        return value
    if k is Kind.FLOAT:
        return (
            float(value)
            if isinstance(value, Decimal | int) and value.__class__ is not bool
            else value
        )
    if k is Kind.DECIMAL:
        return _decimal(value)
    if k is Kind.DATETIME:
        return _datetime(value)
    if k is Kind.DATE:
        return _date(value)
    if k is Kind.TIME and isinstance(value, str):
        try:
            return _dt.time.fromisoformat(value)
        except ValueError:
            return value
    if k is Kind.UUID and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return value
    return value
