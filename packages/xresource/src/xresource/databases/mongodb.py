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

import datetime
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, ClassVar, Literal, NoReturn
from urllib.parse import parse_qsl, unquote, urlencode

from bson.errors import BSONError
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pymongo import AsyncMongoClient, monitoring
from pymongo import errors as pm_errors
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.command_cursor import AsyncCommandCursor
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase

from xobj_prototype import is_secret_key, redact_text
from xresource.base import ParameterAlias
from xresource.databases.base import DatabaseResource, PoolStats
from xresource.databases.mongo_guard import (
    FORBIDDEN_OPERATORS,
    check_no_server_js,
    check_request,
)
from xresource.databases.value_scrub import raise_alone, scrub_record_values
from xresource.errors import (
    XResourceAuthenticationError,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceError,
    XResourceIntegrityError,
    XResourcePoolExhaustedError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceValidationError,
)
from xresource.url import ParsedURL

__all__ = ["FORBIDDEN_OPERATORS", "MongoDBResource", "MongoPoolStats", "check_no_server_js"]

Document = dict[str, Any]

# Server error codes that mean "who are you?" (18 AuthenticationFailed) or "not allowed" (13).
_AUTH_CODES = frozenset({13, 18})
# 50 MaxTimeMSExpired; 262 ExceededTimeLimit.
_TIMEOUT_CODES = frozenset({50, 262})
_DUPLICATE_KEY = 11000
# What the driver raises: PyMongo's errors, and BSON's for values it cannot encode.
_DRIVER_ERRORS = (pm_errors.PyMongoError, BSONError)
# URI options whose names look secret to the generic redactor ("auth...") but hold no secret.
_PLAIN_OPTIONS = frozenset({"authsource", "authmechanism"})


def _disk(allow_disk_use: bool | None) -> dict[str, Any]:
    # The server rejects allowDiskUse=null: send the option only when it was given.
    return {} if allow_disk_use is None else {"allowDiskUse": bool(allow_disk_use)}


class _PoolCounter(monitoring.ConnectionPoolListener):
    """Counts CMAP events of one client: connections open, lent out and callers waiting.

    PyMongo publishes no live pool gauges, only events; the counters below are exact for events
    that the client emits (one pool per server: a replica set's counts are summed).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # PyMongo may publish from its monitor threads
        self.open = 0
        self.in_use = 0
        self.waiting = 0

    def _add(self, **delta: int) -> None:
        with self._lock:
            for name, d in delta.items():
                setattr(self, name, max(0, getattr(self, name) + d))

    def connection_created(self, event: Any) -> None:
        self._add(open=1)

    def connection_closed(self, event: Any) -> None:
        self._add(open=-1)

    def connection_check_out_started(self, event: Any) -> None:
        self._add(waiting=1)

    def connection_check_out_failed(self, event: Any) -> None:
        self._add(waiting=-1)

    def connection_checked_out(self, event: Any) -> None:
        self._add(waiting=-1, in_use=1)

    def connection_checked_in(self, event: Any) -> None:
        self._add(in_use=-1)

    # Events the counters do not need; ConnectionPoolListener declares them abstract.
    def pool_created(self, event: Any) -> None:
        return None

    def pool_ready(self, event: Any) -> None:
        return None

    def pool_cleared(self, event: Any) -> None:
        return None

    def pool_closed(self, event: Any) -> None:
        return None

    def connection_ready(self, event: Any) -> None:
        return None


class MongoPoolStats(PoolStats):
    """:class:`PoolStats` plus the keys the specification's ``get_pool_stats()`` names.

    ``max_pool_size``/``min_pool_size``/``idle_time_ms`` are the options the client was given
    (``maxPoolSize``/``minPoolSize``/``maxIdleTimeMS``); ``active_connections`` is the number of
    pooled connections open now (lent out or idle, as ``size``); ``status`` is ``"connected"`` or
    ``"not_connected"``.
    """

    status: Literal["connected", "not_connected"]
    max_pool_size: int
    min_pool_size: int
    active_connections: int
    idle_time_ms: int | None = Field(description="maxIdleTimeMS; None: idle connections stay.")


# Driver options that a field of the resource holds (lower-cased name -> field, unit scale).
_POOL_OPTIONS: dict[str, tuple[str, float]] = {
    "maxpoolsize": ("pool_max_size", 1.0),
    "minpoolsize": ("pool_min_size", 1.0),
    "maxidletimems": ("max_idle_time", 0.001),
    "waitqueuetimeoutms": ("acquire_timeout", 0.001),
    "connecttimeoutms": ("connect_timeout", 0.001),
    "sockettimeoutms": ("command_timeout", 0.001),
}


def _lift_pool_options(
    data: dict[str, Any], items: Iterable[tuple[Any, Any]], where: str
) -> dict[str, Any]:
    """Move pool options found in ``items`` (URI options or ``options``) into ``data``'s fields;
    the other items are returned. A field given too, with another value, is an error."""
    rest: dict[str, Any] = {}
    for key, raw in items:
        target = _POOL_OPTIONS.get(str(key).lower())
        if target is None:
            rest[key] = raw
            continue
        field, scale = target
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{where} {key} must be a number, got {raw!r}") from None
        value: float | int = int(number) if scale == 1.0 and number.is_integer() else number
        value = value * scale if scale != 1.0 else value
        if field in data and data[field] is not None and data[field] != value:
            raise ValueError(
                f"{where} {key}={raw} and {field}={data[field]!r} disagree; give only one"
            )
        data[field] = value
    return rest


def _split_credentials(uri: str) -> tuple[str, str | None, str | None, dict[str, str]]:
    """``uri`` without user, password and secret query options, plus those parts.

    MongoDB URIs may list several hosts (``h1:27017,h2:27017``), which ``urllib`` cannot parse, so
    the authority is cut out by hand: it ends at the first ``/`` or ``?`` after ``://``.
    """
    scheme, sep, rest = uri.partition("://")
    if not sep:
        raise ValueError("a MongoDB connection string starts with mongodb:// or mongodb+srv://")
    end = min((i for i in (rest.find("/"), rest.find("?")) if i != -1), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    user = password = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        raw_user, has_pw, raw_pw = userinfo.partition(":")
        user = unquote(raw_user) or None
        password = unquote(raw_pw) if has_pw else None
    path, _, query = tail.partition("?")
    secrets: dict[str, str] = {}
    kept: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if is_secret_key(key) and key.lower() not in _PLAIN_OPTIONS:
            secrets[key] = value
        else:
            kept.append((key, value))
    # PyMongo wants a '/' between the host list and the options.
    clean = f"{scheme}://{authority}{path or ('/' if kept else '')}"
    if kept:
        clean += "?" + urlencode(kept)
    return clean, user, password, secrets


class MongoDBResource(DatabaseResource):
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

    resource_type: ClassVar[str] = "mongodb"
    url_schemes: ClassVar[tuple[str, ...]] = ("mongodb", "mongodb+srv")
    parameter_aliases: ClassVar[Mapping[str, str | ParameterAlias]] = {
        "max_pool_size": "pool_max_size",
        "min_pool_size": "pool_min_size",
        "max_idle_time_ms": ParameterAlias("max_idle_time", 0.001),
    }

    connection_string: str = Field(
        default="mongodb://127.0.0.1:27017", description="MongoDB URI without its password."
    )
    database: str = Field(default="", description="Database name.")
    user: str | None = None
    password: SecretStr | None = None
    secret_options: dict[str, SecretStr] = Field(
        default_factory=dict, description="URI options whose names look secret, kept masked."
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Extra AsyncMongoClient keyword options."
    )
    max_idle_time: float | None = Field(
        default=60.0, gt=0, description="Seconds an idle pooled connection lives."
    )

    _client: AsyncMongoClient[Document] | None = PrivateAttr(default=None)
    _db: AsyncDatabase[Document] | None = PrivateAttr(default=None)
    _pool_counter: _PoolCounter | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _extract_credentials(cls, data: Any) -> Any:
        # Moves secrets out of the URI before any field (and so any repr) holds them.
        if not isinstance(data, dict):
            return data
        # Aliases and the URI's pool options become fields first (see canonical_params).
        data = cls.canonical_params(data)
        options = data.get("options")
        if isinstance(options, dict):
            hidden = {
                k: v
                for k, v in options.items()
                if is_secret_key(str(k)) and str(k).lower() not in _PLAIN_OPTIONS
            }
            if hidden:
                data["options"] = {k: v for k, v in options.items() if k not in hidden}
                data["secret_options"] = {
                    **{k: str(v) for k, v in hidden.items()},
                    **dict(data.get("secret_options") or {}),
                }
        if "connection_string" not in data:
            return data
        raw = data["connection_string"]
        if isinstance(raw, SecretStr):
            raw = raw.get_secret_value()
        if not isinstance(raw, str):
            raise ValueError("connection_string must be a string")
        if not raw.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("connection_string must start with mongodb:// or mongodb+srv://")
        if any(ord(c) < 32 for c in raw):
            raise ValueError("connection_string contains control characters")
        clean, user, password, secrets = _split_credentials(raw)
        db_option = None
        if "database=" in clean:
            head, _, query = clean.partition("?")
            pairs = parse_qsl(query, keep_blank_values=True)
            db_option = next((v for k, v in pairs if k == "database"), None)
            rest = [(k, v) for k, v in pairs if k != "database"]
            clean = head + ("?" + urlencode(rest) if rest else "")
        data["connection_string"] = clean
        if user and not data.get("user"):
            data["user"] = user
        if password is not None and not data.get("password"):
            data["password"] = password
        if secrets:
            data["secret_options"] = {**secrets, **dict(data.get("secret_options") or {})}
        if not data.get("database"):
            path = clean.split("://", 1)[1]
            path = path.split("?", 1)[0]
            from_path = unquote(path.split("/", 1)[1]) if "/" in path else ""
            data["database"] = db_option or from_path
        return data

    @classmethod
    def canonical_params(
        cls, params: Mapping[str, Any], *, given_as: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Aliases replaced (see :meth:`XResource.canonical_params`), and pool options given as
        driver options (``?maxPoolSize=50`` in the URI, ``options={"minPoolSize": 2}``) moved
        into their fields: the driver, :meth:`get_pool_stats` and :meth:`get_metadata` then
        agree, where keyword options would silently override the URI's. Run per layer by the
        factory, so a URI given in code beats a pool size from the settings.
        """
        out = super().canonical_params(params, given_as=given_as)
        options = out.get("options")
        if isinstance(options, Mapping):
            out["options"] = _lift_pool_options(out, options.items(), "options entry")
        raw = out.get("connection_string")
        if isinstance(raw, SecretStr):
            raw = raw.get_secret_value()
        if isinstance(raw, str) and "?" in raw:
            head, _, query = raw.partition("?")
            pairs = parse_qsl(query, keep_blank_values=True)
            kept = _lift_pool_options(out, pairs, "connection_string option")
            if len(kept) != len(pairs):
                out["connection_string"] = head + (
                    "?" + urlencode(list(kept.items())) if kept else ""
                )
        return out

    @field_validator("connection_string")
    @classmethod
    def _no_password_left(cls, value: str) -> str:
        # Construction moves credentials out (above); an assignment later must not bring one in.
        _, _, password, secrets = _split_credentials(value)
        if password is not None or secrets:
            raise ValueError(
                "connection_string must not hold a password here; set the "
                "password field (a SecretStr) instead"
            )
        return value

    @field_validator("options")
    @classmethod
    def _no_secret_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if is_secret_key(str(key)) and str(key).lower() not in _PLAIN_OPTIONS:
                raise ValueError(f"option {key!r} looks secret: give it through secret_options")
        return value

    @field_validator("database")
    @classmethod
    def _check_database(cls, value: str) -> str:
        if not value:
            raise ValueError(
                "no database given: pass database=... or put it in the "
                "connection string's path (mongodb://host/<database>)"
            )
        if len(value) > 63 or any(c in value for c in '/\\. "$\x00'):
            raise ValueError(f"{value!r} is not a valid MongoDB database name")
        return value

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """``mongodb://[user:pw@]host[:port][,host2...]/<database>[?options]``."""
        if url.scheme not in cls.url_schemes:
            raise XResourceConfigurationError(
                f"{url.redacted!r} is not a mongodb:// or mongodb+srv:// URL", operation="from_url"
            )
        return {"connection_string": url.raw}

    def _client_kwargs(self) -> dict[str, Any]:
        ms = 1000.0
        kwargs: dict[str, Any] = {
            "maxPoolSize": self.pool_max_size,
            "minPoolSize": self.pool_min_size,
            "waitQueueTimeoutMS": int(self.acquire_timeout * ms),
            "serverSelectionTimeoutMS": round(self.connect_timeout * ms),
            "connectTimeoutMS": round(self.connect_timeout * ms),
            "document_class": dict,
            # Datetimes come back aware, in datetime.UTC (not bson's FixedOffset): the zone
            # every xstack backend returns. Naive datetimes written are taken as UTC.
            "tz_aware": True,
            "tzinfo": datetime.UTC,
        }
        if self.command_timeout is not None:
            kwargs["socketTimeoutMS"] = int(self.command_timeout * ms)
        if self.max_idle_time is not None:
            kwargs["maxIdleTimeMS"] = round(self.max_idle_time * ms)
        if self.user is not None:
            kwargs["username"] = self.user
        if self.password is not None:
            kwargs["password"] = self.password.get_secret_value()
        kwargs.update({k: v.get_secret_value() for k, v in self.secret_options.items()})
        kwargs.update(self.options)
        return kwargs

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
        except _DRIVER_ERRORS as exc:
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
        except _DRIVER_ERRORS as exc:
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
        except _DRIVER_ERRORS as exc:
            self._raise(exc, op, collection)

    async def aggregate(
        self,
        collection: str,
        pipeline: Sequence[Mapping[str, Any]],
        *,
        session: AsyncClientSession | None = None,
        allow_disk_use: bool | None = None,
    ) -> list[Document]:
        """Run an aggregation pipeline and return every result document."""
        op = "aggregate"
        stages = self._pipeline(pipeline, op)
        coll = await self._coll(collection, op)
        try:
            cursor = await coll.aggregate(stages, session=session, **_disk(allow_disk_use))
            try:
                return await cursor.to_list()
            finally:
                await cursor.close()
        except _DRIVER_ERRORS as exc:
            self._raise(exc, op, collection)

    def aggregate_stream(
        self,
        collection: str,
        pipeline: Sequence[Mapping[str, Any]],
        *,
        batch_size: int = 1000,
        session: AsyncClientSession | None = None,
        allow_disk_use: bool | None = None,
    ) -> AsyncIterator[list[Document]]:
        """Run an aggregation pipeline; results in batches of at most ``batch_size``."""
        op = "aggregate"

        async def open_cursor() -> AsyncCommandCursor[Document]:
            stages = self._pipeline(pipeline, op)
            self._check_batch_size(batch_size, op)
            coll = await self._coll(collection, op)
            try:
                return await coll.aggregate(
                    stages, session=session, batchSize=batch_size, **_disk(allow_disk_use)
                )
            except _DRIVER_ERRORS as exc:
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
        except _DRIVER_ERRORS as exc:
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
        except _DRIVER_ERRORS as exc:
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
        except _DRIVER_ERRORS as exc:
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
            except _DRIVER_ERRORS as exc:
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
                except _DRIVER_ERRORS as exc:
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
                except _DRIVER_ERRORS as exc:
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

    def _invalid(self, message: str, op: str) -> XResourceValidationError:
        """The error for bad input to operation ``op``, naming this resource."""
        return XResourceValidationError(message, resource=self.display_name, operation=op)

    def _no_server_js(self, value: Any, op: str, *, where: str = "filter") -> None:
        """:func:`~xresource.databases.mongo_guard.check_request` for one part of a request,
        its complaint raised as this resource's error."""
        self._guard(op, **{where: value})

    def _guard(self, op: str, **parts: Any) -> None:
        """Refuse server-side JavaScript in any part of a request (filter, projection, sort,
        update, pipeline...) before anything is sent: every operation goes through here."""
        try:
            check_request(op, **parts)
        except ValueError as exc:
            raise self._invalid(str(exc), op) from None

    def _collection_name(self, name: Any, op: str) -> str:
        if not isinstance(name, str) or not name:
            raise self._invalid(
                f"collection name must be a non-empty string, got {name!r}",
                op,
            )
        if (
            "$" in name
            or "\x00" in name
            or name.startswith(("system.", "."))
            or name.endswith(".")
            or len(name) > 255
        ):
            raise self._invalid(
                f"{name!r} is not a usable collection name (no '$', NUL, leading/trailing '.', "
                "or 'system.' prefix)",
                op,
            )
        return name

    async def _coll(self, collection: str, op: str) -> AsyncCollection[Document]:
        name = self._collection_name(collection, op)
        await self.ensure_connected()
        return self.db[name]

    def _filter(self, value: Any, op: str, *, required: bool = False) -> Document:
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping):
            raise self._invalid(
                f"filter must be a mapping such as {{'field': value}}, got {type(value).__name__}",
                op,
            )
        self._no_server_js(value, op)
        return dict(value)

    def _pipeline(self, value: Any, op: str) -> list[Document]:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            raise self._invalid(
                f"pipeline must be a list of stages, got {type(value).__name__}",
                op,
            )
        for i, stage in enumerate(value):
            if not isinstance(stage, Mapping) or len(stage) != 1:
                raise self._invalid(
                    f"pipeline stage #{i} must be a mapping with one operator such as "
                    "{'$match': {...}}",
                    op,
                )
        self._no_server_js(list(value), op, where="pipeline")
        return [dict(s) for s in value]

    def _check_batch_size(self, batch_size: Any, op: str) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise self._invalid(f"batch_size must be a positive integer, got {batch_size!r}", op)

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

    def _sort(self, sort: Any, op: str) -> list[tuple[str, int]] | None:
        if sort is None:
            return None
        items: list[Any]
        if isinstance(sort, str):
            items = [(sort, 1)]
        elif isinstance(sort, Mapping):
            items = list(sort.items())
        elif isinstance(sort, list | tuple):
            items = [(s, 1) if isinstance(s, str) else s for s in sort]
        else:
            items = [None]
        out: list[tuple[str, int]] = []
        for item in items:
            if (
                not isinstance(item, tuple | list)
                or len(item) != 2
                or not isinstance(item[0], str)
                or item[1] not in (1, -1)
            ):
                raise self._invalid(
                    "sort must be a field name, a mapping field -> 1/-1 or a list of "
                    f"(field, 1/-1) pairs, got {sort!r}",
                    op,
                )
            out.append((item[0], int(item[1])))
        return out

    def _raise(
        self,
        exc: Exception,
        op: str,
        collection: str | None = None,
        *,
        session: AsyncClientSession | None = None,
    ) -> NoReturn:
        """Re-raise a PyMongo failure as the matching ``XResourceError`` (message redacted)."""
        where = f" on collection {collection!r}" if collection else ""
        raw = str(exc)
        if isinstance(exc, pm_errors.OperationFailure) and isinstance(exc.details, Mapping):
            # str() appends the full server reply (cluster time, signatures): keep the reason only.
            raw = str(exc.details.get("errmsg") or raw)
        # Server selection errors append the whole topology description: the first part says it.
        text = redact_text(raw.split(", Timeout:")[0])
        # Record values (the value of a duplicate key) are hidden: they may be secrets.
        details = getattr(exc, "details", None)
        keys = details.get("keyPattern") if isinstance(details, Mapping) else None
        text = scrub_record_values(text, key_names=keys)[:1000]
        kw: dict[str, Any] = {"resource": self.display_name, "operation": op}
        code = getattr(exc, "code", None)
        if isinstance(exc, pm_errors.BulkWriteError):
            details = exc.details or {}
            write_errors = details.get("writeErrors") or []
            inserted = details.get("nInserted", 0)
            first = write_errors[0] if write_errors else {}
            message = scrub_record_values(
                redact_text(str(first.get("errmsg", text))), key_names=first.get("keyPattern")
            )[:1000]
            if session is not None and session.in_transaction:
                written = "nothing is committed: the transaction aborts when this error leaves it"
            else:
                written = (
                    f"{inserted} document(s) were written before the failure "
                    "(use atomic=True for all-or-nothing)"
                )
            # The driver's error holds the documents ("op" of each write error): not chained.
            if first.get("code") == _DUPLICATE_KEY:
                raise_alone(
                    XResourceIntegrityError(f"duplicate key{where}: {message}; {written}", **kw)
                )
            raise_alone(
                XResourceQueryError(f"bulk write failed{where}: {message}; {written}", **kw)
            )
        if isinstance(exc, pm_errors.DuplicateKeyError) or code == _DUPLICATE_KEY:
            raise_alone(XResourceIntegrityError(f"duplicate key{where}: {text}", **kw))
        if isinstance(exc, pm_errors.WaitQueueTimeoutError):
            raise XResourcePoolExhaustedError(
                f"no pooled connection became free within {self.acquire_timeout}s "
                f"(pool_max_size={self.pool_max_size}); raise pool_max_size or acquire_timeout",
                **kw,
            ) from None
        if isinstance(exc, pm_errors.ServerSelectionTimeoutError):
            raise XResourceConnectionError(
                f"no MongoDB server answered within {self.connect_timeout}s; check that it runs "
                f"and the address ({self.connection_string}) is right: {text}",
                **kw,
            ) from None
        if isinstance(exc, pm_errors.NetworkTimeout | pm_errors.ExecutionTimeout) or (
            code in _TIMEOUT_CODES
        ):
            raise XResourceTimeoutError(f"timed out{where}: {text}", **kw) from None
        if isinstance(exc, pm_errors.OperationFailure) and code in _AUTH_CODES:
            raise XResourceAuthenticationError(
                f"the server rejected the credentials or the permission (code {code}){where}; "
                "check user, password and authSource",
                **kw,
            ) from None
        if isinstance(exc, pm_errors.ConnectionFailure):
            raise XResourceConnectionError(
                f"connection to MongoDB failed{where}: {text}", **kw
            ) from None
        if isinstance(exc, pm_errors.ConfigurationError):
            raise XResourceConfigurationError(f"invalid configuration: {text}", **kw) from None
        if isinstance(exc, pm_errors.InvalidName | pm_errors.InvalidOperation | BSONError):
            raise XResourceValidationError(f"invalid request{where}: {text}", **kw) from None
        raise XResourceQueryError(f"MongoDB refused the request{where}: {text}", **kw) from None
