"""Histograms as inline SVG: one ``<rect class="bar">`` per bin.

Each bar carries its bin as data attributes (``data-lower``, ``data-upper``, ``data-count``) and
a ``<title>`` that browsers show as a tooltip; the axis labels are the outer bounds and the
tallest count. No script, no external font: the picture is readable offline and in print.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from xinspector.profiling._stats import HistogramBin
from xinspector.report._format import count, display, number

__all__ = ["histogram_svg"]

_WIDTH = 360
_HEIGHT = 132
_TOP = 16  # room for the peak label
_BOTTOM = 22  # room for the bound labels


def _bound(value: Any) -> str:
    # Temporal bounds are ISO text: shortened to the minute, which a 360-pixel axis can hold.
    if isinstance(value, float):
        return number(value)
    shown = display(value)
    if len(shown) > 16 and shown[4:5] == "-" and shown[10:11] == "T":
        return shown[:16].replace("T", " ")
    return shown


def histogram_svg(bins: Sequence[HistogramBin], *, label: str, unit: str = "") -> str:
    """An SVG bar chart of ``bins`` (``label`` names it for screen readers)."""
    if not bins:
        raise ValueError("a histogram needs at least one bin")
    peak = max(max(b.count for b in bins), 1)
    plot = _HEIGHT - _TOP - _BOTTOM
    step = _WIDTH / len(bins)
    suffix = f" {unit}" if unit else ""
    parts = [
        f'<svg class="histogram" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-label="{escape(label, quote=True)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text class="axis" x="0" y="11">max {count(peak)}</text>',
    ]
    for i, b in enumerate(bins):
        height = round(b.count / peak * plot, 1)
        lower, upper = display(b.lower), display(b.upper)
        closing = "]" if i == len(bins) - 1 else ")"
        tip = f"[{_bound(b.lower)}, {_bound(b.upper)}{closing}{suffix}: {count(b.count)}"
        parts.append(
            f'<rect class="bar" x="{i * step + 0.5:.1f}" y="{_TOP + plot - height:.1f}" '
            f'width="{max(step - 1, 0.5):.1f}" height="{height}" '
            f'data-lower="{escape(lower, quote=True)}" data-upper="{escape(upper, quote=True)}" '
            f'data-count="{b.count}"><title>{escape(tip, quote=True)}</title></rect>'
        )
    base = _TOP + plot + 0.5
    parts += [
        f'<line class="baseline" x1="0" x2="{_WIDTH}" y1="{base}" y2="{base}"/>',
        f'<text class="axis" x="0" y="{_HEIGHT - 6}">'
        f"{escape(_bound(bins[0].lower) + suffix, quote=True)}</text>",
        f'<text class="axis" x="{_WIDTH}" y="{_HEIGHT - 6}" text-anchor="end">'
        f"{escape(_bound(bins[-1].upper) + suffix, quote=True)}</text>",
        "</svg>",
    ]
    return "".join(parts)
