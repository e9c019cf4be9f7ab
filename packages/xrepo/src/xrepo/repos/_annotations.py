"""What a field's annotation says about how its values are stored (dicts, lists, scalars)."""

from __future__ import annotations

import datetime as _dt
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Union

from pydantic import BaseModel

__all__ = ["element_type", "is_listish", "is_plain", "is_structured", "now"]


def now() -> _dt.datetime:
    """The current time, aware UTC (what timestamps are stamped with)."""
    return _dt.datetime.now(_dt.UTC)


def is_structured(annotation: Any) -> bool:
    """Whether a field holds a dict, list or model (stored as JSON by SQL backends)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(is_structured(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin is typing.Annotated:
        return is_structured(typing.get_args(annotation)[0])
    if origin in (list, dict, tuple, set, frozenset, Sequence, Mapping):
        return True
    if isinstance(annotation, type):
        return issubclass(annotation, BaseModel | list | dict | tuple | set)
    return False


def is_plain(annotation: Any) -> bool:
    """Whether values of this type dump to themselves (no models, enums, secrets inside)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return all(is_plain(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return is_plain(typing.get_args(annotation)[0])
    return annotation in (
        str,
        int,
        float,
        bool,
        type(None),
        _dt.datetime,
        _dt.date,
        _dt.time,
        bytes,
    )


def element_type(annotation: Any) -> type | None:
    """``str`` for ``list[str] | None`` and the like: the scalar type of a list's items."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        found = {element_type(a) for a in typing.get_args(annotation) if a is not type(None)}
        return found.pop() if len(found) == 1 else None
    if origin is typing.Annotated:
        return element_type(typing.get_args(annotation)[0])
    args = typing.get_args(annotation)
    if origin in (list, tuple, set, frozenset, Sequence) and args:
        item = args[0]
        return item if item in (str, int, float) else None
    return None


def is_listish(annotation: Any) -> bool:
    """Whether a field may hold a list (declared as one, also inside a union)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(is_listish(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin is typing.Annotated:
        return is_listish(typing.get_args(annotation)[0])
    return origin in (list, tuple, set, frozenset, Sequence) or annotation in (list, tuple, set)
