"""Schemas inferred from sampled records: documents, JSON/YAML records, REST items, messages.

A :class:`RecordSchemaBuilder` folds records one at a time and keeps, per field path, the types
seen, how often the field was present and null, a few sample values and (up to a bound) its
distinct values. Nested mappings become nested ``object`` fields, lists get an ``items`` schema
from their elements, and a field missing from some records is optional (``required=False``) with
its ``presence`` share.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from xinspector._schema import CollectionSchema, FieldSchema, SourceKind
from xinspector._types import TextColumnTyper, type_of_value, unify_types

__all__ = ["RecordSchemaBuilder", "schema_from_records"]

_REFINABLE = {"date", "datetime", "time", "UUID"}


class _FieldAcc:
    __slots__ = (
        "distinct",
        "fields",
        "items",
        "max_len",
        "min_len",
        "nulls",
        "overflow",
        "present",
        "samples",
        "typer",
        "types",
    )

    def __init__(self) -> None:
        self.present = 0
        self.nulls = 0
        self.types: Counter[str] = Counter()
        self.samples: list[Any] = []
        self.distinct: set[Any] = set()
        self.overflow = False
        self.fields: dict[str, _FieldAcc] | None = None
        self.items: _FieldAcc | None = None
        self.typer: TextColumnTyper | None = None
        self.max_len: int | None = None
        self.min_len: int | None = None


class RecordSchemaBuilder:
    """Accumulate records and produce a :class:`CollectionSchema`.

    Args:
        categorical_threshold: fields with at most this many distinct (scalar) values, repeated,
            get ``cardinality="low"`` and an ``enum`` suggestion.
        sample_size: sample values kept per field.
        refine_strings: infer ``date``/``datetime``/``time``/``UUID`` from string values (JSON and
            YAML carry those as text); numbers in strings stay strings.
        complete: the records are all the data, not a sample: the longest string seen is
            reported (as an observed ``max_length``, information rather than a rule).

    Examples:
        >>> b = RecordSchemaBuilder()
        >>> b.add_many([{"a": 1, "tags": ["x"]}, {"a": 2.5, "b": {"c": True}}])
        >>> s = b.build("things", kind="collection")
        >>> s.fields["a"].type, s.fields["b"].required, s.fields["b"].fields["c"].type
        ('float', False, 'bool')
    """

    def __init__(
        self,
        *,
        categorical_threshold: int = 100,
        sample_size: int = 5,
        refine_strings: bool = True,
        complete: bool = True,
    ) -> None:
        self.categorical_threshold = categorical_threshold
        self.complete = complete
        self.sample_size = sample_size
        self.refine_strings = refine_strings
        self.count = 0
        self._root: dict[str, _FieldAcc] = {}

    def add(self, record: Mapping[str, Any]) -> None:
        """Fold one record (a mapping; anything else is a ``TypeError``)."""
        if not isinstance(record, Mapping):
            raise TypeError(f"records must be mappings, got {type(record).__name__}")
        self.count += 1
        self._fold_mapping(self._root, record)

    def add_many(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Fold many records."""
        for record in records:
            self.add(record)

    def _fold_mapping(self, accs: dict[str, _FieldAcc], record: Mapping[str, Any]) -> None:
        for key, value in record.items():
            name = str(key)
            acc = accs.get(name)
            if acc is None:
                acc = accs[name] = _FieldAcc()
            self._fold_value(acc, value)

    def _fold_value(self, acc: _FieldAcc, value: Any) -> None:
        acc.present += 1
        if value is None:
            acc.nulls += 1
            return
        kind = type_of_value(value)
        acc.types[kind] += 1
        if kind == "object":
            if acc.fields is None:
                acc.fields = {}
            self._fold_mapping(acc.fields, value)
            return
        if kind == "list":
            if acc.items is None:
                acc.items = _FieldAcc()
            for element in value:
                self._fold_value(acc.items, element)
            return
        if kind == "str":
            n = len(value)
            acc.max_len = n if acc.max_len is None else max(acc.max_len, n)
            acc.min_len = n if acc.min_len is None else min(acc.min_len, n)
            if self.refine_strings:
                if acc.typer is None:
                    acc.typer = TextColumnTyper()
                if acc.typer.candidates or acc.typer._formats:
                    acc.typer.update([value])
        hashable = value if kind != "bytes" else bytes(value)
        if len(acc.samples) < self.sample_size and hashable not in acc.samples:
            acc.samples.append(value)
        if not acc.overflow:
            try:
                acc.distinct.add(hashable)
            except TypeError:
                acc.overflow = True
            if len(acc.distinct) > self.categorical_threshold:
                acc.overflow = True
                acc.distinct = set()

    def _to_field(self, acc: _FieldAcc, parent_count: int) -> FieldSchema:
        type_name = "None"
        for name in acc.types:
            type_name = unify_types(type_name, name)
        if type_name == "None":
            type_name = "Any"  # only nulls seen: nothing to tell
        fmt: str | None = None
        if type_name == "str" and acc.typer is not None:
            refined, refined_fmt, _ = acc.typer.result()
            if refined in _REFINABLE:
                type_name = refined
            elif refined == "str":
                fmt = refined_fmt
        present_values = acc.present - acc.nulls
        fs = FieldSchema(
            type=type_name,
            required=acc.present >= parent_count,
            nullable=acc.nulls > 0 or acc.present < parent_count,
            presence=round(acc.present / parent_count, 6) if parent_count else 0.0,
            sample_values=list(acc.samples),
        )
        if fmt is not None:
            # Every value seen looked like an e-mail: a fact about the data, not a rule.
            fs.set_observed("format", fmt)
        if type_name == "str" and acc.max_len is not None and self.complete:
            # Only over all the data is the longest string worth reporting; even then it is
            # what was seen, not a bound (the next record may be longer).
            fs.set_observed("max_length", acc.max_len)
        if acc.fields is not None and "object" in type_name:
            objects = acc.types.get("object", 0)
            fs.fields = {k: self._to_field(v, objects) for k, v in acc.fields.items()}
        if acc.items is not None and "list" in type_name:
            elements = acc.items.present
            fs.items = self._to_field(acc.items, elements)
            fs.items.required = True
            fs.items.presence = None
        if present_values and not acc.overflow and acc.distinct:
            low = (
                len(acc.distinct) <= self.categorical_threshold
                and len(acc.distinct) < present_values
            )
            fs.cardinality = "low" if low else "high"
            if low and type_name in {"str", "int"}:
                fs.set_observed("enum", sorted(acc.distinct, key=str))
        elif present_values and acc.overflow:
            fs.cardinality = "high"
        return fs

    def build(
        self, name: str, *, kind: SourceKind = "collection", source: str | None = None
    ) -> CollectionSchema:
        """The schema of everything folded so far."""
        fields = {k: self._to_field(v, self.count) for k, v in self._root.items()}
        return CollectionSchema(
            name=name, kind=kind, source=source, fields=fields, sample_size=self.count
        )


def schema_from_records(
    records: Iterable[Mapping[str, Any]],
    name: str,
    *,
    kind: SourceKind = "collection",
    source: str | None = None,
    categorical_threshold: int = 100,
) -> CollectionSchema:
    """Infer a schema from records in memory."""
    builder = RecordSchemaBuilder(categorical_threshold=categorical_threshold)
    builder.add_many(records)
    return builder.build(name, kind=kind, source=source)
