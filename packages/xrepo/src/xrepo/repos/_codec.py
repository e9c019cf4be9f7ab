"""The row codec of a repository: models to stored rows and back, validated once.

:class:`RowCodec` holds what a repository knows about its model's fields (structured, list,
numeric, datetime, typed) and does every conversion between what callers pass, what stores
keep and what callers get back: new rows (validated, stamped with timestamps and a version),
partial updates, ids, and models read from stored rows (naive datetimes read as UTC). A store
never sees a value this codec has not validated.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as _dt
import json
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from xobj_prototype import XObjPrototype
from xrepo.errors import XRepoConfigurationError, XRepoConflictError, XRepoValidationError
from xrepo.query import (
    DEFAULT_LIMITS,
    SCALAR_KINDS,
    Condition,
    FieldType,
    FilterLimits,
    Kind,
    as_utc,
    field_types,
)
from xrepo.repos._annotations import (
    element_type,
    is_listish,
    is_plain,
    is_structured,
)
from xrepo.repos._metadata import RepoMetadata
from xrepo.stores import Row

__all__ = ["RowCodec", "T"]

T = TypeVar("T", bound=BaseModel)


class RowCodec(Generic[T]):
    """Models to stored rows and back, for one model and its :class:`RepoMetadata`.

    The base of :class:`~xrepo.XRepo`; a repository is its codec plus a store.
    """

    metadata: RepoMetadata

    def __init__(
        self, model_class: type[T], metadata: RepoMetadata, limits: FilterLimits | None
    ) -> None:
        self._model_class = model_class
        self._adapters: dict[str, TypeAdapter[Any]] = {}
        self._list_adapter: TypeAdapter[Any] | None = None
        fields = model_class.model_fields
        # XObjPrototype's `ns` is the object's namespace, not stored data.
        skip_ns = issubclass(model_class, XObjPrototype)
        self._fields: frozenset[str] = frozenset(n for n in fields if not (skip_ns and n == "ns"))
        if metadata.id_field not in self._fields:
            raise XRepoConfigurationError(
                f"model {model_class.__name__} has no id field {metadata.id_field!r}; add one or "
                "set RepoMetadata.id_field",
                repo=metadata.name,
            )
        self._json_fields = frozenset(
            n for n in self._fields if is_structured(fields[n].annotation)
        )
        self._array_fields = frozenset(n for n in self._fields if is_listish(fields[n].annotation))
        if limits is not None and not isinstance(limits, FilterLimits):
            raise XRepoConfigurationError(
                f"limits must be a FilterLimits (xrepo.query), got {type(limits).__name__}",
                repo=metadata.name,
            )
        self._limits: FilterLimits = limits or DEFAULT_LIMITS
        secret = model_class.secret_fields() if issubclass(model_class, XObjPrototype) else ()
        self._numeric_fields = frozenset(
            n for n in self._fields if fields[n].annotation in (int, float)
        )
        self._element_types: dict[str, type] = {
            n: t for n in self._array_fields if (t := element_type(fields[n].annotation))
        }
        self._plain_dump = (
            not self._json_fields
            and not secret
            and all(is_plain(fields[n].annotation) for n in self._fields)
        )
        # Filter values are typed by these (xrepo.query); `Any` fields stay untyped.
        self._field_types: dict[str, FieldType] = {
            n: t
            for n, t in field_types(model_class).items()
            if n in self._fields and t.kind is not Kind.ANY
        }
        self._typed_fields = frozenset(
            n for n, t in self._field_types.items() if t.kind in SCALAR_KINDS
        )
        # Fields that may hold an array: declared lists, and untyped fields (`Any`).
        self._maybe_arrays = self._array_fields | (self._fields - set(self._field_types))
        # Naive means UTC: only models with datetime fields pay for the check on write and read.
        self._datetime_fields = tuple(
            n for n, t in self._field_types.items() if t.kind is Kind.DATETIME
        )
        self._datetime_lists = tuple(
            n
            for n, t in self._field_types.items()
            if t.kind is Kind.LIST and t.element is Kind.DATETIME
        )
        #: A store's conversion of rows the model refused (``MongoStore.repair_row``).
        self._repair: typing.Callable[[Row], Row | None] | None = None

    @property
    def model_class(self) -> type[T]:
        """The model this repository returns."""
        return self._model_class

    @property
    def name(self) -> str:
        """The repository's name (``metadata.name``)."""
        return self.metadata.name

    @property
    def fields(self) -> frozenset[str]:
        """The model's field names: what filters, sorts and updates may name."""
        return self._fields

    @property
    def id_field(self) -> str:
        """The primary-key field."""
        return self.metadata.id_field

    @property
    def soft_deletes(self) -> bool:
        """Whether deletes set ``deleted_at`` instead of removing (the model must declare it)."""
        return self.metadata.soft_delete and self.metadata.deleted_at_field in self._fields

    def _has(self, name: str) -> bool:
        return name in self._fields

    @property
    def _version(self) -> str | None:
        v = self.metadata.version_field
        return v if v in self._fields else None

    def _error(
        self,
        message: str,
        operation: str,
        *,
        item: int | None = None,
        kind: type[Exception] = XRepoValidationError,
    ) -> Exception:
        return kind(message, repo=self.name, operation=operation, item=item)  # type: ignore[call-arg]

    @staticmethod
    def _is_batch(value: Any) -> bool:
        """Whether ``value`` is a list-like batch (a sequence, not a str, bytes or mapping)."""
        return isinstance(value, Sequence) and not isinstance(value, str | bytes | Mapping)

    def _id_node(self, id: Any, operation: str) -> Condition:
        return Condition(self.id_field, "eq", self._check_id(id, operation))

    def _check_id(self, id: Any, operation: str, item: int | None = None) -> Any:
        if id is None or isinstance(id, Mapping | list | tuple | set):
            raise self._error(f"invalid id {id!r}: ids are scalar values", operation, item=item)
        id_type = self._field_types.get(self.id_field)
        if isinstance(id, bool) and id_type is not None and id_type.kind is not Kind.BOOL:
            # pydantic's lax int would take True for 1; a bool is never a number here.
            raise self._error(
                f"invalid id {id!r} for field {self.id_field!r}", operation, item=item
            )
        adapter = self._adapter(self.id_field)
        try:
            value = adapter.validate_python(id)
        except ValidationError:
            raise self._error(
                f"invalid id {id!r} for field {self.id_field!r}", operation, item=item
            ) from None
        if value is None:
            raise self._error("id must not be None", operation, item=item)
        return value

    def _adapter(self, name: str) -> TypeAdapter[Any]:
        adapter = self._adapters.get(name)
        if adapter is None:
            info = self._model_class.model_fields[name]
            annotation: Any = info.annotation
            if info.metadata:
                annotation = typing.Annotated[annotation, *info.metadata]
            adapter = TypeAdapter(annotation)
            self._adapters[name] = adapter
        return adapter

    def _dump(self, model: BaseModel) -> Row:
        if isinstance(model, XObjPrototype):
            row = model.model_dump_revealed()
        else:
            row = model.model_dump()
        row.pop("ns", None) if "ns" not in self._fields else None
        return row

    def _new_rows(
        self, data: Sequence[Any], operation: str, now: _dt.datetime, offset: int = 0
    ) -> tuple[builtins.list[Row], builtins.list[T | None]]:
        """:meth:`_new_row` for many inputs, with the per-repo lookups hoisted (hot path).

        Returns the storable rows and the validated models (``None`` where the slow path ran),
        so that a backend that stores the rows as given needs no second validation.

        Instances of the repo's own model are taken as validated, as pydantic itself does unless
        the model sets ``revalidate_instances``; dicts are validated in one batch. ``offset`` is
        the position of ``data[0]`` in the caller's batch (for the item named by an error).
        """
        model = self._model_class
        fields = self._fields
        m = self.metadata
        stamps = [
            f for f in (m.created_at_field, m.updated_at_field) if m.auto_timestamps and f in fields
        ]
        version = self._version
        deleted = m.deleted_at_field if self.soft_deletes else None
        trust = model.model_config.get("revalidate_instances", "never") == "never"
        stamping = bool(stamps or version)
        plain = self._plain_dump
        revealed = issubclass(model, XObjPrototype)

        def to_row(obj: Any) -> Row:
            if plain:
                # Scalar fields only: the validated values are already what a dump returns.
                row: Row = dict(obj.__dict__)
            elif revealed:
                row = obj.model_dump_revealed()
            else:
                row = obj.model_dump()
            row.pop("ns", None)
            return row

        out: builtins.list[Any] = []
        models: builtins.list[Any] = []
        pending: builtins.list[Any] = []  # dicts to validate in one batch, and where they go
        pending_at: builtins.list[int] = []
        for i, d in enumerate(data):
            if d.__class__ is model and trust and not d.__pydantic_extra__:
                if stamping:
                    d = self._stamped(d, stamps, version, now)
                models.append(d)
                if plain:  # to_row inlined: this is the loop of a 100k-row bulk_create
                    row = dict(d.__dict__)
                    row.pop("ns", None)
                    out.append(row)
                else:
                    out.append(to_row(d))
            elif isinstance(d, Mapping) and fields.issuperset(d):
                raw = d
                if stamping or deleted:
                    raw = dict(d)  # the caller's dict is never changed
                    for f in stamps:
                        if raw.get(f) is None:
                            raw[f] = now
                    if version and raw.get(version) is None:
                        raw[version] = 1
                    if deleted:
                        raw.setdefault(deleted, None)
                pending.append(raw)
                pending_at.append(i)
                models.append(None)
                out.append(None)
            else:
                models.append(None)
                # the slow path names the problem
                out.append(self._new_row(d, operation, i + offset, now))
        if pending:
            validated = self._validate_batch(pending, operation, [i + offset for i in pending_at])
            for i, obj in zip(pending_at, validated, strict=True):
                models[i] = obj
                out[i] = to_row(obj)
        if self._datetime_fields or self._datetime_lists:
            for i, row in enumerate(out):
                changes = self._utc_changes(row)
                if changes:
                    row.update(changes)  # a fresh dump, never the caller's dict
                    model_i = models[i]
                    if model_i is not None:
                        models[i] = model_i.model_copy(update=changes)
        return out, models

    def _utc_changes(self, row: Mapping[str, Any]) -> Row | None:
        """The datetimes of ``row``'s datetime fields that are not aware UTC, made so (naive
        means UTC); ``None`` when all are."""
        changes: Row | None = None
        for name in self._datetime_fields:
            value = row.get(name)
            if isinstance(value, _dt.datetime) and value.tzinfo is not _dt.UTC:
                changes = changes or {}
                changes[name] = as_utc(value)
        for name in self._datetime_lists:
            value = row.get(name)
            if isinstance(value, list | tuple) and any(
                isinstance(e, _dt.datetime) and e.tzinfo is not _dt.UTC for e in value
            ):
                changes = changes or {}
                changes[name] = [as_utc(e) if isinstance(e, _dt.datetime) else e for e in value]
        return changes

    def _utc_models(self, models: Sequence[T]) -> None:
        """Make the datetimes of freshly validated ``models`` aware UTC, in place (a database
        that stores naive datetimes returns them naive; naive means UTC)."""
        for model in models:
            values = model.__dict__
            changes = self._utc_changes(values)
            if changes:
                values.update(changes)

    def _stamped(self, obj: T, stamps: Sequence[str], version: str | None, now: _dt.datetime) -> T:
        """A model instance with the unset metadata fields filled in (a copy when any was)."""
        updates: dict[str, Any] = {f: now for f in stamps if getattr(obj, f) is None}
        if version and getattr(obj, version) is None:
            updates[version] = 1
        return obj.model_copy(update=updates) if updates else obj

    def _validate_batch(
        self, raws: builtins.list[Any], operation: str, items: Sequence[int]
    ) -> builtins.list[T]:
        """Validate many dicts in one call into the model; the error names the failing item."""
        try:
            return self._models_adapter().validate_python(raws)  # type: ignore[no-any-return]
        except ValidationError as exc:
            batch_error = exc
        # Validate one by one only now, to name the first failing item with its own errors.
        validate = self._model_class.model_validate
        for i, raw in zip(items, raws, strict=True):
            try:
                validate(raw)
            except ValidationError as exc:
                raise self._validation(exc, operation, i) from None
        raise self._validation(batch_error, operation, None) from None  # not expected

    def _check_new_ids(
        self, rows: Sequence[Row], operation: str, offset: int, seen: set[Any]
    ) -> None:
        """Conflict error for an id given twice in one batch; ``seen`` carries over chunks."""
        id_field = self.id_field
        ids = [r.get(id_field) for r in rows]
        fresh = set(ids)
        fresh.discard(None)
        if len(fresh) == len(ids) - ids.count(None) and not fresh & seen:
            seen |= fresh
            return
        for i, key in enumerate(ids, offset):  # look again one by one, to name the item
            if key is not None and key in seen:
                raise self._error(
                    f"duplicate id {key!r} in the batch", operation, item=i, kind=XRepoConflictError
                )
            seen.add(key)

    def _stored_models(
        self, stored: Sequence[Row], rows: Sequence[Row], models: Sequence[T | None]
    ) -> builtins.list[T]:
        """Models for stored rows, reusing the validated ones where the row came back as is."""
        id_field = self.id_field
        out: builtins.list[T] = []
        for s, r, m in zip(stored, rows, models, strict=True):
            if m is not None and s is r and getattr(m, id_field) == s.get(id_field):
                out.append(m)
            else:
                out.append(self._to_model(s))
        return out

    def _new_row(self, data: Any, operation: str, item: int | None, now: _dt.datetime) -> Row:
        """Validate one input (model or dict) into a storable row with metadata fields set."""
        if isinstance(data, self._model_class):
            raw: dict[str, Any] = self._dump(data)
        elif isinstance(data, Mapping):
            raw = dict(data)
            unknown = [k for k in raw if k not in self._fields]
            if unknown:
                names = ", ".join(repr(u) for u in sorted(map(str, unknown)))
                raise self._error(
                    f"unknown field(s) {names}; known: {', '.join(sorted(self._fields))}",
                    operation,
                    item=item,
                )
        else:
            raise self._error(
                f"expected a {self._model_class.__name__} or a dict, got {type(data).__name__}",
                operation,
                item=item,
            )
        m = self.metadata
        if m.auto_timestamps:
            for f in (m.created_at_field, m.updated_at_field):
                if self._has(f) and raw.get(f) is None:
                    raw[f] = now
        if self._version and raw.get(self._version) is None:
            raw[self._version] = 1
        if self.soft_deletes:
            raw.setdefault(m.deleted_at_field, None)
        try:
            model = self._model_class.model_validate(raw)
        except ValidationError as exc:
            raise self._validation(exc, operation, item) from None
        row = self._dump(model)
        if self._datetime_fields or self._datetime_lists:
            row.update(self._utc_changes(row) or {})
        return row

    def _validation(
        self, exc: ValidationError, operation: str, item: int | None
    ) -> XRepoValidationError:
        errors = [
            {"loc": ".".join(str(p) for p in e.get("loc", ())) or "(root)", "msg": e["msg"]}
            for e in exc.errors(include_input=False, include_url=False)
        ]
        listed = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
        where = f" (item {item})" if item is not None else ""
        return XRepoValidationError(
            f"invalid {self._model_class.__name__}{where}: {listed}",
            repo=self.name,
            operation=operation,
            item=item,
            errors=errors,
        )

    def _changes(
        self, data: Any, operation: str, item: int | None, now: _dt.datetime
    ) -> tuple[Row, int | None]:
        """Validate a partial update: known fields, right types; returns (changes, version)."""
        if isinstance(data, BaseModel):
            data = data.model_dump(exclude_unset=True)
        if not isinstance(data, Mapping):
            raise self._error(
                f"update data must be a dict, got {type(data).__name__}", operation, item=item
            )
        changes: Row = {}
        expected: int | None = None
        for key, value in data.items():
            if not isinstance(key, str) or key not in self._fields:
                raise self._error(
                    f"unknown field {key!r}; known: {', '.join(sorted(self._fields))}",
                    operation,
                    item=item,
                )
            if key == self.id_field:
                raise self._error(f"the id field {key!r} cannot be updated", operation, item=item)
            if key == self._version:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise self._error(
                        f"{key!r} must be the integer version you read", operation, item=item
                    )
                expected = value
                continue
            try:
                validated = self._adapter(key).validate_python(value)
            except ValidationError as exc:
                msgs = "; ".join(
                    e["msg"] for e in exc.errors(include_input=False, include_url=False)
                )
                raise self._error(
                    f"invalid value for field {key!r}: {msgs}", operation, item=item
                ) from None
            changes[key] = self._adapter(key).dump_python(validated)
        if not changes and expected is None:
            raise self._error("nothing to update", operation, item=item)
        if self._datetime_fields or self._datetime_lists:
            changes.update(self._utc_changes(changes) or {})
        if self.metadata.auto_timestamps and self._has(self.metadata.updated_at_field):
            changes.setdefault(self.metadata.updated_at_field, now)
        return changes, expected

    def _to_models(self, rows: Sequence[Mapping[str, Any]]) -> builtins.list[T]:
        """Many rows as models; attribute lookups hoisted out of the loop (hot path)."""
        if self._json_fields:
            return [self._to_model(r) for r in rows]
        try:
            models: builtins.list[T] = self._models_adapter().validate_python(rows)
        except ValidationError:
            return [self._to_model(r) for r in rows]  # names the failing record
        if self._datetime_fields or self._datetime_lists:
            self._utc_models(models)
        return models

    def _models_adapter(self) -> TypeAdapter[Any]:
        """``list[model]`` in one validator call: a fifth faster than a loop of model_validate."""
        adapter = self._list_adapter
        if adapter is None:
            adapter = TypeAdapter(builtins.list[self._model_class])  # type: ignore[name-defined]
            self._list_adapter = adapter
        return adapter

    def _to_model(self, row: Mapping[str, Any]) -> T:
        data = dict(row)
        for name in self._json_fields:
            value = data.get(name)
            if isinstance(value, str | bytes):
                with contextlib.suppress(ValueError):
                    data[name] = json.loads(value)
        try:
            model = self._model_class.model_validate(data)
        except ValidationError as exc:
            repaired = self._repair(dict(row)) if self._repair is not None else None
            if repaired is not None:
                # The store reads some values in another type than the model's (MongoDB's
                # ObjectIds in str fields without its decoding collection): it converts them.
                return self._to_model(repaired)
            raise XRepoValidationError(
                f"stored record {data.get(self.id_field)!r} does not fit "
                f"{self._model_class.__name__}: "
                + "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                    for e in exc.errors(include_input=False, include_url=False)
                ),
                repo=self.name,
                operation="read",
            ) from None
        if self._datetime_fields or self._datetime_lists:
            self._utc_models([model])
        return model
