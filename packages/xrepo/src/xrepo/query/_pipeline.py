"""Aggregation pipelines: parse and validate MongoDB-style stages into typed stage objects.

Supported stages: ``$match $project $group $sort $skip $limit $count $unwind $lookup``; ``$group``
accumulators: ``$sum $avg $min $max $count $first $last $push $addToSet``. Every backend compiler
(SQL, MongoDB, the in-memory engine) consumes the same :class:`Stage` list, so a pipeline means the
same thing everywhere. Field names are checked stage by stage against the fields that exist at that
point of the pipeline (the model's fields at the start, then whatever ``$project``/``$group``
produced), and an unknown one is an :class:`~xrepo.errors.XRepoValidationError` naming it.

What a ``$lookup`` may read is the repository's explicit choice, checked by :func:`check_lookups`:
the collections/tables listed in ``RepoMetadata.lookups`` (a memory repository's ``related``
sources, a ``SecureRepo``'s policy ``lookups``), or any one with ``lookups="*"``. Without a
declaration a pipeline cannot reach another collection (``sqlite_master``, ``pg_catalog``,
``mysql.user``, another collection's documents).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from xrepo.errors import XRepoPermissionError, XRepoValidationError
from xrepo.query._filters import (
    FORBIDDEN_OPERATORS,
    Node,
    check_path,
    check_value,
    conditions,
    parse_filter,
)
from xrepo.query._limits import DEFAULT_LIMITS, FilterLimits

__all__ = [
    "ACCUMULATORS",
    "ANY_LOOKUP",
    "RESERVED_PREFIX",
    "Count",
    "Group",
    "Limit",
    "Lookup",
    "Match",
    "Project",
    "Skip",
    "Sort",
    "SortKey",
    "Stage",
    "Unwind",
    "check_lookups",
    "parse_pipeline",
    "parse_sort",
]

ACCUMULATORS = frozenset(
    {"$sum", "$avg", "$min", "$max", "$count", "$first", "$last", "$push", "$addToSet"}
)
MAX_STAGES = 100
#: ``RepoMetadata(lookups="*")``: a ``$lookup`` may read any collection or table (an opt-in).
ANY_LOOKUP = "*"

SortKey: TypeAlias = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Match:
    """``$match``: keep documents the filter tree accepts."""

    node: Node


@dataclass(frozen=True, slots=True)
class Project:
    """``$project``.

    ``include`` maps each output name to a source path (``"a"`` for ``{"a": 1}``, ``"b.c"`` for
    ``{"x": "$b.c"}``) or to ``Literal`` values; ``exclude`` lists removed fields. Exactly one of
    the two is used, as in MongoDB (``_id`` may be excluded from an inclusion).
    """

    include: dict[str, str | Literal] | None
    exclude: tuple[str, ...] = ()
    drop_id: bool = False


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant in a ``$project`` (``{"$literal": value}``)."""

    value: Any


@dataclass(frozen=True, slots=True)
class Accumulator:
    """One ``$group`` output: ``op`` (``"sum"``...) over ``path``, or over ``constant``."""

    op: str
    path: str | None = None
    constant: Any = None


@dataclass(frozen=True, slots=True)
class Group:
    """``$group``: ``key`` is ``None`` (one group), a path, or ``{name: path}`` (compound)."""

    key: str | dict[str, str] | None
    accumulators: dict[str, Accumulator] = field(default_factory=dict)

    @property
    def key_paths(self) -> list[str]:
        """The paths the group key reads (none for a single group)."""
        if self.key is None:
            return []
        if isinstance(self.key, str):
            return [self.key]
        return list(self.key.values())


@dataclass(frozen=True, slots=True)
class Sort:
    """``$sort``: ``(path, 1 | -1)`` pairs, most significant first."""

    keys: tuple[SortKey, ...]


@dataclass(frozen=True, slots=True)
class Skip:
    """``$skip``."""

    n: int


@dataclass(frozen=True, slots=True)
class Limit:
    """``$limit``."""

    n: int


@dataclass(frozen=True, slots=True)
class Count:
    """``$count``: one document ``{name: number}``; no document when nothing is left."""

    name: str


@dataclass(frozen=True, slots=True)
class Unwind:
    """``$unwind``: one document per element of the array at ``path``."""

    path: str
    preserve_null_and_empty: bool = False


@dataclass(frozen=True, slots=True)
class Lookup:
    """``$lookup``: documents of ``source`` whose ``foreign`` equals this one's ``local``.

    ``where`` restricts the foreign documents (a row-level filter set by access control; not
    part of the MongoDB syntax); every backend applies it before joining.
    """

    source: str
    local: str
    foreign: str
    as_: str
    where: Node | None = None


Stage: TypeAlias = Match | Project | Group | Sort | Skip | Limit | Count | Unwind | Lookup


def _err(message: str, repo: str | None, operation: str) -> XRepoValidationError:
    return XRepoValidationError(message, repo=repo, operation=operation)


def _known(
    path: str, fields: set[str] | None, where: str, repo: str | None, operation: str
) -> None:
    if fields is None:
        return
    if path in fields or path.split(".", 1)[0] in fields:
        return
    raise _err(
        f"{where}: unknown field {path!r}; fields at this point: " + ", ".join(sorted(fields)),
        repo,
        operation,
    )


def _ref(value: Any, where: str, repo: str | None, operation: str) -> str:
    if not isinstance(value, str) or not value.startswith("$") or value.startswith("$$"):
        raise _err(
            f"{where}: expected a field reference like '$price', got {value!r}", repo, operation
        )
    return check_path(value[1:], error=lambda m: _err(f"{where}: {m}", repo, operation))


def parse_sort(
    sort: Any, *, fields: set[str] | None = None, repo: str | None = None, operation: str = "sort"
) -> tuple[SortKey, ...]:
    """Normalize a sort spec into ``((path, 1 | -1), ...)``.

    Accepts ``[("age", -1), ("name", 1)]``, ``{"age": -1}``, ``"age"``, ``"-age"`` or a list of
    such strings; directions may also be ``"asc"``/``"desc"``.
    """
    if sort is None:
        return ()
    items: list[tuple[Any, Any]] = []
    if isinstance(sort, str):
        sort = [sort]
    if isinstance(sort, Mapping):
        items = list(sort.items())
    elif isinstance(sort, Sequence):
        for item in sort:
            if isinstance(item, str):
                items.append((item[1:], -1) if item.startswith("-") else (item, 1))
            elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
                items.append((item[0], item[1]))
            else:
                raise _err(
                    f"sort entries must be 'field', '-field' or (field, 1|-1), got {item!r}",
                    repo,
                    operation,
                )
    else:
        raise _err(
            f"sort must be a list of (field, direction) or a dict, got {type(sort).__name__}",
            repo,
            operation,
        )
    keys: list[SortKey] = []
    for path, direction in items:
        check_path(path, error=lambda m: _err(m, repo, operation))
        _known(path, fields, "sort", repo, operation)
        if direction in (1, "asc", "ASC") and direction is not True:
            keys.append((path, 1))
        elif direction in (-1, "desc", "DESC"):
            keys.append((path, -1))
        else:
            raise _err(
                f"sort direction of {path!r} must be 1 or -1, got {direction!r}", repo, operation
            )
    if not keys and items:
        raise _err("empty sort", repo, operation)
    return tuple(keys)


def _count(value: Any, stage: str, repo: str | None, operation: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _err(f"{stage} needs a non-negative integer, got {value!r}", repo, operation)
    return value


#: Output names starting with this are reserved: the SQL compilers name their own helper columns
#: so (row numbers, pushed lists, element positions) and drop them from the answer.
RESERVED_PREFIX = "__xr_"


def _name(value: Any, stage: str, repo: str | None, operation: str) -> str:
    if not isinstance(value, str):
        raise _err(f"{stage} needs a field name, got {value!r}", repo, operation)
    check_path(value, error=lambda m: _err(f"{stage}: {m}", repo, operation))
    if "." in value:
        raise _err(f"{stage}: output name {value!r} must not contain '.'", repo, operation)
    return _not_reserved(value, stage, repo, operation)


def _not_reserved(value: str, stage: str, repo: str | None, operation: str) -> str:
    if value.startswith(RESERVED_PREFIX):
        raise _err(
            f"{stage}: output name {value!r} starts with {RESERVED_PREFIX!r}, which is reserved",
            repo,
            operation,
        )
    return value


def _project(
    spec: Any, fields: set[str] | None, repo: str | None, operation: str
) -> tuple[Project, set[str] | None]:
    if not isinstance(spec, Mapping) or not spec:
        raise _err("$project needs a non-empty document", repo, operation)
    include: dict[str, str | Literal] = {}
    exclude: list[str] = []
    drop_id = False
    for out, value in spec.items():
        if not isinstance(out, str):
            raise _err(f"$project keys must be strings, got {out!r}", repo, operation)
        check_path(out, error=lambda m: _err(f"$project: {m}", repo, operation))
        _not_reserved(out, "$project", repo, operation)
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            if value:
                _known(out, fields, "$project", repo, operation)
                include[out] = out
            elif out == "_id":
                drop_id = True
            else:
                _known(out, fields, "$project", repo, operation)
                exclude.append(out)
        elif isinstance(value, str):
            path = _ref(value, f"$project.{out}", repo, operation)
            _known(path, fields, "$project", repo, operation)
            if "." in out:
                raise _err(
                    f"$project: computed output {out!r} must not contain '.'", repo, operation
                )
            include[out] = path
        elif isinstance(value, Mapping) and set(value) == {"$literal"}:
            include[out] = Literal(check_value(value["$literal"], where="$literal"))
        elif isinstance(value, Mapping) and any(str(k) in FORBIDDEN_OPERATORS for k in value):
            bad = next(str(k) for k in value if str(k) in FORBIDDEN_OPERATORS)
            raise _err(
                f"operator {bad} runs code on the server and is not allowed", repo, operation
            )
        else:
            raise _err(
                f"$project.{out}: supported values are 1/0, '$field' and "
                f"{{'$literal': value}}, got {value!r}",
                repo,
                operation,
            )
    if include and exclude:
        raise _err("$project cannot mix inclusion and exclusion (except of _id)", repo, operation)
    if include:
        new_fields: set[str] | None = {k.split(".", 1)[0] for k in include}
        if fields is not None and "_id" in fields and not drop_id:
            new_fields = (new_fields or set()) | {"_id"}
        return Project(include, (), drop_id), new_fields
    removed = [*exclude, *(["_id"] if drop_id else [])]
    if fields is None:
        return Project(None, tuple(removed)), None
    return Project(None, tuple(removed)), fields - {p for p in removed if "." not in p}


def _group(
    spec: Any, fields: set[str] | None, repo: str | None, operation: str
) -> tuple[Group, set[str]]:
    if not isinstance(spec, Mapping) or "_id" not in spec:
        raise _err(
            "$group needs an _id (a '$field', a {name: '$field'} document or null)", repo, operation
        )
    raw_key = spec["_id"]
    key: str | dict[str, str] | None
    if raw_key is None:
        key = None
    elif isinstance(raw_key, str):
        key = _ref(raw_key, "$group._id", repo, operation)
        _known(key, fields, "$group._id", repo, operation)
    elif isinstance(raw_key, Mapping) and raw_key:
        key = {}
        for name, ref in raw_key.items():
            key[_name(name, "$group._id", repo, operation)] = _ref(
                ref, f"$group._id.{name}", repo, operation
            )
            _known(key[name], fields, "$group._id", repo, operation)
    else:
        raise _err(
            f"$group._id must be null, '$field' or {{name: '$field'}}, got {raw_key!r}",
            repo,
            operation,
        )
    accs: dict[str, Accumulator] = {}
    for out, acc in spec.items():
        if out == "_id":
            continue
        out = _name(out, "$group", repo, operation)
        if not isinstance(acc, Mapping) or len(acc) != 1:
            raise _err(
                f"$group.{out} needs one accumulator like {{'$sum': '$price'}}", repo, operation
            )
        ((op, arg),) = acc.items()
        if op in FORBIDDEN_OPERATORS:
            raise _err(f"operator {op} runs code on the server and is not allowed", repo, operation)
        if op not in ACCUMULATORS:
            raise _err(
                f"unknown accumulator {op!r} in $group.{out}; known: "
                + ", ".join(sorted(ACCUMULATORS)),
                repo,
                operation,
            )
        name = op[1:]
        if name == "count":
            if arg not in ({}, None):
                raise _err(f"$group.{out}: $count takes {{}}", repo, operation)
            accs[out] = Accumulator("count")
        elif name == "sum" and isinstance(arg, int | float) and not isinstance(arg, bool):
            accs[out] = Accumulator("sum", constant=arg)
        else:
            path = _ref(arg, f"$group.{out}.{op}", repo, operation)
            _known(path, fields, f"$group.{out}", repo, operation)
            accs[out] = Accumulator(name, path)
    return Group(key, accs), {"_id", *accs}


def _unwind(spec: Any, fields: set[str] | None, repo: str | None, operation: str) -> Unwind:
    preserve = False
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"path", "preserveNullAndEmptyArrays"}
        if unknown:
            raise _err(f"$unwind: unsupported option(s) {sorted(unknown)}", repo, operation)
        preserve = spec.get("preserveNullAndEmptyArrays", False)
        if not isinstance(preserve, bool):
            raise _err("$unwind.preserveNullAndEmptyArrays must be true or false", repo, operation)
        spec = spec.get("path")
    path = _ref(spec, "$unwind", repo, operation)
    _known(path, fields, "$unwind", repo, operation)
    return Unwind(path, preserve)


def _lookup(spec: Any, fields: set[str] | None, repo: str | None, operation: str) -> Lookup:
    required = {"from", "localField", "foreignField", "as"}
    if not isinstance(spec, Mapping) or set(spec) != required:
        raise _err(
            "$lookup needs exactly from, localField, foreignField and as "
            "(pipeline lookups are not supported)",
            repo,
            operation,
        )
    source = spec["from"]
    if not isinstance(source, str) or not source:
        raise _err("$lookup.from must be a collection or table name", repo, operation)
    local = check_path(spec["localField"], error=lambda m: _err(f"$lookup: {m}", repo, operation))
    _known(local, fields, "$lookup.localField", repo, operation)
    foreign = check_path(
        spec["foreignField"], error=lambda m: _err(f"$lookup: {m}", repo, operation)
    )
    return Lookup(source, local, foreign, _name(spec["as"], "$lookup.as", repo, operation))


def parse_pipeline(
    pipeline: Any,
    *,
    fields: set[str] | None = None,
    limits: FilterLimits = DEFAULT_LIMITS,
    repo: str | None = None,
    operation: str = "aggregate",
) -> list[Stage]:
    """Validate a MongoDB-style pipeline into :class:`Stage` objects.

    Raises:
        XRepoValidationError: an unknown stage, operator or field (named), a server-side code
            operator, a malformed stage or more than 100 stages.
    """
    if not isinstance(pipeline, Sequence) or isinstance(pipeline, str | bytes):
        raise _err(
            f"a pipeline is a list of stages, got {type(pipeline).__name__}", repo, operation
        )
    if len(pipeline) > MAX_STAGES:
        raise _err(f"pipeline has {len(pipeline)} stages, more than {MAX_STAGES}", repo, operation)
    stages: list[Stage] = []
    current = set(fields) if fields is not None else None
    total_conditions = 0
    for i, raw in enumerate(pipeline):
        if not isinstance(raw, Mapping) or len(raw) != 1:
            raise _err(f"stage {i} must be a document with exactly one $operator", repo, operation)
        ((name, spec),) = raw.items()
        if name in FORBIDDEN_OPERATORS:
            raise _err(
                f"operator {name} runs code on the server and is not allowed", repo, operation
            )
        if name == "$match":
            node = parse_filter(spec, fields=current, limits=limits, operation=operation, repo=repo)
            total_conditions += len(conditions(node))
            if total_conditions > limits.max_conditions:
                raise _err(
                    f"pipeline filters hold more than {limits.max_conditions} conditions",
                    repo,
                    operation,
                )
            stages.append(Match(node))
        elif name == "$project":
            project, current = _project(spec, current, repo, operation)
            stages.append(project)
        elif name == "$group":
            group, current = _group(spec, current, repo, operation)
            stages.append(group)
        elif name == "$sort":
            if not isinstance(spec, Mapping) or not spec:
                raise _err("$sort needs a non-empty {field: 1 | -1} document", repo, operation)
            stages.append(Sort(parse_sort(spec, fields=current, repo=repo, operation=operation)))
        elif name == "$skip":
            stages.append(Skip(_count(spec, "$skip", repo, operation)))
        elif name == "$limit":
            n = _count(spec, "$limit", repo, operation)
            if n == 0:
                raise _err("$limit must be positive", repo, operation)
            stages.append(Limit(n))
        elif name == "$count":
            out = _name(spec, "$count", repo, operation)
            stages.append(Count(out))
            current = {out}
        elif name == "$unwind":
            stages.append(_unwind(spec, current, repo, operation))
        elif name == "$lookup":
            lookup = _lookup(spec, current, repo, operation)
            stages.append(lookup)
            if current is not None:
                current = current | {lookup.as_}
        else:
            raise _err(
                f"unknown pipeline stage {name!r} (stage {i}); supported: $match, "
                "$project, $group, $sort, $skip, $limit, $count, $unwind, $lookup",
                repo,
                operation,
            )
    return stages


def check_lookups(
    stages: Sequence[Stage],
    allowed: Collection[str] | None,
    *,
    repo: str | None = None,
    operation: str = "aggregate",
) -> None:
    """Refuse a ``$lookup`` into a collection or table that is not in ``allowed``.

    Args:
        stages: the parsed pipeline.
        allowed: the names a ``$lookup`` may read; ``None`` (``lookups="*"``): any.
        repo: the repository, named in the error.
        operation: named in the error.

    Raises:
        XRepoPermissionError: naming the collection and the option that would allow it.

    Examples:
        >>> stages = parse_pipeline([{"$lookup": {"from": "sqlite_master", "localField": "id",
        ...     "foreignField": "name", "as": "t"}}])
        >>> check_lookups(stages, ["orders"], repo="items")
        Traceback (most recent call last):
        xrepo.errors.XRepoPermissionError: ...$lookup into 'sqlite_master' is not allowed...
    """
    if allowed is None:
        return

    for stage in stages:
        if isinstance(stage, Lookup) and stage.source not in allowed:
            declared = ", ".join(repr(n) for n in sorted(allowed)) or "none"
            raise XRepoPermissionError(
                f"$lookup into {stage.source!r} is not allowed: the repository declares the "
                f"collections its pipelines may join (lookups: {declared}); add "
                f"{stage.source!r} to RepoMetadata.lookups, or set lookups='*' to allow any",
                repo=repo,
                operation=operation,
            )
