"""The same records in the oracle (a plain mongod collection, inserted with pymongo) and in every
xrepo backend: memory, SQLite file, PostgreSQL, MariaDB, MongoDB through xrepo, a DuckDB file, a
JSON file, and a JSON Lines and a Parquet file queried where they lie by the DuckDB engine."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.collection import Collection
from repo_backends import mongo_collections, mongo_db_url, sql_tables

from differential.data import ORDERS
from differential.model import ORDER_DDL, REC_DDL, Order, Rec, oracle_doc
from differential.queries import paths_values
from xrepo import MaterializedRepo, XRepo, XRepoFactory
from xresource import ResourceFactory

BACKENDS = [
    "memory", "sqlite", "postgresql", "mysql", "mongodb", "duckdb", "json", "jsonl-engine",
    "parquet",
]  # fmt: skip
ORACLE_DB = "xrepo_differential"


@dataclass
class Loaded:
    """One dataset, loaded everywhere."""

    data: list[dict[str, Any]]
    oracle: Collection[Any]
    seen: dict[str, list[Any]]
    repos: dict[str, XRepo[Any]] = field(default_factory=dict)
    orders: dict[str, str] = field(default_factory=dict)  # backend -> $lookup source name
    resources: dict[str, Any] = field(default_factory=dict)  # backend -> its resource
    collections: dict[str, str] = field(default_factory=dict)  # backend -> table/collection
    load_errors: dict[str, str] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def load_all(
    datasets: list[list[dict[str, Any]]], urls: dict[str, str], tmp: Path, client: MongoClient[Any]
) -> AsyncIterator[list[Loaded]]:
    """Every dataset loaded into the oracle and every backend; all dropped on exit."""
    async with contextlib.AsyncExitStack() as stack:
        out: list[Loaded] = []
        oracle_names: list[str] = []
        try:
            for k, data in enumerate(datasets):
                name = f"t_diff_{uuid.uuid4().hex[:8]}_{k}"
                coll = client[ORACLE_DB][name]
                client[ORACLE_DB][f"{name}_orders"].insert_many([oracle_doc(o) for o in ORDERS])
                oracle_names += [name, f"{name}_orders"]
                coll.insert_many([oracle_doc(r) for r in data])
                loaded = Loaded(data=data, oracle=coll, seen=paths_values(data))
                for backend in BACKENDS:
                    try:
                        await _load(stack, loaded, backend, name, urls, tmp)
                    except Exception as exc:  # a backend that cannot take the data is a finding
                        loaded.load_errors[backend] = f"{type(exc).__name__}: {exc}"
                out.append(loaded)
            yield out
        finally:
            for n in oracle_names:
                client[ORACLE_DB].drop_collection(n)


async def _load(
    stack: contextlib.AsyncExitStack,
    loaded: Loaded,
    backend: str,
    name: str,
    urls: dict[str, str],
    tmp: Path,
) -> None:
    name = f"{name}_{backend}"  # never the oracle's own collection
    orders = f"{name}_orders"
    loaded.orders[backend] = orders
    loaded.collections[backend] = name
    repo: XRepo[Any]
    if backend == "memory":
        order_repo = MaterializedRepo(model_class=Order, data=ORDERS)
        repo = MaterializedRepo(model_class=Rec, data=loaded.data, name=name,
                                related={orders: order_repo})  # fmt: skip
    elif backend == "json":
        resource = ResourceFactory.create("json", path=str(tmp / f"{name}.json"),
                                          create_if_missing=True)  # fmt: skip
        repo = await XRepoFactory.create(resource=resource, model_class=Rec, name=name)
        await repo.bulk_create(loaded.data)
        assert isinstance(repo, MaterializedRepo)
        repo.add_related(orders, ORDERS)
        loaded.resources[backend] = resource
    elif backend in ("jsonl-engine", "parquet"):
        # Queried where they lie by the DuckDB engine (the factory's default for both). No
        # $lookup there (the engine holds the file alone): refused by name, as the suite accepts.
        kind, suffix = ("json", "jsonl") if backend == "jsonl-engine" else ("parquet", "parquet")
        resource = ResourceFactory.create(kind, path=str(tmp / f"{name}.{suffix}"),
                                          create_if_missing=True)  # fmt: skip
        repo = await XRepoFactory.create(resource=resource, model_class=Rec, name=name,
                                         lookups=[orders])  # fmt: skip
        await repo.bulk_create(loaded.data)
        loaded.resources[backend] = resource
    elif backend == "mongodb":
        resource = await stack.enter_async_context(
            mongo_collections(mongo_db_url(urls["mongodb"], ORACLE_DB), [name, orders])
        )
        repo = await XRepoFactory.create(resource=resource, model_class=Rec, collection=name,
                                         lookups=[orders])  # fmt: skip
        await repo.bulk_create(loaded.data)
        order_repo = await XRepoFactory.create(resource=resource, model_class=Order,
                                               collection=orders)  # fmt: skip
        await order_repo.bulk_create(ORDERS)
        loaded.resources[backend] = resource
    else:
        url = {
            "sqlite": f"sqlite:///{tmp / f'{name}.db'}",
            "duckdb": f"duckdb:///{tmp / f'{name}.duckdb'}",
        }.get(backend) or urls[backend]
        resource = await stack.enter_async_context(
            sql_tables(url, {name: REC_DDL[backend], orders: ORDER_DDL[backend]})
        )
        repo = await XRepoFactory.create(resource=resource, model_class=Rec, collection=name,
                                         soft_delete=False, lookups=[orders])  # fmt: skip
        await repo.bulk_create(loaded.data)
        order_repo = await XRepoFactory.create(resource=resource, model_class=Order,
                                               collection=orders, soft_delete=False)  # fmt: skip
        await order_repo.bulk_create(ORDERS)
        loaded.resources[backend] = resource
    loaded.repos[backend] = repo
