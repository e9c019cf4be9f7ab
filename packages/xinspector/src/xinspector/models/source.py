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
from xinspector.types import DEFAULT_NULL_TOKENS, split_union
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
    "Decimal": ("decimal", "Decimal"),
    "date": ("datetime", "date"),
    "datetime": ("datetime", "datetime"),
    "time": ("datetime", "time"),
    "timedelta": ("datetime", "timedelta"),
    "UUID": ("uuid", "UUID"),
}


def _set_literal(name: str, values: list[str]) -> str:
    """``NAME = frozenset({...})`` as ruff formats it (on one line when it fits)."""
    inner = "{" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "}"
    one = f"{name} = frozenset({inner})\n"
    if len(one) <= _WIDTH + 1:
        return one
    return f"{name} = frozenset(\n    {inner}\n)\n"


# Definitions the generated module carries itself, so that it runs with pydantic alone (and
# xobj-prototype for the base class): the same validators as xinspector.types, inlined.
# name -> (the names it needs: "module:name" imports or other helpers, its source).
_HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "NULL_TOKENS": (
        (),
        "# Text that means no value in a CSV or Excel cell (compared after stripping).\n"
        + _set_literal("NULL_TOKENS", sorted(DEFAULT_NULL_TOKENS)),
    ),
    "blank_to_none": (
        ("typing:Any", "NULL_TOKENS"),
        """def blank_to_none(value: Any) -> Any:
    \"\"\"None for text that means no value (CSV and Excel cells), the value otherwise.\"\"\"
    if isinstance(value, str) and value.strip() in NULL_TOKENS:
        return None
    return value
""",
    ),
    "text_to_int": (
        ("typing:Any",),
        """def text_to_int(value: Any) -> Any:
    \"\"\"An int for text holding an integer (a CSV cell), the value otherwise.\"\"\"
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.lstrip("+-").isdigit():
            return int(text)
    return value
""",
    ),
    "ObjectIdStr": (
        ("typing:Annotated", "typing:Any", "pydantic:BeforeValidator"),
        """def _oid_to_str(value: Any) -> Any:
    # A bson.ObjectId validates as its 24-character hex string.
    if type(value).__name__ == "ObjectId":
        return str(value)
    return value


ObjectIdStr = Annotated[str, BeforeValidator(_oid_to_str)]
""",
    ),
    "DecimalValue": (
        ("typing:Annotated", "typing:Any", "pydantic:BeforeValidator", "decimal:Decimal"),
        """def _decimal128_to_decimal(value: Any) -> Any:
    # A bson.Decimal128 (how MongoDB stores exact decimals) validates as its Decimal.
    if type(value).__name__ == "Decimal128":
        return value.to_decimal()
    return value


DecimalValue = Annotated[Decimal, BeforeValidator(_decimal128_to_decimal)]
""",
    ),
    "JsonValue": (
        ("typing:Annotated", "typing:Any", "pydantic:BeforeValidator", "json:"),
        """def _decode_json_text(value: Any) -> Any:
    # JSON columns arrive as text from CSV files and some drivers, decoded from others.
    if isinstance(value, str | bytes) and value[:1] in ("{", "[", b"{", b"["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


JsonValue = Annotated[Any, BeforeValidator(_decode_json_text)]
""",
    ),
}


class _Imports:
    def __init__(self) -> None:
        self.std: dict[str, set[str]] = {}
        self.third: dict[str, set[str]] = {}
        self.first: dict[str, set[str]] = {}
        self.plain: set[str] = set()
        self.helpers: list[str] = []
        self.aliases: dict[str, tuple[str, str]] = {}  # name -> (values, rendered definition)

    def literal_alias(self, attr: str, values: list[str]) -> str:
        """A module-level name for ``Literal[values]``: a long value set would not fit on the
        field's line, and ruff would break it where no simple rule can follow."""
        base = "".join(p[:1].upper() + p[1:] for p in attr.split("_") if p) or "Field"
        joined = ", ".join(values)
        name, n = f"{base}Values", 2
        while name in self.aliases and self.aliases[name][0] != joined:
            name, n = f"{base}Values{n}", n + 1
        if name not in self.aliases:
            literal = self.add("typing", "Literal")
            one = f"{name} = {literal}[{joined}]"
            if len(one) <= _WIDTH:
                text = one
            elif 4 + len(joined) <= _WIDTH:
                text = f"{name} = {literal}[\n    {joined}\n]"
            else:
                text = f"{name} = {literal}[\n" + "".join(f"    {v},\n" for v in values) + "]"
            self.aliases[name] = (joined, text)
        return name

    def helper(self, name: str) -> str:
        """Use an inlined definition (and whatever it needs) by its name."""
        if name in self.helpers:
            return name
        needs, _ = _HELPERS[name]
        for need in needs:
            if ":" not in need:
                self.helper(need)
                continue
            module, attr = need.split(":")
            if attr:
                self.add(module, attr)
            else:
                self.plain.add(module)
        self.helpers.append(name)
        return name

    def render_helpers(self) -> str:
        blocks = [_HELPERS[name][1].rstrip("\n") for name in self.helpers]
        if self.aliases:
            blocks.append("\n".join(text for _, text in self.aliases.values()))
        return "\n\n\n".join(blocks)

    def add(self, module: str, name: str) -> str:
        if module in {"datetime", "decimal", "json", "typing", "uuid"}:
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
            lines = [f"import {m}" for m in sorted(self.plain)] if group is self.std else []
            for module in sorted(group):
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


def _string(value: str, indent: int, lead: int = 0, trail: int = 0) -> str:
    """A string literal as ruff formats it: on its line when it fits (``lead`` characters before
    it after ``indent``, ``trail`` after it), else alone in parentheses one level deeper, else
    split into an implicit concatenation in those parentheses."""
    text = json.dumps(value, ensure_ascii=False)
    if indent + lead + len(text) + trail <= _WIDTH:
        return text
    pad = " " * (indent + 4)
    if indent + 4 + len(text) <= _WIDTH:
        return f"(\n{pad}{text}\n{' ' * indent})"
    pieces: list[str] = []
    chunk = ""
    room = _WIDTH - indent - 4
    for word in value.split(" "):
        candidate = f"{chunk} {word}" if chunk else word
        if len(json.dumps(candidate + " ", ensure_ascii=False)) > room and chunk:
            pieces.append(chunk + " ")
            chunk = word
        else:
            chunk = candidate
    pieces.append(chunk)
    body = "\n".join(pad + json.dumps(p, ensure_ascii=False) for p in pieces)
    return f"(\n{body}\n{' ' * indent})"


def _literal(value: Any, indent: int, lead: int = 0, trail: int = 0) -> str:
    """A Python literal for ``value`` as ruff formats it: on one line when it fits after
    ``indent`` columns (and ``lead``/``trail`` characters around it on that line), otherwise one
    element per line, one level deeper."""
    if isinstance(value, str) and not isinstance(value, _Name):
        return _string(value, indent, lead, trail)
    flat = _flat(value)
    fits = indent + lead + len(flat) + trail <= _WIDTH
    if fits or not isinstance(value, dict | list | tuple) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            key = json.dumps(str(k), ensure_ascii=False)
            items.append(f"{pad}{key}: {_literal(v, indent + 4, len(key) + 2, 1)},")
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{_literal(v, indent + 4, 0, 1)}," for v in value]
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
        elif part in _IMPORTED and part != "Decimal":
            module, attr = _IMPORTED[part]
            out.append(imports.add(module, attr))
        elif part in {"dict", "object"}:
            out.append(f"dict[str, {imports.add('typing', 'Any')}]")
        elif part == "list":
            out.append(f"list[{imports.add('typing', 'Any')}]")
        elif part == "Decimal":
            # The generated model's own type (it also takes MongoDB's Decimal128), so that the
            # source builds the same model, JSON schema included.
            out.append(imports.helper("DecimalValue"))
        elif part == "json":
            out.append(imports.helper("JsonValue"))
        elif part == "ObjectId":
            out.append(imports.helper("ObjectIdStr"))
        else:
            return imports.add("typing", "Any")
    return " | ".join(dict.fromkeys(out))


def _annotation_source(spec: FieldSpec, imports: _Imports, *, item: bool = False) -> str:
    base, validators = _annotation_parts(spec, imports, item=item)
    if not validators:
        return base
    return f"{imports.add('typing', 'Annotated')}[{', '.join([base, *validators])}]"


def _annotation_parts(
    spec: FieldSpec, imports: _Imports, *, item: bool = False
) -> tuple[str, list[str]]:
    """The annotation without its validators, and the validators (``BeforeValidator(...)``)
    that wrap it in ``Annotated[...]``."""
    if spec.nested is not None:
        ann = spec.nested.name
    elif spec.type_name == "list" and spec.items is not None:
        ann = f"list[{_annotation_source(spec.items, imports, item=True)}]"
    elif spec.enum is not None:
        values = [
            json.dumps(v, ensure_ascii=False) if isinstance(v, str) else repr(v) for v in spec.enum
        ]
        ann = f"{imports.add('typing', 'Literal')}[{', '.join(values)}]"
        if len(ann) > 40:
            ann = imports.literal_alias(spec.attr, values)
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
    validators: list[str] = []
    if item:
        return ann, validators
    # Annotated[Annotated[X, a], b] is Annotated[X, a, b]: one flat list, as Python reads it.
    if spec.int_text:
        bv = imports.add("pydantic", "BeforeValidator")
        validators.append(f"{bv}({imports.helper('text_to_int')})")
    if spec.blank_is_null:
        bv = imports.add("pydantic", "BeforeValidator")
        validators.append(f"{bv}({imports.helper('blank_to_none')})")
    return ann, validators


def _field_source(spec: FieldSpec, imports: _Imports) -> str:
    base, validators = _annotation_parts(spec, imports)
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
    if kwargs == [("default", None)]:
        tail = " = None"
    elif kwargs:
        tail = f" = {imports.add('pydantic', 'Field')}("
    else:
        tail = ""
    if validators and len(head + tail) > _WIDTH:
        # As ruff does: the annotation's subscript one element per line.
        inner = "".join(f"        {part},\n" for part in [base, *validators])
        head = f"    {spec.attr}: {imports.add('typing', 'Annotated')}[\n{inner}    ]"
    elif len(head + tail) > _WIDTH:
        head = f"    {spec.attr}: (\n        {ann}\n    )"
    if not kwargs:
        return head
    if kwargs == [("default", None)]:
        return f"{head} = None"
    field = imports.add("pydantic", "Field")
    last = head.rsplit("\n", 1)[-1]
    flat_args = ", ".join(f"{k}={_literal(v, 0)}" for k, v in kwargs)
    one_line = f"{last} = {field}({flat_args})"
    if len(one_line) <= _WIDTH and "\n" not in one_line:
        return f"{head} = {field}({flat_args})"
    body = "".join(f"        {k}={_literal(v, 8, len(k) + 1, 1)},\n" for k, v in kwargs)
    return f"{head} = {field}(\n{body}    )"


def _meta_source(meta: Mapping[str, Any]) -> str:
    lines = ["    class Meta:"]
    for key in (
        "ns",
        "collection",
        "indexes",
        "auto_generated",
        "enums",
        "strict_observed",
        "description",
        "source_schema",
    ):
        value = meta.get(key)
        if value is None or (key == "indexes" and not value):
            continue
        if key in {"enums", "strict_observed"} and not value:
            continue
        if key == "indexes":
            value = tuple(tuple(ix) for ix in value)
        if key == "source_schema":
            value = _json_safe(value)
        lines.append(f"        {key} = {_literal(value, 8, len(key) + 3)}")
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
    helpers = imports.render_helpers()
    if helpers:
        header += "\n\n" + helpers + "\n"
    return header + "\n\n" + "\n\n".join(c.rstrip("\n") + "\n" for c in classes)


_VALUE_FACTS = frozenset({"enum", "minimum", "maximum"})


def _without_samples(schema: Any, *, keep_enums: bool) -> Any:
    """``schema`` (a schema dict or part of one) without values from the data: sample values,
    and the observed value sets and smallest/largest values (``keep_enums``: observed value
    sets that the model turned into ``Literal`` rules stay, they are in the source anyway)."""
    if isinstance(schema, list):
        return [_without_samples(v, keep_enums=keep_enums) for v in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    observed = schema.get("observed")
    dropped: set[str] = set()
    if isinstance(observed, list):
        dropped = {a for a in observed if a in _VALUE_FACTS and not (a == "enum" and keep_enums)}
    for key, value in schema.items():
        if key == "sample_values" or key in dropped:
            continue
        if key == "observed" and isinstance(value, list):
            kept = [a for a in value if a not in dropped]
            if kept:
                out[key] = kept
            continue
        out[key] = _without_samples(value, keep_enums=keep_enums)
    return out


def spec_to_source(spec: ModelSpec, *, include_samples: bool = False) -> str:
    """Render a :class:`ModelSpec` (with its nested models first) as a module.

    The module needs pydantic (and xobj-prototype, the base class) and nothing else: the
    validators it uses are defined in it. Sample values and observed value sets are left out of
    ``Meta.source_schema`` unless ``include_samples``.
    """
    if not include_samples and spec.meta.get("source_schema"):
        keep = bool(spec.meta.get("enums") or spec.meta.get("strict_observed"))
        spec.meta = {
            **spec.meta,
            "source_schema": _without_samples(spec.meta["source_schema"], keep_enums=keep),
        }
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
    strict_observed: bool = False,
    include_samples: bool = False,
) -> str:
    """Python source of the model :func:`generate_model` builds for ``schema``.

    The module runs with pydantic and xobj-prototype installed, without xinspector. It holds
    no value from the data (sample values, observed value sets) unless ``include_samples``.

    Examples:
        >>> src = schema_to_source({"table": "users", "fields": {"id": {"type": "int"}}})
        >>> "class Users(XObjPrototype):" in src
        True
    """
    spec = build_model_spec(
        schema,
        model_name,
        ns=ns,
        enums=enums,
        strict_observed=strict_observed,
        include_samples=include_samples,
    )
    return spec_to_source(spec, include_samples=include_samples)


# -- introspecting an arbitrary model ----------------------------------------------------------
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
