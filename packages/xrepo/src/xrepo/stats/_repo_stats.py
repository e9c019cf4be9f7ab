"""``RepoStats`` and :func:`collect_statistics`: what a repository holds and how it performs.

- counts: total, created/updated/deleted today (from the timestamp fields the model declares;
  with an audit log, updates and hard deletes are counted from its entries of today);
- ``query_performance`` (mean ms per operation) and ``latency`` (count, mean, p50/p95/p99)
  from the repository's :class:`~xrepo.stats.LatencyRecorder`;
- ``field_cardinalities``: distinct values per field, estimated by XInspector's streaming
  profiler (HyperLogLog) over up to ``sample_limit`` records;
- ``storage_size_bytes`` and ``index_stats`` from the backend itself: ``pg_total_relation_size``
  and ``pg_indexes``/``pg_stat_user_indexes`` on PostgreSQL, ``information_schema`` on
  MariaDB/MySQL, ``dbstat`` (or ``page_count``) and ``pragma_index_list`` on SQLite,
  ``collStats`` and ``$indexStats`` on MongoDB, the file size for file repositories.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from xrepo.errors import XRepoError, XRepoQueryError
from xrepo.query import MATCH_ALL, And, Condition, Node, Not
from xrepo.stats._latency import LatencyRecorder, LatencySnapshot

__all__ = ["RepoStats", "collect_statistics"]

_SCALARS = (str, int, float, bool, _dt.datetime, _dt.date)


class RepoStats(BaseModel):
    """Repository statistics (the spec's ``RepoStats``, plus latency detail)."""

    total_count: int = 0
    created_today: int = 0
    updated_today: int = 0
    deleted_today: int = 0
    field_cardinalities: dict[str, int] = Field(default_factory=dict)
    storage_size_bytes: int | None = None
    index_stats: dict[str, Any] = Field(default_factory=dict)
    query_performance: dict[str, float] = Field(default_factory=dict)
    latency: dict[str, LatencySnapshot] = Field(default_factory=dict)
    backend: str = "unknown"
    collected_at: _dt.datetime = Field(default_factory=lambda: _dt.datetime.now(_dt.UTC))


def _today() -> _dt.datetime:
    now = _dt.datetime.now(_dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def collect_statistics(
    repo: Any,
    *,
    latency: LatencyRecorder | None = None,
    audit: Any = None,
    cardinality_fields: Sequence[str] | None = None,
    sample_limit: int = 100_000,
    chunk_size: int = 5_000,
) -> RepoStats:
    """Gather :class:`RepoStats` for ``repo`` (an unsecured repository: call it as an admin).

    Args:
        latency: the recorder whose figures become ``query_performance``/``latency``.
        audit: an ``AuditLogger`` (counts hard deletes and updates of today from its entries),
            or the repository's :class:`~xrepo.audit.AuditRing` (hard deletes only: the last
            ``audit_max_entries`` operations of this process).
        cardinality_fields: fields to estimate distinct counts of (default: scalar fields).
        sample_limit: most records read for cardinalities.
    """
    stats = RepoStats(backend=_backend_name(repo))
    start = _today()
    m = repo.metadata
    stats.total_count = await repo._count(_live(repo))
    if m.created_at_field in repo.fields:
        stats.created_today = await repo._count(And((Condition(m.created_at_field, "gte", start),)))
    if m.updated_at_field in repo.fields:
        stats.updated_today = await _updated_today(repo, start, chunk_size)
    if repo.soft_deletes:
        stats.deleted_today = await repo._count(Condition(m.deleted_at_field, "gte", start))
    if _is_ring(audit):
        # The repository's own bounded log: only hard deletes need it (the rows are gone).
        stats.deleted_today += _ring_hard_deletes(audit, start)
    elif audit is not None:
        stats.deleted_today += await _hard_deletes_today(repo, audit, start)
        # The log knows every update (operations, also of records created today).
        stats.updated_today = await _updates_today(repo, audit, start)
    if latency is not None:
        stats.latency = latency.snapshot()
        stats.query_performance = {op: s.mean_ms for op, s in stats.latency.items()}
    stats.field_cardinalities = await _cardinalities(
        repo, cardinality_fields, sample_limit, chunk_size
    )
    size, indexes = await _storage(repo)
    stats.storage_size_bytes = size
    stats.index_stats = indexes
    return stats


def _is_ring(audit: Any) -> bool:
    """Whether ``audit`` is a repository's in-memory :class:`~xrepo.audit.AuditRing` (read at
    once through ``entries()``) rather than an ``AuditLogger`` (``await get_audit_log()``).
    Told by what it answers: statistics sit below the audit layer and do not import it."""
    entries = getattr(audit, "entries", None)
    return callable(entries) and not inspect.iscoroutinefunction(entries)


def _ring_hard_deletes(ring: Any, start: _dt.datetime) -> int:
    entries = ring.entries({"action": ["delete", "bulk_delete"], "since": start}, limit=100_000)
    total = 0
    for e in entries:
        changes = e.changes or {}
        if changes.get("soft"):
            continue  # counted from deleted_at
        count = changes.get("count")
        total += int(count) if isinstance(count, int) else len(changes.get("ids") or ())
    return total


async def _updated_today(repo: Any, start: _dt.datetime, chunk: int) -> int:
    """Records whose last update was today: ``updated_at`` today and after ``created_at``.

    A record created today counts once it is updated (its ``updated_at`` moves past its
    ``created_at``; with a version field, once its version passed 1). Records created before
    today are counted by the database alone; those created today are read in chunks and
    compared here (filters cannot compare two fields). Where timestamps are stored to the
    millisecond (MongoDB), an update within the millisecond of the creation cannot be told
    from none unless the model has a version field.
    """
    m = repo.metadata
    # Soft-deleted records too: a soft delete stamps updated_at (as before: it is a change).
    touched = Condition(m.updated_at_field, "gte", start)
    if m.created_at_field not in repo.fields:
        return int(await repo._count(touched))
    created_today = Condition(m.created_at_field, "gte", start)
    older = await repo._count(And((touched, Not(created_today))))
    fresh = And((touched, created_today))
    version = repo._version
    if version is not None:
        return int(older + await repo._count(And((fresh, Condition(version, "gt", 1)))))
    updated = 0
    skip = 0
    order = ((repo.id_field, 1),)
    while True:
        rows = await repo._select(fresh, order, skip, chunk)
        for model in repo._to_models(rows):
            created = getattr(model, m.created_at_field)
            changed = getattr(model, m.updated_at_field)
            if created is None or (changed is not None and changed > created):
                updated += 1
        skip += len(rows)
        if len(rows) < chunk:
            return int(older + updated)


def _live(repo: Any) -> Node:
    """Every record not soft-deleted: what the repository lists to an unrestricted caller."""
    if repo.soft_deletes:
        return Condition(repo.metadata.deleted_at_field, "eq", None)
    return MATCH_ALL


def _backend_name(repo: Any) -> str:
    store = repo.store
    dialect = getattr(getattr(store, "resource", None), "dialect", None)
    if dialect is not None:
        return str(dialect.name)
    return str(getattr(store, "backend", None) or "unknown")


async def _hard_deletes_today(repo: Any, audit: Any, start: _dt.datetime) -> int:
    # Soft deletes are counted from deleted_at.
    return await _records_today(
        repo, audit, start, ("delete", "bulk_delete"), lambda meta: bool(meta.get("soft"))
    )


async def _updates_today(repo: Any, audit: Any, start: _dt.datetime) -> int:
    # An update that matched none of the caller's rows changed nothing.
    return await _records_today(
        repo,
        audit,
        start,
        ("update", "bulk_update", "restore"),
        lambda meta: meta.get("matched") == 0,
    )


async def _records_today(
    repo: Any,
    audit: Any,
    start: _dt.datetime,
    actions: tuple[str, ...],
    skip: Callable[[Mapping[str, Any]], bool],
) -> int:
    """Records touched by successful ``actions`` since ``start`` (an entry's ``count``, else
    one), leaving out the entries ``skip`` names."""
    entries = await audit.get_audit_log(
        {"repo": repo.name, "action": list(actions), "outcome": "success", "since": start},
        limit=100_000,
    )
    total = 0
    for e in entries:
        meta = e.metadata or {}
        if skip(meta):
            continue
        count = meta.get("count")
        total += int(count) if isinstance(count, int) else 1
    return total


async def _cardinalities(
    repo: Any, fields: Sequence[str] | None, limit: int, chunk: int
) -> dict[str, int]:
    from xinspector import StreamingProfiler

    if fields is None:
        model = repo.model_class.model_fields
        names = [
            n
            for n in sorted(repo.fields)
            if _scalar(model[n].annotation) and n not in _meta_fields(repo)
        ]
    else:
        unknown = sorted(set(fields) - repo.fields)
        if unknown:
            raise XRepoError(
                f"unknown field(s) {unknown} for cardinalities",
                repo=repo.name,
                operation="get_statistics",
            )
        names = list(fields)
    if not names:
        return {}
    profiler = StreamingProfiler()
    node = _live(repo)
    order = ((repo.id_field, 1),)
    read = 0
    while read < limit:
        rows = await repo._select(node, order, read, min(chunk, limit - read))
        if not rows:
            break
        # The profiler is CPU work: keep the event loop free on big chunks.
        batch = [{n: r.get(n) for n in names} for r in rows]
        await asyncio.to_thread(profiler.add_rows, batch)
        read += len(rows)
        if len(rows) < chunk:
            break
    _, found = profiler.finish()
    return {n: int(found[n].unique_count) for n in names if n in found}


def _meta_fields(repo: Any) -> set[str]:
    m = repo.metadata
    return {m.created_at_field, m.updated_at_field, m.deleted_at_field, m.version_field}


def _scalar(annotation: Any) -> bool:
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return all(_scalar(a) for a in typing.get_args(annotation) if a is not type(None))
    return isinstance(annotation, type) and issubclass(annotation, _SCALARS)


async def _storage(repo: Any) -> tuple[int | None, dict[str, Any]]:
    # Statistics are a function over the store: its resource, table or collection.
    store = repo.store
    resource = getattr(store, "resource", None)
    try:
        dialect = getattr(resource, "dialect", None)
        if dialect is not None:
            return await _sql_storage(store, resource, dialect.name)
        if hasattr(store, "collection_name") and resource is not None:
            return await _mongo_storage(store, resource)
        path = getattr(resource, "path", None)
        if path is not None:
            return await asyncio.to_thread(_file_size, str(path)), {}
    except XRepoError:
        raise
    except Exception as exc:  # the server's own error, named
        raise XRepoQueryError(
            f"cannot read storage statistics: {type(exc).__name__}: {exc}",
            repo=repo.name,
            operation="get_statistics",
        ) from exc
    return None, {}


def _file_size(path: str) -> int | None:
    return os.path.getsize(path) if os.path.exists(path) else None


async def _sql_storage(
    store: Any, resource: Any, dialect: str
) -> tuple[int | None, dict[str, Any]]:
    table: str = store.table
    schema: str | None = store.db_schema
    q = resource.dialect
    indexes: dict[str, Any] = {}
    if dialect == "postgresql":
        size = await resource.fetch_value(
            "SELECT pg_total_relation_size(to_regclass($1))", [q.qualified(schema, table)]
        )
        rows = await resource.fetch_all(
            "SELECT i.indexname AS name, i.indexdef AS definition, "
            "pg_relation_size(to_regclass(quote_ident(i.schemaname) || '.' || "
            "quote_ident(i.indexname))) AS size_bytes, s.idx_scan AS scans "
            "FROM pg_indexes i LEFT JOIN pg_stat_user_indexes s "
            "ON s.indexrelname = i.indexname AND s.schemaname = i.schemaname "
            "WHERE i.tablename = $1 AND i.schemaname = coalesce($2, current_schema()) "
            "ORDER BY i.indexname",
            [table, schema],
        )
        for r in rows:
            indexes[r["name"]] = {
                "definition": r["definition"],
                "size_bytes": int(r["size_bytes"] or 0),
                "scans": int(r["scans"] or 0),
            }
        return (int(size) if size is not None else None), indexes
    if dialect == "mysql":
        row = await resource.fetch_one(
            "SELECT DATA_LENGTH AS data_bytes, INDEX_LENGTH AS index_bytes "
            "FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) "
            "AND TABLE_NAME = %s",
            [schema, table],
        )
        rows = await resource.fetch_all(
            "SELECT INDEX_NAME AS name, COLUMN_NAME AS col, NON_UNIQUE AS non_unique, "
            "CARDINALITY AS card FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s "
            "ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            [schema, table],
        )
        for r in rows:
            entry = indexes.setdefault(
                r["name"],
                {"columns": [], "unique": not int(r["non_unique"]), "cardinality": None},
            )
            entry["columns"].append(r["col"])
            if r["card"] is not None:
                entry["cardinality"] = int(r["card"])
        if row is None:
            return None, indexes
        if row["index_bytes"] is not None:
            for entry in indexes.values():
                entry.setdefault("table_index_bytes", int(row["index_bytes"]))
        return int(row["data_bytes"] or 0) + int(row["index_bytes"] or 0), indexes
    if dialect == "duckdb":
        return await _duckdb_storage(resource, table, schema)
    # SQLite: dbstat when compiled in (exact per table), else the database's pages.
    lite: int | None
    try:
        lite = await resource.fetch_value(
            "SELECT SUM(pgsize) FROM dbstat WHERE name = ? OR name IN "
            "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?)",
            [table, table],
        )
        lite = int(lite) if lite is not None else None
    except Exception:  # no dbstat in this SQLite build
        pages = await resource.fetch_value("SELECT page_count FROM pragma_page_count()")
        page = await resource.fetch_value("SELECT page_size FROM pragma_page_size()")
        lite = int(pages) * int(page) if pages is not None and page is not None else None
        indexes["_storage_scope"] = "database"
    rows = await resource.fetch_all(
        'SELECT name, "unique" AS uniq, origin FROM pragma_index_list(?)', [table]
    )
    for r in rows:
        cols = await resource.fetch_all("SELECT name FROM pragma_index_info(?)", [r["name"]])
        indexes[r["name"]] = {
            "columns": [c["name"] for c in cols],
            "unique": bool(r["uniq"]),
            "origin": r["origin"],
        }
    return lite, indexes


async def _duckdb_storage(
    resource: Any, table: str, schema: str | None
) -> tuple[int | None, dict[str, Any]]:
    """DuckDB: the database's size (it keeps none per table: the file and its write-ahead log,
    or the used blocks in memory), and the table's indexes: its own (``CREATE INDEX``) and
    those of its primary key and unique constraints."""
    path = str(getattr(resource, "path", "") or ":memory:")
    size: int | None
    if path != ":memory:":
        size = sum(_file_size(p) or 0 for p in (path, path + ".wal")) or None
    else:
        blocks = await resource.fetch_value(
            "SELECT used_blocks * block_size FROM pragma_database_size() "
            "WHERE database_name = current_database()"
        )
        size = int(blocks) if blocks is not None else None
    indexes: dict[str, Any] = {"_storage_scope": "database"}
    for r in await resource.fetch_all(
        "SELECT index_name AS name, is_unique AS uniq, sql FROM duckdb_indexes() "
        "WHERE table_name = $1 AND schema_name = COALESCE($2, current_schema())",
        [table, schema],
    ):
        indexes[r["name"]] = {"unique": bool(r["uniq"]), "definition": r["sql"]}
    for r in await resource.fetch_all(
        "SELECT constraint_name AS name, constraint_type AS kind, constraint_column_names AS cols "
        "FROM duckdb_constraints() WHERE table_name = $1 "
        "AND schema_name = COALESCE($2, current_schema()) "
        "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
        [table, schema],
    ):
        indexes[r["name"]] = {"columns": list(r["cols"]), "unique": True, "origin": r["kind"]}
    return size, indexes


async def _mongo_storage(store: Any, resource: Any) -> tuple[int | None, dict[str, Any]]:
    name: str = store.collection_name
    await resource.ensure_connected()
    stats = await resource.db.command("collStats", name)
    coll = resource.collection(name)
    cursor = await coll.aggregate([{"$indexStats": {}}])
    usage = {d["name"]: d for d in await cursor.to_list(None)}
    sizes = stats.get("indexSizes", {}) or {}
    indexes: dict[str, Any] = {}
    for index_name in sorted(set(sizes) | set(usage)):
        info = usage.get(index_name, {})
        accesses = info.get("accesses", {}) or {}
        indexes[index_name] = {
            "size_bytes": int(sizes.get(index_name, 0)),
            "key": dict(info.get("key", {})),
            "accesses": int(accesses.get("ops", 0)),
        }
    storage = int(stats.get("storageSize", 0)) + int(stats.get("totalIndexSize", 0))
    return storage, indexes
