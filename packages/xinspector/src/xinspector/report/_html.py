"""``render_report``: one self-contained HTML page of an inspection.

Per field: type, nulls, distinct values, min/max/mean, quantiles, a histogram, top values with
their counts, the string-length distribution, quality scores and alerts. A statistic the backend
did not compute (``None``) reads "not computed", never a made-up zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any

from pydantic import ValidationError

from xinspector.__about__ import __version__
from xinspector.profiling._stats import QUANTILE_LEVELS, FieldStatistics, InspectionResult
from xinspector.report._alerts import AlertThresholds, QualityAlert, field_alerts, quality_alerts
from xinspector.report._format import cell, count, display, number, share, text
from xinspector.report._page import SCRIPT, STYLE, csp
from xinspector.report._svg import histogram_svg
from xobj_prototype import is_secret_key

__all__ = ["render_report"]

# Types with an order and a distance: quantiles and a histogram are expected of them.
_MEASURED = {"int", "float", "Decimal", "date", "datetime", "time", "timedelta"}


def _types(fs: FieldStatistics) -> set[str]:
    return {p.strip() for p in fs.type.split("|")} - {"None", ""}


def _not_computed(what: str) -> str:
    return f'<p class="not-computed" data-missing="{what}">{what}: not computed</p>'


def _facts(fs: FieldStatistics) -> str:
    rows: list[tuple[str, str]] = [
        ("records", count(fs.count)),
        ("nulls", f"{count(fs.null_count)} ({escape(share(fs.null_count, fs.count))})"),
        ("distinct", f"{'~' if not fs.unique_exact else ''}{count(fs.unique_count)}"),
    ]
    low = fs.min if fs.min is not None else fs.date_min
    high = fs.max if fs.max is not None else fs.date_max
    if low is not None or high is not None:
        rows += [("min", cell(low)), ("max", cell(high))]
    if fs.mean is not None:
        rows.append(("mean", escape(number(fs.mean))))
    if fs.stddev is not None:
        rows.append(("std. dev.", escape(number(fs.stddev))))
    if fs.min_length is not None:
        avg = f" · avg {number(fs.avg_length)}" if fs.avg_length is not None else ""
        rows.append(("length", f"{fs.min_length} to {fs.max_length}{escape(avg)} characters"))
    if fs.pattern:
        rows.append(("pattern", f"{text(fs.pattern)} ({escape(share(fs.pattern_share or 0, 1))})"))
    inner = "".join(
        f'<dt>{label}</dt><dd data-fact="{label}">{value}</dd>' for label, value in rows
    )
    return f'<dl class="facts">{inner}</dl>'


def _quantiles(fs: FieldStatistics) -> str:
    if not fs.quantiles:
        return _not_computed("Quantiles")
    head = "".join(f"<th>{key}</th>" for key in QUANTILE_LEVELS)
    body = "".join(
        f'<td class="num" data-quantile="{key}">{cell(fs.quantiles.get(key), rounded=True)}</td>'
        for key in QUANTILE_LEVELS
    )
    note = "" if fs.quantiles_exact else '<caption class="muted">approximate</caption>'
    return f'<table class="quantiles">{note}<tr>{head}</tr><tr>{body}</tr></table>'


def _chart(fs: FieldStatistics, kind: str) -> str:
    bins = fs.histogram if kind == "histogram" else fs.length_histogram
    caption = "values" if kind == "histogram" else "string length (characters)"
    if not bins:
        return _not_computed("Histogram" if kind == "histogram" else "String lengths")
    unit = "" if kind == "histogram" else "chars"
    svg = histogram_svg(bins, label=f"{caption} of {fs.name}", unit=unit)
    return f'<figure data-chart="{kind}"><figcaption>{caption}</figcaption>{svg}</figure>'


def _top_values(fs: FieldStatistics) -> str:
    if not fs.top_values:
        return ""
    present = fs.non_null_count or sum(v.count for v in fs.top_values)
    rows = "".join(
        f'<tr data-count="{v.count}"><td class="value">{cell(v.value)}</td>'
        f'<td class="num">{count(v.count)}</td><td>'
        f'<span class="bar-h" style="width:{round(v.count / present * 80) if present else 0}px">'
        f"</span>{escape(share(v.count, present))}</td></tr>"
        for v in fs.top_values
    )
    note = "" if fs.top_values_exact else " (approximate counts)"
    return (
        f'<table class="top-values"><caption class="muted">top values{note}</caption>'
        f"<tr><th>value</th><th>count</th><th>share</th></tr>{rows}</table>"
    )


def _quality(fs: FieldStatistics) -> str:
    q = fs.quality
    cells = "".join(
        f'<td class="num" data-score="{name}">{escape(share(score, 1))}</td>'
        for name, score in (
            ("completeness", q.completeness),
            ("uniqueness", q.uniqueness),
            ("validity", q.validity),
            ("consistency", q.consistency),
        )
    )
    return (
        '<table class="quality"><tr><th>completeness</th><th>uniqueness</th><th>validity</th>'
        f"<th>consistency</th></tr><tr>{cells}</tr></table>"
    )


def _alerts(alerts: list[QualityAlert], ids: dict[str, int] | None = None) -> str:
    """The alerts as a list; with ``ids``, each names its field with a link to it."""
    if not alerts:
        return ""
    items = []
    for a in alerts:
        where = ""
        if ids is not None and a.field is not None:
            where = f'<a href="#field-{ids[a.field]}">{text(a.field)}</a>: '
        field = "" if a.field is None else text(a.field)
        items.append(
            f'<li class="{a.severity}" data-kind="{a.kind}" data-field="{field}">'
            f'<span class="sev">{a.severity}</span>{where}{text(a.message)}</li>'
        )
    return f'<ul class="alerts">{"".join(items)}</ul>'


def _masked_field(index: int, fs: FieldStatistics, alerts: list[QualityAlert]) -> str:
    facts = "".join(
        f'<dt>{label}</dt><dd data-fact="{label}">{value}</dd>'
        for label, value in (
            ("records", count(fs.count)),
            ("nulls", f"{count(fs.null_count)} ({escape(share(fs.null_count, fs.count))})"),
            ("distinct", f"{'~' if not fs.unique_exact else ''}{count(fs.unique_count)}"),
        )
    )
    return (
        f'<section class="field masked" id="field-{index}" data-field="{text(fs.name)}" '
        f'data-masked><h2>{text(fs.name)}<span class="tag" data-type>{text(fs.type)}</span></h2>'
        f'{_alerts(alerts)}<dl class="facts">{facts}</dl><p class="not-computed">Values masked: '
        "the name looks secret (render_report(..., mask_secrets=False) shows them).</p></section>"
    )


def _field(index: int, fs: FieldStatistics, alerts: list[QualityAlert]) -> str:
    types = _types(fs)
    measured = bool(types) and types <= _MEASURED
    fmt = f'<span class="tag">{text(fs.format)}</span>' if fs.format else ""
    parts = [
        f'<section class="field" id="field-{index}" data-field="{text(fs.name)}">',
        f'<h2>{text(fs.name)}<span class="tag" data-type>{text(fs.type)}</span>{fmt}</h2>',
        _alerts(alerts),
        _facts(fs),
    ]
    if measured or fs.quantiles:
        parts.append(_quantiles(fs))
    if measured or fs.histogram:
        parts.append(_chart(fs, "histogram"))
    if "str" in types or fs.length_histogram:
        parts.append(_chart(fs, "length_histogram"))
    parts += [_top_values(fs), _quality(fs), "</section>"]
    return "".join(parts)


def _summary(result: InspectionResult, alerts: list[QualityAlert], ids: dict[str, int]) -> str:
    by_field: dict[str | None, list[QualityAlert]] = {}
    for a in alerts:
        by_field.setdefault(a.field, []).append(a)
    rows = "".join(
        f'<tr><td><a href="#field-{ids[name]}">{text(name)}</a></td><td>{text(fs.type)}</td>'
        f'<td class="num">{escape(share(fs.null_count, fs.count))}</td>'
        f'<td class="num">{"~" if not fs.unique_exact else ""}{count(fs.unique_count)}</td>'
        f'<td class="num">{len(by_field.get(name, []))}</td></tr>'
        for name, fs in result.field_statistics.items()
    )
    warnings = sum(a.severity == "warning" for a in alerts)
    return (
        f'<section id="summary"><h2>Alerts</h2><p class="muted">{len(alerts)} alert(s), '
        f"{warnings} warning(s)</p>{_alerts(alerts, ids)}<h2>Columns</h2>"
        '<table class="overview"><tr><th>column</th><th>type</th><th>nulls</th>'
        f"<th>distinct</th><th>alerts</th></tr>{rows}</table></section>"
    )


def _coerce(result: Any) -> InspectionResult:
    if isinstance(result, InspectionResult):
        return result
    if isinstance(result, Mapping):
        try:
            return InspectionResult.model_validate(dict(result))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the document"
            raise ValueError(
                f"render_report: not an inspection result ({where}: {first['msg']}); give "
                "XInspector.inspect()'s result or its JSON ('xinspector inspect -f json')"
            ) from None
    raise TypeError(
        "render_report needs an InspectionResult (XInspector.inspect()) or its JSON dict, "
        f"got {type(result).__name__}"
    )


def render_report(
    result: InspectionResult | Mapping[str, Any],
    *,
    title: str | None = None,
    thresholds: AlertThresholds | None = None,
    mask_secrets: bool = True,
) -> str:
    """One self-contained HTML page (inline CSS, SVG and script; no network) of an inspection.

    Args:
        result: what :meth:`XInspector.inspect` returned, or its JSON dict.
        title: the page title (default: the collection's name).
        thresholds: where quality alerts start.
        mask_secrets: show no value of a field whose name looks secret (``password``,
            ``api_token``... as :func:`xobj_prototype.is_secret_key` says): its counts only. A
            report is made to be passed around.

    Examples:
        >>> from xinspector import FieldStatistics, InspectionResult
        >>> fs = FieldStatistics(name="<b>", type="str", count=1, top_values=[])
        >>> result = InspectionResult.build(model_name="M", source="s", collection="c",
        ...     schema={}, total_count=1, fields={"<b>": fs}, sample_data=[], pushdown=False)
        >>> page = render_report(result)
        >>> "&lt;b&gt;" in page and "<b>" not in page
        True
    """
    inspection = _coerce(result)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"render_report: title must be text, got {type(title).__name__}")
    alerts = quality_alerts(inspection, thresholds, mask_secrets=mask_secrets)
    ids = {name: i for i, name in enumerate(inspection.field_statistics)}
    name = title if title is not None else (inspection.collection or inspection.model_name)
    when = inspection.inspected_at
    stamp = when.isoformat(timespec="seconds") if isinstance(when, datetime) else display(when)
    took = (
        f" in {inspection.duration_seconds:.3g} s"
        if inspection.duration_seconds is not None
        else ""
    )
    how = "computed by the database" if inspection.pushdown else "streamed"
    parts = []
    for n, fs in inspection.field_statistics.items():
        if mask_secrets and is_secret_key(n):
            parts.append(_masked_field(ids[n], fs, field_alerts(fs, thresholds, masked=True)))
        else:
            parts.append(_field(ids[n], fs, field_alerts(fs, thresholds)))
    fields = "".join(parts)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp()}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="xinspector {__version__}">'
        f"<title>Profile of {text(name)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>Profile of {text(name)}</h1>"
        f'<p class="meta">{text(inspection.source)} · '
        f'<span data-total="{inspection.total_count}">{count(inspection.total_count)} records'
        f"</span> · {len(ids)} columns · {how} · {escape(stamp)}{escape(took)}</p></header>"
        f"{_summary(inspection, alerts, ids)}"
        '<main><p><input id="filter" type="search" placeholder="Filter columns by name" '
        'aria-label="Filter columns"> <span id="filter-count" class="muted"></span></p>'
        f'<div class="fields">{fields}</div></main>'
        f"<footer>xinspector {escape(__version__)}</footer>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
