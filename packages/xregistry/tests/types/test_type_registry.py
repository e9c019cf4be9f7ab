"""TypeRegistry: constraint types as Annotated types, validators, validated, composite and
transformer types, validation by name, and bad input."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, field_validator

from xregistry import (
    RegistryConflictError,
    RegistryNotFoundError,
    RegistryValidationError,
    TypeCategory,
    TypeRegistry,
)
from xregistry.config import TypeRegistryConfig

PositiveInt = Annotated[int, Field(gt=0)]
Email = Annotated[str, Field(pattern=r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$")]
PhoneNumber = Annotated[str, Field(pattern=r"^\+?1?\d{10,14}$", min_length=10, max_length=15)]


class Address(BaseModel):
    """Composite address type"""

    street: str
    city: str
    state: str
    zip_code: str
    country: str = "USA"

    @field_validator("zip_code")
    @classmethod
    def validate_zip(cls, v: str) -> str:
        if not re.match(r"^\d{5}(-\d{4})?$", v):
            raise ValueError("Invalid ZIP code format")
        return v


class Money(BaseModel):
    """Composite money type with currency"""

    amount: Decimal = Field(ge=0)
    currency: str = "USD"

    @field_validator("currency")
    @classmethod
    def validate_currency(cls, v: str) -> str:
        if v not in ["USD", "EUR", "GBP", "JPY", "CNY"]:
            raise ValueError("unknown currency")
        return v


def validate_credit_card(value: str) -> str:
    """Validate credit card number using Luhn algorithm"""
    value = value.replace(" ", "").replace("-", "")
    if not value.isdigit():
        raise ValueError("Credit card must contain only digits")
    total = 0
    for i, digit in enumerate(reversed(value)):
        n = int(digit)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    if total % 10 != 0:
        raise ValueError("Invalid credit card number")
    return value


# -- the document's tests -------------------------------------------------------------------------
def test_constraint_type_registration(type_registry: TypeRegistry) -> None:
    registered = type_registry.register_type(
        PositiveInt,
        name="PositiveInt",
        category=TypeCategory.CONSTRAINT,
        examples=[1, 100, 999],
        description="Integer greater than zero",
        tags={"numeric", "validation"},
    )
    assert registered.metadata.category == TypeCategory.CONSTRAINT
    assert registered.metadata.base_type == "int"
    assert registered.metadata.constraints["gt"] == 0
    assert 100 in registered.metadata.examples
    assert registered.metadata.ns_path == "ns.types.constraint.PositiveInt"
    assert registered.metadata.json_schema == {"exclusiveMinimum": 0, "type": "integer"}


def test_validator_registration(type_registry: TypeRegistry) -> None:
    def validate_even(value: int) -> int:
        if value % 2 != 0:
            raise ValueError("Must be even")
        return value

    type_registry.register_validator(
        "int", validate_even, name="even_validator", description="Ensures value is even"
    )
    assert "int" in type_registry.validators
    validators = type_registry.validators["int"]
    assert len(validators) == 1
    assert validators[0].name == "even_validator"
    assert validators[0].description == "Ensures value is even"
    assert type_registry.validate("int", "4") == 4
    with pytest.raises(RegistryValidationError) as exc:
        type_registry.validate("int", 3)
    assert "Must be even" in str(exc.value)


def test_create_validated_type(type_registry: TypeRegistry) -> None:
    def validate_range(value: int) -> int:
        if not 0 <= value <= 100:
            raise ValueError("Must be between 0 and 100")
        return value

    percentage = type_registry.create_validated_type(
        base_type=int, validators=[validate_range], name="Percentage", namespace="common"
    )
    valid = percentage(value=50)
    assert valid.value == 50  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        percentage(value=150)
    registered = type_registry.get("ns.types.common.Percentage")
    assert registered.metadata.category is TypeCategory.VALIDATOR
    assert registered.metadata.base_type == "int"
    assert registered.metadata.validators == ["validate_range"]
    # By name, the bare value is validated (not the wrapper model).
    assert type_registry.validate("Percentage", "75") == 75
    with pytest.raises(RegistryValidationError):
        type_registry.validate("Percentage", 101)


# -- more of the document's examples --------------------------------------------------------------
def test_credit_card_and_composites(type_registry: TypeRegistry) -> None:
    type_registry.create_validated_type(
        str, [validate_credit_card], "CreditCard", namespace="payment"
    )
    assert type_registry.validate("CreditCard", "4111 1111 1111 1111") == "4111111111111111"
    with pytest.raises(RegistryValidationError):
        type_registry.validate("CreditCard", "4111 1111 1111 1112")
    type_registry.register_type(
        Address,
        category=TypeCategory.COMPOSITE,
        namespace="common",
        examples=[{"street": "123 Main St", "city": "Boston", "state": "MA", "zip_code": "02101"}],
        tags={"address", "composite"},
    )
    type_registry.register_type(
        Money,
        category="composite",
        namespace="financial",
        examples=[{"amount": 100.50, "currency": "USD"}, {"amount": 85.00, "currency": "EUR"}],
    )
    money = type_registry.validate("Money", {"amount": "99.99", "currency": "USD"})
    assert money == Money(amount=Decimal("99.99"))
    assert type_registry.get("Money").metadata.base_type == "object"
    with pytest.raises(RegistryValidationError) as exc:
        type_registry.validate(
            "Address", {"street": "x", "city": "y", "state": "z", "zip_code": "ABCDE"}
        )
    assert "zip_code" in str(exc.value)
    assert type_registry.get("Address").usage_count == 0
    assert [t.metadata.name for t in type_registry.find_by_tag("composite")] == ["Address"]
    assert [t.metadata.name for t in type_registry.find_by_namespace("ns.types.financial.*")] == [
        "Money"
    ]


def test_email_and_phone_constraint_types(type_registry: TypeRegistry) -> None:
    type_registry.register_type(
        Email, name="Email", namespace="contact", examples=["user@example.com", "admin@company.org"]
    )
    type_registry.register_type(PhoneNumber, name="PhoneNumber", namespace="contact")
    assert type_registry.validate("Email", "user@example.com") == "user@example.com"
    assert not type_registry.is_valid("Email", "not-an-email")
    assert type_registry.get("PhoneNumber").metadata.constraints == {
        "pattern": r"^\+?1?\d{10,14}$",
        "min_length": 10,
        "max_length": 15,
    }
    assert type_registry.is_valid("PhoneNumber", "+14155552671")
    assert not type_registry.is_valid("PhoneNumber", "555")


def test_create_constraint_type(type_registry: TypeRegistry) -> None:
    type_registry.create_constraint_type("Percent", float, ge=0, le=100, examples=[0, 99.5])
    assert type_registry.validate("Percent", "12.5") == 12.5
    assert not type_registry.is_valid("Percent", -1)
    with pytest.raises(RegistryValidationError):
        type_registry.create_constraint_type("Bad", int, frobnicate=True)


def test_transformers(type_registry: TypeRegistry) -> None:
    def celsius_to_fahrenheit(celsius: float) -> float:
        """Convert Celsius to Fahrenheit"""
        return (celsius * 9 / 5) + 32

    def snake_to_camel(snake_str: str) -> str:
        components = snake_str.split("_")
        return components[0] + "".join(x.title() for x in components[1:])

    registered = type_registry.register_transformer(
        float, float, celsius_to_fahrenheit, "CelsiusToFahrenheit"
    )
    type_registry.register_transformer(str, str, snake_to_camel, "SnakeToCamel")
    assert registered.metadata.ns_path == "ns.types.transformers.CelsiusToFahrenheit"
    assert registered.metadata.description == "Convert Celsius to Fahrenheit"
    assert type_registry.transform("CelsiusToFahrenheit", "100") == 212.0
    assert type_registry.transform("SnakeToCamel", "created_at_time") == "createdAtTime"
    with pytest.raises(RegistryValidationError):
        type_registry.transform("CelsiusToFahrenheit", "hot")
    with pytest.raises(RegistryValidationError):
        type_registry.validate("CelsiusToFahrenheit", 1.0)
    type_registry.register_type(PositiveInt, name="PositiveInt")
    with pytest.raises(RegistryValidationError):
        type_registry.transform("PositiveInt", 1)


def test_transformer_between_registered_types(type_registry: TypeRegistry) -> None:
    type_registry.register_type(PositiveInt, name="PositiveInt")
    type_registry.register_transformer("PositiveInt", "PositiveInt", lambda v: v - 10, "MinusTen")
    assert type_registry.transform("MinusTen", 11) == 1
    with pytest.raises(RegistryValidationError):  # the output is checked too
        type_registry.transform("MinusTen", 5)
    with pytest.raises(RegistryValidationError):
        type_registry.transform("MinusTen", 0)


# -- caching --------------------------------------------------------------------------------------
def test_validation_cache_is_invalidated_by_new_validators(type_registry: TypeRegistry) -> None:
    type_registry.register_type(PositiveInt, name="PositiveInt")
    assert type_registry.validate("PositiveInt", 3) == 3
    assert type_registry.validate("PositiveInt", 3) == 3
    assert type_registry.get("PositiveInt").usage_count == 2

    def even(v: int) -> int:
        if v % 2:
            raise ValueError("odd")
        return v

    type_registry.register_validator("PositiveInt", even)
    assert not type_registry.is_valid("PositiveInt", 3)
    assert type_registry.get("PositiveInt").metadata.validators == ["even"]


def test_validation_without_cache_or_validators() -> None:
    types = TypeRegistry(
        config=TypeRegistryConfig(cache_validated_values=False, enable_validators=False)
    )
    types.register_type(PositiveInt, name="PositiveInt")
    types.register_validator("PositiveInt", lambda v: 1 / 0)
    assert types.validate("PositiveInt", 3) == 3
    assert types._cache == {}


def test_true_and_one_are_cached_apart(type_registry: TypeRegistry) -> None:
    type_registry.register_type(Annotated[int, Field(strict=True)], name="StrictInt")
    assert type_registry.validate("StrictInt", 1) == 1
    assert not type_registry.is_valid("StrictInt", True)


# -- bad input ------------------------------------------------------------------------------------
def test_unknown_types(type_registry: TypeRegistry) -> None:
    type_registry.register_type(PositiveInt, name="PositiveInt")
    with pytest.raises(RegistryNotFoundError) as exc:
        type_registry.validate("PositiveInteger", 1)
    assert "did you mean PositiveInt" in str(exc.value)
    with pytest.raises(RegistryNotFoundError):
        type_registry.transform("Nope", 1)
    with pytest.raises(RegistryNotFoundError):
        type_registry.get_by_namespace("ns.types.constraint.Nope")
    with pytest.raises(RegistryValidationError):
        type_registry.validate(42, 1)  # type: ignore[arg-type]


def test_invalid_values_do_not_echo_the_value(type_registry: TypeRegistry) -> None:
    type_registry.register_type(PositiveInt, name="PositiveInt")
    with pytest.raises(RegistryValidationError) as exc:
        type_registry.validate("PositiveInt", "s3cr3t-value")
    assert "s3cr3t-value" not in str(exc.value)
    assert exc.value.errors[0]["loc"] == "(root)"
    with pytest.raises(RegistryValidationError):
        type_registry.validate("PositiveInt", -5)
    with pytest.raises(RegistryValidationError):
        type_registry.validate("PositiveInt", None)


def test_bad_registrations(type_registry: TypeRegistry) -> None:
    with pytest.raises(RegistryValidationError) as exc:
        type_registry.register_type(PositiveInt)  # an Annotated type has no name of its own
    assert "pass name=" in str(exc.value)
    with pytest.raises(RegistryValidationError) as exc:
        type_registry.register_type(PositiveInt, name="PositiveInt", examples=[1, -1])
    assert "example #1" in str(exc.value)

    class Opaque:
        pass

    with pytest.raises(RegistryValidationError) as exc:
        type_registry.register_type(Opaque)
    assert "cannot be validated by Pydantic" in str(exc.value)
    with pytest.raises(RegistryValidationError):
        type_registry.create_validated_type(int, [], "Empty")
    with pytest.raises(RegistryValidationError):
        type_registry.register_validator("int", "not callable")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        type_registry.register_type(PositiveInt, name="P", category="mystery")
    assert type_registry.types == {}


def test_duplicates(type_registry: TypeRegistry) -> None:
    type_registry.register_type(PositiveInt, name="PositiveInt")
    with pytest.raises(RegistryConflictError):
        type_registry.register_type(PositiveInt, name="PositiveInt", namespace="other")
    type_registry.register_type(Annotated[int, Field(ge=0)], name="PositiveInt", override=True)
    assert type_registry.validate("PositiveInt", 0) == 0
    type_registry.unregister("PositiveInt")
    with pytest.raises(RegistryNotFoundError):
        type_registry.validate("PositiveInt", 1)
