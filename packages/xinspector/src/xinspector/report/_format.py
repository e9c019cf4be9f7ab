"""How the report writes values: plain display text, then HTML-escaped cells.

Every value that reaches the page passes through :func:`cell` or :func:`text` (``html.escape``
with quotes), so a ``<script>`` in the data renders as text. Control characters and lone
surrogates (which a UTF-8 page cannot hold) are shown as visible escapes instead of vanishing.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from html import escape
from typing import Any

__all__ = ["cell", "count", "display", "number", "share", "text"]

# C0 and C1 controls except tab and newline (which pre-wrap cells show as they are).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(value: str) -> str:
    value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def number(value: float) -> str:
    """A float in at most six significant digits (``nan``, ``inf`` spelled out)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.6g}"


def display(value: Any) -> str:
    """The plain text of a statistic or data value (not escaped)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # A data value is shown exactly (0.1 stays 0.1, 0.0 is not 0); statistics use number().
        return repr(value) if math.isfinite(value) else number(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, str):
        return _visible(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _visible(repr(bytes(value)))
    if isinstance(value, dict | list | tuple):
        return _visible(json.dumps(value, ensure_ascii=False, default=str))
    return _visible(str(value))


def text(value: Any) -> str:
    """``display(value)`` escaped for HTML text or a double-quoted attribute."""
    return escape(display(value), quote=True)


def cell(value: Any, limit: int = 80, *, rounded: bool = False) -> str:
    """HTML for a value in a table cell: nulls and empty or blank strings marked as such,
    long text shortened with the whole value in the tooltip; ``rounded`` floats (computed
    statistics such as quantiles) in six significant digits."""
    if rounded and isinstance(value, float):
        return escape(number(value))
    if value is None:
        return '<span class="null">null</span>'
    if isinstance(value, str) and not value.strip():
        label = "empty string" if not value else f"{len(value)} blank character(s)"
        return f'<span class="empty">({label})</span>'
    shown = display(value)
    if len(shown) <= limit:
        return escape(shown, quote=True)
    return (
        f'<span title="{escape(shown, quote=True)}">'
        f"{escape(shown[: limit - 1], quote=True)}…</span>"
    )


def count(value: int) -> str:
    """A count with thousands separators."""
    return f"{value:,}"


def share(part: int | float, whole: int | float) -> str:
    """``part / whole`` as a percentage (``—`` when there is no whole)."""
    if not whole:
        return "—"
    ratio = part / whole
    if 0 < ratio < 0.001:
        return "<0.1%"
    return f"{ratio:.1%}"
