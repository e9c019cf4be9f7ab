"""Repository statistics: :class:`RepoStats` (what a repository holds and how it performs),
gathered by :func:`collect_statistics` over a repository's store, and the per-operation
:class:`LatencyRecorder`."""

from xrepo.stats._latency import LatencyRecorder, LatencySnapshot
from xrepo.stats._repo_stats import RepoStats, collect_statistics

__all__ = ["LatencyRecorder", "LatencySnapshot", "RepoStats", "collect_statistics"]
