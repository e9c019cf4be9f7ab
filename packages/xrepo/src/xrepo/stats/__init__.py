"""Repository statistics: the per-operation :class:`LatencyRecorder` that ``RepoStats`` uses."""

from xrepo.stats.latency import LatencyRecorder, LatencySnapshot

__all__ = ["LatencyRecorder", "LatencySnapshot"]
