"""``ConnectedMongoRepo``: a repository over one MongoDB collection, queried natively.

Filters become MongoDB filters, pipelines MongoDB pipelines (:mod:`xrepo.compile.mongo`); the
server does the filtering, sorting, paging and aggregation. The id field is stored as ``_id``.
Bulk writes run in a transaction (MongoDB must run as a replica set): a failing item aborts the
whole batch and is named in the error.
"""

from __future__ import annotations

import typing
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from pydantic import PrivateAttr
from pymongo import errors as pm_errors

from xrepo.compile.mongo import check_collection_name, to_bson, to_mongo_filter, to_mongo_pipeline
from xrepo.errors import (
    XRepoConfigurationError,
    XRepoConflictError,
    XRepoConnectionError,
    XRepoError,
    XRepoQueryError,
    XRepoValidationError,
)
from xrepo.query.filters import Node
from xrepo.query.pipeline import SortKey, Stage
from xrepo.repos.base import INCREMENT, RepoMetadata, Row, T, UpdateItem, VersionConflict, XRepo
from xrepo.repos.connected import ConnectedRepo
from xrepo.repos.errors_map import translate
from xrepo.secure import ambient
from xresource.databases.mongodb import MongoDBResource
from xresource.errors import XResourceError

__all__ = ["ConnectedMongoRepo"]


class _Failed(Exception):
    def __init__(self, item: int | None, error: Exception, message: str) -> None:
        super().__init__(item)
        self.item = item
        self.error = error
        # The server's message only: the full error echoes the document, which may hold secrets.
        self.message = message


class ConnectedMongoRepo(XRepo[T]):
    """A repository over a MongoDB collection.

    Args:
        resource: a connected or connectable :class:`~xresource.MongoDBResource`.
        model_class: the model of the documents.
        collection: the collection (default: ``metadata.collection``, the model's
            ``Meta.collection``, then the repository name).
    """

    backend = "mongodb"
    #: Writes join a caller's transaction (a write and its audit entry commit together).
    ambient_transactions: ClassVar[bool] = True

    _resource: MongoDBResource = PrivateAttr()
    _collection: str = PrivateAttr()
    _str_ids: bool = PrivateAttr(default=False)
    _transactions: bool | None = PrivateAttr(default=None)

    def __init__(
        self,
        *,
        resource: MongoDBResource,
        model_class: type[T],
        collection: str | None = None,
        metadata: RepoMetadata | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(resource, MongoDBResource):
            raise XRepoConfigurationError(
                f"ConnectedMongoRepo needs a MongoDBResource, got {type(resource).__name__}"
            )
        super().__init__(model_class=model_class, metadata=metadata, **kwargs)
        self._resource = resource
        meta = getattr(model_class, "meta", None)
        name = (
            collection
            or self.metadata.collection
            or (meta().collection if callable(meta) else None)
            or self.metadata.name
        )
        self._collection = check_collection_name(name)
        self.metadata.collection = name
        self.metadata.resource_name = resource.name
        annotation = model_class.model_fields[self.id_field].annotation
        args = typing.get_args(annotation) or (annotation,)
        self._str_ids = str in args

    @property
    def resource(self) -> MongoDBResource:
        """The MongoDB resource."""
        return self._resource

    @property
    def collection_name(self) -> str:
        """The collection name."""
        return self._collection

    async def _coll(self) -> Any:
        await self._resource.ensure_connected()
        return self._resource.collection(self._collection)

    @asynccontextmanager
    async def _errors(self, operation: str) -> AsyncIterator[None]:
        try:
            yield
        except XRepoError:
            raise
        except XResourceError as exc:
            raise translate(exc, self.name, operation) from exc
        except pm_errors.DuplicateKeyError as exc:
            raise XRepoConflictError(
                f"duplicate key: {_short(exc)}", repo=self.name, operation=operation
            ) from exc
        except (pm_errors.ConnectionFailure, pm_errors.ServerSelectionTimeoutError) as exc:
            raise XRepoConnectionError(
                f"MongoDB is unreachable: {_short(exc)}", repo=self.name, operation=operation
            ) from exc
        except pm_errors.PyMongoError as exc:
            raise XRepoQueryError(_short(exc), repo=self.name, operation=operation) from exc

    def _doc_to_row(self, doc: dict[str, Any]) -> Row:
        if "_id" in doc:
            doc[self.id_field] = doc.pop("_id")
        return doc

    def _row_to_doc(self, row: Row) -> dict[str, Any]:
        doc = {k: to_bson(v) for k, v in row.items() if k != self.id_field}
        doc["_id"] = to_bson(row[self.id_field])
        return doc

    # -- reads ----------------------------------------------------------------------------------
    async def _select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> list[Row]:
        filt = to_mongo_filter(node, self.id_field)
        mongo_sort = [(("_id" if p == self.id_field else p), d) for p, d in sort]
        async with self._errors("list"):
            coll = await self._coll()
            cursor = coll.find(
                filt,
                sort=mongo_sort or None,
                skip=skip,
                limit=limit or 0,
                session=ambient.current(self._resource),
            )
            docs: list[Row] = await cursor.to_list(None)
        id_field = self.id_field  # _doc_to_row inlined: this loop runs once per document read
        for d in docs:
            if "_id" in d:
                d[id_field] = d.pop("_id")
        return docs

    async def _count(self, node: Node) -> int:
        async with self._errors("count"):
            coll = await self._coll()
            return int(
                await coll.count_documents(
                    to_mongo_filter(node, self.id_field), session=ambient.current(self._resource)
                )
            )

    async def _distinct(self, path: str, node: Node) -> list[Any]:
        key = "_id" if path == self.id_field else path
        async with self._errors("distinct"):
            coll = await self._coll()
            values = await coll.distinct(
                key, to_mongo_filter(node, self.id_field), session=ambient.current(self._resource)
            )
        return [v for v in values if v is not None]

    async def _aggregate(self, stages: list[Stage]) -> list[Row]:
        pipeline = to_mongo_pipeline(stages, id_field=self.id_field)
        async with self._errors("aggregate"):
            coll = await self._coll()
            cursor = await coll.aggregate(pipeline, session=ambient.current(self._resource))
            return list(await cursor.to_list(None))

    # -- writes ---------------------------------------------------------------------------------
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

        Inside a caller's transaction (:mod:`xrepo.secure.ambient`) that session is used."""
        joined = ambient.current(self._resource)
        if joined is not None:
            yield joined
        elif await self.supports_transactions():
            async with self._resource.transaction() as session:
                yield session
        else:
            yield None

    async def _insert(self, rows: list[Row]) -> list[Row]:
        for i, row in enumerate(rows):
            if row.get(self.id_field) is None:
                if not self._str_ids:
                    raise XRepoValidationError(
                        f"item {i}: give an {self.id_field!r}; MongoDB generates ids only for "
                        "str-typed id fields",
                        repo=self.name,
                        operation="create",
                        item=i,
                    )
                row[self.id_field] = uuid.uuid4().hex
        docs = [self._row_to_doc(r) for r in rows]
        operation = "create" if len(rows) == 1 else "bulk_create"
        async with self._errors(operation):
            coll = await self._coll()
            if len(docs) == 1:
                await coll.insert_one(docs[0], session=ambient.current(self._resource))
                return rows
            try:
                async with self._session() as session:
                    try:
                        await coll.insert_many(docs, ordered=True, session=session)
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
                    else XRepoQueryError
                )
                raise kind(
                    f"item {failed.item}: {_short(failed.message)}; nothing was written",
                    repo=self.name,
                    operation=operation,
                    item=failed.item,
                ) from None
        return rows

    async def _update_where(self, batch: list[UpdateItem]) -> list[int]:
        counts: list[int] = []
        async with self._errors("update"):
            coll = await self._coll()
            async with self._session() as session:
                # Without a transaction, the documents an item changes are kept so that a
                # later failing item can put them back.
                saved: list[dict[str, Any]] = []
                try:
                    for i, (node, changes, conflict) in enumerate(batch):
                        filt = to_mongo_filter(node, self.id_field)
                        if session is None and len(batch) > 1:
                            saved.extend(await coll.find(filt).to_list(None))
                        result = await coll.update_many(
                            filt, self._update_doc(changes), session=session
                        )
                        if result.matched_count == 0 and conflict is not None:
                            found = await coll.count_documents(
                                to_mongo_filter(conflict, self.id_field), session=session
                            )
                            if found:
                                raise VersionConflict(i)
                        counts.append(result.matched_count)
                except BaseException:
                    for doc in reversed(saved):
                        await coll.replace_one({"_id": doc["_id"]}, doc)
                    raise
        return counts

    @staticmethod
    def _update_doc(changes: Row) -> dict[str, Any]:
        update: dict[str, Any] = {}
        sets = {k: to_bson(v) for k, v in changes.items() if v is not INCREMENT}
        if sets:
            update["$set"] = sets
        incs = {k: 1 for k, v in changes.items() if v is INCREMENT}
        if incs:
            update["$inc"] = incs
        return update

    async def _delete_where(self, node: Node) -> int:
        async with self._errors("delete"):
            coll = await self._coll()
            result = await coll.delete_many(
                to_mongo_filter(node, self.id_field), session=ambient.current(self._resource)
            )
            return int(result.deleted_count)


def _short(exc: object) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "..."


ConnectedRepo.register(ConnectedMongoRepo)
