"""``XInspector``: schema discovery, profiling and model generation for one resource.

It looks at what the resource is and picks the right strategy: the catalog for SQL databases, a
server-side sample for MongoDB, one streaming pass for files, sampled responses for REST
endpoints and sampled messages for event streams. Statistics are computed where the data lives
(SQL aggregates, MongoDB ``$group``) or in one bounded-memory pass (files, samples).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from xinspector._errors import (
    XInspectorConnectionError,
    XInspectorError,
    XInspectorNotFoundError,
    XInspectorUnsupportedError,
)
from xinspector._schema import CollectionSchema
from xinspector.discovery._duckdb import discover_duckdb
from xinspector.discovery._engine import profile_file_engine
from xinspector.discovery._files import FileProfile, profile_file
from xinspector.discovery._mongodb import discover_mongodb
from xinspector.discovery._mysql import discover_mysql
from xinspector.discovery._postgres import discover_postgres
from xinspector.discovery._samples import RecordSchemaBuilder
from xinspector.discovery._sqlite import discover_sqlite
from xinspector.models._generate import generate_joined_model, generate_model
from xinspector.models._names import model_name_for
from xinspector.profiling._mongodb import profile_mongodb_collection
from xinspector.profiling._options import ProfileOptions, ProgressCallback
from xinspector.profiling._sql import profile_sql_table
from xinspector.profiling._stats import FieldStatistics, InspectionResult
from xinspector.profiling._streaming import StreamingProfiler
from xobj_prototype import MissingExtraError, XObjPrototype, segment_for
from xresource import (
    ColumnarFileResource,
    XResource,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceError,
    XResourceNotFoundError,
)

__all__ = ["XInspector"]

log = logging.getLogger("xinspector")

_SQL = {"postgresql", "mysql", "sqlite", "duckdb"}
_FILES = {"csv", "excel", "json", "yaml", "parquet"}
_STREAMS = {"kafka", "redis", "mqtt", "rabbitmq", "websocket", "sse"}


class XInspector:
    """Inspect one resource.

    Args:
        resource: any ``XResource`` (SQL database, MongoDB, file, REST API, event stream).
        options: profiling knobs (categorical threshold, exact-distinct limit, null tokens...).
        sample_size: documents sampled by MongoDB discovery, items fetched from a REST endpoint.
        stream_messages: messages sampled from an event stream...
        stream_seconds: ...or until this many seconds passed, whichever comes first.
        exact_rows: SQL tables up to this many rows get exact distinct counts.
        analyze: allow ``ANALYZE`` of a PostgreSQL table that has no planner statistics.
        progress: ``callback(done, total_or_None)`` during long passes.
        engine: how CSV, JSON and Parquet files are profiled. ``None`` (the default): by the
            columnar engine (DuckDB, where the file lies, in parallel) when ``xresource[duckdb]``
            is installed and the file's options allow it (text files larger than
            ``options.engine_materialize_bytes`` are streamed: one pass is faster there and
            keeps memory bounded), by the streaming pure-Python pass otherwise; ``True``: by
            the engine or an error; ``False``: always streaming. Both
            give the same statistics (quantiles from a sketch beyond
            ``options.quantile_exact_limit`` distinct values when streaming).

    Examples:
        >>> import asyncio, pathlib, tempfile
        >>> from xresource import ResourceFactory
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "users.csv"
        >>> _ = p.write_text("id,email\\n1,a@x.org\\n2,\\n", encoding="utf-8")
        >>> inspector = XInspector(ResourceFactory.create("csv", path=str(p)))
        >>> schema = asyncio.run(inspector.discover_schema())
        >>> schema["fields"]["id"]["type"], schema["fields"]["email"]["nullable"]
        ('int', True)
    """

    def __init__(
        self,
        resource: XResource,
        *,
        options: ProfileOptions | None = None,
        sample_size: int = 1000,
        stream_messages: int = 100,
        stream_seconds: float = 5.0,
        exact_rows: int = 200_000,
        analyze: bool = True,
        progress: ProgressCallback | None = None,
        engine: bool | None = None,
    ) -> None:
        if not isinstance(resource, XResource):
            raise XInspectorUnsupportedError(
                f"XInspector needs an XResource, got {type(resource).__name__}",
                operation="create inspector",
            )
        if sample_size < 1 or stream_messages < 1 or stream_seconds <= 0:
            raise XInspectorError(
                "sample_size and stream_messages must be at least 1 and stream_seconds positive",
                operation="create inspector",
            )
        self.resource = resource
        self.options = options or ProfileOptions()
        self.sample_size = sample_size
        self.stream_messages = stream_messages
        self.stream_seconds = stream_seconds
        self.exact_rows = exact_rows
        self.analyze = analyze
        self.progress = progress
        self.engine = engine
        self._file_cache: dict[str | None, FileProfile] = {}
        self._sample_cache: dict[str, tuple[CollectionSchema, list[dict[str, Any]]]] = {}

    @property
    def kind(self) -> str:
        """The resource type (``postgresql``, ``csv``, ``mongodb``...)."""
        return self.resource.resource_type

    @property
    def target(self) -> str:
        """How errors name the inspected resource (never with credentials)."""
        return self.resource.display_name

    # -- errors --------------------------------------------------------------------------------
    @asynccontextmanager
    async def _guard(self, operation: str) -> AsyncIterator[None]:
        try:
            yield
        except XInspectorError:
            raise
        # The resource's message already names the resource: no second prefix.
        except XResourceNotFoundError as exc:
            raise XInspectorNotFoundError(exc.message, operation=operation) from exc
        except XResourceConnectionError as exc:
            raise XInspectorConnectionError(
                f"{exc.message}; check that the server runs and the address is right",
                operation=operation,
            ) from exc
        except XResourceError as exc:
            raise XInspectorError(exc.message, operation=operation) from exc
        except OSError as exc:
            raise XInspectorConnectionError(
                f"{type(exc).__name__}: {exc.strerror or exc}",
                target=self.target,
                operation=operation,
            ) from exc

    async def _collection(self, collection: str | None, operation: str) -> str:
        if collection is not None:
            if not isinstance(collection, str) or not collection:
                raise XInspectorError(
                    f"collection must be a non-empty string, got {collection!r}",
                    target=self.target,
                    operation=operation,
                )
            return collection
        names = await self.resource.list_collections_or_tables()
        if len(names) == 1:
            return names[0]
        shown = ", ".join(names[:20]) or "(none)"
        raise XInspectorError(
            f"the resource holds {len(names)} collections; name one (available: {shown})",
            target=self.target,
            operation=operation,
        )

    # -- discovery -----------------------------------------------------------------------------
    async def discover(self, collection: str | None = None) -> CollectionSchema:
        """The typed schema of ``collection`` (or of the resource's only collection)."""
        async with self._guard("discover_schema"):
            await self.resource.ensure_connected()
            if self.kind in _FILES:
                return (await self._file(collection)).schema
            name = await self._collection(collection, "discover_schema")
            if self.kind in _SQL:
                return await self._discover_sql(name)
            if self.kind == "mongodb":
                return await discover_mongodb(
                    self.resource,
                    name,
                    sample_size=self.sample_size,
                    categorical_threshold=self.options.categorical_threshold,
                )
            if self.kind == "rest" or self.kind in _STREAMS:
                return (await self._sampled(name))[0]
        raise XInspectorUnsupportedError(
            f"cannot inspect {self.kind} resources; supported: "
            f"{', '.join(sorted(_SQL | _FILES | _STREAMS | {'mongodb', 'rest'}))}",
            target=self.target,
            operation="discover_schema",
        )

    async def discover_schema(self, collection: str | None = None) -> dict[str, Any]:
        """The schema dict of ``collection``; without one, of the only collection, or
        ``{"collections": {name: schema}}`` of every collection of a database."""
        if collection is None and self.kind not in _FILES:
            async with self._guard("discover_schema"):
                names = await self.resource.list_collections_or_tables()
            if len(names) != 1:
                every = await self.discover_all()
                return {"collections": {k: v.to_dict() for k, v in every.items()}}
        return (await self.discover(collection)).to_dict()

    async def discover_all(self) -> dict[str, CollectionSchema]:
        """The schema of every table, collection or sheet of the resource."""
        async with self._guard("discover_schema"):
            names = await self.resource.list_collections_or_tables()
        return {name: await self.discover(name) for name in names}

    async def _discover_sql(self, table: str) -> CollectionSchema:
        db: Any = self.resource
        if self.kind == "postgresql":
            return await discover_postgres(
                db, table, schema_name=db.schema_name, target=self.target
            )
        if self.kind == "mysql":
            database = db.database or await db.fetch_value("SELECT DATABASE()")
            if not database:
                raise XInspectorError(
                    "no database selected; give the resource a database",
                    target=self.target,
                    operation="discover_schema",
                )
            return await discover_mysql(db, table, database=database, target=self.target)
        if self.kind == "duckdb":
            return await discover_duckdb(db, table, target=self.target)
        return await discover_sqlite(db, table, target=self.target)

    async def _file(self, collection: str | None) -> FileProfile:
        if collection not in self._file_cache:
            self._file_cache[collection] = await self._profile_file(collection)
        return self._file_cache[collection]

    async def _profile_file(self, collection: str | None) -> FileProfile:
        res = self.resource
        # A collection other than the file's stem is one of a JSON document's arrays: the
        # engine reads whole files only.
        whole = collection is None or collection == getattr(res, "stem", None)
        if (
            self.engine is not False
            and isinstance(res, ColumnarFileResource)
            and whole
            and (self.engine or not await self._too_big_for_engine(res))
        ):
            try:
                found = await profile_file_engine(
                    res,
                    collection,
                    options=self.options,
                    exact_rows=self.exact_rows,
                    progress=self.progress,
                )
                # Nested JSON keeps its structure (sub-fields, item types) only when streamed;
                # an empty file has no columns to type: both are cheap to stream.
                if found.total and not _nested(found.schema):
                    return found
            except MissingExtraError as exc:
                if self.engine:
                    raise XInspectorUnsupportedError(
                        str(exc), target=self.target, operation="profile_data"
                    ) from None
            except XResourceConfigurationError:
                # An option of the file the engine cannot honour (an encoding DuckDB does not
                # decode...): the streaming pass reads it as read() does.
                if self.engine or self.kind == "parquet":
                    raise
            log.info("profiling %s by the streaming pass", self.target)
        return await profile_file(res, collection, options=self.options, progress=self.progress)

    async def _too_big_for_engine(self, res: ColumnarFileResource) -> bool:
        """Whether a text file (CSV, JSON) is larger than the engine parses into memory
        (``options.engine_materialize_bytes``): the engine would then read it again for each
        query, slower than the one streaming pass and with memory that grows with the file (a
        2 GB CSV: 116 s and 2.8 GB against 63 s and 79 MB), so ``engine=None`` streams it.
        Parquet, which the engine reads by column, always goes to the engine."""
        if res.resource_type == "parquet":
            return False
        path = res.resolve_path("profile")

        def size() -> int:
            return path.stat().st_size if path.is_file() else 0

        if await asyncio.to_thread(size) <= self.options.engine_materialize_bytes:
            return False
        log.info("%s is larger than the engine parses in memory: streaming it", self.target)
        return True

    # -- samples (REST, streams) ---------------------------------------------------------------
    async def _sampled(self, name: str) -> tuple[CollectionSchema, list[dict[str, Any]]]:
        if name not in self._sample_cache:
            if self.kind == "rest":
                records = await self._rest_records(name)
                kind = "endpoint"
            else:
                records = await self._stream_records(name)
                kind = "stream"
            builder = RecordSchemaBuilder(categorical_threshold=self.options.categorical_threshold)
            builder.add_many(records)
            schema = builder.build(name, kind=kind, source=self.kind)  # type: ignore[arg-type]
            self._sample_cache[name] = (schema, records)
        return self._sample_cache[name]

    async def _rest_records(self, path: str) -> list[dict[str, Any]]:
        data = await self.resource.get(path)  # type: ignore[attr-defined]
        items = _items_of(data)
        if items is None:
            raise XInspectorError(
                f"GET {path!r} returned {type(data).__name__}, not records (a JSON object or a "
                "list of objects)",
                target=self.target,
                operation="discover_schema",
            )
        return items[: self.sample_size]

    async def _stream_records(self, topic: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        stream = self.resource.consume(topic)  # type: ignore[attr-defined]

        async def collect() -> None:
            async for message in stream:
                value = getattr(message, "value", message)
                records.append(dict(value) if isinstance(value, Mapping) else {"value": value})
                if len(records) >= self.stream_messages:
                    return

        try:
            await asyncio.wait_for(collect(), timeout=self.stream_seconds)
        except TimeoutError:
            pass  # the time window is over: what arrived is the sample
        finally:
            await stream.aclose()
        return records

    # -- profiling -----------------------------------------------------------------------------
    async def _profile(
        self, collection: str | None
    ) -> tuple[CollectionSchema, int, dict[str, FieldStatistics], list[dict[str, Any]], bool]:
        if self.kind in _FILES:
            async with self._guard("profile_data"):
                fp = await self._file(collection)
            return fp.schema, fp.total, fp.fields, fp.sample_rows, False
        schema = await self.discover(collection)
        async with self._guard("profile_data"):
            if self.kind in _SQL:
                total, fields, samples = await profile_sql_table(
                    self.resource,  # type: ignore[arg-type]
                    schema,
                    options=self.options,
                    exact_rows=self.exact_rows,
                    analyze=self.analyze,
                    progress=self.progress,
                )
                return schema, total, fields, samples, True
            if self.kind == "mongodb":
                total, fields, samples = await profile_mongodb_collection(
                    self.resource, schema, options=self.options, progress=self.progress
                )
                return schema, total, fields, samples, True
            _, records = await self._sampled(schema.name)
            profiler = StreamingProfiler(options=self.options, progress=self.progress)
            profiler.add_rows(records)
            total, fields = profiler.finish()
            return schema, total, fields, records[: self.options.sample_size], False

    async def profile_data(self, collection: str | None = None) -> dict[str, Any]:
        """Statistics: ``{"total_count": n, "field_statistics": {name: {...}}, ...}``."""
        return (await self.inspect(collection)).statistics

    async def inspect(self, collection: str | None = None) -> InspectionResult:
        """Schema, statistics, samples, categorical fields and data quality in one result."""
        started = time.perf_counter()
        schema, total, fields, samples, pushdown = await self._profile(collection)
        for name, fs in fields.items():
            field = schema.fields.get(name)
            if field is None:
                continue
            if fs.cardinality:
                field.cardinality = fs.cardinality
            if not field.sample_values:
                field.sample_values = list(fs.sample_values)
            if (
                fs.is_categorical
                and fs.distinct_values
                and field.enum is None
                and field.type in {"str", "int"}
            ):
                field.set_observed("enum", list(fs.distinct_values))
        log.info(
            "inspected %s %s: %d records, %d fields in %.2fs",
            self.kind,
            schema.name,
            total,
            len(fields),
            time.perf_counter() - started,
        )
        return InspectionResult.build(
            model_name=model_name_for(schema.name),
            source=self.target,
            collection=schema.name,
            schema=schema.to_dict(),
            total_count=total,
            fields=fields,
            sample_data=[dict(r) for r in samples],
            pushdown=pushdown,
            duration_seconds=time.perf_counter() - started,
        )

    async def preview_data(
        self, limit: int = 10, collection: str | None = None
    ) -> list[dict[str, Any]]:
        """The first ``limit`` records of ``collection``."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise XInspectorError(
                f"limit must be a non-negative integer, got {limit!r}",
                target=self.target,
                operation="preview_data",
            )
        if limit == 0:
            return []
        async with self._guard("preview_data"):
            await self.resource.ensure_connected()
            res: Any = self.resource
            if self.kind in _FILES:
                return list(await res.read(collection, limit=limit))
            name = await self._collection(collection, "preview_data")
            if self.kind in _SQL:
                schema = await self.discover(name)
                table = res.dialect.qualified(
                    schema.schema_name if self.kind == "postgresql" else None, name
                )
                return list(await res.fetch_all(f"SELECT * FROM {table} LIMIT {int(limit)}"))  # noqa: S608
            if self.kind == "mongodb":
                await self.discover(name)  # a clear error for a missing collection
                return list(await res.fetch_all(name, limit=limit))
            _, records = await self._sampled(name)
            return records[:limit]

    # -- models --------------------------------------------------------------------------------
    async def generate_model(
        self,
        collection_name: str | None = None,
        *,
        model_name: str | None = None,
        ns: str | None = None,
        enums: bool = False,
        profile: bool = False,
        strict_observed: bool = False,
        include_samples: bool = False,
    ) -> type[XObjPrototype]:
        """A model for ``collection_name`` (see :func:`xinspector.generate_model`).

        With ``profile=True`` the schema is enriched by a profile first (cardinality, sample
        values, low-cardinality value sets) — files are always profiled, since that is their
        discovery. What the source declares is validated; what was only observed in the data
        is information, unless ``strict_observed=True`` makes it a rule too.
        ``include_samples=True`` puts sample and observed values in the descriptions.
        """
        if profile:
            result = await self.inspect(collection_name)
            schema: CollectionSchema | dict[str, Any] = result.schema
        else:
            schema = await self.discover(collection_name)
        name = CollectionSchema.from_dict(schema).name if isinstance(schema, dict) else schema.name
        return generate_model(
            schema,
            model_name or model_name_for(name),
            ns=ns or f"models.{segment_for(name)}",
            enums=enums,
            strict_observed=strict_observed,
            include_samples=include_samples,
        )

    async def generate_joined_model(
        self,
        schemas: Mapping[str, CollectionSchema | Mapping[str, Any]],
        join_config: Mapping[str, Any],
        model_name: str | None = None,
    ) -> type[XObjPrototype]:
        """A model for the rows of a join (see :func:`xinspector.generate_joined_model`)."""
        return generate_joined_model(schemas, join_config, model_name)


def _nested(schema: CollectionSchema) -> bool:
    return any(f.type in {"object", "list"} for f in schema.fields.values())


def _items_of(data: Any) -> list[dict[str, Any]] | None:
    if isinstance(data, list):
        return [dict(d) if isinstance(d, Mapping) else {"value": d} for d in data]
    if isinstance(data, Mapping):
        for key in ("items", "data", "results", "records", "rows"):
            value = data.get(key)
            if isinstance(value, list):
                return _items_of(value)
        return [dict(data)]
    return None
