"""``AggregateRepo`` and :func:`create_aggregate_repo`: group-by across several repositories.

::

    sales = await create_aggregate_repo(
        "sales_by_category",
        [pg_sales, mongo_sales, csv_sales],
        {
            "group_by": ["category"],
            "aggregations": {
                "revenue": {"sum": "amount"},
                "orders": {"count": "*"},
                "avg_amount": {"avg": "amount"},
                "largest": {"max": "amount"},
            },
            "filters": {"status": "paid"},
        },
    )
    await sales.list(sort="-revenue", limit=10)

Each source computes partial aggregates natively (one ``$group`` pipeline per source, compiled to
SQL ``GROUP BY`` or a MongoDB pipeline), and the partials are merged in Python: sums and counts
add up, minima and maxima compare, averages are weighted by each source's count of values. The
result is read-only (list, count, distinct, aggregate work as everywhere). Conditions of a query on
group-by fields are pushed down to every source. Aggregation specs may be written
``{"sum": "amount"}``, ``{"$sum": "$amount"}``, ``"sum:amount"`` or ``"count"``.
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, create_model

from xobj_prototype import XObjPrototype
from xrepo._context import Permission, RepoContext
from xrepo.compile import sort_rows
from xrepo.errors import XRepoConfigurationError, XRepoValidationError
from xrepo.query import MATCH_ALL, And, Match, Node, conditions, parse_filter, parse_pipeline
from xrepo.repos import XRepo
from xrepo.stores import Row
from xrepo.views._derived import DerivedRepo
from xrepo.views._view import ROW_ID, _hashable

__all__ = ["AggregateRepo", "Aggregation", "create_aggregate_repo"]

_OPS = frozenset({"sum", "count", "avg", "min", "max"})
_ADMIN = RepoContext()


@dataclass(frozen=True)
class Aggregation:
    """One output: ``op`` (sum, count, avg, min, max) over ``field`` (``None`` for count)."""

    name: str
    op: str
    field: str | None


def _parse_spec(name: str, spec: Any, repo: str) -> Aggregation:
    op: Any = None
    field: Any = None
    if isinstance(spec, str):
        op, _, field = spec.partition(":")
        field = field or None
    elif isinstance(spec, Mapping) and len(spec) == 1:
        ((op, field),) = spec.items()
    elif isinstance(spec, Mapping) and "op" in spec:
        op, field = spec.get("op"), spec.get("field")
    if isinstance(op, str):
        op = op.lstrip("$").lower()
    if isinstance(field, str):
        field = field[1:] if field.startswith("$") else field
        if field in ("*", ""):
            field = None
    if field == {} or field == 1:
        field = None
    if op not in _OPS:
        raise XRepoConfigurationError(
            f"aggregation {name!r}: unknown operation {op!r}; use one of {sorted(_OPS)}",
            repo=repo,
            operation="create aggregate",
        )
    if field is not None and not isinstance(field, str):
        raise XRepoConfigurationError(
            f"aggregation {name!r}: the field must be a name, got {field!r}",
            repo=repo,
            operation="create aggregate",
        )
    if field is None and op != "count":
        raise XRepoConfigurationError(
            f"aggregation {name!r}: {op} needs a field, e.g. {{'{op}': 'amount'}}",
            repo=repo,
            operation="create aggregate",
        )
    return Aggregation(name, op, field)


class AggregateRepo(DerivedRepo[Any]):
    """Group-by aggregates over several repositories, merged (see the module docs)."""

    backend = "aggregate"

    def __init__(
        self,
        *,
        name: str,
        sources: Sequence[XRepo[Any]],
        group_by: Sequence[str],
        aggregations: Sequence[Aggregation],
        filters: Mapping[str, Any] | None = None,
        model_class: type[BaseModel] | None = None,
    ) -> None:
        if not sources:
            raise XRepoConfigurationError("an aggregate needs at least one source", repo=name)
        for repo in sources:
            if not isinstance(repo, XRepo):
                raise XRepoConfigurationError(
                    f"sources must be repositories, got {type(repo).__name__}", repo=name
                )
            missing = sorted(
                ({*group_by} | {a.field for a in aggregations if a.field}) - repo.fields
            )
            if missing:
                raise XRepoConfigurationError(
                    f"source {repo.name!r} has no field(s) {missing}",
                    repo=name,
                    operation="create aggregate",
                )
        names = [*group_by, *(a.name for a in aggregations)]
        if len(set(names)) != len(names) or ROW_ID in names:
            raise XRepoConfigurationError(
                f"output names must be distinct and not {ROW_ID!r}: {names}", repo=name
            )
        model = _aggregate_model(name, sources[0], group_by, aggregations, model_class)
        metadata = self._virtual_metadata(name, model, "virtual_aggregate", ROW_ID)
        super().__init__(model_class=model, metadata=metadata)
        self._sources = list(sources)
        self._group_by = tuple(group_by)
        self._aggs = tuple(aggregations)
        self._static: list[Node] = []
        for repo in sources:
            try:
                self._static.append(
                    parse_filter(filters, fields=repo.fields, operation="create aggregate")
                )
            except XRepoValidationError as exc:
                raise XRepoConfigurationError(
                    f"bad filters for source {repo.name!r}: {exc}", repo=name
                ) from None

    @property
    def group_by(self) -> tuple[str, ...]:
        """The grouping fields."""
        return self._group_by

    @property
    def aggregations(self) -> tuple[Aggregation, ...]:
        """The aggregated outputs."""
        return self._aggs

    def _pipeline(self) -> list[dict[str, Any]]:
        key: Any = {g: f"${g}" for g in self._group_by} if self._group_by else None
        group: dict[str, Any] = {"_id": key}
        for a in self._aggs:
            if a.op == "count":
                group[f"{a.name}__n"] = {"$sum": 1}
            elif a.op == "avg":
                group[f"{a.name}__avg"] = {"$avg": f"${a.field}"}
            else:
                group[f"{a.name}__{a.op}"] = {f"${a.op}": f"${a.field}"}
        return [{"$group": group}]

    async def _partials(self, index: int, pushed: list[Node]) -> list[Row]:
        repo = self._sources[index]
        parts = [self._static[index], *pushed]
        node: Node = And(tuple(parts)) if len(parts) > 1 else parts[0]
        node = repo._restrict(node, Permission.LIST, _ADMIN)
        stages = [Match(node), *parse_pipeline(self._pipeline(), fields=set(repo.fields))]
        rows: list[Row] = await repo._aggregate(stages)
        for a in self._aggs:
            if a.op != "avg":
                continue
            # Weights of a per-source average: how many values it averaged, per group.
            assert a.field is not None
            counted = And((node, parse_filter({a.field: {"$ne": None}}, fields=repo.fields)))
            key: Any = {g: f"${g}" for g in self._group_by} if self._group_by else None
            weights = await repo._aggregate(
                [
                    Match(counted),
                    *parse_pipeline(
                        [{"$group": {"_id": key, "n": {"$sum": 1}}}], fields=set(repo.fields)
                    ),
                ]
            )
            by_key = {self._key(w): w["n"] for w in weights}
            for r in rows:
                r[f"{a.name}__w"] = by_key.get(self._key(r), 0)
        return rows

    def _key(self, row: Row) -> tuple[Any, ...]:
        ident = row.get("_id")
        if not self._group_by:
            return ()
        if isinstance(ident, Mapping):
            return tuple(_hashable(ident.get(g)) for g in self._group_by)
        return (_hashable(ident),)

    def _pushdown(self, node: Node) -> list[Node]:
        parts = node.children if isinstance(node, And) else (node,)
        keys = set(self._group_by)
        return [
            p
            for p in parts
            if conditions(p) and {c.path.split(".", 1)[0] for c in conditions(p)} <= keys
        ]

    async def _rows(self, node: Node, needed: set[str] | None) -> list[Row]:
        pushed = self._pushdown(node) if node is not MATCH_ALL else []
        partials = await asyncio.gather(
            *(self._partials(i, pushed) for i in range(len(self._sources)))
        )
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        for rows in partials:
            for r in rows:
                key = self._key(r)
                out = merged.get(key)
                if out is None:
                    ident = r.get("_id")
                    out = merged[key] = {
                        g: (ident.get(g) if isinstance(ident, Mapping) else ident)
                        for g in self._group_by
                    }
                for a in self._aggs:
                    self._fold(out, a, r)
        rows_out: list[Row] = []
        for out in merged.values():
            for a in self._aggs:
                if a.op == "avg":
                    total, weight = out.pop(f"{a.name}__acc", (0.0, 0))
                    out[a.name] = total / weight if weight else None
            rows_out.append(out)
        rows_out = sort_rows(rows_out, [(g, 1) for g in self._group_by])
        for n, row in enumerate(rows_out, start=1):
            row[ROW_ID] = n
        return rows_out

    @staticmethod
    def _fold(out: dict[str, Any], a: Aggregation, r: Row) -> None:
        if a.op == "count":
            out[a.name] = out.get(a.name, 0) + int(r.get(f"{a.name}__n") or 0)
        elif a.op == "sum":
            value = r.get(f"{a.name}__sum")
            out[a.name] = (out.get(a.name) or 0) + (value or 0)
        elif a.op in ("min", "max"):
            value = r.get(f"{a.name}__{a.op}")
            if value is None:
                out.setdefault(a.name, None)
                return
            current = out.get(a.name)
            if current is None:
                out[a.name] = value
            else:
                out[a.name] = min(current, value) if a.op == "min" else max(current, value)
        else:  # avg: weighted by the number of values each source averaged
            avg, weight = r.get(f"{a.name}__avg"), int(r.get(f"{a.name}__w") or 0)
            total, count = out.get(f"{a.name}__acc", (0.0, 0))
            if avg is not None and weight:
                total, count = total + float(avg) * weight, count + weight
            out[f"{a.name}__acc"] = (total, count)


def _aggregate_model(
    name: str,
    first: XRepo[Any],
    group_by: Sequence[str],
    aggs: Sequence[Aggregation],
    given: type[BaseModel] | None,
) -> type[BaseModel]:
    if given is not None:
        if ROW_ID in given.model_fields:
            return given
        return typing.cast(
            type[BaseModel],
            create_model(  # type: ignore[call-overload]
                given.__name__, __base__=given, **{ROW_ID: (int | None, None)}
            ),
        )
    fields: dict[str, Any] = {ROW_ID: (int | None, None)}
    source_fields = first.model_class.model_fields
    for g in group_by:
        annotation = source_fields[g].annotation
        fields[g] = (annotation | None if annotation is not Any else Any, None)
    for a in aggs:
        if a.op == "count":
            fields[a.name] = (int, 0)
        elif a.op in ("min", "max"):
            assert a.field is not None
            annotation = source_fields[a.field].annotation
            fields[a.name] = (annotation | None if annotation is not Any else Any, None)
        else:
            fields[a.name] = (float | None, None)
    return typing.cast(
        type[BaseModel],
        create_model(
            "".join(p.title() for p in name.replace("-", "_").split("_")) + "Aggregate",
            __base__=XObjPrototype,
            **fields,
        ),
    )


async def create_aggregate_repo(
    name: str,
    source_repos: Sequence[XRepo[Any]],
    aggregation_config: Mapping[str, Any],
    result_model_class: type[BaseModel] | None = None,
) -> AggregateRepo:
    """A read-only repository of group-by aggregates across ``source_repos``.

    ``aggregation_config``: ``group_by`` (a field or a list; none: one row of totals),
    ``aggregations`` ``{output: spec}`` (sum, count, avg, min, max), optional ``filters``
    applied to every source. See the module docs.
    """
    if not isinstance(aggregation_config, Mapping):
        raise XRepoConfigurationError(
            "aggregation_config must be a dict with group_by and aggregations", repo=name
        )
    unknown = sorted(set(aggregation_config) - {"group_by", "aggregations", "filters"})
    if unknown:
        raise XRepoConfigurationError(
            f"unknown aggregation_config key(s) {unknown}; use group_by, aggregations, filters",
            repo=name,
        )
    group_by = aggregation_config.get("group_by") or []
    if isinstance(group_by, str):
        group_by = [group_by]
    if not isinstance(group_by, Sequence) or not all(isinstance(g, str) for g in group_by):
        raise XRepoConfigurationError("group_by must be a field name or a list of them", repo=name)
    specs = aggregation_config.get("aggregations") or {}
    if not isinstance(specs, Mapping) or not specs:
        raise XRepoConfigurationError(
            "aggregations must be a non-empty dict like {'total': {'sum': 'amount'}}", repo=name
        )
    aggs = [_parse_spec(str(k), v, name) for k, v in specs.items()]
    return AggregateRepo(
        name=name,
        sources=list(source_repos),
        group_by=list(group_by),
        aggregations=aggs,
        filters=aggregation_config.get("filters"),
        model_class=result_model_class,
    )
