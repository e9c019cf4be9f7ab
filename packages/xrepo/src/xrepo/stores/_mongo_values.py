"""How MongoDB values meet a model's: ObjectIds, Decimal128, values BSON cannot encode, and
which field kinds MongoDB returns in another Python type (for :class:`~xrepo.stores.MongoStore`).
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import bson
from bson.codec_options import TypeDecoder, TypeRegistry
from bson.decimal128 import Decimal128
from bson.errors import InvalidDocument
from bson.objectid import ObjectId
from pydantic import BaseModel, BeforeValidator

from xrepo.compile.mongo import is_object_id_hex
from xrepo.query import FieldType, Kind
from xresource.databases import scrub_record_values

__all__ = [
    "AS_HEX",
    "KEEP_OBJECT_IDS",
    "PLAIN",
    "RETYPED",
    "UNENCODABLE",
    "Decimal128AsDecimal",
    "ObjectIdAsHex",
    "as_read",
    "first_unencodable",
    "is_bson_object_id",
    "is_decimal",
    "is_object_id_str",
    "mentions",
    "retyped",
    "short",
    "to_object_ids",
    "unencodable_message",
]


class ObjectIdAsHex(TypeDecoder):
    """Decodes every ObjectId as its hex string (in C's decode loop, one call per ObjectId)."""

    bson_type = ObjectId

    def transform_bson(self, value: Any) -> str:
        return str(value)


class Decimal128AsDecimal(TypeDecoder):
    """Decodes ``Decimal128`` as ``Decimal`` (what a ``Decimal`` field holds)."""

    bson_type = Decimal128

    def transform_bson(self, value: Any) -> Decimal:
        return value.to_decimal()  # type: ignore[no-any-return]


AS_HEX = TypeRegistry([ObjectIdAsHex(), Decimal128AsDecimal()])
KEEP_OBJECT_IDS = TypeRegistry([Decimal128AsDecimal()])


def mentions(annotation: Any, found: Any, depth: int = 0) -> bool:
    """Whether ``found(t)`` holds for ``annotation`` or a type inside it (unions, Annotated
    metadata, containers, nested models), looked at to a bounded depth."""
    if depth > 8:
        return False
    if found(annotation):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(
            mentions(f.annotation, found, depth + 1) or any(found(m) for m in f.metadata)
            for f in annotation.model_fields.values()
        )
    return any(mentions(a, found, depth + 1) for a in typing.get_args(annotation))


def is_bson_object_id(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, ObjectId)


def is_decimal(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, Decimal)


def is_object_id_str(t: Any) -> bool:
    # xinspector.types.ObjectIdStr: Annotated[str, BeforeValidator(<ObjectId to hex>)]. Matched by
    # the validator's name so that a model built from exported source is recognized as well.
    return isinstance(t, BeforeValidator) and getattr(t.func, "__name__", "") == "_oid_to_str"


#: What the BSON encoder raises for a value MongoDB cannot store (an integer beyond 64 bits, a
#: key with a NUL, an unknown type); raised before the server sees the document.
UNENCODABLE = (OverflowError, InvalidDocument)


def first_unencodable(docs: Sequence[Mapping[str, Any]], options: Any) -> int | None:
    """The index of the first document BSON cannot encode with the collection's codec
    ``options`` (only called after a failure)."""
    for i, doc in enumerate(docs):
        try:
            bson.encode(doc, codec_options=options)
        except UNENCODABLE:
            return i
    return None


def unencodable_message(exc: BaseException) -> str:
    # The encoder's rule, without the value it may quote ("cannot encode object: <value>"):
    # the value may be a secret.
    rule = str(exc).split(":", 1)[0].strip() or type(exc).__name__
    return f"a value cannot be stored in MongoDB ({rule})"


PLAIN = frozenset({str, int, float, bool, type(None)})
#: Kinds whose values MongoDB returns in another Python type than the field's.
RETYPED = frozenset({Kind.DATE, Kind.TIME, Kind.UUID, Kind.DECIMAL, Kind.FLOAT})


def retyped(kind: FieldType | None) -> bool:
    if kind is None:
        return False
    return (kind.element if kind.kind is Kind.LIST else kind.kind) in RETYPED


def as_read(value: Any) -> Any:
    """``value`` with ObjectIds as hex strings and Decimal128 as Decimal (the same object when
    it holds none), as the decoding collection reads it."""
    cls = value.__class__
    if cls is ObjectId:
        return str(value)
    if cls is Decimal128:
        return value.to_decimal()
    if cls is dict:
        items = {k: as_read(v) for k, v in value.items()}
        return value if all(items[k] is v for k, v in value.items()) else items
    if cls is list:
        elements = [as_read(v) for v in value]
        return value if all(a is b for a, b in zip(elements, value, strict=True)) else elements
    return value


def to_object_ids(value: Any) -> Any:
    """24-hex strings (also inside a list) as ObjectIds: how an ObjectId-typed field stores."""
    if is_object_id_hex(value):
        return ObjectId(value)
    if isinstance(value, list):
        return [to_object_ids(v) for v in value]
    return value


def short(exc: object) -> str:
    # "full error: {...}" repeats the server reply (key values, a failed document's fields).
    text = scrub_record_values(str(exc).split(", full error:")[0])
    return text if len(text) < 300 else text[:300] + "..."
