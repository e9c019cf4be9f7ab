"""Quality alerts: what a person should look at first in a profile.

Each alert is derived from a field's statistics and its :class:`~xinspector.DataQuality`
scores, never from the raw data, so every backend's profile gets the same alerts.

=================  ========  ==============================================================
kind               severity  raised when
=================  ========  ==============================================================
no_rows            warning   the collection holds no records
all_null           warning   the field has no value in any record
high_nulls         warning   nulls are at least ``high_null_share`` of the records
constant           warning   at least two values and all of them equal
dominant_value     info      one value holds ``dominant_share`` of the values (20+ values)
all_unique         info      every value distinct (text, integers, UUIDs): an identifier?
mixed_types        warning   values of more than one type or text shape (consistency < 1)
pattern_mismatch   warning   most values match a pattern (email, url...) but some do not
low_validity       warning   validity below ``min_validity`` (and no pattern alert)
empty_strings      info      empty strings next to real values
outliers           info      min or max beyond Tukey's fences (``outlier_fence`` x IQR)
=================  ========  ==============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from xinspector.profiling._stats import FieldStatistics, InspectionResult
from xinspector.report._format import count, display, share
from xobj_prototype import is_secret_key

__all__ = ["AlertThresholds", "QualityAlert", "field_alerts", "quality_alerts"]

AlertKind = Literal[
    "no_rows",
    "all_null",
    "high_nulls",
    "constant",
    "dominant_value",
    "all_unique",
    "mixed_types",
    "pattern_mismatch",
    "low_validity",
    "empty_strings",
    "outliers",
]

# Types whose every distinct value is expected (measurements, timestamps): no all_unique alert.
_CONTINUOUS = {"float", "Decimal", "datetime", "time", "timedelta"}


class QualityAlert(BaseModel):
    """One thing worth a look in a profile.

    Attributes:
        field: the field it concerns (None for the whole collection).
        kind: what was found (see the table of :mod:`xinspector.report`).
        severity: ``warning`` (likely a data problem) or ``info`` (worth knowing).
        message: one sentence for a person.
    """

    field: str | None
    kind: AlertKind
    severity: Literal["info", "warning"]
    message: str


@dataclass(frozen=True)
class AlertThresholds:
    """Where alerts start (the defaults suit most tables)."""

    high_null_share: float = 0.5
    dominant_share: float = 0.95
    min_validity: float = 0.95
    outlier_fence: float = 3.0

    def __post_init__(self) -> None:
        for name in ("high_null_share", "dominant_share", "min_validity"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"AlertThresholds.{name} must be in (0, 1], got {value!r}")
        if self.outlier_fence <= 0:
            raise ValueError(
                f"AlertThresholds.outlier_fence must be positive, got {self.outlier_fence!r}"
            )


def _real(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


def _outliers(fs: FieldStatistics, fence: float, masked: bool) -> str | None:
    q = fs.quantiles or {}
    p25, p75 = _real(q.get("p25")), _real(q.get("p75"))
    low, high = _real(fs.min), _real(fs.max)
    if p25 is None or p75 is None or low is None or high is None:
        return None
    iqr = p75 - p25
    if iqr <= 0:
        return None
    beyond = []
    if low < p25 - fence * iqr:
        beyond.append(f"min {display(fs.min)}")
    if high > p75 + fence * iqr:
        beyond.append(f"max {display(fs.max)}")
    if not beyond:
        return None
    if masked:
        names = " and ".join(b.split(" ", 1)[0] for b in beyond)
        return f"{names} beyond {fence:g} x the interquartile range"
    return (
        f"{' and '.join(beyond)} beyond {fence:g} x the interquartile range "
        f"({display(q['p25'])} to {display(q['p75'])})"
    )


def field_alerts(
    fs: FieldStatistics, thresholds: AlertThresholds | None = None, *, masked: bool = False
) -> list[QualityAlert]:
    """The alerts of one field; ``masked``: the messages quote no value of the field."""
    t = thresholds or AlertThresholds()
    out: list[QualityAlert] = []

    def add(kind: AlertKind, severity: Literal["info", "warning"], message: str) -> None:
        out.append(QualityAlert(field=fs.name, kind=kind, severity=severity, message=message))

    present = fs.non_null_count
    if fs.count and present <= 0:
        add("all_null", "warning", f"no value in any of the {count(fs.count)} records")
        return out
    if fs.count and fs.null_count / fs.count >= t.high_null_share:
        add(
            "high_nulls",
            "warning",
            f"{share(fs.null_count, fs.count)} of the records have no value "
            f"({count(fs.null_count)} of {count(fs.count)})",
        )
    top = fs.top_values[0] if fs.top_values else None
    if present >= 2 and fs.unique_count == 1 and fs.unique_exact:
        shown = f" {display(top.value)!r}" if top is not None and not masked else ""
        add("constant", "warning", f"every value is the same{shown}")
    elif top is not None and present >= 20 and top.count / present >= t.dominant_share:
        add(
            "dominant_value",
            "info",
            f"{'one value' if masked else repr(display(top.value))} is "
            f"{share(top.count, present)} of the values",
        )
    types = {p.strip() for p in fs.type.split("|")} - {"None"}
    if (
        present >= 2
        and fs.unique_exact
        and fs.unique_count == present
        and not types & _CONTINUOUS
        and "bool" not in types
    ):
        add("all_unique", "info", f"all {count(present)} values are distinct: an identifier?")
    if len(fs.type_counts) > 1:
        mix = ", ".join(
            f"{name} {share(n, present)}"
            for name, n in sorted(fs.type_counts.items(), key=lambda kv: -kv[1])
        )
        add("mixed_types", "warning", f"values of several types: {mix}")
    elif fs.quality.consistency < 1:
        # One declared type, several shapes of text (dates in two formats, codes and numbers).
        add(
            "mixed_types",
            "warning",
            f"only {share(fs.quality.consistency, 1)} of the values share the dominant type "
            "or shape",
        )
    if fs.pattern and fs.pattern_share is not None and fs.pattern_share < 1:
        add(
            "pattern_mismatch",
            "warning",
            f"{share(fs.pattern_share, 1)} of the values look like {fs.pattern}; the rest do not",
        )
    elif fs.quality.validity < t.min_validity:
        add("low_validity", "warning", f"only {share(fs.quality.validity, 1)} of values are valid")
    if fs.min_length == 0 and (fs.max_length or 0) > 0:
        add("empty_strings", "info", "empty strings next to real values")
    if (message := _outliers(fs, t.outlier_fence, masked)) is not None:
        add("outliers", "info", message)
    return out


def quality_alerts(
    result: InspectionResult,
    thresholds: AlertThresholds | None = None,
    *,
    mask_secrets: bool = False,
) -> list[QualityAlert]:
    """Every alert of an inspection: the collection's first, then each field's in order.

    With ``mask_secrets``, the alerts of fields whose names look secret (``password``,
    ``api_token``... as :func:`xobj_prototype.is_secret_key` says) quote none of their values.

    Examples:
        >>> from xinspector import FieldStatistics, InspectionResult
        >>> fs = FieldStatistics(name="country", type="str", count=4, unique_count=1)
        >>> result = InspectionResult.build(model_name="M", source="s", collection="c",
        ...     schema={}, total_count=4, fields={"country": fs}, sample_data=[],
        ...     pushdown=False)
        >>> [a.kind for a in quality_alerts(result)]
        ['constant']
    """
    if not isinstance(result, InspectionResult):
        raise TypeError(
            f"quality_alerts needs an InspectionResult (XInspector.inspect()), "
            f"got {type(result).__name__}"
        )
    out: list[QualityAlert] = []
    if result.total_count == 0:
        out.append(
            QualityAlert(
                field=None,
                kind="no_rows",
                severity="warning",
                message=f"{result.collection or result.source} holds no records",
            )
        )
    for fs in result.field_statistics.values():
        out.extend(field_alerts(fs, thresholds, masked=mask_secrets and is_secret_key(fs.name)))
    return out
