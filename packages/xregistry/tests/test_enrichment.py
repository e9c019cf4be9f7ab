"""EnrichedRegistry without a server: enrichment data built from an xinspector InspectionResult
(the real result type), then validation, suggestions and statistics on top of it.

The parts that talk to resources are in tests-integration/xregistry/test_registry_enrichment.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import BaseModel

from xinspector import FieldStatistics, InspectionResult
from xregistry import (
    EnrichedRegistry,
    RegistryNotFoundError,
    RegistryValidationError,
    XRegistry,
)
from xregistry.enrichment import ModelEnrichment


class Product(BaseModel):
    name: str
    category: str
    price: float


def inspection() -> InspectionResult:
    fields = {
        "name": FieldStatistics(name="name", type="str", count=4, null_count=0, unique_count=4),
        "category": FieldStatistics(
            name="category",
            type="str",
            count=4,
            null_count=1,
            unique_count=2,
            is_categorical=True,
            distinct_values=["Books", "Electronics"],
        ),
        "price": FieldStatistics(name="price", type="float", count=4, null_count=0, unique_count=3),
    }
    for fs in fields.values():
        fs.quality.completeness = 1 - fs.null_count / fs.count
        fs.quality.uniqueness = fs.unique_count / (fs.count - fs.null_count)
    return InspectionResult.build(
        model_name="Product",
        source="postgresql 'shop'",
        collection="products",
        schema={
            "fields": {
                "name": {"type": "str"},
                "category": {"type": "str"},
                "price": {"type": "float"},
            },
            "table": "products",
        },
        total_count=4,
        fields=fields,
        sample_data=[
            {"name": "Laptop", "category": "Electronics", "price": 999.0, "api_key": "sk-live-123"},
            {"name": "Novel", "category": "Books", "price": 9.5},
        ],
        pushdown=False,
    )


@pytest.fixture
def enriched() -> EnrichedRegistry:
    registry = XRegistry()
    registry.models.register_static_model(Product, namespace="shop")
    er = registry.get_enriched()

    class Res:
        name = "shop"

    er.enrichments["Product"] = er._build(
        "Product",
        Res(),
        "products",  # type: ignore[arg-type]
        inspection(),
    )
    return er


def test_enrichment_from_an_inspection_result(enriched: EnrichedRegistry) -> None:
    enrichment = enriched.get_enrichment("Product")
    assert enrichment.statistics["total_count"] == 4
    assert enrichment.categorical_fields == {"category": ["Books", "Electronics"]}
    assert enrichment.data_quality["completeness"]["category"] == pytest.approx(0.75)
    assert enrichment.data_quality["uniqueness"]["name"] == pytest.approx(1.0)
    assert set(enrichment.data_quality["overall"]) == {
        "completeness",
        "uniqueness",
        "validity",
        "consistency",
    }
    assert enrichment.sample_data[0]["api_key"] == "**********"
    assert enriched._find_matching_model(inspection()) == "Product"
    with pytest.raises(RegistryNotFoundError):
        enriched.get_enrichment("Nope")


async def test_create_with_validation(enriched: EnrichedRegistry) -> None:
    product = await enriched.create_with_validation(
        "Product", {"name": "Laptop", "category": "Electronics", "price": "999.99"}
    )
    assert isinstance(product, Product)
    assert product.price == pytest.approx(999.99)
    with pytest.raises(RegistryValidationError) as exc:
        await enriched.create_with_validation(
            "Product", {"name": "Item", "category": "InvalidCategory", "price": 1}
        )
    assert "Invalid value for category" in str(exc.value)
    assert exc.value.errors[0]["loc"] == "category"
    with pytest.raises(RegistryValidationError) as exc:
        await enriched.create_with_validation("Product", {"name": "Item", "category": "Books"})
    assert "price" in str(exc.value)
    with pytest.raises(RegistryValidationError):
        await enriched.create_with_validation("Product", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(RegistryNotFoundError):
        await enriched.create_with_validation("Missing", {})


async def test_suggestions_and_statistics(enriched: EnrichedRegistry) -> None:
    assert await enriched.suggest_values("Product", "category") == ["Books", "Electronics"]
    assert await enriched.suggest_values("Product", "name") == ["Laptop", "Novel"]
    assert await enriched.suggest_values("Product", "colour") is None
    assert await enriched.suggest_values("Other", "name") is None
    before = copy.deepcopy(enriched.enrichments["Product"].statistics)
    stats = enriched.get_field_statistics("Product", "category")
    assert stats is not None
    assert stats["null_count"] == 1
    assert stats["quality"]["completeness"] == pytest.approx(0.75)
    assert stats["quality"]["uniqueness"] == pytest.approx(2 / 3)
    stats["null_count"] = 99
    assert enriched.enrichments["Product"].statistics == before  # reading does not mutate
    assert enriched.get_field_statistics("Product", "nope") is None
    assert enriched.get_field_statistics("Nope", "name") is None


def test_quality_from_counts_when_scores_are_missing() -> None:
    data: dict[str, Any] = {
        "statistics": {
            "total_count": 10,
            "field_statistics": {"a": {"null_count": 2, "unique_count": 8}},
        }
    }
    quality = EnrichedRegistry._assess_data_quality(data)
    assert quality["completeness"]["a"] == pytest.approx(0.8)
    assert quality["uniqueness"]["a"] == pytest.approx(0.8)


def test_categorical_threshold_and_sample_size() -> None:
    registry = XRegistry()
    er = registry.get_enriched()
    er.config = er.config.model_copy(update={"categorical_threshold": 1, "sample_size": 1})

    class Res:
        name = "shop"

    enrichment: ModelEnrichment = er._build("P", Res(), None, inspection())  # type: ignore[arg-type]
    assert enrichment.categorical_fields == {}
    assert len(enrichment.sample_data) == 1
