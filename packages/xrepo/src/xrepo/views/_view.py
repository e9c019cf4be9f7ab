"""``ViewRepo`` and :func:`create_view`: joins across resources, read-only.

A view joins collections/tables that may live on different resources (MongoDB users with
PostgreSQL orders) on one or more keys, with ``inner``, ``left``, ``right`` or ``full`` joins::

    view = await create_view_from_resources(  # xrepo.create_view_from_resources
        "user_orders",
        [(mongo, "users"), (pg, "orders")],
        {"on": {"users": "id", "orders": "user_id"}, "type": "left"},
    )
    await view.list({"users_status": "active", "orders_total__gte": 10}, sort="-orders_total")

Fields are named as the spec's ``_merge_schemas`` (and XInspector's ``generate_joined_model``)
name them: ``<source>_<field>``, except a join key that has the same name in every source
(``{"on": "user_id"}``), which appears once, unprefixed. Each row also gets ``row_id``.

Per query, the view pushes to each source what that source can answer alone: the conditions on
its fields (where the join type allows it: any source of an inner join, the preserved side of a
left/right join), per-source filters (``{"users_filters": {...}}`` in the query, or
``join_config["filters"]``), and a projection of the fields the query needs. The sources run
those natively; the view hash-joins the rows in Python and hands them to the in-memory engine for
filtering, sorting, paging and pipelines. Writes fail with :class:`XRepoReadOnlyError`.
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, create_model

from xobj_prototype import XObjPrototype
from xrepo._context import Caller, Permission, RepoContext
from xrepo.errors import XRepoConfigurationError, XRepoValidationError
from xrepo.query import (
    MATCH_ALL,
    And,
    Condition,
    Match,
    Node,
    Nor,
    Not,
    Or,
    Project,
    Sort,
    Stage,
    parse_filter,
)
from xrepo.repos import XRepo
from xrepo.stores import Row
from xrepo.views._derived import DerivedRepo, XRepoReadOnlyError, run_engine

__all__ = [
    "JOIN_TYPES",
    "ViewRepo",
    "ViewSource",
    "XRepoReadOnlyError",
    "create_view",
]

#: Accepted spellings of the join types.
JOIN_TYPES = {
    "inner": "inner",
    "inner_join": "inner",
    "join": "inner",
    "left": "left",
    "left_join": "left",
    "left_outer": "left",
    "right": "right",
    "right_join": "right",
    "right_outer": "right",
    "full": "full",
    "full_join": "full",
    "full_outer": "full",
    "outer": "full",
    "outer_join": "full",
}
ROW_ID = "row_id"
_ADMIN = RepoContext()


@dataclass(frozen=True)
class ViewSource:
    """One side of a view: its repository, field prefix and join key field(s)."""

    name: str
    repo: XRepo[Any]
    keys: tuple[str, ...]
    prefix: str
    filters: Node | None = None


def _optional(annotation: Any) -> Any:
    if annotation is Any:
        return Any
    args = typing.get_args(annotation)
    if type(None) in args:
        return annotation
    return annotation | None


class ViewRepo(DerivedRepo[Any]):
    """A read-only join of two or more repositories (see the module docs).

    Args:
        name: the view's name.
        sources: the :class:`ViewSource` list, joined left to right.
        how: ``inner``, ``left``, ``right`` or ``full``.
        model_class: the row model; generated from the sources' models when omitted (a given
            model without ``row_id`` gets it added).
    """

    backend = "view"

    def __init__(
        self,
        *,
        name: str,
        sources: Sequence[ViewSource],
        how: str = "inner",
        model_class: type[BaseModel] | None = None,
    ) -> None:
        if len(sources) < 2:
            raise XRepoConfigurationError("a view joins at least two sources", repo=name)
        kind = JOIN_TYPES.get(str(how).lower())
        if kind is None:
            raise XRepoConfigurationError(
                f"unknown join type {how!r}; use inner, left, right or full",
                repo=name,
                operation="create view",
            )
        width = len(sources[0].keys)
        for s in sources:
            if not s.keys or len(s.keys) != width:
                raise XRepoConfigurationError(
                    f"every source needs the same number of join keys ({width}); "
                    f"{s.name!r} has {len(s.keys)}",
                    repo=name,
                    operation="create view",
                )
            for k in s.keys:
                if k not in s.repo.fields:
                    raise XRepoConfigurationError(
                        f"join key {k!r} is not a field of {s.name!r}; fields: "
                        + ", ".join(sorted(s.repo.fields)),
                        repo=name,
                        operation="create view",
                    )
        shared = all(s.keys == sources[0].keys for s in sources)
        out: dict[str, tuple[int, str]] = {}
        shared_keys: dict[str, list[tuple[int, str]]] = {}
        annotations: dict[str, Any] = {}
        for i, s in enumerate(sources):
            fields = s.repo.model_class.model_fields
            for f in sorted(s.repo.fields):
                if shared and f in s.keys:
                    shared_keys.setdefault(f, []).append((i, f))
                    annotations.setdefault(f, _optional(fields[f].annotation))
                    continue
                merged = f"{s.prefix}_{f}"
                if merged in out or merged in shared_keys:
                    raise XRepoConfigurationError(
                        f"two sources produce the field {merged!r}; give them distinct "
                        "prefixes (join_config['prefixes'])",
                        repo=name,
                        operation="create view",
                    )
                out[merged] = (i, f)
                annotations[merged] = _optional(fields[f].annotation)
        if ROW_ID in out or ROW_ID in shared_keys:
            raise XRepoConfigurationError(
                f"a source field is named {ROW_ID!r}, which the view uses for its rows",
                repo=name,
                operation="create view",
            )
        model = _row_model(name, model_class, annotations)
        for i, s in enumerate(sources):
            # XInspector names MongoDB's key "_id" ("users__id"); the repository calls it id.
            alias = f"{s.prefix}__id"
            if alias in model.model_fields and alias not in out:
                out[alias] = (i, s.repo.id_field)
        unknown = sorted(set(model.model_fields) - set(out) - set(shared_keys) - {ROW_ID, "ns"})
        if unknown:
            raise XRepoConfigurationError(
                f"result model {model.__name__} has field(s) {unknown} the join does not "
                "produce; produced: " + ", ".join(sorted({*out, *shared_keys})),
                repo=name,
                operation="create view",
            )
        metadata = self._virtual_metadata(name, model, "virtual_view", ROW_ID)
        super().__init__(model_class=model, metadata=metadata)
        self._sources = list(sources)
        self._how = kind
        self._out = {k: v for k, v in out.items() if k in self.fields}
        self._shared = {k: v for k, v in shared_keys.items() if k in self.fields}
        self._all_out = out
        self._all_shared = shared_keys
        self._source_filters: dict[int, Node] = {}

    # -- configuration -------------------------------------------------------------------------
    @property
    def sources(self) -> list[ViewSource]:
        """The joined sources, in join order."""
        return list(self._sources)

    @property
    def how(self) -> str:
        """The join type: ``inner``, ``left``, ``right`` or ``full``."""
        return self._how

    # -- per-source filters in a query ---------------------------------------------------------
    def _filter(
        self,
        filters: Mapping[str, Any] | None,
        operation: str,
        permission: Permission,
        context: Caller,
        *,
        include_deleted: bool = False,
    ) -> Node:
        """The view's filter, with ``<source>_filters`` keys turned into source conditions."""
        if not filters:
            return super()._filter(
                filters, operation, permission, context, include_deleted=include_deleted
            )
        rest: dict[str, Any] = {}
        pushed: list[Node] = []
        for key, value in filters.items():
            index = self._source_filter_key(key)
            if index is None:
                rest[key] = value
                continue
            src = self._sources[index]
            node = parse_filter(value, fields=src.repo.fields, operation=operation, repo=self.name)
            # Expressed on the view's fields, so that it also holds after the join.
            pushed.append(self._to_view(node, index))
        node = super()._filter(
            rest, operation, permission, context, include_deleted=include_deleted
        )
        if not pushed:
            return node
        parts = [*pushed] + ([] if isinstance(node, And) and not node.children else [node])
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def _source_filter_key(self, key: str) -> int | None:
        if not isinstance(key, str) or not key.endswith("_filters"):
            return None
        head = key[: -len("_filters")]
        for i, s in enumerate(self._sources):
            if head in (s.prefix, s.name) or (s.prefix.endswith("s") and head == s.prefix[:-1]):
                return i
        return None

    def _to_view(self, node: Node, index: int) -> Node:
        """A source-field filter rewritten on the view's field names."""
        src = self._sources[index]

        def name(path: str) -> str:
            head, dot, rest = path.partition(".")
            if head in self._all_shared:
                return path
            return f"{src.prefix}_{head}{dot}{rest}"

        return _rename(node, name)

    # -- rows ----------------------------------------------------------------------------------
    def _pushdown(self, node: Node) -> dict[int, list[Node]]:
        """Conjuncts of ``node`` each source can evaluate alone, by source index."""
        parts = node.children if isinstance(node, And) else (node,)
        allowed = {
            "inner": set(range(len(self._sources))),
            "left": {0},
            "right": {len(self._sources) - 1},
            "full": set(),
        }[self._how]
        out: dict[int, list[Node]] = {}
        for part in parts:
            tops = {c.path.split(".", 1)[0] for c in _conditions(part)}
            if not tops:
                continue
            if tops <= set(self._all_shared):
                # A shared key holds the same value in every matched source.
                targets = allowed
                for i in targets:
                    out.setdefault(i, []).append(part)
                continue
            owners = {self._all_out[t][0] for t in tops if t in self._all_out}
            if len(owners) != 1 or any(
                t not in self._all_out and t not in self._all_shared for t in tops
            ):
                continue
            (owner,) = owners
            if owner not in allowed:
                continue
            src = self._sources[owner]

            def back(path: str, src: ViewSource = src) -> str:
                head, dot, rest = path.partition(".")
                if head in self._all_shared:
                    return path
                return self._all_out[head][1] + dot + rest

            out.setdefault(owner, []).append(_rename(part, back))
        return out

    async def _fetch(self, index: int, nodes: list[Node], needed: set[str] | None) -> list[Row]:
        src = self._sources[index]
        repo = src.repo
        node: Node = nodes[0] if len(nodes) == 1 else And(tuple(nodes)) if nodes else MATCH_ALL
        if src.filters is not None:
            node = And((src.filters, node)) if nodes else src.filters
        node = repo._restrict(node, Permission.LIST, _ADMIN)
        stages: list[Stage] = [Match(node)]
        if needed is not None:
            fields = {f for v, (i, f) in self._all_out.items() if i == index and v in needed}
            # Keys to join on, the id for a stable row order (and so stable row ids).
            fields |= {*src.keys, repo.id_field}
            stages.append(Project({f: f for f in sorted(fields)}))
        stages.append(Sort(((repo.id_field, 1),)))
        rows: list[Row] = await repo._aggregate(stages)
        return rows

    async def _rows(self, node: Node, needed: set[str] | None) -> list[Row]:
        pushed = self._pushdown(node)
        fetched = await asyncio.gather(
            *(self._fetch(i, pushed.get(i, []), needed) for i in range(len(self._sources)))
        )
        rows: list[Row] = await run_engine(lambda _: self._join(list(fetched)), fetched[0])
        return rows

    def _join(self, fetched: list[list[Row]]) -> list[Row]:
        """Hash-join the fetched source rows (left to right) into view rows."""
        width = len(self._sources[0].keys)
        out_by_source: list[list[tuple[str, str]]] = [[] for _ in self._sources]
        for view_name, (i, f) in self._all_out.items():
            out_by_source[i].append((view_name, f))
        shared = list(self._all_shared)

        def part(index: int, row: Row | None) -> Row:
            if row is None:
                return {v: None for v, _ in out_by_source[index]}
            return {v: row.get(f) for v, f in out_by_source[index]}

        def key_of(index: int, row: Row) -> tuple[Any, ...] | None:
            values = tuple(_hashable(row.get(k)) for k in self._sources[index].keys)
            return None if any(v is None for v in values) else values

        # Accumulated rows: (view row, join key tuple or None).
        acc: list[tuple[Row, tuple[Any, ...] | None]] = []
        for row in fetched[0]:
            view_row = part(0, row)
            key = key_of(0, row)
            for n, name in enumerate(shared):
                view_row[name] = row.get(self._sources[0].keys[n])
            acc.append((view_row, key))
        for index in range(1, len(self._sources)):
            table: dict[tuple[Any, ...], list[Row]] = {}
            for row in fetched[index]:
                key = key_of(index, row)
                if key is not None:
                    table.setdefault(key, []).append(row)
            matched: set[int] = set()
            nxt: list[tuple[Row, tuple[Any, ...] | None]] = []
            keep_left = self._how in ("left", "full")
            for view_row, key in acc:
                hits = table.get(key) if key is not None else None
                if hits:
                    for right in hits:
                        matched.add(id(right))
                        merged = {**view_row, **part(index, right)}
                        nxt.append((merged, key))
                elif keep_left:
                    nxt.append(({**view_row, **part(index, None)}, key))
            if self._how in ("right", "full"):
                empty_left: Row = {}
                for j in range(index):
                    empty_left.update(part(j, None))
                for row in fetched[index]:
                    if id(row) in matched:
                        continue
                    view_row = {**empty_left, **part(index, row)}
                    for n, name in enumerate(shared):
                        view_row[name] = row.get(self._sources[index].keys[n])
                    nxt.append((view_row, key_of(index, row)))
            acc = nxt
            _ = width
        rows: list[Row] = []
        for n, (view_row, _key) in enumerate(acc, start=1):
            view_row[ROW_ID] = n
            rows.append(view_row)
        return rows


def _row_model(
    name: str, given: type[BaseModel] | None, annotations: Mapping[str, Any]
) -> type[BaseModel]:
    """The given row model (with ``row_id`` added when it lacks one) or a generated one."""
    if given is not None and ROW_ID in given.model_fields:
        return given
    if given is None:
        spec = {n: (a, None) for n, a in annotations.items()}
        return typing.cast(
            type[BaseModel],
            create_model(  # type: ignore[call-overload]
                "".join(p.title() for p in name.replace("-", "_").split("_")) + "View",
                __base__=XObjPrototype,
                **{ROW_ID: (int | None, None)},
                **spec,
            ),
        )
    return typing.cast(
        type[BaseModel],
        create_model(  # type: ignore[call-overload]
            given.__name__, __base__=given, **{ROW_ID: (int | None, None)}
        ),
    )


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _conditions(node: Node) -> list[Condition]:
    from xrepo.query import conditions

    return conditions(node)


def _rename(node: Node, name: Any) -> Node:
    if isinstance(node, Condition):
        return Condition(name(node.path), node.op, node.value)
    if isinstance(node, Not):
        return Not(_rename(node.child, name))
    kids = tuple(_rename(c, name) for c in node.children)
    if isinstance(node, And):
        return And(kids)
    if isinstance(node, Or):
        return Or(kids)
    return Nor(kids)


# -- construction ------------------------------------------------------------------------------
def _keys_for(on: Any, names: list[str], view: str) -> list[tuple[str, ...]]:
    """Per source, its key fields: ``"k"``, ``["k1", "k2"]``, ``{"users": "id", ...}`` or a
    list of such mappings (one per key)."""
    if isinstance(on, str):
        return [(on,) for _ in names]
    if isinstance(on, Mapping):
        on = [on]
    if isinstance(on, Sequence) and on and all(isinstance(k, str) for k in on):
        return [tuple(on) for _ in names]
    if isinstance(on, Sequence) and on and all(isinstance(k, Mapping) for k in on):
        out: list[tuple[str, ...]] = []
        for name in names:
            keys = []
            for mapping in on:
                key = mapping.get(name)
                if not isinstance(key, str):
                    raise XRepoConfigurationError(
                        f"join_config['on'] gives no key for source {name!r}",
                        repo=view,
                        operation="create view",
                    )
                keys.append(key)
            out.append(tuple(keys))
        return out
    raise XRepoConfigurationError(
        "join_config['on'] must be a field name, a list of names, {source: field} or a list "
        f"of those, got {on!r}",
        repo=view,
        operation="create view",
    )


def create_view(
    name: str,
    sources: Sequence[tuple[str, XRepo[Any]]],
    join_config: Mapping[str, Any],
    result_model_class: type[BaseModel] | None = None,
) -> ViewRepo:
    """A view over existing repositories: ``sources`` is ``[(name, repo), ...]``.

    ``join_config``: ``on`` (see :func:`create_view_from_resources`), ``type``/``how``,
    optional ``prefixes`` ``{source: prefix}`` and ``filters`` ``{source: filter}`` (always
    pushed down to that source).
    """
    if not isinstance(join_config, Mapping):
        raise XRepoConfigurationError(
            "join_config must be a dict like {'on': 'user_id', 'type': 'left'}", repo=name
        )
    names = [n for n, _ in sources]
    if len(set(names)) != len(names):
        raise XRepoConfigurationError(f"source names must be distinct, got {names}", repo=name)
    keys = _keys_for(join_config.get("on", "id"), names, name)
    prefixes = dict(join_config.get("prefixes") or {})
    filters = dict(join_config.get("filters") or {})
    unknown = sorted((set(prefixes) | set(filters)) - set(names))
    if unknown:
        raise XRepoConfigurationError(
            f"join_config names unknown source(s) {unknown}; sources: {names}", repo=name
        )
    built: list[ViewSource] = []
    for (source_name, repo), source_keys in zip(sources, keys, strict=True):
        if not isinstance(repo, XRepo):
            raise XRepoConfigurationError(
                f"source {source_name!r} must be a repository, got {type(repo).__name__}",
                repo=name,
            )
        static = None
        if source_name in filters:
            try:
                static = parse_filter(
                    filters[source_name], fields=repo.fields, operation="create view", repo=name
                )
            except XRepoValidationError as exc:
                raise XRepoConfigurationError(
                    f"bad filter for source {source_name!r}: {exc}", repo=name
                ) from None
        built.append(
            ViewSource(
                name=source_name,
                repo=repo,
                keys=source_keys,
                prefix=str(prefixes.get(source_name, source_name.split(".")[-1])),
                filters=static,
            )
        )
    how = join_config.get("type", join_config.get("how", "inner"))
    return ViewRepo(name=name, sources=built, how=str(how), model_class=result_model_class)
