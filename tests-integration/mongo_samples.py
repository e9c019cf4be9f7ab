"""Load the public MongoDB sample datasets of ``../shared/datasets`` into a MongoDB database.

Shared by the integration suites (xresource, xinspector, xrepo)::

    from mongo_samples import load_mongo_sample

    counts = await load_mongo_sample(mongo_resource, "sample_mflix")
    # {"sessions": 1, "theaters": 1564, "users": 185}

Datasets (names):

- ``sample_analytics``, ``sample_mflix``, ``sample_geospatial``, ``sample_training``: the Atlas
  samples in ``mongodb_atlas_sample/<db>/<collection>.json`` (canonical Extended JSON v2, one
  document per line), with the indexes of
  ``mongodb_atlas_sample/indexes/<db>.<coll>.metadata.json``;
- ``mongodb_json_files``: ``mongodb_json_files/<collection>.json`` (legacy/relaxed Extended JSON:
  ``{"$oid": ...}``, ``{"$date": "<ISO string>"}``, plain numbers).

The expected document counts are read from each folder's ``SOURCE.md``. Loading is idempotent:
a collection whose count already matches is left alone. Otherwise the documents go into a
scratch collection that is renamed over the target in one step, so concurrent test runs never
see a half-loaded collection and never insert twice.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

from bson import json_util
from bson.json_util import CANONICAL_JSON_OPTIONS, RELAXED_JSON_OPTIONS, JSONOptions
from pymongo import AsyncMongoClient, IndexModel
from pymongo.errors import OperationFailure

__all__ = ["ATLAS_DATASETS", "DATASETS", "datasets_root", "expected_counts", "load_mongo_sample"]

ATLAS_DATASETS = ("sample_analytics", "sample_geospatial", "sample_mflix", "sample_training")
DATASETS = (*ATLAS_DATASETS, "mongodb_json_files")

_BATCH = 1000
# `| `sample_analytics/accounts.json` | 302693 | 1746 | ...` -> (file, documents)
_ROW = re.compile(r"^\|\s*`(?P<file>[^`]+\.json)`\s*\|\s*\d+\s*\|\s*(?P<docs>\d+)\s*\|", re.M)


def datasets_root() -> Path:
    """``$XTEST_DATASETS`` or ``../shared/datasets`` beside the checkout."""
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
    return Path(os.environ.get("XTEST_DATASETS", str(default)))


def _folder(name: str, root: Path) -> Path:
    if name not in DATASETS:
        raise ValueError(f"unknown MongoDB sample {name!r}; known: {', '.join(DATASETS)}")
    folder = "mongodb_json_files" if name == "mongodb_json_files" else "mongodb_atlas_sample"
    return root / folder


def expected_counts(name: str, root: Path | None = None) -> dict[str, int]:
    """Collection -> document count of dataset ``name``, as its ``SOURCE.md`` states them."""
    folder = _folder(name, root or datasets_root())
    text = (folder / "SOURCE.md").read_text(encoding="utf-8")
    counts: dict[str, int] = {}
    for match in _ROW.finditer(text):
        file = match["file"]
        if name == "mongodb_json_files":
            if "/" not in file:
                counts[file.removesuffix(".json")] = int(match["docs"])
        elif file.startswith(f"{name}/"):
            counts[file.removeprefix(f"{name}/").removesuffix(".json")] = int(match["docs"])
    if not counts:
        raise ValueError(f"{folder / 'SOURCE.md'} lists no files of {name!r}")
    return counts


def _read_documents(path: Path, options: JSONOptions) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue  # sample_mflix/sessions.json ends with a blank line
            try:
                docs.append(json_util.loads(line, json_options=options))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not Extended JSON: {exc}") from None
    return docs


def _read_indexes(path: Path) -> list[IndexModel]:
    if not path.is_file():
        return []
    meta = json_util.loads(path.read_text(encoding="utf-8"))
    models = []
    for spec in meta.get("indexes", []):
        if spec.get("name") == "_id_":
            continue
        keys = [(k, int(v) if isinstance(v, int | float) else v) for k, v in spec["key"].items()]
        options = {k: v for k, v in spec.items() if k not in ("v", "key", "ns", "background")}
        models.append(IndexModel(keys, **options))
    return models


async def _connect(client_or_resource: Any) -> None:
    # A client answers any attribute with a database, so ask the type, not the object.
    if not isinstance(client_or_resource, AsyncMongoClient) and hasattr(
        type(client_or_resource), "ensure_connected"
    ):
        await client_or_resource.ensure_connected()


def _client_of(client_or_resource: Any) -> AsyncMongoClient[dict[str, Any]]:
    if isinstance(client_or_resource, AsyncMongoClient):
        return client_or_resource
    client = getattr(client_or_resource, "client", None)  # MongoDBResource (connected)
    if isinstance(client, AsyncMongoClient):
        return client
    raise TypeError(
        "load_mongo_sample needs an AsyncMongoClient or a connected MongoDBResource, "
        f"got {type(client_or_resource).__name__}"
    )


async def load_mongo_sample(
    client_or_resource: Any,
    name: str,
    *,
    database: str | None = None,
    root: Path | None = None,
) -> dict[str, int]:
    """Load sample ``name`` into ``database`` (default: ``name``); collection -> count.

    ``client_or_resource`` is an ``AsyncMongoClient`` or a ``MongoDBResource`` (connected on
    demand). Raises ``ValueError`` when a file's document count differs from its ``SOURCE.md``.
    """
    await _connect(client_or_resource)
    client = _client_of(client_or_resource)
    base = root or datasets_root()
    folder = _folder(name, base)
    db = client[database or name]
    expected = expected_counts(name, base)
    is_atlas = name in ATLAS_DATASETS
    options = CANONICAL_JSON_OPTIONS if is_atlas else RELAXED_JSON_OPTIONS
    loaded: dict[str, int] = {}
    for collection, count in sorted(expected.items()):
        target = db[collection]
        if await target.count_documents({}) == count:
            loaded[collection] = count
            continue
        source = folder / name / f"{collection}.json" if is_atlas else folder / f"{collection}.json"
        docs = await asyncio.to_thread(_read_documents, source, options)
        if len(docs) != count:
            raise ValueError(f"{source} holds {len(docs)} documents, SOURCE.md says {count}")
        scratch = db[f"{collection}.loading_{uuid.uuid4().hex[:8]}"]
        try:
            for start in range(0, len(docs), _BATCH):
                await scratch.insert_many(docs[start : start + _BATCH], ordered=True)
            indexes = (
                _read_indexes(
                    base / "mongodb_atlas_sample" / "indexes" / f"{name}.{collection}.metadata.json"
                )
                if is_atlas
                else []
            )
            if indexes:
                await scratch.create_indexes(indexes)
            # One atomic step: readers see the old collection or the complete new one.
            await scratch.rename(collection, dropTarget=True)
        except BaseException:
            await scratch.drop()
            raise
        loaded[collection] = count
    return loaded


async def drop_loaded(client_or_resource: Any, database: str) -> None:
    """Drop a database a test loaded a sample into under its own name."""
    await _connect(client_or_resource)
    with suppress(OperationFailure):  # already gone
        await _client_of(client_or_resource).drop_database(database)
