"""Pydantic v2 models (subclasses of ``XObjPrototype``) generated from schemas.

Each schema field becomes a model field: its type from :data:`xinspector.types.TYPE_NAMES`
(``object`` fields become nested models, ``list`` fields ``list[item]``), ``X | None`` with a
``None`` default where the field is nullable or optional, constraints from the schema
(``max_length``, ``max_digits``/``decimal_places``, ``ge``/``le``, an e-mail or URL pattern where
every value had one, ``Literal`` enums for low-cardinality fields when asked) and a description.
Names that are not Python identifiers (``"Order Date"``, ``"_id"``, ``"class"``) get a safe
attribute name and keep the original as alias, so records validate by their own keys.

The class metadata (``Meta``: collection, indexes, ``auto_generated``, ``source_schema``, ns)
is set through ``XObjPrototype.set_meta``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, create_model

from xinspector.errors import XInspectorSchemaError
from xinspector.schema import CollectionSchema, FieldSchema
from xinspector.types import TYPE_NAMES, blank_to_none, python_type, split_union
from xobj_prototype import XObjPrototype

__all__ = [
    "FieldSpec",
    "ModelSpec",
    "build_model_spec",
    "generate_joined_model",
    "generate_model",
    "joined_schema",
    "model_name_for",
    "python_name",
]

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_URL = r"^(?:https?|ftp)://\S+$"
_RESERVED = set(dir(BaseModel)) | set(dir(XObjPrototype)) | {"ns", "Meta"}


def python_name(name: str, taken: set[str]) -> str:
    """A valid, unused attribute name for a source field name."""
    text = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_")
    if not text:
        text = "field"
    # Pydantic ignores attributes with a leading underscore: "_id" becomes "id".
    if text[0].isdigit():
        text = f"f_{text}"
    if keyword.iskeyword(text) or text in _RESERVED or text.startswith("model_"):
        text = f"{text}_"
    base, n = text, 2
    while text in taken:
        text = f"{base}_{n}"
        n += 1
    taken.add(text)
    return text


def model_name_for(collection: str) -> str:
    """A class name for a collection: ``invoice_line`` -> ``InvoiceLine``."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", collection) if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    if name[0].isdigit():
        name = f"M{name}"
    return name


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
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelSpec:
    """A model to build: its name, fields and metadata."""

    name: str
    fields: list[FieldSpec]
    meta: dict[str, Any] = field(default_factory=dict)
    doc: str | None = None


def _description(fs: FieldSchema) -> str | None:
    parts: list[str] = []
    if fs.description:
        parts.append(fs.description)
    if fs.db_type:
        parts.append(f"Source type: {fs.db_type}")
    if fs.cardinality:
        parts.append(f"Cardinality: {fs.cardinality}")
    if fs.sample_values and fs.type not in {"object", "list", "bytes"}:
        shown = ", ".join(str(v)[:40] for v in fs.sample_values[:3])
        parts.append(f"Sample values: {shown}")
    return " | ".join(parts) or None


def _constraints(fs: FieldSchema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    base = split_union(fs.type)
    if base == ["str"]:
        if fs.max_length is not None:
            out["max_length"] = fs.max_length
        if fs.min_length is not None:
            out["min_length"] = fs.min_length
        if fs.format == "email":
            out["pattern"] = _EMAIL
        elif fs.format == "url":
            out["pattern"] = _URL
    if base == ["Decimal"]:
        if fs.max_digits is not None:
            out["max_digits"] = fs.max_digits
        if fs.decimal_places is not None:
            out["decimal_places"] = fs.decimal_places
    if base and base[0] in {"int", "float", "Decimal"} and len(base) == 1:
        if fs.minimum is not None:
            out["ge"] = fs.minimum
        if fs.maximum is not None:
            out["le"] = fs.maximum
    return out


def _field_spec(
    name: str, fs: FieldSchema, taken: set[str], parent: str, *, enums: bool, text_source: bool
) -> FieldSpec:
    attr = python_name(name, taken)
    spec = FieldSpec(
        source_name=name,
        attr=attr,
        type_name=fs.type,
        optional=fs.nullable or not fs.required,
        constraints=_constraints(fs),
        description=_description(fs),
    )
    if fs.enum and split_union(fs.type)[0] in {"str", "int"} and (enums or fs.db_type):
        spec.enum = list(fs.enum)
    if fs.type == "object" and fs.fields:
        spec.nested = build_model_spec_fields(
            f"{parent}{model_name_for(name)}", fs.fields, enums=enums, text_source=text_source
        )
        spec.nested.doc = f"The nested object {name!r} of {parent}."
    if fs.type == "list" and fs.items is not None:
        spec.items = _field_spec(
            "item",
            fs.items,
            set(),
            f"{parent}{model_name_for(name)}",
            enums=enums,
            text_source=text_source,
        )
    spec.blank_is_null = text_source and spec.optional and fs.type != "str"
    if fs.primary_key:
        spec.extra["x-primary-key"] = True
    if fs.foreign_key:
        spec.extra["x-foreign-key"] = dict(fs.foreign_key)
    if fs.auto_increment:
        spec.extra["x-auto-increment"] = True
    return spec


def build_model_spec_fields(
    name: str, fields: Mapping[str, FieldSchema], *, enums: bool, text_source: bool
) -> ModelSpec:
    """A :class:`ModelSpec` for a mapping of field schemas (nested models use it too)."""
    taken: set[str] = set()
    specs = [
        _field_spec(k, v, taken, name, enums=enums, text_source=text_source)
        for k, v in fields.items()
    ]
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
) -> ModelSpec:
    """Everything :func:`generate_model` and the source exporter need, from a schema."""
    cs = _as_schema(schema, model_name)
    name = model_name or model_name_for(cs.name)
    if not name.isidentifier() or keyword.iskeyword(name):
        raise XInspectorSchemaError(
            f"model name {name!r} is not a Python identifier", operation="generate_model"
        )
    text_source = cs.kind == "file" and cs.source in {"csv", None}
    spec = build_model_spec_fields(name, cs.fields, enums=enums, text_source=text_source)
    extra = cs.model_extra or {}
    spec.meta = {
        "ns": ns or extra.get("ns") or f"models.{cs.name}",
        "collection": cs.name,
        "indexes": tuple(tuple(ix.fields) for ix in cs.indexes),
        "auto_generated": True,
        "source_schema": cs.to_dict(),
        "description": cs.description,
        "enums": enums,
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
) -> type[XObjPrototype]:
    """A Pydantic v2 model subclassing ``XObjPrototype`` for ``schema``.

    Args:
        schema: a :class:`CollectionSchema` or a schema dict.
        model_name: the class name (default: the collection's name in CamelCase).
        ns: the namespace in ``Meta`` (default ``models.<collection>``).
        enums: turn fields with a few known values (``cardinality="low"`` with ``enum``) into
            ``Literal`` fields; database enum types always are.

    Examples:
        >>> User = generate_model({"table": "users", "fields": {
        ...     "id": {"type": "int", "required": True},
        ...     "email": {"type": "str", "nullable": True, "max_length": 80}}})
        >>> User(id="7").id, User.meta().collection, User.meta().auto_generated
        (7, 'users', True)
    """
    spec = build_model_spec(schema, model_name, ns=ns, enums=enums)
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
) -> type[XObjPrototype]:
    """A model for the rows of a join of ``schemas`` (see :func:`joined_schema`)."""
    schema = joined_schema(schemas, join_config)
    return generate_model(schema, model_name or model_name_for(schema.name) + "View", ns=ns)


_ = TYPE_NAMES  # the names this module resolves; re-exported for readers of the source
