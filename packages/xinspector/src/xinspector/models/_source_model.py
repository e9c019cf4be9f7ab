"""Any Pydantic model as importable Python source: :func:`model_to_source`.

A generated model is rendered from its ``Meta.source_schema`` (as :func:`schema_to_source`
does); any other model by introspecting its fields.
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from xinspector.models._source_format import _WIDTH, _docstring, _json_safe, _literal, _Name
from xinspector.models._source_module import _IMPORTED, _Imports, _meta_source, _module
from xinspector.models._source_spec import schema_to_source
from xobj_prototype import XObjPrototype

__all__ = ["model_to_source"]


def model_to_source(model: type[BaseModel], *, include_samples: bool = False) -> str:
    """Python source of ``model``: from its source schema when xinspector generated it, by
    introspection of its fields otherwise (nested models included).

    The module runs with pydantic (and xobj-prototype where the model inherits from it)
    installed, without xinspector. A generated model is written without sample values or
    observed value sets (data, perhaps personal data) unless ``include_samples=True``.
    """
    if not isinstance(include_samples, bool):
        raise TypeError(f"include_samples must be True or False, got {include_samples!r}")
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"model_to_source needs a Pydantic model class, got {model!r}")
    if issubclass(model, XObjPrototype):
        meta = model.meta()
        if meta.auto_generated and meta.source_schema:
            extra = meta.model_extra or {}
            return schema_to_source(
                dict(meta.source_schema),
                model.__name__,
                ns=meta.ns,
                enums=bool(extra.get("enums", False)),
                strict_observed=bool(extra.get("strict_observed", False)),
                include_samples=include_samples,
            )
    imports = _Imports()
    classes: dict[str, str] = {}
    _introspect(model, imports, classes)
    return _module(
        list(classes.values()), imports, f"Models exported by xinspector: {model.__name__}."
    )


def _introspect(model: type[BaseModel], imports: _Imports, classes: dict[str, str]) -> None:
    if model.__name__ in classes:
        return
    classes[model.__name__] = ""  # reserve: recursive models refer to themselves by name
    is_x = issubclass(model, XObjPrototype)
    base = (
        imports.add("xobj_prototype", "XObjPrototype")
        if is_x
        else imports.add("pydantic", "BaseModel")
    )
    own = {
        n: f
        for n, f in model.model_fields.items()
        if not (is_x and n in XObjPrototype.model_fields)
    }
    lines = [f"class {model.__name__}({base}):"]
    if model.__doc__ and model.__doc__ not in (BaseModel.__doc__, XObjPrototype.__doc__):
        lines.extend([f"    {_docstring(model.__doc__)}", ""])
    if is_x:
        meta = model.meta().model_dump(exclude_defaults=True)  # type: ignore[attr-defined]
        if meta:
            lines.extend([_meta_source(meta), ""])
    for name, info in own.items():
        ann = _render(info.annotation, imports, classes)
        kwargs = _field_kwargs(info)
        head = f"    {name}: {ann}"
        if not kwargs:
            lines.append(head)
            continue
        field = imports.add("pydantic", "Field")
        body = "".join(f"        {k}={_literal(v, 8, len(k) + 1, 1)},\n" for k, v in kwargs)
        one = f"{head} = {field}({', '.join(f'{k}={_literal(v, 0)}' for k, v in kwargs)})"
        lines.append(
            one if len(one) <= _WIDTH and "\n" not in one else f"{head} = {field}(\n{body}    )"
        )
    if not own:
        lines.append("    pass")
    classes.pop(model.__name__)
    classes[model.__name__] = "\n".join(lines) + "\n"


_CONSTRAINT_ATTRS = (
    "max_length",
    "min_length",
    "ge",
    "le",
    "gt",
    "lt",
    "multiple_of",
    "pattern",
    "max_digits",
    "decimal_places",
)


def _field_kwargs(info: FieldInfo) -> list[tuple[str, Any]]:
    kwargs: list[tuple[str, Any]] = []
    if not info.is_required() and info.default_factory is None:
        default = info.default
        try:
            literal_ok = _json_safe(default) == default
        except (TypeError, ValueError):
            literal_ok = False
        if literal_ok:
            kwargs.append(("default", default))
    elif info.default_factory in (list, dict, set, tuple):
        kwargs.append(("default_factory", _Name(info.default_factory.__name__)))
    if info.alias:
        kwargs.append(("alias", info.alias))
    seen: set[str] = set()
    for meta in info.metadata:
        for attr in _CONSTRAINT_ATTRS:
            value = getattr(meta, attr, None)
            if value is not None and attr not in seen and not isinstance(meta, type):
                seen.add(attr)
                kwargs.append((attr, value))
    if info.description:
        kwargs.append(("description", info.description))
    return kwargs


def _render(tp: Any, imports: _Imports, classes: dict[str, str]) -> str:
    if tp is None or tp is type(None):
        return "None"
    if tp is Any:
        return imports.add("typing", "Any")
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        _introspect(tp, imports, classes)
        return tp.__name__
    for cls, name in (
        (Decimal, "Decimal"),
        (datetime, "datetime"),
        (date, "date"),
        (time, "time"),
        (timedelta, "timedelta"),
        (UUID, "UUID"),
    ):
        if tp is cls:
            module, attr = _IMPORTED[name]
            return imports.add(module, attr)
    if tp in (str, int, float, bool, bytes):
        return str(tp.__name__)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_render(a, imports, classes) for a in args)
    if origin is typing.Literal:
        return f"{imports.add('typing', 'Literal')}[{', '.join(repr(a) for a in args)}]"
    if origin is typing.Annotated:
        return _render(args[0], imports, classes)
    if origin in (list, set, frozenset, tuple, dict):
        inner = ", ".join("..." if a is Ellipsis else _render(a, imports, classes) for a in args)
        return f"{origin.__name__}[{inner}]" if args else origin.__name__
    if tp in (list, dict, set, tuple):
        return str(tp.__name__)
    return imports.add("typing", "Any")
