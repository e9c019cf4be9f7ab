"""What a :class:`~xrepo.secure.SecureRepo` is made of when not given: the audit logger, cache
and latency recorder its repository's ``RepoMetadata`` asks for (:func:`metadata_components`)."""

from __future__ import annotations

from typing import Any

from xrepo.audit import AuditLogger, MemoryAuditSink
from xrepo.cache import CacheManager
from xrepo.errors import XRepoConfigurationError
from xrepo.repos import XRepo
from xrepo.stats import LatencyRecorder

__all__ = ["metadata_components"]


def metadata_components(
    repo: XRepo[Any],
    *,
    audit: AuditLogger | None = None,
    cache: CacheManager | None = None,
    cache_ttl: float | None = None,
    latency: LatencyRecorder | None = None,
) -> tuple[AuditLogger | None, CacheManager | None, float | None, LatencyRecorder]:
    """The audit logger, cache, cache TTL and latency recorder of a :class:`SecureRepo` around
    ``repo``: those given, the rest from ``repo.metadata`` (the one place that does this, for
    ``SecureRepo(...)`` and ``XRepoFactory.create(...)`` alike).

    - ``enable_audit`` without ``audit``: an ``AuditLogger`` over a
      ``MemoryAuditSink(audit_max_entries)``, policy ``"buffer"`` (the bounded memory sink never
      fails, so "buffer" only saves the lock the "fail" policy takes around writes without a
      transaction);
    - ``cache_enabled`` without ``cache``: the repository's own memory cache (``repo.cache``),
      entries kept ``cache_ttl`` seconds (also for a ``cache`` given when the metadata sets
      ``cache_ttl``);
    - ``enable_statistics=False`` without ``latency``: a recorder that keeps nothing.

    Raises:
        XRepoConfigurationError: a component given that the metadata explicitly switches off
            (``audit`` with ``enable_audit=False``...), ``cache_ttl`` without a cache, or a
            ``cache_ttl`` that is not a positive number.
    """
    m = repo.metadata
    explicit = m.model_fields_set
    if latency is not None and not isinstance(latency, LatencyRecorder):
        raise XRepoConfigurationError(
            f"latency must be a LatencyRecorder, got {type(latency).__name__}", repo=m.name
        )
    # An explicit "off" in the metadata and an explicit component contradict each other.
    for name, given, flag in (
        ("audit", audit, "enable_audit"),
        ("cache", cache, "cache_enabled"),
        ("latency", latency, "enable_statistics"),
    ):
        if given is not None and flag in explicit and not getattr(m, flag):
            raise XRepoConfigurationError(
                f"{name}= was given but the metadata says {flag}=False; drop one of them",
                repo=m.name,
            )
    if audit is None and m.enable_audit:
        audit = AuditLogger(MemoryAuditSink(m.audit_max_entries), policy="buffer")
    if cache is None and m.cache_enabled:
        cache = repo.cache or CacheManager.memory(default_ttl=m.cache_ttl)
    if cache_ttl is not None:
        if isinstance(cache_ttl, bool) or not isinstance(cache_ttl, int | float) or cache_ttl <= 0:
            raise XRepoConfigurationError(
                f"cache_ttl must be a positive number of seconds, got {cache_ttl!r}", repo=m.name
            )
        if cache is None:
            raise XRepoConfigurationError(
                "cache_ttl= was given without a cache; pass cache=CacheManager.memory() (or "
                "another CacheManager) or set RepoMetadata.cache_enabled=True",
                repo=m.name,
            )
    elif cache is not None and (m.cache_enabled or "cache_ttl" in explicit):
        cache_ttl = m.cache_ttl
    if latency is None:
        latency = LatencyRecorder(enabled=m.enable_statistics)
    return audit, cache, cache_ttl, latency
