"""Result types of profiling: :class:`FieldStatistics`, :class:`DataQuality`,
:class:`CategoricalField` and :class:`InspectionResult`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "QUANTILE_LEVELS",
    "CategoricalField",
    "DataQuality",
    "FieldStatistics",
    "HistogramBin",
    "InspectionResult",
    "ValueCount",
]

#: The quantiles every backend reports for numeric and temporal fields, as ``{"p5": ...}`` keys.
QUANTILE_LEVELS: dict[str, float] = {"p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95}


def _now() -> datetime:
    return datetime.now(UTC)


class ValueCount(BaseModel):
    """One of the most frequent values of a field and how often it occurs."""

    value: Any
    count: int


class HistogramBin(BaseModel):
    """One bar of a histogram: the values in ``[lower, upper)`` (the last bin includes
    ``upper``) and how many records hold one. Bounds are numbers, or ISO datetimes/dates for
    temporal fields; for string lengths they are lengths."""

    lower: Any
    upper: Any
    count: int


class DataQuality(BaseModel):
    """Data-quality scores of one field, each between 0 and 1.

    - ``completeness``: non-null values / all records;
    - ``uniqueness``: distinct values / non-null values;
    - ``validity``: non-null values that conform to the field's type and detected pattern;
    - ``consistency``: non-null values of the field's dominant type (1.0 when the field holds one
      type only; mixed types lower it).
    """

    completeness: float = 0.0
    uniqueness: float = 0.0
    validity: float = 1.0
    consistency: float = 1.0


class FieldStatistics(BaseModel):
    """Statistics of one field, from a streaming pass or from the database itself."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str = "Any"
    format: str | None = None
    count: int = Field(default=0, description="Records seen (nulls included).")
    null_count: int = 0
    unique_count: int = 0
    unique_exact: bool = Field(
        default=True, description="False when estimated (HyperLogLog, database statistics)."
    )
    min: Any = None
    max: Any = None
    mean: float | None = None
    stddev: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    avg_length: float | None = None
    top_values: list[ValueCount] = Field(
        default_factory=list,
        description="The top_k most frequent values, by count descending, then by value (one "
        "order on every backend; ties among estimated counts are not guaranteed).",
    )
    top_values_exact: bool = Field(
        default=True,
        description="False when the counts are estimates (a capped counter, a sketch, database "
        "statistics): the values of equal count may then differ between backends and runs.",
    )
    quantiles: dict[str, Any] | None = Field(
        default=None,
        description="p5, p25, p50, p75 and p95 of numeric and temporal fields (QUANTILE_LEVELS).",
    )
    quantiles_exact: bool = Field(
        default=True, description="False when estimated (a sketch, a sample, approximate SQL)."
    )
    histogram: list[HistogramBin] | None = Field(
        default=None, description="Equal-width bins over [min, max] of numeric and temporal fields."
    )
    length_histogram: list[HistogramBin] | None = Field(
        default=None, description="Distribution of string lengths (text fields)."
    )
    is_categorical: bool = False
    cardinality: Literal["low", "high"] | None = None
    distinct_values: list[Any] | None = Field(
        default=None,
        description="Every distinct value, for categorical fields, sorted by value (text by "
        "code point).",
    )
    sample_values: list[Any] = Field(default_factory=list)
    date_min: Any = None
    date_max: Any = None
    pattern: str | None = Field(
        default=None, description="email, url, phone or uuid when most values match it."
    )
    pattern_share: float | None = None
    type_counts: dict[str, int] = Field(default_factory=dict)
    quality: DataQuality = Field(default_factory=DataQuality)

    @property
    def non_null_count(self) -> int:
        """Records where the field has a value."""
        return self.count - self.null_count


class CategoricalField(BaseModel):
    """A field with few distinct values: every value and its count."""

    name: str
    distinct_values: list[Any]
    counts: dict[str, int] = Field(default_factory=dict, description="str(value) -> count.")


class InspectionResult(BaseModel):
    """What :meth:`XInspector.inspect` returns: schema, statistics, samples and categories.

    ``statistics`` is a plain dict (``total_count``, ``field_statistics`` of dicts, ``quality``)
    for callers that read it as the specs do (``stats.get("field_statistics", {})``);
    ``field_statistics`` holds the same numbers typed.
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    model_name: str
    source: str = Field(description="Display name of the inspected resource.")
    collection: str | None = None
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    total_count: int = 0
    field_statistics: dict[str, FieldStatistics] = Field(default_factory=dict)
    statistics: dict[str, Any] = Field(default_factory=dict)
    sample_data: list[dict[str, Any]] = Field(default_factory=list)
    categorical_fields: dict[str, CategoricalField] = Field(default_factory=dict)
    data_quality: dict[str, dict[str, float]] = Field(default_factory=dict)
    pushdown: bool = Field(default=False, description="Statistics computed by the database.")
    duration_seconds: float | None = None
    inspected_at: datetime = Field(default_factory=_now)

    @property
    def schema(self) -> dict[str, Any]:  # type: ignore[override]
        """The schema dict (``fields``, ``table``/``collection``/``file``, ``indexes``...)."""
        return self.schema_

    @classmethod
    def build(
        cls,
        *,
        model_name: str,
        source: str,
        collection: str | None,
        schema: dict[str, Any],
        total_count: int,
        fields: dict[str, FieldStatistics],
        sample_data: list[dict[str, Any]],
        pushdown: bool,
        duration_seconds: float | None = None,
    ) -> InspectionResult:
        """Assemble a result, deriving ``statistics``, ``categorical_fields`` and quality."""
        categorical = {
            name: CategoricalField(
                name=name,
                distinct_values=list(fs.distinct_values or []),
                counts={str(v.value): v.count for v in fs.top_values},
            )
            for name, fs in fields.items()
            if fs.is_categorical
        }
        quality = {name: fs.quality.model_dump() for name, fs in fields.items()}
        overall = {
            key: (sum(q[key] for q in quality.values()) / len(quality) if quality else 0.0)
            for key in ("completeness", "uniqueness", "validity", "consistency")
        }
        statistics = {
            "total_count": total_count,
            "field_statistics": {name: fs.model_dump() for name, fs in fields.items()},
            "quality": {"fields": quality, "overall": overall},
        }
        return cls(
            model_name=model_name,
            source=source,
            collection=collection,
            schema=schema,
            total_count=total_count,
            field_statistics=fields,
            statistics=statistics,
            sample_data=sample_data,
            categorical_fields=categorical,
            data_quality={"overall": overall, **quality},
            pushdown=pushdown,
            duration_seconds=duration_seconds,
        )
