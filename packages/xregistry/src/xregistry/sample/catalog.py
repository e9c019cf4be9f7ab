"""Functions and types that ``xregistry serve`` registers next to the sample data, so that the
function and type pages have something real to show and run."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from xregistry._registry import XRegistry

__all__ = ["line_total", "register_sample_catalog"]

SAMPLE_FUNCTION_PERMISSIONS = {"*": ["view"], "admin": ["execute", "view", "modify"]}


def line_total(
    quantity: Annotated[int, Field(ge=1, le=10_000)],
    unit_price: Annotated[float, Field(ge=0)],
    discount: Annotated[float, Field(ge=0, le=1)] = 0.0,
) -> float:
    """The amount of an order line: quantity x unit price, less the discount (0-1)."""
    return round(quantity * unit_price * (1 - discount), 2)


def loyalty_tier(
    orders: Annotated[int, Field(ge=0)], revenue: Annotated[float, Field(ge=0)]
) -> str:
    """The loyalty tier of a customer from their order count and revenue."""
    if orders >= 20 or revenue >= 5000:
        return "gold"
    if orders >= 8 or revenue >= 1500:
        return "silver"
    return "bronze"


def register_sample_catalog(registry: XRegistry) -> None:
    """Register the sample functions (``ns.functions.sample.*``: everyone may view, admins
    execute) and types (``ns.types.sample.*``)."""
    for func in (line_total, loyalty_tier):
        registry.functions.register(
            func,
            namespace="sample.shop",
            tags={"sample", "shop"},
            permissions=SAMPLE_FUNCTION_PERMISSIONS,
        )
    types = registry.types
    types.create_constraint_type(
        "CountryCode",
        str,
        namespace="sample.shop",
        description="ISO 3166-1 alpha-2 country code",
        examples=["DE", "JP"],
        tags={"sample"},
        pattern=r"^[A-Z]{2}$",
    )
    types.create_constraint_type(
        "Rating",
        int,
        namespace="sample.shop",
        description="A review rating from 1 to 5 stars",
        examples=[1, 5],
        tags={"sample"},
        ge=1,
        le=5,
    )
    types.create_constraint_type(
        "Sku",
        str,
        namespace="sample.shop",
        description="A product stock-keeping unit: SKU- and four digits",
        examples=["SKU-0001"],
        tags={"sample"},
        pattern=r"^SKU-\d{4}$",
    )
