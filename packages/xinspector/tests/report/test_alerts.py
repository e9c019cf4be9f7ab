"""Quality alerts: each kind fires where its definition says and not a record before; the
thresholds are checked; the page shows each alert once in the summary and once in its field."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from xinspector import (
    AlertThresholds,
    DataQuality,
    FieldStatistics,
    InspectionResult,
    ValueCount,
    quality_alerts,
    render_report,
)
from xinspector.report import field_alerts


def kinds(**stats: Any) -> list[str]:
    stats.setdefault("name", "f")
    return [a.kind for a in field_alerts(FieldStatistics(**stats))]


# (statistics, expected alert kinds): every case is a boundary of one definition.
CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"type": "int", "count": 4, "null_count": 4}, ["all_null"]),
    ({"type": "int", "count": 0}, []),
    ({"type": "str", "count": 10, "null_count": 5, "unique_count": 2}, ["high_nulls"]),
    ({"type": "str", "count": 10, "null_count": 4, "unique_count": 2}, []),
    (
        {"type": "str", "count": 3, "unique_count": 1,
         "top_values": [ValueCount(value="x", count=3)]},
        ["constant"],
    ),
    ({"type": "str", "count": 3, "unique_count": 1, "unique_exact": False}, []),  # estimate
    ({"type": "str", "count": 1, "unique_count": 1}, ["all_unique"][:0]),  # one value: no claim
    (
        {"type": "str", "count": 20, "unique_count": 2,
         "top_values": [ValueCount(value="a", count=19), ValueCount(value="b", count=1)]},
        ["dominant_value"],
    ),
    (
        {"type": "str", "count": 19, "unique_count": 2,
         "top_values": [ValueCount(value="a", count=18), ValueCount(value="b", count=1)]},
        [],
    ),  # fewer than 20 values: not enough to say
    (
        {"type": "str", "count": 20, "unique_count": 3,
         "top_values": [ValueCount(value="a", count=18), ValueCount(value="b", count=2)]},
        [],
    ),  # 90% < 95%
    ({"type": "int", "count": 5, "unique_count": 5}, ["all_unique"]),
    ({"type": "UUID", "count": 5, "null_count": 1, "unique_count": 4}, ["all_unique"]),
    ({"type": "float", "count": 5, "unique_count": 5}, []),  # measurements are distinct
    ({"type": "datetime", "count": 5, "unique_count": 5}, []),
    ({"type": "int", "count": 5, "unique_count": 5, "unique_exact": False}, []),
    ({"type": "int | str", "count": 4, "unique_count": 2, "type_counts": {"int": 3, "str": 1}},
     ["mixed_types"]),
    ({"type": "str", "count": 10, "unique_count": 3, "quality": DataQuality(consistency=0.5)},
     ["mixed_types"]),
    ({"type": "int | str", "count": 4, "unique_count": 2, "type_counts": {"int": 3, "str": 1},
      "quality": DataQuality(consistency=0.75)}, ["mixed_types"]),  # said once
    ({"type": "str", "count": 10, "unique_count": 3, "pattern": "email", "pattern_share": 0.9},
     ["pattern_mismatch"]),
    ({"type": "str", "count": 10, "unique_count": 3, "pattern": "email", "pattern_share": 1.0},
     []),
    ({"type": "str", "count": 10, "unique_count": 3, "quality": DataQuality(validity=0.9)},
     ["low_validity"]),
    ({"type": "str", "count": 10, "unique_count": 3, "quality": DataQuality(validity=0.95)}, []),
    ({"type": "str", "count": 4, "unique_count": 2, "min_length": 0, "max_length": 5},
     ["empty_strings"]),
    ({"type": "str", "count": 4, "unique_count": 2, "min_length": 0, "max_length": 0}, []),
    (
        {"type": "float", "count": 100, "unique_count": 50, "min": 0.0, "max": 11.01,
         "quantiles": {"p5": 0.5, "p25": 1.0, "p50": 2.0, "p75": 3.5, "p95": 5.0}},
        ["outliers"],
    ),  # 11.01 > 3.5 + 3 * 2.5
    (
        {"type": "float", "count": 100, "unique_count": 50, "min": 0.0, "max": 11.0,
         "quantiles": {"p5": 0.5, "p25": 1.0, "p50": 2.0, "p75": 3.5, "p95": 5.0}},
        [],
    ),  # 11.0 is the fence itself
    (
        {"type": "Decimal", "count": 100, "unique_count": 50, "min": Decimal("-1E+6"),
         "max": Decimal(3), "quantiles": {"p25": Decimal(1), "p75": Decimal(2)}},
        ["outliers"],
    ),
    (
        {"type": "datetime", "count": 100, "unique_count": 50, "min": "2020-01-01",
         "max": "2030-01-01", "quantiles": {"p25": "2024-01-01", "p75": "2024-02-01"}},
        [],
    ),  # no outlier claim on text bounds
    (
        {"type": "int", "count": 100, "unique_count": 2, "min": 0, "max": 9,
         "quantiles": {"p25": 1, "p75": 1}},
        [],
    ),  # no spread, no fence
]  # fmt: skip


@pytest.mark.parametrize(("stats", "expected"), CASES)
def test_alert_definitions(stats: dict[str, Any], expected: list[str]) -> None:
    assert kinds(**stats) == expected


def test_thresholds_move_the_boundaries() -> None:
    stats = {"type": "str", "count": 10, "null_count": 2, "unique_count": 2}
    assert kinds(**stats) == []
    fs = FieldStatistics(name="f", **stats)
    strict = AlertThresholds(high_null_share=0.2)
    assert [a.kind for a in field_alerts(fs, strict)] == ["high_nulls"]


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"high_null_share": 0}, "high_null_share must be in (0, 1]"),
        ({"dominant_share": 1.5}, "dominant_share must be in (0, 1]"),
        ({"min_validity": -0.1}, "min_validity"),
        ({"outlier_fence": 0}, "outlier_fence must be positive"),
    ],
)
def test_bad_thresholds_are_named(kwargs: dict[str, float], says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        AlertThresholds(**kwargs)


def test_messages_name_the_numbers() -> None:
    fs = FieldStatistics(name="deck", type="str", count=891, null_count=688, unique_count=7)
    (alert,) = field_alerts(fs)
    assert alert.severity == "warning"
    assert alert.field == "deck"
    assert alert.message == "77.2% of the records have no value (688 of 891)"


def test_quality_alerts_needs_an_inspection() -> None:
    with pytest.raises(TypeError, match="needs an InspectionResult"):
        quality_alerts({"field_statistics": {}})  # type: ignore[arg-type]


def test_each_alert_is_in_the_summary_and_in_its_field() -> None:
    fields = {
        "id": FieldStatistics(name="id", type="int", count=5, unique_count=5),
        "<deck>": FieldStatistics(name="<deck>", type="str", count=5, null_count=4, unique_count=1),
    }
    result = InspectionResult.build(
        model_name="M", source="s", collection="c", schema={}, total_count=5, fields=fields,
        sample_data=[], pushdown=True,
    )  # fmt: skip
    alerts = quality_alerts(result)
    assert [(a.field, a.kind) for a in alerts] == [("id", "all_unique"), ("<deck>", "high_nulls")]
    html = render_report(result)
    for a in alerts:
        assert html.count(f'data-kind="{a.kind}"') == 2
    assert 'data-field="&lt;deck&gt;"' in html
    assert '<a href="#field-1">&lt;deck&gt;</a>' in html


def test_masked_alerts_quote_no_value() -> None:
    fs = FieldStatistics(
        name="api_token", type="float", count=100, unique_count=50, min=-1e9, max=0.3,
        quantiles={"p25": 0.1, "p75": 0.2},
        top_values=[ValueCount(value=0.125, count=99), ValueCount(value=-1e9, count=1)],
    )  # fmt: skip
    plain = [a.message for a in field_alerts(fs)]
    masked = [a.message for a in field_alerts(fs, masked=True)]
    assert plain == [
        "'0.125' is 99.0% of the values",
        "min -1000000000.0 beyond 3 x the interquartile range (0.1 to 0.2)",
    ]
    assert masked == [
        "one value is 99.0% of the values",
        "min beyond 3 x the interquartile range",
    ]
    result = InspectionResult.build(
        model_name="M", source="s", collection="c", schema={}, total_count=100,
        fields={"api_token": fs}, sample_data=[], pushdown=False,
    )  # fmt: skip
    assert [a.message for a in quality_alerts(result)] == plain
    assert [a.message for a in quality_alerts(result, mask_secrets=True)] == masked
