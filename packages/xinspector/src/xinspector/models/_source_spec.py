"""Models and schemas as importable Python source, the way datamodel-code-generator writes it.

:func:`schema_to_source` renders the same :class:`~xinspector.models._generate.ModelSpec` that
:func:`~xinspector.generate_model` builds classes from, so the exported module defines an
equivalent model. The output compiles, imports only what it uses, keeps lines within 100
characters and passes ruff with this repository's rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from xinspector._schema import CollectionSchema
from xinspector._types import split_union
from xinspector.models._generate import FieldSpec, ModelSpec, build_model_spec
from xinspector.models._source_format import _WIDTH, _docstring, _json_safe, _literal
from xinspector.models._source_module import _IMPORTED, _SIMPLE, _Imports, _meta_source, _module

__all__ = ["schema_to_source", "spec_to_source"]


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
