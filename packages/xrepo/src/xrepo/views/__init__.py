"""Read-only repositories computed from others: joins across repositories (:class:`ViewRepo`,
:func:`create_view`) and group-by aggregates across repositories (:class:`AggregateRepo`,
:func:`create_aggregate_repo`).

A view over ``(resource, collection)`` pairs builds the sources' repositories first: that is the
factory's work, ``xrepo.create_view_from_resources`` (``XRepoFactory.create_view_from_resources``).
"""

from xrepo.views._aggregate import AggregateRepo, Aggregation, create_aggregate_repo
from xrepo.views._derived import DerivedRepo, XRepoReadOnlyError
from xrepo.views._view import JOIN_TYPES, ViewRepo, ViewSource, create_view

__all__ = [
    "JOIN_TYPES",
    "AggregateRepo",
    "Aggregation",
    "DerivedRepo",
    "ViewRepo",
    "ViewSource",
    "XRepoReadOnlyError",
    "create_aggregate_repo",
    "create_view",
]
