"""Values out of SQL, as the Python types that ``list()`` gives for the same fields.

SQL drivers hand back what the database stores: SQLite booleans as ``0``/``1`` and datetimes as ISO
text, JSON arrays as text, ``numeric`` sums as ``Decimal``, naive datetimes from ``DATETIME``
columns. ``list()`` turns rows into models, so pydantic types them; ``aggregate()`` and
``distinct()`` return plain values, so they are typed here, from the kinds of the fields a value
comes from (:func:`pipeline_kinds` follows the kinds through the stages of a pipeline).

A kind is a Python type (``bool``, ``int``, ``float``, ``Decimal``, ``str``, ``datetime``, ``date``,
``time``, ``UUID``, ``dict`` for a JSON document), :class:`ListOf` a kind, or ``None`` (not known:
left as the driver gave it).
"""

from __future__ import annotations

import datetime as _dt
import json
import types
import typing
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias, Union

from pydantic import BaseModel

from xrepo.query.pipeline import Count, Group, Literal, Lookup, Project, Stage, Unwind

__all__ = ["Kind", "ListOf", "decode", "field_kind", "pipeline_kinds"]

_SCALARS = (bool, int, float, Decimal, str, _dt.datetime, _dt.date, _dt.time, uuid.UUID)


@dataclass(frozen=True, slots=True)
class ListOf:
    """A list whose elements are of kind ``item``."""

    item: Kind


Kind: TypeAlias = type | ListOf | None


def field_kind(annotation: Any) -> Kind:
    """The kind of a model field's annotation (``Optional``/``Annotated`` unwrapped).

    Enums and other subclasses count as their base scalar type; mappings and models are
    ``dict``; unions of several kinds are ``None``.
    """
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return field_kind(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        found = {field_kind(a) for a in typing.get_args(annotation) if a is not type(None)}
        return found.pop() if len(found) == 1 else None
    if origin in (list, tuple, set, frozenset, Sequence):
        args = typing.get_args(annotation)
        return ListOf(field_kind(args[0]) if args else None)
    if origin in (dict, Mapping):
        return dict
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel | dict):
            return dict
        for scalar in _SCALARS:  # bool before int, datetime before date
            if issubclass(annotation, scalar):
                return scalar
    return None


def _accumulated(op: str, source: Kind, constant: Any) -> Kind:
    if op == "count":
        return int
    if op == "sum":
        if source is None and constant is not None:
            source = type(constant)
        return source if source in (int, float, Decimal) else None
    if op == "avg":
        return Decimal if source is Decimal else float
    if op in ("push", "addToSet"):
        return ListOf(source)
    return source  # min, max, first, last


def pipeline_kinds(stages: Sequence[Stage], kinds: Mapping[str, Kind]) -> dict[str, Kind]:
    """The kinds of the output fields of ``stages`` over fields of ``kinds``.

    Compound group keys come out as ``_id.<name>``, the way the SQL compiler names them.
    """
    current = dict(kinds)
    for stage in stages:
        if isinstance(stage, Project):
            if stage.include is None:
                current = {k: v for k, v in current.items() if k not in stage.exclude}
                continue
            out: dict[str, Kind] = {}
            if "_id" in current and not stage.drop_id and "_id" not in stage.include:
                out["_id"] = current["_id"]
            for name, source in stage.include.items():
                if isinstance(source, Literal):
                    value = source.value
                    out[name] = type(value) if isinstance(value, _SCALARS) else None
                else:
                    out[name] = current.get(source)
            current = out
        elif isinstance(stage, Group):
            out = {}
            if isinstance(stage.key, str):
                out["_id"] = current.get(stage.key)
            elif isinstance(stage.key, dict):
                for name, path in stage.key.items():
                    out[f"_id.{name}"] = current.get(path)
            for name, acc in stage.accumulators.items():
                of = current.get(acc.path) if acc.path is not None else None
                out[name] = _accumulated(acc.op, of, acc.constant)
            current = out
        elif isinstance(stage, Count):
            current = {stage.name: int}
        elif isinstance(stage, Unwind):
            kind = current.get(stage.path)
            current[stage.path] = kind.item if isinstance(kind, ListOf) else None
        elif isinstance(stage, Lookup):
            current[stage.as_] = None
    return current


def _datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, _dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=_dt.UTC)  # naive means UTC
    return value


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


def decode(kind: Kind, value: Any) -> Any:
    """``value`` as the driver returned it, typed as a field of ``kind`` is typed by ``list()``.

    A value that does not have the shape of its kind is returned as it is.
    """
    if value is None:
        return None
    if isinstance(kind, ListOf):
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        if isinstance(value, list) and kind.item is not None:
            return [decode(kind.item, v) for v in value]
        return value
    if kind is dict:
        if isinstance(value, str | bytes):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value
    if kind is bool:
        return bool(value) if value.__class__ is int and value in (0, 1) else value
    if kind is int:
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        return value
    if kind is float:
        return (
            float(value)
            if isinstance(value, Decimal | int) and value.__class__ is not bool
            else value
        )
    if kind is Decimal:
        return _decimal(value)
    if kind is _dt.datetime:
        return _datetime(value)
    if kind is _dt.date:
        return _date(value)
    if kind is _dt.time and isinstance(value, str):
        try:
            return _dt.time.fromisoformat(value)
        except ValueError:
            return value
    if kind is uuid.UUID and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return value
    return value
