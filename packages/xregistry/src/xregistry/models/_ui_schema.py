"""UI schemas: a form description of a Pydantic model, for a front end to render.

Widgets come from the field name first (``password``, ``email``, ``url``/``link``, ``description``/
``notes``), then from the type: booleans are toggles, numbers numbers, datetimes/dates pickers,
enums and ``Literal`` selects with their options, nested models fieldsets with their own fields,
lists arrays with an ``items`` entry describing one element.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

__all__ = ["detect_widget", "generate_ui_schema"]

_MAX_DEPTH = 5
_CONSTRAINTS = {
    annotated_types.Gt: ("gt", "gt"),
    annotated_types.Ge: ("ge", "ge"),
    annotated_types.Lt: ("lt", "lt"),
    annotated_types.Le: ("le", "le"),
    annotated_types.MinLen: ("min_length", "min_length"),
    annotated_types.MaxLen: ("max_length", "max_length"),
    annotated_types.MultipleOf: ("multiple_of", "multiple_of"),
}


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); other unions are kept."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(args) < len(get_args(annotation)):
            return args[0], True
    return annotation, False


def _strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def detect_widget(name: str, annotation: Any) -> str:
    """The widget for a field called ``name`` of type ``annotation``.

    >>> detect_widget("user_email", str), detect_widget("active", bool)
    ('email', 'toggle')
    """
    lower = name.lower()
    inner, _ = _unwrap_optional(_strip_annotated(annotation))
    inner = _strip_annotated(inner)
    if "password" in lower or "secret" in lower or inner in (SecretStr, SecretBytes):
        return "password"
    if "email" in lower:
        return "email"
    if "url" in lower or "link" in lower:
        return "url"
    if "description" in lower or "notes" in lower:
        return "textarea"
    origin = get_origin(inner)
    if inner is bool:
        return "toggle"
    if inner in (int, float, decimal.Decimal):
        return "number"
    if inner is dt.datetime:
        return "datetime"
    if inner is dt.date:
        return "date"
    if inner is dt.time:
        return "time"
    if (isinstance(inner, type) and issubclass(inner, enum.Enum)) or origin is Literal:
        return "select"
    if _is_model(inner):
        return "fieldset"
    if origin in (list, set, frozenset, tuple) or inner in (list, set, frozenset, tuple):
        return "array"
    if origin is dict or inner is dict:
        return "json"
    return "text"


def _options(annotation: Any) -> list[dict[str, Any]]:
    if get_origin(annotation) is Literal:
        return [{"value": v, "label": str(v)} for v in get_args(annotation)]
    members: list[enum.Enum] = list(annotation)
    return [{"value": m.value, "label": m.name.replace("_", " ").title()} for m in members]


def _constraints(info: FieldInfo | None, annotation: Any) -> dict[str, Any]:
    metadata = list(info.metadata) if info is not None else []
    if get_origin(annotation) is typing.Annotated:
        metadata.extend(get_args(annotation)[1:])
    out: dict[str, Any] = {}
    for item in metadata:
        for kind, (attr, key) in _CONSTRAINTS.items():
            if isinstance(item, kind):
                out[key] = getattr(item, attr)
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str):
            out["pattern"] = pattern
    return out


def _describe(
    name: str, annotation: Any, info: FieldInfo | None, depth: int, seen: frozenset[type]
) -> dict[str, Any]:
    raw = annotation
    inner, optional = _unwrap_optional(_strip_annotated(annotation))
    inner = _strip_annotated(inner)
    widget = detect_widget(name, raw)
    entry: dict[str, Any] = {
        "widget": widget,
        "label": (
            info.title
            if info is not None and info.title
            else name.replace("_", " ").strip().title()
        ),
        "required": info.is_required() if info is not None else True,
        "description": info.description if info is not None else None,
    }
    if optional:
        entry["nullable"] = True
    if info is not None and info.default is not PydanticUndefined and not callable(info.default):
        default = info.default
        entry["default"] = default.value if isinstance(default, enum.Enum) else default
    constraints = _constraints(info, raw)
    if constraints:
        entry["constraints"] = constraints
    if (
        widget == "select"
        or (isinstance(inner, type) and issubclass(inner, enum.Enum))
        or get_origin(inner) is Literal
    ):
        entry["widget"] = "select"
        entry["options"] = _options(inner)
    elif _is_model(inner):
        entry["widget"] = "fieldset"
        entry["fields"] = _fields_of(inner, depth + 1, seen)
    elif widget == "array" or get_origin(inner) in (list, set, frozenset, tuple):
        args = [a for a in get_args(inner) if a is not Ellipsis]
        entry["widget"] = "array"
        entry["items"] = _describe("item", args[0] if args else Any, None, depth + 1, seen)
        entry["items"].pop("required", None)
        entry["items"].pop("label", None)
    return entry


def _fields_of(model: type[BaseModel], depth: int, seen: frozenset[type]) -> dict[str, Any]:
    if model in seen or depth > _MAX_DEPTH:
        # A self-referencing model (a tree's children) would recurse forever: refer to it instead.
        return {"$ref": model.__name__}
    inner_seen = seen | {model}
    return {
        name: _describe(name, info.annotation, info, depth, inner_seen)
        for name, info in model.model_fields.items()
        if name != "ns" or info.exclude is not True
    }


def generate_ui_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The UI schema of ``model``: ``{"title", "description", "fields": {...}, "order": [...]}``.

    Examples:
        >>> from pydantic import BaseModel
        >>> class User(BaseModel):
        ...     email: str
        ...     password: str
        ...     active: bool = True
        >>> {k: v["widget"] for k, v in generate_ui_schema(User)["fields"].items()}
        {'email': 'email', 'password': 'password', 'active': 'toggle'}
    """
    fields = _fields_of(model, 0, frozenset())
    return {
        "title": model.__name__,
        "description": (model.__doc__ or "").strip() or None,
        "fields": fields,
        "order": list(fields),
    }
