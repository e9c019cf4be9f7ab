"""Read-only repositories computed from others: joins across resources (:class:`ViewRepo`,
:func:`create_view_from_resources`) and group-by aggregates across repositories
(:class:`AggregateRepo`, :func:`create_aggregate_repo`)."""

from xrepo.views.aggregate import AggregateRepo, Aggregation, create_aggregate_repo
from xrepo.views.derived import DerivedRepo, XRepoReadOnlyError
from xrepo.views.view import (
    JOIN_TYPES,
    ViewRepo,
    ViewSource,
    create_view,
    create_view_from_resources,
)

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
    "create_view_from_resources",
]
