"""``TypeRegistry``: constraint types (``Annotated`` types), composite models, validated types,
validators and transformers, and validation of a value against a registered type by name.

Example:
    >>> from typing import Annotated
    >>> from pydantic import Field
    >>> types = TypeRegistry()
    >>> PositiveInt = Annotated[int, Field(gt=0)]
    >>> reg = types.register_type(PositiveInt, name="PositiveInt", examples=[1, 100])
    >>> reg.metadata.base_type, reg.metadata.constraints
    ('int', {'gt': 0})
    >>> types.validate("PositiveInt", "42")
    42
"""

from xregistry.types._registered import (
    RegisteredType,
    RegisteredValidator,
    TypeCategory,
    TypeMetadata,
)
from xregistry.types._registry import TypeRegistry

__all__ = [
    "RegisteredType",
    "RegisteredValidator",
    "TypeCategory",
    "TypeMetadata",
    "TypeRegistry",
]
