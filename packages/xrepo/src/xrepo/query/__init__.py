"""The query language of xrepo: filters (Mongo style and Django shorthand) and pipelines."""

from xrepo.query.filters import (
    And,
    Condition,
    FilterLimits,
    Node,
    Nor,
    Not,
    Or,
    parse_filter,
)
from xrepo.query.pipeline import Stage, parse_pipeline, parse_sort

__all__ = [
    "And",
    "Condition",
    "FilterLimits",
    "Node",
    "Nor",
    "Not",
    "Or",
    "Stage",
    "parse_filter",
    "parse_pipeline",
    "parse_sort",
]
