"""The query language of xrepo: filters (Mongo style and Django shorthand), pipelines, limits.

Every backend compiles the same parsed trees, so validation and typing happen here, once:

- filters: :func:`parse_filter` turns ``{"age__gte": 18}`` or ``{"age": {"$gte": 18}}`` into a
  tree of :class:`Condition`, :class:`And`, :class:`Or`, :class:`Nor` and :class:`Not` nodes;
- pipelines: :func:`parse_pipeline` turns ``[{"$match": ...}, {"$group": ...}]`` into
  :data:`Stage` objects (:class:`Match`, :class:`Group`...); :func:`parse_sort` reads a sort;
- limits: :class:`FilterLimits` bounds a filter (depth, sizes, the time of one ``$regex``
  evaluation: :class:`RegexBoundExceeded`);
- typed values: :func:`field_types` reads a model's field kinds, :func:`type_filter` and
  :func:`type_stages` type a tree's values by them (what repositories and compilers use).

::

    from xrepo.query import FilterLimits, parse_filter

    node = parse_filter({"age__gte": 18, "$or": [{"city": "Oslo"}, {"city": "Bergen"}]})
    strict = FilterLimits(max_depth=5, regex_timeout=0.2)
"""

from xrepo.query._filters import (
    MATCH_ALL,
    MATCH_NONE,
    TEXT_OPS,
    And,
    Condition,
    Node,
    Nor,
    Not,
    Or,
    check_path,
    check_value,
    conditions,
    parse_filter,
)
from xrepo.query._kinds import (
    SCALAR_KINDS,
    FieldType,
    Kind,
    annotation_type,
    field_types,
    pipeline_types,
    python_type,
    stage_types,
)
from xrepo.query._limits import DEFAULT_LIMITS, FilterLimits, RegexBoundExceeded
from xrepo.query._pipeline import (
    RESERVED_PREFIX,
    Accumulator,
    Count,
    Group,
    Limit,
    Literal,
    Lookup,
    Match,
    Project,
    Skip,
    Sort,
    SortKey,
    Stage,
    Unwind,
    check_lookups,
    parse_pipeline,
    parse_sort,
)
from xrepo.query._typed import as_utc, type_filter, type_stages

__all__ = [
    "DEFAULT_LIMITS",
    "MATCH_ALL",
    "MATCH_NONE",
    "RESERVED_PREFIX",
    "SCALAR_KINDS",
    "TEXT_OPS",
    "Accumulator",
    "And",
    "Condition",
    "Count",
    "FieldType",
    "FilterLimits",
    "Group",
    "Kind",
    "Limit",
    "Literal",
    "Lookup",
    "Match",
    "Node",
    "Nor",
    "Not",
    "Or",
    "Project",
    "RegexBoundExceeded",
    "Skip",
    "Sort",
    "SortKey",
    "Stage",
    "Unwind",
    "annotation_type",
    "as_utc",
    "check_lookups",
    "check_path",
    "check_value",
    "conditions",
    "field_types",
    "parse_filter",
    "parse_pipeline",
    "parse_sort",
    "pipeline_types",
    "python_type",
    "stage_types",
    "type_filter",
    "type_stages",
]
