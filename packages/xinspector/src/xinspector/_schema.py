"""Typed schemas: :class:`FieldSchema` and :class:`CollectionSchema`, and their dict format.

The dict format is the one every package exchanges (``/work/shared/spec/README.md``)::

    {"fields": {"email": {"type": "str", "required": True, "nullable": False,
                          "cardinality": "high", "sample_values": ["a@b.org"]}},
     "table": "users", "indexes": [{"name": "users_email_key", "fields": ["email"],
                                    "unique": True}],
     "primary_key": ["id"], "foreign_keys": [...], "row_estimate": 1200}

``CollectionSchema.to_dict()`` writes it and ``CollectionSchema.from_dict()`` reads it back
(also the older spellings: ``"collection"``/``"table"``/``"file"`` as the name key, index entries
as plain lists of field names).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from xinspector._errors import XInspectorSchemaError
from xinspector._types import canonical_type

__all__ = ["CollectionSchema", "FieldSchema", "ForeignKey", "IndexSchema"]

SourceKind = Literal["table", "view", "collection", "file", "endpoint", "stream"]


class ForeignKey(BaseModel):
    """A relation: ``columns`` of this table reference ``ref_columns`` of ``ref_table``."""

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    ref_schema: str | None = None
    on_delete: str | None = None
    on_update: str | None = None


class IndexSchema(BaseModel):
    """An index of the source: its fields in order, and whether it is unique."""

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    fields: list[str]
    unique: bool = False
    primary: bool = False
    definition: str | None = Field(default=None, description="The server's own DDL, if any.")


class FieldSchema(BaseModel):
    """One field (column, document key, CSV column) of a schema.

    ``type`` is a schema type name (:data:`xinspector._types.TYPE_NAMES`), or a union such as
    ``"int | str"``. ``object`` fields carry their nested ``fields``; ``list`` fields the element
    schema in ``items``.

    Constraints (``max_length``, ``minimum``, ``enum``...) are what the source *declares* (a
    catalog, a ``$jsonSchema`` validator, a hand-written schema), except those named in
    ``observed``: facts seen in the sampled data (the longest string, the values seen so far),
    which say nothing about the next record.
    """

    #: Constraint attributes that can be observed rather than declared.
    OBSERVABLE: ClassVar[tuple[str, ...]] = (
        "max_length",
        "min_length",
        "minimum",
        "maximum",
        "decimal_places",
        "max_digits",
        "enum",
        "format",
    )

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str = "Any"
    required: bool = True
    nullable: bool = False
    db_type: str | None = Field(default=None, description="The source's own type name.")
    format: str | None = Field(default=None, description="email, url, phone, uuid, json...")
    description: str | None = None
    default: Any = Field(
        default=None, description="The server default (an SQL expression as text) or None."
    )
    primary_key: bool = False
    unique: bool = False
    auto_increment: bool = False
    foreign_key: dict[str, str] | None = None
    max_length: int | None = None
    min_length: int | None = None
    minimum: Any = None
    maximum: Any = None
    exclusive_minimum: Any = None
    exclusive_maximum: Any = None
    max_digits: int | None = None
    decimal_places: int | None = None
    enum: list[Any] | None = None
    checks: list[str] | None = Field(
        default=None,
        description="CHECK expressions of the source that no constraint above expresses.",
    )
    observed: list[str] = Field(
        default_factory=list,
        description="Names of the constraint attributes above (max_length, min_length, "
        "minimum, maximum, decimal_places, max_digits, enum, format) that were only seen in "
        "sampled data, not declared by the source. Generated models treat them as "
        "information, not as rules, unless asked (strict_observed=True).",
    )
    cardinality: Literal["low", "high"] | None = None
    sample_values: list[Any] = Field(default_factory=list)
    presence: float | None = Field(
        default=None,
        description="Share of sampled documents or records that hold the field (1.0 = always).",
    )
    items: FieldSchema | None = None
    fields: dict[str, FieldSchema] | None = None

    @field_validator("observed")
    @classmethod
    def _known_observed(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in cls.OBSERVABLE]
        if unknown:
            raise ValueError(
                f"'observed' names unknown constraint(s) {', '.join(map(repr, unknown))}; "
                f"expected some of {', '.join(cls.OBSERVABLE)}"
            )
        return list(dict.fromkeys(value))

    def is_declared(self, attr: str) -> bool:
        """Whether constraint ``attr`` is set and declared by the source (not only observed)."""
        return getattr(self, attr, None) is not None and attr not in self.observed

    def set_observed(self, attr: str, value: Any) -> None:
        """Record ``value`` for constraint ``attr`` as a fact seen in the data, not a rule."""
        setattr(self, attr, value)
        if attr not in self.observed:
            self.observed.append(attr)

    def set_declared(self, attr: str, value: Any) -> None:
        """Record ``value`` for constraint ``attr`` as declared by the source."""
        setattr(self, attr, value)
        if attr in self.observed:
            self.observed.remove(attr)

    def to_dict(self) -> dict[str, Any]:
        """The field as a plain dict, leaving out entries at their defaults."""
        out: dict[str, Any] = {
            "type": self.type,
            "required": self.required,
            "nullable": self.nullable,
        }
        data = self.model_dump(exclude_defaults=True, exclude={"items", "fields"})
        out.update({k: v for k, v in data.items() if k not in out})
        if self.items is not None:
            out["items"] = self.items.to_dict()
        if self.fields is not None:
            out["fields"] = {k: v.to_dict() for k, v in self.fields.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldSchema:
        """Read a field dict (unknown keys are kept as extras)."""
        if not isinstance(data, Mapping):
            raise XInspectorSchemaError(
                f"a field schema must be a mapping, got {type(data).__name__}",
                operation="read schema",
            )
        values = dict(data)
        if isinstance(values.get("type"), str):
            values["type"] = " | ".join(
                canonical_type(p.strip()) for p in values["type"].split("|")
            )
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise _schema_error(exc, "field schema") from None


class CollectionSchema(BaseModel):
    """The schema of one table, collection, file, endpoint or stream.

    Examples:
        >>> s = CollectionSchema(name="users", kind="table",
        ...                      fields={"id": FieldSchema(type="int", primary_key=True)})
        >>> CollectionSchema.from_dict(s.to_dict()) == s
        True
    """

    model_config = ConfigDict(extra="allow")

    name: str
    kind: SourceKind = "table"
    source: str | None = Field(default=None, description="Resource type it came from.")
    schema_name: str | None = Field(default=None, description="Database schema (namespace).")
    fields: dict[str, FieldSchema] = Field(default_factory=dict)
    primary_key: list[str] = Field(default_factory=list)
    unique_constraints: list[list[str]] = Field(default_factory=list)
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    indexes: list[IndexSchema] = Field(default_factory=list)
    description: str | None = None
    row_estimate: int | None = None
    sample_size: int | None = Field(
        default=None, description="Records the schema was inferred from, when it was sampled."
    )
    validator: dict[str, Any] | None = Field(default=None, description="A MongoDB $jsonSchema.")

    def to_dict(self) -> dict[str, Any]:
        """The schema dict: ``fields``, the name under ``table``/``collection``/``file``..."""
        name_key = {"view": "table"}.get(self.kind, self.kind)
        out: dict[str, Any] = {
            "fields": {k: v.to_dict() for k, v in self.fields.items()},
            name_key: self.name,
            "kind": self.kind,
            "indexes": [
                i.model_dump(exclude_defaults=True) | {"fields": i.fields, "unique": i.unique}
                for i in self.indexes
            ],
            "primary_key": list(self.primary_key),
        }
        if self.unique_constraints:
            out["unique_constraints"] = [list(u) for u in self.unique_constraints]
        if self.foreign_keys:
            out["foreign_keys"] = [fk.model_dump(exclude_none=True) for fk in self.foreign_keys]
        for key in (
            "source",
            "schema_name",
            "description",
            "row_estimate",
            "sample_size",
            "validator",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.model_extra:
            out.update(self.model_extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str | None = None) -> CollectionSchema:
        """Read a schema dict; ``name`` is used when the dict names no table/collection/file."""
        if not isinstance(data, Mapping):
            raise XInspectorSchemaError(
                f"a schema must be a mapping, got {type(data).__name__}", operation="read schema"
            )
        values = dict(data)
        kind = values.pop("kind", None)
        found_name: str | None = None
        for key in ("table", "collection", "file", "endpoint", "stream", "view"):
            if key in values:
                found_name = str(values.pop(key))
                kind = kind or key
                break
        found_name = values.pop("name", None) or found_name or name
        if not found_name:
            raise XInspectorSchemaError(
                "the schema names no table, collection or file; pass name=...",
                operation="read schema",
            )
        raw_fields = values.pop("fields", None)
        if raw_fields is None:
            raw_fields = {}
        if not isinstance(raw_fields, Mapping):
            raise XInspectorSchemaError(
                "'fields' must map field names to field dicts", operation="read schema"
            )
        fields = {str(k): FieldSchema.from_dict(v) for k, v in raw_fields.items()}
        indexes = []
        for entry in values.pop("indexes", []) or []:
            if isinstance(entry, Mapping):
                indexes.append(entry)
            elif isinstance(entry, list | tuple):
                indexes.append({"fields": [str(f) for f in entry]})
            elif isinstance(entry, str):
                indexes.append({"fields": [entry]})
            else:
                raise XInspectorSchemaError(
                    f"cannot read index entry {entry!r}", operation="read schema"
                )
        try:
            return cls.model_validate(
                {
                    **values,
                    "name": found_name,
                    "kind": kind or "table",
                    "fields": fields,
                    "indexes": indexes,
                }
            )
        except ValidationError as exc:
            raise _schema_error(exc, "schema") from None

    def field_names(self) -> list[str]:
        """The field names in source order."""
        return list(self.fields)


def _schema_error(exc: ValidationError, subject: str) -> XInspectorSchemaError:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    )
    err = XInspectorSchemaError(f"invalid {subject}: {problems}", operation="read schema")
    err.errors = [
        {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    return err
