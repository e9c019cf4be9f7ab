"""``MongoDBResource``: MongoDB through PyMongo's native async API (``pymongo.AsyncMongoClient``).

The client owns its connection pool (``maxPoolSize``/``minPoolSize``/``maxIdleTimeMS`` from the
resource's pool fields, which the specification's ``max_pool_size``, ``min_pool_size`` and
``max_idle_time_ms`` also set); this module adds what a repository needs on top: streaming reads
in batches, thin write wrappers whose failures become ``XResourceError`` subclasses, transactions,
and a guard that refuses server-side JavaScript (``$where``, ``$function``, ``$accumulator``) in
every part of every request: filters, projections, sorts, updates and pipelines
(:mod:`xresource.databases.mongo_guard`).

Credentials never stay in ``connection_string``: a password in the URL is moved into the
``password`` field (a ``SecretStr``) when the resource is built, and handed to PyMongo separately.

Example::

    mongo = ResourceFactory.from_url("mongodb://app:pw@127.0.0.1:27017/shop?replicaSet=rs0")
    async with mongo:
        await mongo.insert_many("orders", [{"sku": "a", "qty": 2}])
        async for batch in mongo.find("orders", {"qty": {"$gt": 1}}, batch_size=500):
            ...
        async with mongo.transaction() as session:
            await mongo.update_many("orders", {"sku": "a"}, {"$inc": {"qty": 1}}, session=session)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, NoReturn

from pydantic import PrivateAttr
from pymongo import AsyncMongoClient
from pymongo import errors as pm_errors
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.command_cursor import AsyncCommandCursor
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase

from xobj_prototype import redact_text
from xresource.databases._mongo_errors import DRIVER_ERRORS, raise_driver_error
from xresource.databases._mongo_pool import MongoPoolStats, _PoolCounter
from xresource.databases._mongo_requests import Document
from xresource.databases._mongo_settings import _MongoSettings
from xresource.databases.mongo_guard import (
    FORBIDDEN_OPERATORS,
    check_no_server_js,
)
from xresource.errors import (
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceError,
)

__all__ = ["FORBIDDEN_OPERATORS", "MongoDBResource", "MongoPoolStats", "check_no_server_js"]


def _options(allow_disk_use: bool | None, collation: Mapping[str, Any] | None) -> dict[str, Any]:
    """The aggregate options given. (The server rejects allowDiskUse=null: an option is sent
    only when it was given.)"""
    out: dict[str, Any] = {}
    if allow_disk_use is not None:
        out["allowDiskUse"] = bool(allow_disk_use)
    if collation is not None:
        out["collation"] = dict(collation)
    return out


class MongoDBResource(_MongoSettings):
    """A MongoDB database, pooled by its ``AsyncMongoClient``.

    Parameters (fields):
        connection_string: ``mongodb://`` or ``mongodb+srv://`` URI. A password in it is moved to
            ``password``; the database may come from its path or a ``database=`` option.
        database: the database name (required, here or in the URI path).
        user, password: credentials given apart from the URI (they win over the URI's).
        options: extra ``AsyncMongoClient`` keyword options (``appname``, ``tls``...).
        pool_max_size / pool_min_size: ``maxPoolSize`` / ``minPoolSize`` (the specification's
            ``max_pool_size`` / ``min_pool_size`` are accepted for them; ``pool_size`` too).
        max_idle_time: ``maxIdleTimeMS`` in seconds (``max_idle_time_ms`` gives it in
            milliseconds): a pooled connection idle that long is closed.
        acquire_timeout: ``waitQueueTimeoutMS``: a caller that waits longer for a pooled
            connection gets ``XResourcePoolExhaustedError``.
        connect_timeout: ``serverSelectionTimeoutMS`` and ``connectTimeoutMS``: a dead server is
            an ``XResourceConnectionError`` after this many seconds.
        command_timeout: ``socketTimeoutMS``: one network round trip may take this long.

    ``connection_timeout`` (milliseconds, as in the specification's ``settings.toml``) sets
    ``connect_timeout``. Bad pool values (a maximum below 1, a negative minimum, a minimum above
    the maximum, an idle time of 0) are refused when the resource is built.
    """

    _client: AsyncMongoClient[Document] | None = PrivateAttr(default=None)
    _db: AsyncDatabase[Document] | None = PrivateAttr(default=None)
    _pool_counter: _PoolCounter | None = PrivateAttr(default=None)

    # -- lifecycle -----------------------------------------------------------------------------
    async def _connect(self) -> None:
        counter = _PoolCounter()
        try:
            client: AsyncMongoClient[Document] = AsyncMongoClient(
                self.connection_string, event_listeners=[counter], **self._client_kwargs()
            )
        except (pm_errors.ConfigurationError, TypeError, ValueError) as exc:
            raise XResourceConfigurationError(
                f"invalid MongoDB options: {redact_text(str(exc))}",
                resource=self.display_name,
                operation="connect",
            ) from None
        try:
            await client.admin.command("ping")
        except BaseException as exc:
            await client.close()
            if isinstance(exc, Exception):
                self._raise(exc, "connect")
            raise
        self._client, self._pool_counter = client, counter
        self._db = client[self.database]

    async def _disconnect(self) -> None:
        client, self._client, self._db = self._client, None, None
        if client is not None:
            await client.close()

    async def validate_connection(self) -> bool:
        """``True`` when the server answers a ``ping`` now; never raises for a dead server."""
        try:
            await self.ensure_connected()
            assert self._client is not None
            await self._client.admin.command("ping")
        except (XResourceError, pm_errors.PyMongoError):
            return False
        return True

    def get_pool_stats(self) -> MongoPoolStats:
        """Connections open, lent out and idle, from the client's CMAP events (zeros and
        ``status="not_connected"`` before ``connect()``), with the pool options in force.

        Monitoring sockets (heartbeats) are not pooled and not counted. The specification's keys
        are there too: ``stats["max_pool_size"]``, ``stats["active_connections"]``...
        """
        counter = self._pool_counter if self._client is not None else None
        open_now = counter.open if counter is not None else 0
        in_use = counter.in_use if counter is not None else 0
        return MongoPoolStats(
            min_size=self.pool_min_size,
            max_size=self.pool_max_size,
            size=open_now,
            in_use=in_use,
            idle=max(0, open_now - in_use),
            waiting=counter.waiting if counter is not None else 0,
            status="connected" if counter is not None else "not_connected",
            max_pool_size=self.pool_max_size,
            min_pool_size=self.pool_min_size,
            active_connections=open_now,
            idle_time_ms=None if self.max_idle_time is None else round(self.max_idle_time * 1000),
        )

    def get_metadata(self) -> dict[str, Any]:
        """Type, name, database and pool options; the URI carries no password."""
        meta = super().get_metadata()
        meta["pool"] = self.get_pool_stats().model_dump()
        return meta

    # -- handles for the repository layer --------------------------------------------------------
    @property
    def db(self) -> AsyncDatabase[Document]:
        """The ``AsyncDatabase``; the resource must be connected (``await connect()``)."""
        if self._db is None:
            raise self._not_connected("database")
        return self._db

    @property
    def client(self) -> AsyncMongoClient[Document]:
        """The ``AsyncMongoClient``; the resource must be connected."""
        if self._client is None:
            raise self._not_connected("client")
        return self._client

    def collection(self, name: str) -> AsyncCollection[Document]:
        """The ``AsyncCollection`` named ``name`` (validated); the resource must be connected."""
        return self.db[self._collection_name(name, "collection")]

    async def get_collection(self, name: str) -> AsyncCollection[Document]:
        """Like :meth:`collection`, connecting first if needed (the spec's spelling)."""
        await self.ensure_connected()
        return self.collection(name)

    async def list_collections_or_tables(self) -> list[str]:
        """Names of the database's collections (``system.*`` left out), sorted."""
        await self.ensure_connected()
        try:
            names = await self.db.list_collection_names()
        except DRIVER_ERRORS as exc:
            self._raise(exc, "list collections")
        return sorted(n for n in names if not n.startswith("system."))

    async def get_collections(self) -> list[str]:
        """Alias of :meth:`list_collections_or_tables` (the spec's spelling)."""
        return await self.list_collections_or_tables()

    # -- reads -------------------------------------------------------------------------------------
    def find(
        self,
        collection: str,
        filter: Mapping[str, Any] | None = None,
        projection: Mapping[str, Any] | Sequence[str] | None = None,
        sort: Any = None,
        skip: int = 0,
        limit: int = 0,
        *,
        batch_size: int = 1000,
        session: AsyncClientSession | None = None,
    ) -> AsyncIterator[list[Document]]:
        """Matching documents in batches of at most ``batch_size`` (a server-side cursor).

        ``sort`` is a key, a list of ``(key, direction)`` pairs or a mapping key -> direction.
        """
        op = "find"
        return self._batches(
            lambda: self._cursor(
                collection, filter, projection, sort, skip, limit, batch_size, session, op
            ),
            batch_size,
            op,
            collection,
        )

    async def fetch_all(
        self,
        collection: str,
        filter: Mapping[str, Any] | None = None,
        projection: Mapping[str, Any] | Sequence[str] | None = None,
        sort: Any = None,
        skip: int = 0,
        limit: int = 0,
        *,
        batch_size: int | None = None,
        session: AsyncClientSession | None = None,
    ) -> list[Document]:
        """Every matching document as a list (see :meth:`find` to stream instead).

        ``batch_size`` ``None`` lets the server size its batches (fewest round trips).
        """
        op = "fetch"
        cursor = await self._cursor(
            collection, filter, projection, sort, skip, limit, batch_size, session, op
        )
        try:
            return await cursor.to_list()
        except DRIVER_ERRORS as exc:
            self._raise(exc, op, collection)
        finally:
            await cursor.close()

    async def fetch_one(
        self,
        collection: str,
        filter: Mapping[str, Any] | None = None,
        projection: Mapping[str, Any] | Sequence[str] | None = None,
        *,
        session: AsyncClientSession | None = None,
    ) -> Document | None:
        """The first matching document, or ``None``."""
        rows = await self.fetch_all(collection, filter, projection, limit=1, session=session)
        return rows[0] if rows else None

    async def count(
        self,
        collection: str,
        filter: Mapping[str, Any] | None = None,
        *,
        session: AsyncClientSession | None = None,
    ) -> int:
        """How many documents match ``filter`` (``count_documents``; all when ``None``)."""
        op = "count"
        flt = self._filter(filter, op)
        coll = await self._coll(collection, op)
        try:
            return int(await coll.count_documents(flt, session=session))
        except DRIVER_ERRORS as exc:
            self._raise(exc, op, collection)

    async def aggregate(
        self,
        collection: str,
        pipeline: Sequence[Mapping[str, Any]],
        *,
        session: AsyncClientSession | None = None,
        allow_disk_use: bool | None = None,
        collation: Mapping[str, Any] | None = None,
    ) -> list[Document]:
        """Run an aggregation pipeline and return every result document.

        ``collation`` replaces the collection's default collation for this pipeline (its
        string comparisons, ``$group`` keys and ``$sort``): ``{"locale": "simple"}`` compares
        code points whatever the collection was created with.
        """
        op = "aggregate"
        stages = self._pipeline(pipeline, op)
        coll = await self._coll(collection, op)
        try:
            cursor = await coll.aggregate(
                stages, session=session, **_options(allow_disk_use, collation)
            )
            try:
                return await cursor.to_list()
            finally:
                await cursor.close()
        except DRIVER_ERRORS as exc:
            self._raise(exc, op, collection)

    def aggregate_stream(
        self,
        collection: str,
        pipeline: Sequence[Mapping[str, Any]],
        *,
        batch_size: int = 1000,
        session: AsyncClientSession | None = None,
        allow_disk_use: bool | None = None,
        collation: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[list[Document]]:
        """Run an aggregation pipeline; results in batches of at most ``batch_size``
        (``collation``: see :meth:`aggregate`)."""
        op = "aggregate"

        async def open_cursor() -> AsyncCommandCursor[Document]:
            stages = self._pipeline(pipeline, op)
            self._check_batch_size(batch_size, op)
            coll = await self._coll(collection, op)
            try:
                return await coll.aggregate(
                    stages,
                    session=session,
                    batchSize=batch_size,
                    **_options(allow_disk_use, collation),
                )
            except DRIVER_ERRORS as exc:
                self._raise(exc, op, collection)

        return self._batches(open_cursor, batch_size, op, collection)

    # -- writes ------------------------------------------------------------------------------------
    async def insert_many(
        self,
        collection: str,
        documents: Iterable[Mapping[str, Any]],
        *,
        ordered: bool = True,
        atomic: bool = False,
        session: AsyncClientSession | None = None,
    ) -> list[Any]:
        """Insert ``documents``; their ``_id`` values in order.

        An ordered insert stops at the first failure and keeps what came before it (the error
        says how many); ``atomic=True`` runs it in a transaction so that all or none are written.
        """
        op = "insert"
        docs: list[Any] = list(documents)
        for i, doc in enumerate(docs):
            if not isinstance(doc, Mapping):
                raise self._invalid(
                    f"document #{i} is a {type(doc).__name__}, not a mapping",
                    op,
                )
        if not docs:
            return []
        coll = await self._coll(collection, op)
        if atomic and session is None:
            async with self.transaction() as tx:
                return await self.insert_many(collection, docs, ordered=ordered, session=tx)
        try:
            result = await coll.insert_many(docs, ordered=ordered, session=session)
        except DRIVER_ERRORS as exc:
            self._raise(exc, op, collection, session=session)
        except (TypeError, ValueError) as exc:
            raise self._invalid(f"cannot encode a document: {exc}", op) from None
        return list(result.inserted_ids)

    async def update_many(
        self,
        collection: str,
        filter: Mapping[str, Any],
        update: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        upsert: bool = False,
        session: AsyncClientSession | None = None,
    ) -> int:
        """Apply ``update`` (operators or a pipeline) to every match; how many were modified."""
        op = "update"
        flt = self._filter(filter, op, required=True)
        if isinstance(update, Mapping):
            if not update or not all(isinstance(k, str) and k.startswith("$") for k in update):
                raise self._invalid(
                    "update must use update operators such as {'$set': {...}}; a plain document "
                    "would replace the matches",
                    op,
                )
            self._no_server_js(update, op, where="update")
            upd: Any = dict(update)
        else:
            upd = self._pipeline(update, op)
        coll = await self._coll(collection, op)
        try:
            result = await coll.update_many(flt, upd, upsert=upsert, session=session)
        except DRIVER_ERRORS as exc:
            self._raise(exc, op, collection)
        return int(result.modified_count)

    async def delete_many(
        self,
        collection: str,
        filter: Mapping[str, Any],
        *,
        session: AsyncClientSession | None = None,
    ) -> int:
        """Delete every match of ``filter`` (``{}`` deletes all, on purpose); how many."""
        op = "delete"
        flt = self._filter(filter, op, required=True)
        coll = await self._coll(collection, op)
        try:
            result = await coll.delete_many(flt, session=session)
        except DRIVER_ERRORS as exc:
            self._raise(exc, op, collection)
        return int(result.deleted_count)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncClientSession]:
        """A session inside a transaction: committed when the block ends, aborted on error.

        Pass the session to every call that belongs to the transaction::

            async with mongo.transaction() as s:
                await mongo.insert_many("a", docs, session=s)
                await mongo.collection("b").update_one(f, u, session=s)
        """
        op = "transaction"
        await self.ensure_connected()
        session = self.client.start_session()
        try:
            try:
                await session.start_transaction()
            except DRIVER_ERRORS as exc:
                self._raise(exc, op)
            try:
                yield session
            except BaseException:
                if session.in_transaction:
                    # The server drops an unfinished transaction on its own; keep the first error.
                    with suppress(pm_errors.PyMongoError):
                        await session.abort_transaction()
                raise
            if session.in_transaction:
                try:
                    await session.commit_transaction()
                except DRIVER_ERRORS as exc:
                    self._raise(exc, "commit")
        finally:
            await session.end_session()

    # -- internals -------------------------------------------------------------------------------
    async def _batches(
        self,
        open_cursor: Callable[[], Awaitable[AsyncCursor[Document] | AsyncCommandCursor[Document]]],
        batch_size: int,
        op: str,
        collection: str,
    ) -> AsyncIterator[list[Document]]:
        """The cursor's documents in lists of at most ``batch_size``; the cursor opens at the
        first ``__anext__`` (so bad input surfaces when iteration starts) and is closed however
        iteration ends."""
        cursor = await open_cursor()
        try:
            while True:
                try:
                    batch = await cursor.to_list(batch_size)
                except DRIVER_ERRORS as exc:
                    self._raise(exc, op, collection)
                if not batch:
                    return
                yield batch
        finally:
            await cursor.close()

    def _not_connected(self, op: str) -> XResourceConnectionError:
        """The error for using a driver handle before :meth:`connect`."""
        return XResourceConnectionError(
            "not connected; call 'await resource.connect()' first",
            resource=self.display_name,
            operation=op,
        )

    async def _coll(self, collection: str, op: str) -> AsyncCollection[Document]:
        name = self._collection_name(collection, op)
        await self.ensure_connected()
        return self.db[name]

    async def _cursor(
        self,
        collection: str,
        filter: Any,
        projection: Any,
        sort: Any,
        skip: Any,
        limit: Any,
        batch_size: Any,
        session: AsyncClientSession | None,
        op: str,
    ) -> AsyncCursor[Document]:
        flt = self._filter(filter, op)
        for label, number in (("skip", skip), ("limit", limit)):
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise self._invalid(
                    f"{label} must be a non-negative integer, got {number!r}",
                    op,
                )
        if batch_size is not None:
            self._check_batch_size(batch_size, op)
        if projection is not None and not isinstance(projection, Mapping | list | tuple):
            raise self._invalid(
                "projection must be a mapping or a list of field names",
                op,
            )
        # A projection is an aggregation expression ({"x": {"$function": ...}} runs JavaScript).
        self._guard(op, projection=projection, sort=sort)
        sort_spec = self._sort(sort, op)
        coll = await self._coll(collection, op)
        return coll.find(
            flt,
            projection,
            skip=skip,
            limit=limit,
            sort=sort_spec,
            batch_size=batch_size or 0,  # 0: the server's default batch size
            session=session,
        )

    def _raise(
        self,
        exc: Exception,
        op: str,
        collection: str | None = None,
        *,
        session: AsyncClientSession | None = None,
    ) -> NoReturn:
        """Re-raise a PyMongo failure as the matching ``XResourceError`` (message redacted)."""
        raise_driver_error(self, exc, op, collection, session=session)
