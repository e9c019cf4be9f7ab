"""Profile reports: one self-contained HTML page of an inspection, and its quality alerts.

- :func:`render_report` — the page (inline CSS, SVG histograms and one small script; no network
  request, readable offline; every value escaped);
- :func:`quality_alerts` / :class:`QualityAlert` / :class:`AlertThresholds` — what a person
  should look at first: high null share, constant or dominant values, all-unique columns, mixed
  types, pattern mismatches, low validity, empty strings, outliers.

The command line writes the page: ``xinspector report SOURCE -o profile.html``.
"""

from xinspector.report._alerts import AlertThresholds, QualityAlert, field_alerts, quality_alerts
from xinspector.report._html import render_report

__all__ = ["AlertThresholds", "QualityAlert", "field_alerts", "quality_alerts", "render_report"]
