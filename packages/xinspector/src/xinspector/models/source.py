"""Models and schemas as importable Python source, the way datamodel-code-generator writes it.

:func:`schema_to_source` renders the same :class:`~xinspector.models.generate.ModelSpec` that
:func:`~xinspector.models.generate.generate_model` builds classes from, so the exported module
defines an equivalent model. :func:`model_to_source` renders a generated model from its
``Meta.source_schema`` and any other Pydantic model by introspecting its fields. The output
compiles, imports only what it uses, keeps lines within 100 characters and passes ruff with
this repository's rules.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from xinspector.models.generate import FieldSpec, ModelSpec, build_model_spec
from xinspector.schema import CollectionSchema
from xinspector.types import split_union
from xobj_prototype import XObjPrototype

__all__ = ["model_to_source", "schema_to_source"]

_WIDTH = 100
_SIMPLE = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "bytes": "bytes",
    "None": "None",
}
_IMPORTED = {
    # The generated model's own type (it also takes MongoDB's Decimal128), so that the source
    # builds the same model, JSON schema included.
    "Decimal": ("xinspector.types", "DecimalValue"),
    "date": ("datetime", "date"),
    "datetime": ("datetime", "datetime"),
    "time": ("datetime", "time"),
    "timedelta": ("datetime", "timedelta"),
    "UUID": ("uuid", "UUID"),
}


class _Imports:
    def __init__(self) -> None:
        self.std: dict[str, set[str]] = {}
        self.third: dict[str, set[str]] = {}
        self.first: dict[str, set[str]] = {}

    def add(self, module: str, name: str) -> str:
        if module in {"datetime", "decimal", "typing", "uuid"}:
            group = self.std
        elif module in {"pydantic"}:
            group = self.third
        else:
            group = self.first
        group.setdefault(module, set()).add(name)
        return name

    def render(self) -> str:
        blocks = []
        for group in (self.std, self.third, self.first):
            lines = []
            for module in sorted(group):
                names = sorted(group[module], key=lambda n: (not n[:1].isupper(), n.lower()))
                names = sorted(group[module], key=_isort_key)
                line = f"from {module} import {', '.join(names)}"
                if len(line) > _WIDTH:
                    inner = "".join(f"    {n},\n" for n in names)
                    line = f"from {module} import (\n{inner})"
                lines.append(line)
            if lines:
                blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


def _isort_key(name: str) -> tuple[int, str]:
    # isort's force-sort-within-sections default: CONSTANTS, Classes, functions.
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _string(value: str, indent: int) -> str:
    """A string literal; split into an implicit concatenation in parentheses (its pieces one
    level deeper than ``indent``, the indentation of the line it starts on) when too long."""
    text = json.dumps(value, ensure_ascii=False)
    if indent + len(text) <= _WIDTH - 20:
        return text
    pieces: list[str] = []
    chunk = ""
    room = _WIDTH - indent - 8
    for word in value.split(" "):
        candidate = f"{chunk} {word}" if chunk else word
        if len(json.dumps(candidate, ensure_ascii=False)) > room and chunk:
            pieces.append(chunk + " ")
            chunk = word
        else:
            chunk = candidate
    pieces.append(chunk)
    pad = " " * (indent + 4)
    body = "\n".join(pad + json.dumps(p, ensure_ascii=False) for p in pieces)
    return f"(\n{body}\n{' ' * indent})"


def _literal(value: Any, indent: int) -> str:
    """A Python literal for ``value`` in the style of black: on one line when it fits after
    ``indent`` columns, otherwise one element per line, one level deeper."""
    if isinstance(value, str) and not isinstance(value, _Name):
        return _string(value, indent)
    flat = _flat(value)
    if indent + len(flat) <= _WIDTH - 20 or not isinstance(value, dict | list | tuple):
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(str(k))}: {_literal(v, indent + 4)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{_literal(v, indent + 4)}," for v in value]
    opener, closer = ("[", "]") if isinstance(value, list) else ("(", ")")
    return opener + "\n" + "\n".join(items) + "\n" + " " * indent + closer


def _flat(value: Any) -> str:
    if isinstance(value, _Name):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(str(k))}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _docstring(text: str) -> str:
    text = " ".join(text.split())
    if '"""' not in text and "\\" not in text and len(text) + 10 <= _WIDTH:
        return f'"""{text}"""'
    return _string(text, 4)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# -- rendering a ModelSpec -------------------------------------------------------------------
def _type_source(name: str, imports: _Imports) -> str:
    parts = split_union(name) or ["Any"]
    out: list[str] = []
    for part in parts:
        if part in _SIMPLE:
            out.append(_SIMPLE[part])
        elif part in _IMPORTED:
            module, attr = _IMPORTED[part]
            out.append(imports.add(module, attr))
        elif part in {"dict", "object"}:
            out.append(f"dict[str, {imports.add('typing', 'Any')}]")
        elif part == "list":
            out.append(f"list[{imports.add('typing', 'Any')}]")
        elif part == "json":
            out.append(imports.add("xinspector.types", "JsonValue"))
        elif part == "ObjectId":
            out.append(imports.add("xinspector.types", "ObjectIdStr"))
        else:
            return imports.add("typing", "Any")
    return " | ".join(dict.fromkeys(out))


def _annotation_source(spec: FieldSpec, imports: _Imports, *, item: bool = False) -> str:
    if spec.nested is not None:
        ann = spec.nested.name
    elif spec.type_name == "list" and spec.items is not None:
        ann = f"list[{_annotation_source(spec.items, imports, item=True)}]"
    elif spec.enum is not None:
        values = ", ".join(json.dumps(v) if isinstance(v, str) else repr(v) for v in spec.enum)
        ann = f"{imports.add('typing', 'Literal')}[{values}]"
    else:
        ann = _type_source(spec.type_name, imports)
    if item and spec.constraints:
        kwargs = ", ".join(f"{k}={_literal(v, 0)}" for k, v in spec.constraints.items())
        ann = (
            f"{imports.add('typing', 'Annotated')}[{ann}, "
            f"{imports.add('pydantic', 'Field')}({kwargs})]"
        )
    if spec.optional and ann != "Any":
        ann = f"{ann} | None"
    if item:
        return ann
    if spec.blank_is_null:
        ann = (
            f"{imports.add('typing', 'Annotated')}[{ann}, "
            f"{imports.add('pydantic', 'BeforeValidator')}("
            f"{imports.add('xinspector.types', 'blank_to_none')})]"
        )
    return ann


def _field_source(spec: FieldSpec, imports: _Imports) -> str:
    ann = _annotation_source(spec, imports)
    kwargs: list[tuple[str, Any]] = []
    if spec.optional:
        kwargs.append(("default", None))
    if spec.attr != spec.source_name:
        kwargs.append(("alias", spec.source_name))
    kwargs.extend(spec.constraints.items())
    if spec.description:
        kwargs.append(("description", spec.description))
    if spec.extra:
        kwargs.append(("json_schema_extra", _json_safe(spec.extra)))
    head = f"    {spec.attr}: {ann}"
    if not kwargs:
        return head
    if kwargs == [("default", None)]:
        return f"{head} = None"
    field = imports.add("pydantic", "Field")
    one_line = f"{head} = {field}({', '.join(f'{k}={_literal(v, 0)}' for k, v in kwargs)})"
    if len(one_line) <= _WIDTH and "\n" not in one_line:
        return one_line
    body = "".join(f"        {k}={_literal(v, 8)},\n" for k, v in kwargs)
    return f"{head} = {field}(\n{body}    )"


def _meta_source(meta: Mapping[str, Any]) -> str:
    lines = ["    class Meta:"]
    for key in ("ns", "collection", "indexes", "auto_generated", "description", "source_schema"):
        value = meta.get(key)
        if value is None or (key == "indexes" and not value):
            continue
        if key == "indexes":
            value = tuple(tuple(ix) for ix in value)
        if key == "source_schema":
            value = _json_safe(value)
        lines.append(f"        {key} = {_literal(value, 8)}")
    return "\n".join(lines)


def _class_source(spec: ModelSpec, imports: _Imports, base: str, *, meta: bool) -> str:
    lines = [f"class {spec.name}({base}):"]
    if spec.doc:
        lines.extend([f"    {_docstring(spec.doc)}", ""])
    if meta and spec.meta:
        lines.extend([_meta_source(spec.meta), ""])
    lines.extend(_field_source(f, imports) for f in spec.fields)
    if not spec.fields:
        lines.append("    pass")
    return "\n".join(lines).rstrip() + "\n"


def _nested_specs(spec: ModelSpec) -> list[ModelSpec]:
    out: list[ModelSpec] = []
    for f in spec.fields:
        inner = f
        while inner.items is not None and inner.nested is None:
            inner = inner.items
        if inner.nested is not None:
            out.extend(_nested_specs(inner.nested))
            out.append(inner.nested)
    return out


def _module(classes: list[str], imports: _Imports, doc: str) -> str:
    header = f'"""{doc}"""\n\n' + imports.render() + "\n"
    return header + "\n\n" + "\n\n".join(c.rstrip("\n") + "\n" for c in classes)


def spec_to_source(spec: ModelSpec) -> str:
    """Render a :class:`ModelSpec` (with its nested models first) as a module."""
    imports = _Imports()
    base = imports.add("xobj_prototype", "XObjPrototype")
    seen: set[str] = set()
    classes = []
    for nested in _nested_specs(spec):
        if nested.name not in seen:
            seen.add(nested.name)
            classes.append(_class_source(nested, imports, base, meta=False))
    classes.append(_class_source(spec, imports, base, meta=True))
    return _module(classes, imports, f"Models generated by xinspector: {spec.name}.")


def schema_to_source(
    schema: CollectionSchema | Mapping[str, Any],
    model_name: str | None = None,
    *,
    ns: str | None = None,
    enums: bool = False,
) -> str:
    """Python source of the model :func:`generate_model` builds for ``schema``.

    Examples:
        >>> src = schema_to_source({"table": "users", "fields": {"id": {"type": "int"}}})
        >>> "class Users(XObjPrototype):" in src
        True
    """
    return spec_to_source(build_model_spec(schema, model_name, ns=ns, enums=enums))


# -- introspecting an arbitrary model ----------------------------------------------------------
def model_to_source(model: type[BaseModel]) -> str:
    """Python source of ``model``: from its source schema when xinspector generated it, by
    introspection of its fields otherwise (nested models included)."""
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
        body = "".join(f"        {k}={_literal(v, 8)},\n" for k, v in kwargs)
        one = f"{head} = {field}({', '.join(f'{k}={_literal(v, 0)}' for k, v in kwargs)})"
        lines.append(
            one if len(one) <= _WIDTH and "\n" not in one else f"{head} = {field}(\n{body}    )"
        )
    if not own:
        lines.append("    pass")
    classes.pop(model.__name__)
    classes[model.__name__] = "\n".join(lines) + "\n"


class _Name(str):
    """A bare name in rendered source (``list``), not a string literal."""

    __slots__ = ()


# Constraint attributes of pydantic/annotated-types metadata objects, in Field() spelling.
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
