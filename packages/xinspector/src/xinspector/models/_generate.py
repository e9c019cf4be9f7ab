"""Pydantic v2 models (subclasses of ``XObjPrototype``) generated from schemas.

Each schema field becomes a model field: its type from :data:`xinspector._types.TYPE_NAMES`
(``object`` fields become nested models, ``list`` fields ``list[item]``), ``X | None`` with a
``None`` default where the field is nullable or optional, the constraints the
source declares (``max_length``, ``max_digits``/``decimal_places``, ``ge``/``le``/``gt``/``lt``,
``Literal`` enums) and a description. Facts only observed in sampled data
(``FieldSchema.observed``) are information, not validators, unless ``strict_observed=True``.
Names that are not Python identifiers (``"Order Date"``, ``"_id"``, ``"class"``) get a safe
attribute name and keep the original as alias, so records validate by their own keys.

The class metadata (``Meta``: collection, indexes, ``auto_generated``, ``source_schema``, ns)
is set through ``XObjPrototype.set_meta``.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, create_model

from xinspector._errors import XInspectorSchemaError
from xinspector._schema import CollectionSchema, FieldSchema
from xinspector._types import TYPE_NAMES, blank_to_none, python_type, split_union, text_to_int
from xinspector.models._names import model_name_for, python_name
from xobj_prototype import XObjPrototype, segment_for

__all__ = [
    "FieldSpec",
    "ModelSpec",
    "build_model_spec",
    "generate_joined_model",
    "generate_model",
    "joined_schema",
]

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_URL = r"^(?:https?|ftp)://\S+$"


@dataclass
class FieldSpec:
    """One model field, described independently of how it is built (class or source)."""

    source_name: str
    attr: str
    type_name: str
    optional: bool
    constraints: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    enum: list[Any] | None = None
    nested: ModelSpec | None = None
    items: FieldSpec | None = None
    blank_is_null: bool = False
    int_text: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelSpec:
    """A model to build: its name, fields and metadata."""

    name: str
    fields: list[FieldSpec]
    meta: dict[str, Any] = field(default_factory=dict)
    doc: str | None = None


# Observed facts that are values from the data (personal data, possibly): shown only when
# asked (include_samples=True), unlike lengths and scales.
_VALUE_FACTS = frozenset({"enum", "minimum", "maximum"})


def _description(fs: FieldSchema, *, include_samples: bool) -> str | None:
    parts: list[str] = []
    if fs.description:
        parts.append(fs.description)
    if fs.db_type:
        parts.append(f"Source type: {fs.db_type}")
    if fs.checks:
        parts.append(f"Check: {' AND '.join(fs.checks)}")
    if fs.cardinality:
        parts.append(f"Cardinality: {fs.cardinality}")
    observed = _observed_facts(fs, include_samples=include_samples)
    if observed:
        shown = ", ".join(f"{k} {_short(v)}" for k, v in observed.items())
        parts.append(f"Observed in the data (not enforced): {shown}")
    if include_samples and fs.sample_values and fs.type not in {"object", "list", "bytes"}:
        shown = ", ".join(str(v)[:40] for v in fs.sample_values[:3])
        parts.append(f"Sample values: {shown}")
    return " | ".join(parts) or None


def _short(value: Any) -> str:
    if isinstance(value, list):
        head = ", ".join(str(v)[:40] for v in value[:5])
        return f"[{head}{', ...' if len(value) > 5 else ''}]"
    return str(value)[:40]


def _observed_facts(fs: FieldSchema, *, include_samples: bool) -> dict[str, Any]:
    """The facts ``fs`` only observed, value-bearing ones only with ``include_samples``."""
    return {
        attr: getattr(fs, attr)
        for attr in fs.observed
        if getattr(fs, attr, None) is not None and (include_samples or attr not in _VALUE_FACTS)
    }


def _constraints(fs: FieldSchema, *, strict_observed: bool) -> dict[str, Any]:
    def rule(attr: str) -> Any:
        # Declared constraints are rules; observed ones only when asked for.
        if strict_observed or attr not in fs.observed:
            return getattr(fs, attr)
        return None

    out: dict[str, Any] = {}
    base = split_union(fs.type)
    if base == ["str"]:
        if rule("max_length") is not None:
            out["max_length"] = fs.max_length
        if rule("min_length") is not None:
            out["min_length"] = fs.min_length
        if rule("format") == "email":
            out["pattern"] = _EMAIL
        elif rule("format") == "url":
            out["pattern"] = _URL
    if base == ["Decimal"]:
        if rule("max_digits") is not None:
            out["max_digits"] = fs.max_digits
        if rule("decimal_places") is not None:
            out["decimal_places"] = fs.decimal_places
    if base and base[0] in {"int", "float", "Decimal"} and len(base) == 1:
        for attr, key in (
            ("minimum", "ge"),
            ("maximum", "le"),
            ("exclusive_minimum", "gt"),
            ("exclusive_maximum", "lt"),
        ):
            value = rule(attr) if attr in fs.OBSERVABLE else getattr(fs, attr)
            if value is not None:
                out[key] = value
    return out


@dataclass(frozen=True)
class _Options:
    """How observed facts and samples are treated (see :func:`generate_model`)."""

    enums: bool = False
    strict_observed: bool = False
    include_samples: bool = False


def _field_spec(
    name: str, fs: FieldSchema, taken: set[str], parent: str, opts: _Options, text_source: bool
) -> FieldSpec:
    attr = python_name(name, taken)
    spec = FieldSpec(
        source_name=name,
        attr=attr,
        type_name=fs.type,
        optional=fs.nullable or not fs.required,
        constraints=_constraints(fs, strict_observed=opts.strict_observed),
        description=_description(fs, include_samples=opts.include_samples),
    )
    # A declared enum (a database enum type, a CHECK ... IN, a validator) is a rule; values
    # merely seen become one with enums=True or strict_observed=True.
    enum_is_rule = "enum" not in fs.observed or opts.enums or opts.strict_observed
    if fs.enum and split_union(fs.type)[0] in {"str", "int"} and enum_is_rule:
        spec.enum = list(fs.enum)
    if fs.type == "object" and fs.fields:
        spec.nested = build_model_spec_fields(
            f"{parent}{model_name_for(name)}", fs.fields, opts=opts, text_source=text_source
        )
        spec.nested.doc = f"The nested object {name!r} of {parent}."
    if fs.type == "list" and fs.items is not None:
        spec.items = _field_spec(
            "item", fs.items, set(), f"{parent}{model_name_for(name)}", opts, text_source
        )
    spec.blank_is_null = text_source and spec.optional and fs.type != "str"
    # A Literal of ints takes no text: a CSV row's "1" must still match 1.
    spec.int_text = text_source and spec.enum is not None and split_union(fs.type)[0] == "int"
    observed = _observed_facts(fs, include_samples=opts.include_samples)
    if observed and not opts.strict_observed:
        spec.extra["x-observed"] = observed
    if fs.primary_key:
        spec.extra["x-primary-key"] = True
    if fs.foreign_key:
        spec.extra["x-foreign-key"] = dict(fs.foreign_key)
    if fs.auto_increment:
        spec.extra["x-auto-increment"] = True
    return spec


def build_model_spec_fields(
    name: str,
    fields: Mapping[str, FieldSchema],
    *,
    opts: _Options | None = None,
    text_source: bool = False,
) -> ModelSpec:
    """A :class:`ModelSpec` for a mapping of field schemas (nested models use it too)."""
    taken: set[str] = set()
    options = opts or _Options()
    specs = [_field_spec(k, v, taken, name, options, text_source) for k, v in fields.items()]
    return ModelSpec(name=name, fields=specs)


def _as_schema(schema: CollectionSchema | Mapping[str, Any], name: str | None) -> CollectionSchema:
    if isinstance(schema, CollectionSchema):
        return schema
    if isinstance(schema, Mapping):
        return CollectionSchema.from_dict(schema, name=name)
    raise XInspectorSchemaError(
        f"expected a schema dict or CollectionSchema, got {type(schema).__name__}",
        operation="generate_model",
    )


def build_model_spec(
    schema: CollectionSchema | Mapping[str, Any],
    model_name: str | None = None,
    *,
    ns: str | None = None,
    enums: bool = False,
    strict_observed: bool = False,
    include_samples: bool = False,
) -> ModelSpec:
    """Everything :func:`generate_model` and the source exporter need, from a schema."""
    for option, value in (
        ("enums", enums),
        ("strict_observed", strict_observed),
        ("include_samples", include_samples),
    ):
        if not isinstance(value, bool):
            raise XInspectorSchemaError(
                f"{option} must be True or False, got {value!r}", operation="generate_model"
            )
    cs = _as_schema(schema, model_name)
    name = model_name or model_name_for(cs.name)
    if not name.isidentifier() or keyword.iskeyword(name):
        raise XInspectorSchemaError(
            f"model name {name!r} is not a Python identifier", operation="generate_model"
        )
    text_source = cs.kind == "file" and cs.source in {"csv", None}
    opts = _Options(enums=enums, strict_observed=strict_observed, include_samples=include_samples)
    spec = build_model_spec_fields(name, cs.fields, opts=opts, text_source=text_source)
    extra = cs.model_extra or {}
    spec.meta = {
        "ns": ns or extra.get("ns") or f"models.{segment_for(cs.name)}",
        "collection": cs.name,
        "indexes": tuple(tuple(ix.fields) for ix in cs.indexes),
        "auto_generated": True,
        "source_schema": cs.to_dict(),
        "description": cs.description,
        "enums": enums,
        "strict_observed": strict_observed,
    }
    spec.doc = (
        f"Generated by xinspector from {cs.kind} {cs.name!r}"
        + (f" ({cs.source})" if cs.source else "")
        + "."
    )
    return spec


def _annotation(spec: FieldSpec, models: dict[str, type[XObjPrototype]]) -> Any:
    if spec.nested is not None:
        annotation: Any = _build(spec.nested, models)
    elif spec.type_name == "list" and spec.items is not None:
        annotation = list[_item_annotation(spec.items, models)]  # type: ignore[misc]
    elif spec.enum is not None:
        annotation = Literal[tuple(spec.enum)]
    else:
        annotation = python_type(spec.type_name)
    return annotation


def _item_annotation(spec: FieldSpec, models: dict[str, type[XObjPrototype]]) -> Any:
    inner = _annotation(spec, models)
    if spec.constraints:
        inner = Annotated[inner, Field(**spec.constraints)]
    if spec.optional:
        inner = inner | None
    return inner


def _build(spec: ModelSpec, models: dict[str, type[XObjPrototype]]) -> type[XObjPrototype]:
    if spec.name in models:
        return models[spec.name]
    definitions: dict[str, Any] = {}
    for f in spec.fields:
        annotation = _annotation(f, models)
        if f.optional and annotation is not Any:
            annotation = annotation | None
        if f.int_text:
            annotation = Annotated[annotation, BeforeValidator(text_to_int)]
        if f.blank_is_null:
            annotation = Annotated[annotation, BeforeValidator(blank_to_none)]
        kwargs: dict[str, Any] = dict(f.constraints)
        if f.description:
            kwargs["description"] = f.description
        if f.attr != f.source_name:
            kwargs["alias"] = f.source_name
        if f.extra:
            kwargs["json_schema_extra"] = dict(f.extra)
        default = None if f.optional else ...
        definitions[f.attr] = (annotation, Field(default, **kwargs))
    try:
        model = create_model(
            spec.name,
            __base__=XObjPrototype,
            __doc__=spec.doc,
            __module__="xinspector.generated",
            **definitions,
        )
    except Exception as exc:
        raise XInspectorSchemaError(
            f"cannot build model {spec.name!r}: {exc}", operation="generate_model"
        ) from exc
    if spec.meta:
        model.set_meta(**spec.meta)
    models[spec.name] = model
    return model


def generate_model(
    schema: CollectionSchema | Mapping[str, Any],
    model_name: str | None = None,
    *,
    ns: str | None = None,
    enums: bool = False,
    strict_observed: bool = False,
    include_samples: bool = False,
) -> type[XObjPrototype]:
    """A Pydantic v2 model subclassing ``XObjPrototype`` for ``schema``.

    Constraints the source declares (``varchar(120)``, ``NOT NULL``, ``numeric(10,2)``, a
    CHECK, an enum type, a ``$jsonSchema``) are validated. Facts only observed in sampled data
    (``FieldSchema.observed``: the longest string, the values seen, an e-mail look) are
    information: they go into the field's description and ``json_schema_extra["x-observed"]``,
    so that the model accepts the next record the source accepts.

    Args:
        schema: a :class:`CollectionSchema` or a schema dict.
        model_name: the class name (default: the collection's name in CamelCase).
        ns: the namespace in ``Meta`` (default ``models.<collection>``).
        enums: turn fields with a few observed values (``cardinality="low"`` with an observed
            ``enum``) into ``Literal`` fields; declared enums always are.
        strict_observed: make every observed fact a rule too (``max_length``, ``ge``/``le``,
            e-mail/URL patterns, decimal places, ``Literal`` value sets), for a model that
            accepts only data like the sample.
        include_samples: put sample values and observed values (value sets, smallest and
            largest numbers) in descriptions and extras. Off by default: they are data, and
            may be personal data.

    Examples:
        >>> User = generate_model({"table": "users", "fields": {
        ...     "id": {"type": "int", "required": True},
        ...     "email": {"type": "str", "nullable": True, "max_length": 80}}})
        >>> User(id="7").id, User.meta().collection, User.meta().auto_generated
        (7, 'users', True)
    """
    spec = build_model_spec(
        schema,
        model_name,
        ns=ns,
        enums=enums,
        strict_observed=strict_observed,
        include_samples=include_samples,
    )
    return _build(spec, {})


def joined_schema(
    schemas: Mapping[str, CollectionSchema | Mapping[str, Any]], join_config: Mapping[str, Any]
) -> CollectionSchema:
    """The schema of a join (repo-spec v3 ``_merge_schemas``): every field of every source,
    prefixed by its source's last dotted name segment, except the join key(s) in ``on``.

    A join key appears once. Fields of sources on the optional side of a ``left``/``right``/
    ``outer`` join become optional.
    """
    if not schemas:
        raise XInspectorSchemaError(
            "a joined model needs at least one schema", operation="generate_joined_model"
        )
    on = join_config.get("on", "id")
    keys = {on} if isinstance(on, str) else set(on)
    how = str(join_config.get("type", join_config.get("how", "inner"))).lower()
    names = list(schemas)
    fields: dict[str, FieldSchema] = {}
    for position, source in enumerate(names):
        cs = _as_schema(schemas[source], source)
        prefix = source.split(".")[-1]
        optional_side = (
            (how.startswith("left") and position > 0)
            or (how.startswith("right") and position < len(names) - 1)
            or how.startswith(("outer", "full"))
        )
        for fname, fschema in cs.fields.items():
            merged = fname if fname in keys else f"{prefix}_{fname}"
            if merged in fields:
                continue  # the join key, already taken from the first source
            copy = fschema.model_copy(deep=True)
            copy.primary_key = False
            copy.unique = False
            if optional_side and fname not in keys:
                copy.required = False
                copy.nullable = True
            extra = copy.__pydantic_extra__ if copy.__pydantic_extra__ is not None else {}
            extra["source"] = source
            copy.__pydantic_extra__ = extra
            fields[merged] = copy
    missing = [k for k in keys if k not in fields]
    if missing:
        raise XInspectorSchemaError(
            f"join key(s) {', '.join(sorted(missing))} not found in any schema",
            operation="generate_joined_model",
        )
    name = str(join_config.get("name") or "_".join(n.split(".")[-1] for n in names))
    result = CollectionSchema(name=name, kind="view", fields=fields)
    result.__pydantic_extra__ = {
        "view_type": "joined",
        "join_config": dict(join_config),
        "source_schemas": {n: _as_schema(s, n).to_dict() for n, s in schemas.items()},
    }
    return result


def generate_joined_model(
    schemas: Mapping[str, CollectionSchema | Mapping[str, Any]],
    join_config: Mapping[str, Any],
    model_name: str | None = None,
    *,
    ns: str | None = None,
    strict_observed: bool = False,
) -> type[XObjPrototype]:
    """A model for the rows of a join of ``schemas`` (see :func:`joined_schema`)."""
    schema = joined_schema(schemas, join_config)
    return generate_model(
        schema,
        model_name or model_name_for(schema.name) + "View",
        ns=ns,
        strict_observed=strict_observed,
    )


_ = TYPE_NAMES  # the names this module resolves; re-exported for readers of the source
