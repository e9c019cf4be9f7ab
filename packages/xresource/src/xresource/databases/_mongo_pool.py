"""MongoDB's pool, seen from the resource: ``_PoolCounter`` counts the client's CMAP events
(PyMongo publishes no live gauges), ``MongoPoolStats`` reports them, and the pool options found in
a URI or in ``options`` become the resource's fields (``_lift_pool_options``)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field
from pymongo import monitoring

from xresource.databases.base import PoolStats

__all__ = ["MongoPoolStats"]


class _PoolCounter(monitoring.ConnectionPoolListener):
    """Counts CMAP events of one client: connections open, lent out and callers waiting.

    PyMongo publishes no live pool gauges, only events; the counters below are exact for events
    that the client emits (one pool per server: a replica set's counts are summed).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # PyMongo may publish from its monitor threads
        self.open = 0
        self.in_use = 0
        self.waiting = 0

    def _add(self, **delta: int) -> None:
        with self._lock:
            for name, d in delta.items():
                setattr(self, name, max(0, getattr(self, name) + d))

    def connection_created(self, event: Any) -> None:
        self._add(open=1)

    def connection_closed(self, event: Any) -> None:
        self._add(open=-1)

    def connection_check_out_started(self, event: Any) -> None:
        self._add(waiting=1)

    def connection_check_out_failed(self, event: Any) -> None:
        self._add(waiting=-1)

    def connection_checked_out(self, event: Any) -> None:
        self._add(waiting=-1, in_use=1)

    def connection_checked_in(self, event: Any) -> None:
        self._add(in_use=-1)

    # Events the counters do not need; ConnectionPoolListener declares them abstract.
    def pool_created(self, event: Any) -> None:
        return None

    def pool_ready(self, event: Any) -> None:
        return None

    def pool_cleared(self, event: Any) -> None:
        return None

    def pool_closed(self, event: Any) -> None:
        return None

    def connection_ready(self, event: Any) -> None:
        return None


class MongoPoolStats(PoolStats):
    """:class:`PoolStats` plus the keys the specification's ``get_pool_stats()`` names.

    ``max_pool_size``/``min_pool_size``/``idle_time_ms`` are the options the client was given
    (``maxPoolSize``/``minPoolSize``/``maxIdleTimeMS``); ``active_connections`` is the number of
    pooled connections open now (lent out or idle, as ``size``); ``status`` is ``"connected"`` or
    ``"not_connected"``.
    """

    status: Literal["connected", "not_connected"]
    max_pool_size: int
    min_pool_size: int
    active_connections: int
    idle_time_ms: int | None = Field(description="maxIdleTimeMS; None: idle connections stay.")


# Driver options that a field of the resource holds (lower-cased name -> field, unit scale).
_POOL_OPTIONS: dict[str, tuple[str, float]] = {
    "maxpoolsize": ("pool_max_size", 1.0),
    "minpoolsize": ("pool_min_size", 1.0),
    "maxidletimems": ("max_idle_time", 0.001),
    "waitqueuetimeoutms": ("acquire_timeout", 0.001),
    "connecttimeoutms": ("connect_timeout", 0.001),
    "sockettimeoutms": ("command_timeout", 0.001),
}


def _lift_pool_options(
    data: dict[str, Any], items: Iterable[tuple[Any, Any]], where: str
) -> dict[str, Any]:
    """Move pool options found in ``items`` (URI options or ``options``) into ``data``'s fields;
    the other items are returned. A field given too, with another value, is an error."""
    rest: dict[str, Any] = {}
    for key, raw in items:
        target = _POOL_OPTIONS.get(str(key).lower())
        if target is None:
            rest[key] = raw
            continue
        field, scale = target
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{where} {key} must be a number, got {raw!r}") from None
        value: float | int = int(number) if scale == 1.0 and number.is_integer() else number
        value = value * scale if scale != 1.0 else value
        if field in data and data[field] is not None and data[field] != value:
            raise ValueError(
                f"{where} {key}={raw} and {field}={data[field]!r} disagree; give only one"
            )
        data[field] = value
    return rest
