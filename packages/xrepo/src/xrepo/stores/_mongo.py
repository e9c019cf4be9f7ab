"""``MongoStore``: one MongoDB collection, queried natively.

Filters become MongoDB filters, pipelines MongoDB pipelines (:mod:`xrepo.compile.mongo`); the
server does the filtering, sorting, paging and aggregation. The id field is stored as ``_id``.
Bulk writes run in a transaction (MongoDB must run as a replica set): a failing item aborts the
whole batch and is named in the error.

Collections as MongoDB makes them: an ``ObjectId`` reads back as its 24-character hex string
(decoded by the driver, so ``list()``, ``aggregate()`` and ``distinct()`` agree), and that string
finds the ``ObjectId`` in every filter and id argument. A ``str`` id left out on create is
assigned by MongoDB (an ``ObjectId``). Fields typed ``xinspector.types.ObjectIdStr`` (as XInspector
generates them for ObjectId fields) store 24-hex values as ObjectIds; other ``str`` fields store
strings. A model that declares ``bson.ObjectId`` fields itself gets ObjectIds as they are.
Decimals are stored as ``Decimal128`` and read back as ``Decimal``; datetimes are stored as aware
UTC with milliseconds (naive means UTC), and ``create()`` returns them as stored.
"""

from __future__ import annotations

import contextlib
import typing
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from bson.objectid import ObjectId
from pymongo import errors as pm_errors

from xrepo.compile import decode
from xrepo.compile.mongo import (
    check_collection_name,
    stored_value,
    to_bson,
    to_mongo_filter,
    to_mongo_pipeline,
)
from xrepo.errors import (
    XRepoConfigurationError,
    XRepoConflictError,
    XRepoConnectionError,
    XRepoError,
    XRepoQueryError,
    XRepoValidationError,
)
from xrepo.query import FieldType, Kind, Node, SortKey, Stage, pipeline_types
from xrepo.stores import _ambient as ambient
from xrepo.stores._errors import translate
from xrepo.stores._mongo_values import (
    AS_HEX,
    KEEP_OBJECT_IDS,
    PLAIN,
    UNENCODABLE,
    as_read,
    first_unencodable,
    is_bson_object_id,
    is_decimal,
    is_object_id_str,
    mentions,
    retyped,
    short,
    to_object_ids,
    unencodable_message,
)
from xrepo.stores._protocol import (
    INCREMENT,
    BoundLayout,
    Row,
    RowLayout,
    UpdateItem,
    VersionConflict,
)
from xresource import MongoDBResource, XResourceError
from xresource.databases import raise_alone

__all__ = ["MongoStore"]


class _Failed(Exception):
    def __init__(self, item: int | None, error: Exception, message: str) -> None:
        super().__init__(item)
        self.item = item
        self.error = error
        # The server's message only: the full error echoes the document, which may hold secrets.
        self.message = message


class MongoStore(BoundLayout):
    """One MongoDB collection, queried natively (filters, sorts, pipelines run on the server).

    Args:
        resource: a connected or connectable :class:`~xresource.MongoDBResource`.
        collection: the collection (default: the metadata's ``collection``, the model's
            ``Meta.collection``, then the repository name).

    Examples:
        >>> repo = XRepo(model_class=User, store=MongoStore(mongo, "users"))
    """

    backend = "mongodb"

    def __init__(self, resource: MongoDBResource, collection: str | None = None) -> None:
        if not isinstance(resource, MongoDBResource):
            raise XRepoConfigurationError(
                f"a MongoDB store needs a MongoDBResource, got {type(resource).__name__}"
            )
        if collection is not None:
            check_collection_name(collection)
        self._resource = resource
        self._collection = collection or ""
        self._str_ids = False
        self._oid_ids = False
        self._as_hex = True
        self._oid_fields: frozenset[str] = frozenset()
        self._coll_cache: tuple[Any, Any] | None = None
        self._decimals = False
        self._walk = False
        self._transactions: bool | None = None

    def bind(self, layout: RowLayout) -> None:
        """Serve the repository of ``layout``: its id field, the ObjectId and Decimal fields of
        its model and, unless given, its collection."""
        self._check_unbound(layout)
        model_class = layout.model_class
        meta = getattr(model_class, "meta", None)
        name = (
            self._collection
            or layout.collection
            or (meta().collection if callable(meta) else None)
            or layout.repo
        )
        self._collection = check_collection_name(name)
        self._layout = layout
        self._name = layout.repo
        self._id = layout.id_field
        fields = model_class.model_fields
        annotation = fields[self._id].annotation
        args = typing.get_args(annotation) or (annotation,)
        self._str_ids = any(
            a is str or (typing.get_origin(a) is typing.Annotated and typing.get_args(a)[0] is str)
            for a in args
        )
        self._oid_ids = any(is_bson_object_id(a) for a in args)
        # A model that declares bson.ObjectId fields wants ObjectIds; every other model reads
        # them as the hex strings its str fields hold.
        self._as_hex = not mentions(model_class, is_bson_object_id)
        # Decimal fields read Decimal128: list() then decodes through the decoding collection.
        self._decimals = mentions(model_class, is_decimal)
        self._oid_fields = frozenset(
            name
            for name, info in fields.items()
            if any(is_object_id_str(m) for m in info.metadata)
            or mentions(info.annotation, is_object_id_str)
        )

    @property
    def resource(self) -> MongoDBResource:
        """The MongoDB resource."""
        return self._resource

    @property
    def collection_name(self) -> str:
        """The collection name."""
        return self._collection

    async def _coll(self) -> Any:
        """The collection with the client's codec options (datetimes aware UTC): documents as
        stored, ObjectIds and Decimal128 included."""
        await self._resource.ensure_connected()
        return self._resource.collection(self._collection)

    async def _decoding_coll(self) -> Any:
        """The collection decoding ObjectIds as hex strings (unless the model holds
        ``bson.ObjectId`` fields) and Decimal128 as Decimal, everywhere in a document.

        The driver then decodes each reply document in Python (about 0.7 us a document more), so
        ``list()`` uses it only for models with Decimal fields; aggregate() and distinct() always.
        """
        await self._resource.ensure_connected()
        db = self._resource.db
        cached = self._coll_cache
        if cached is not None and cached[0] is db:
            return cached[1]
        raw = self._resource.collection(self._collection)
        options = raw.codec_options.with_options(
            type_registry=AS_HEX if self._as_hex else KEEP_OBJECT_IDS
        )
        coll = raw.with_options(codec_options=options)
        self._coll_cache = (db, coll)
        return coll

    @asynccontextmanager
    async def _errors(self, operation: str) -> AsyncIterator[None]:
        try:
            yield
        except XRepoError:
            raise
        except XResourceError as exc:
            raise translate(exc, self._name, operation) from exc
        except pm_errors.DuplicateKeyError as exc:
            # The driver's error holds the duplicate value (maybe a secret): not chained.
            raise_alone(
                XRepoConflictError(
                    f"duplicate key: {short(exc)}", repo=self._name, operation=operation
                )
            )
        except UNENCODABLE as exc:
            raise_alone(
                XRepoValidationError(unencodable_message(exc), repo=self._name, operation=operation)
            )
        except (pm_errors.ConnectionFailure, pm_errors.ServerSelectionTimeoutError) as exc:
            raise XRepoConnectionError(
                f"MongoDB is unreachable: {short(exc)}", repo=self._name, operation=operation
            ) from exc
        except pm_errors.PyMongoError as exc:
            raise_alone(XRepoQueryError(short(exc), repo=self._name, operation=operation))

    def _doc_to_row(self, doc: dict[str, Any]) -> Row:
        if "_id" in doc:
            doc[self._id] = doc.pop("_id")
        return doc

    def _row_to_doc(self, row: Row) -> dict[str, Any]:
        id_field = self._id
        doc = {k: to_bson(v) for k, v in row.items() if k != id_field}
        if self._oid_fields:
            for name in self._oid_fields & doc.keys():
                doc[name] = to_object_ids(doc[name])
        key = row.get(id_field)
        if key is not None:  # else the driver assigns an ObjectId
            key = to_bson(key)
            doc["_id"] = to_object_ids(key) if id_field in self._oid_fields else key
        return doc

    # -- reads ----------------------------------------------------------------------------------
    async def select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> list[Row]:
        """Documents matching ``node`` as rows (``_id`` renamed to the id field)."""
        filt = to_mongo_filter(node, self._id)
        mongo_sort = [(("_id" if p == self._id else p), d) for p, d in sort]
        async with self._errors("list"):
            coll = await (self._decoding_coll() if self._decimals else self._coll())
            cursor = coll.find(
                filt,
                sort=mongo_sort or None,
                skip=skip,
                limit=limit or 0,
                session=ambient.current(self._resource),
            )
            docs: list[Row] = await cursor.to_list(None)
        id_field = self._id  # _doc_to_row inlined: this loop runs once per document read
        if self._str_ids and self._as_hex:
            for d in docs:
                if "_id" in d:
                    key = d.pop("_id")
                    d[id_field] = str(key) if key.__class__ is ObjectId else key
        else:
            for d in docs:
                if "_id" in d:
                    d[id_field] = d.pop("_id")
        if self._walk:
            docs = [as_read(d) for d in docs]
        return docs

    def repair_row(self, row: Row) -> Row | None:
        """``row`` as the model can read it, for a row the model refused; ``None``: nothing to
        repair.

        Without the decoding collection (:meth:`_decoding_coll`), ObjectIds in other fields
        than the id reach the model as they are: a ``str`` field holding one fails, and the
        repository asks here for the row with its ObjectIds as hex strings. From then on this
        store converts every row it selects (a collection that holds them keeps doing)."""
        fixed = as_read(row)
        if fixed is row:
            return None
        self._walk = True
        return fixed  # type: ignore[no-any-return]

    async def count(self, node: Node) -> int:
        async with self._errors("count"):
            coll = await self._coll()
            return int(
                await coll.count_documents(
                    to_mongo_filter(node, self._id), session=ambient.current(self._resource)
                )
            )

    async def distinct(self, path: str, node: Node) -> list[Any]:
        key = "_id" if path == self._id else path
        async with self._errors("distinct"):
            coll = await self._decoding_coll()
            values = await coll.distinct(
                key, to_mongo_filter(node, self._id), session=ambient.current(self._resource)
            )
        kind = self.layout.field_types.get(path)
        if kind is not None and kind.kind is Kind.LIST:
            # distinct() of a list field gives its elements
            kind = FieldType(kind.element) if kind.element is not None else None
        retype = retyped(kind)
        # An ObjectId and the string of its hex both read as that string: one value.
        seen: set[str] = set()
        out: list[Any] = []
        for v in values:
            if v is None:
                continue
            if retype:
                v = decode(kind, v)
            if v.__class__ is str:
                if v in seen:
                    continue
                seen.add(v)
            out.append(v)
        return out

    async def aggregate(self, stages: list[Stage]) -> list[Row]:
        pipeline = to_mongo_pipeline(stages, id_field=self._id, object_ids=self._as_hex)
        async with self._errors("aggregate"):
            coll = await self._decoding_coll()
            cursor = await coll.aggregate(pipeline, session=ambient.current(self._resource))
            docs: list[Row] = await cursor.to_list(None)
        # What BSON cannot say: dates are stored as datetimes, times and UUIDs as strings, a
        # float field may hold ints. Typed here from the fields each output comes from.
        kinds = pipeline_types(stages, self.layout.field_types)
        work = [(k, kind) for k, kind in kinds.items() if retyped(kind)]
        if work:
            for doc in docs:
                for key, kind in work:
                    head, dot, tail = key.partition(".")
                    if dot:  # a compound $group key: "_id.<name>" is doc["_id"][name]
                        holder = doc.get(head)
                        if isinstance(holder, dict) and tail in holder:
                            holder[tail] = decode(kind, holder[tail])
                    elif key in doc:
                        doc[key] = decode(kind, doc[key])
        return docs

    # -- writes ---------------------------------------------------------------------------------
    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A transaction's session, ambient for the block: the operations of every store on
        this resource run in it (a write and its audit entry commit together). Needs a replica
        set (:meth:`supports_transactions`)."""
        return ambient.open_transaction(self._resource)

    async def supports_transactions(self) -> bool:
        """Whether the server runs transactions (a replica set or a sharded cluster)."""
        if self._transactions is None:
            async with self._errors("hello"):
                await self._resource.ensure_connected()
                hello = await self._resource.db.command("hello")
            self._transactions = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"
        return self._transactions

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[Any]:
        """A transaction's session, or ``None`` on a standalone server (no transactions).

        Inside a caller's transaction (``store.transaction()``) that session is used."""
        joined = ambient.current(self._resource)
        if joined is not None:
            yield joined
        elif await self.supports_transactions():
            async with self._resource.transaction() as session:
                yield session
        else:
            yield None

    async def insert(self, rows: list[Row]) -> list[Row]:
        assigned: list[int] = []  # rows whose id the driver assigns
        for i, row in enumerate(rows):
            if row.get(self._id) is None:
                if not (self._str_ids or self._oid_ids):
                    raise XRepoValidationError(
                        f"item {i}: give an {self._id!r}; MongoDB assigns ids (ObjectIds) "
                        "only to str-typed or ObjectId-typed id fields",
                        repo=self._name,
                        operation="create",
                        item=i,
                    )
                assigned.append(i)
        docs = [self._row_to_doc(r) for r in rows]
        stored = self._as_stored(rows)
        operation = "create" if len(rows) == 1 else "bulk_create"
        async with self._errors(operation):
            coll = await self._coll()
            if len(docs) == 1:
                await coll.insert_one(docs[0], session=ambient.current(self._resource))
                return self._with_assigned_ids(stored, docs, assigned)
            try:
                async with self._session() as session:
                    try:
                        await coll.insert_many(docs, ordered=True, session=session)
                    except UNENCODABLE as exc:
                        # Raised while encoding a batch, so before or between the batches
                        # sent: the transaction (or the cleanup below) covers what went in.
                        index = first_unencodable(docs, coll.codec_options)
                        if session is None and index:
                            done = [d["_id"] for d in docs[:index] if "_id" in d]
                            await coll.delete_many({"_id": {"$in": done}})
                        raise _Failed(index, exc, unencodable_message(exc)) from exc
                    except pm_errors.BulkWriteError as exc:
                        errors = exc.details.get("writeErrors") or [{}]
                        index = errors[0].get("index")
                        if session is None and isinstance(index, int) and index > 0:
                            # No transaction: an ordered insert stopped at `index`; take back
                            # what went in before it.
                            done = [d["_id"] for d in docs[:index]]
                            await coll.delete_many({"_id": {"$in": done}})
                        raise _Failed(
                            index, exc, str(errors[0].get("errmsg", "write failed"))
                        ) from exc
            except _Failed as failed:
                kind: type[XRepoError] = (
                    XRepoConflictError
                    if isinstance(failed.error, pm_errors.BulkWriteError)
                    and ((failed.error.details.get("writeErrors") or [{}])[0].get("code") == 11000)
                    else XRepoValidationError
                    if isinstance(failed.error, UNENCODABLE)
                    else XRepoQueryError
                )
                raise_alone(
                    kind(
                        f"item {failed.item}: {short(failed.message)}; nothing was written",
                        repo=self._name,
                        operation=operation,
                        item=failed.item,
                    )
                )
        return self._with_assigned_ids(stored, docs, assigned)

    def _as_stored(self, rows: list[Row]) -> list[Row]:
        """``rows`` as a read returns them once stored (datetimes aware UTC, milliseconds); a
        row that storing does not change is returned as the same object."""
        out = rows
        for i, row in enumerate(rows):
            changed = None
            for k, v in row.items():
                if v.__class__ in PLAIN:
                    continue
                s = stored_value(v)
                if s is not v:
                    changed = changed or dict(row)
                    changed[k] = s
            if changed is not None:
                if out is rows:
                    out = list(rows)
                out[i] = changed
        return out

    def _with_assigned_ids(
        self, rows: list[Row], docs: list[dict[str, Any]], assigned: list[int]
    ) -> list[Row]:
        """The stored rows, with the ids the driver assigned (hex strings for str ids)."""
        if not assigned:
            return rows
        rows = list(rows)
        for i in assigned:
            oid = docs[i]["_id"]
            rows[i] = {**rows[i], self._id: str(oid) if self._str_ids else oid}
        return rows

    async def update_where(self, batch: list[UpdateItem]) -> list[int]:
        counts: list[int] = []
        async with self._errors("update"):
            coll = raw = await self._coll()
            async with self._session() as session:
                # Without a transaction, the documents an item changes are kept so that a
                # later failing item can put them back.
                saved: list[dict[str, Any]] = []
                try:
                    for i, (node, changes, conflict) in enumerate(batch):
                        filt = to_mongo_filter(node, self._id)
                        if session is None and len(batch) > 1:
                            saved.extend(await raw.find(filt).to_list(None))
                        result = await coll.update_many(
                            filt, self._update_doc(changes), session=session
                        )
                        if result.matched_count == 0 and conflict is not None:
                            found = await coll.count_documents(
                                to_mongo_filter(conflict, self._id), session=session
                            )
                            if found:
                                raise VersionConflict(i)
                        counts.append(result.matched_count)
                except BaseException:
                    for doc in reversed(saved):
                        await raw.replace_one({"_id": doc["_id"]}, doc)
                    raise
        return counts

    def _update_doc(self, changes: Row) -> dict[str, Any]:
        update: dict[str, Any] = {}
        oids = self._oid_fields
        sets = {
            k: to_object_ids(to_bson(v)) if k in oids else to_bson(v)
            for k, v in changes.items()
            if v is not INCREMENT
        }
        if sets:
            update["$set"] = sets
        incs = {k: 1 for k, v in changes.items() if v is INCREMENT}
        if incs:
            update["$inc"] = incs
        return update

    async def delete_where(self, node: Node) -> int:
        async with self._errors("delete"):
            coll = await self._coll()
            result = await coll.delete_many(
                to_mongo_filter(node, self._id), session=ambient.current(self._resource)
            )
            return int(result.deleted_count)
