"""What a registered type is (category, metadata, validators) and how its base type,
constraints and description are read from an annotation.
"""

from __future__ import annotations

import datetime as dt
import decimal
import typing
import uuid
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
)
from pydantic.fields import FieldInfo

from xobj_prototype import XObjPrototype
from xregistry._shared import utc_now

_BUILTINS: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "bytes": bytes,
    "decimal": decimal.Decimal,
    "date": dt.date,
    "datetime": dt.datetime,
    "time": dt.time,
    "uuid": uuid.UUID,
    "list": list,
    "dict": dict,
}
_CONSTRAINT_ATTRS = (
    "gt",
    "ge",
    "lt",
    "le",
    "multiple_of",
    "min_length",
    "max_length",
    "pattern",
    "max_digits",
    "decimal_places",
    "strict",
    "strip_whitespace",
    "to_lower",
    "to_upper",
    "allow_inf_nan",
)


class TypeCategory(StrEnum):
    """Kinds of registered types."""

    CONSTRAINT = "constraint"  # an Annotated type with constraints (PositiveInt)
    COMPOSITE = "composite"  # a model used as a value type (Address, Money)
    VALIDATOR = "validator"  # a base type plus validator functions (CreditCard)
    TRANSFORMER = "transformer"  # a conversion between two types (CelsiusToFahrenheit)


class TypeMetadata(BaseModel):
    """What the registry knows about a type."""

    name: str
    category: TypeCategory
    base_type: str
    constraints: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None
    examples: list[Any] = Field(default_factory=list)
    namespace: str | None = None
    ns_path: str
    tags: frozenset[str] = frozenset()
    validators: list[str] = Field(default_factory=list)
    from_type: str | None = None
    to_type: str | None = None
    json_schema: dict[str, Any] | None = None
    registered_at: datetime = Field(default_factory=utc_now)
    registered_by: str = "system"


class RegisteredValidator:
    """A validator function with its registered name and description; calling it validates."""

    __slots__ = ("description", "func", "name")

    def __init__(self, func: Callable[[Any], Any], name: str, description: str | None) -> None:
        self.func = func
        self.name = name
        self.description = description

    def __call__(self, value: Any) -> Any:
        return self.func(value)

    def __repr__(self) -> str:
        return f"RegisteredValidator({self.name!r})"


class RegisteredType(XObjPrototype):
    """A registered type: metadata, the type itself and how often values were validated."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    metadata: TypeMetadata
    type_class: Any = Field(exclude=True)
    validator_func: Callable[[Any], Any] | None = Field(default=None, exclude=True)
    transformer_func: Callable[[Any], Any] | None = Field(default=None, exclude=True)
    usage_count: int = 0
    ns: str | None = "registry.types"

    _adapter: TypeAdapter[Any] | None = PrivateAttr(default=None)

    def value_type(self) -> Any:
        """The annotation values are validated against (for validated types: the base type with
        its validators, not the wrapper model)."""
        return getattr(self.type_class, "__x_value_type__", self.type_class)

    def adapter(self) -> TypeAdapter[Any]:
        """The (cached) ``TypeAdapter`` of :meth:`value_type`."""
        if self._adapter is None:
            self._adapter = TypeAdapter(self.value_type())
        return self._adapter


def _base_type(type_class: Any) -> str:
    target = type_class
    while typing.get_origin(target) is Annotated:
        target = typing.get_args(target)[0]
    origin = typing.get_origin(target)
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    if isinstance(target, type):
        if issubclass(target, BaseModel):
            return "object"
        for cls in target.__mro__:
            if cls.__module__ == "builtins" and cls is not object:
                return cls.__name__
        return target.__name__
    return str(target)


def _metadata_items(type_class: Any) -> list[Any]:
    items: list[Any] = []
    target = type_class
    while typing.get_origin(target) is Annotated:
        args = typing.get_args(target)
        items.extend(args[1:])
        target = args[0]
    flat: list[Any] = []
    for item in items:
        if isinstance(item, FieldInfo):
            flat.extend(item.metadata)
        else:
            flat.append(item)
    return flat


def _constraints(type_class: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in _metadata_items(type_class):
        for attr in _CONSTRAINT_ATTRS:
            value = getattr(item, attr, None)
            if value is not None:
                out[attr] = (
                    value.pattern if hasattr(value, "pattern") and attr == "pattern" else value
                )
    return out


def _doc(obj: Any) -> str | None:
    doc = getattr(obj, "__doc__", None)
    if not isinstance(doc, str) or (isinstance(obj, type) and obj.__module__ == "builtins"):
        return None
    if typing.get_origin(obj) is Annotated:
        return None
    return doc.strip().split("\n\n")[0] or None
