"""MongoDB schemas from a server-side sample (``$sample``), the indexes and the validator.

Documents are sampled on the server (``$sample``, size configurable) and folded by
:class:`~xinspector.RecordSchemaBuilder`: type unions, nested documents as
nested fields, arrays with their element types, optional fields by presence frequency. The
collection's indexes and any ``$jsonSchema`` validator are read from the server; fields the
validator declares but the sample never showed are added from it.

An ``_id`` holding ObjectIds is the primary key and is not required (``auto_increment``): MongoDB
assigns one to a document inserted without it. ObjectId fields become ``ObjectIdStr`` fields in
generated models (the 24-character hex string).
"""

from __future__ import annotations

from typing import Any

from xinspector._errors import XInspectorNotFoundError
from xinspector._schema import CollectionSchema, FieldSchema, IndexSchema
from xinspector._types import BSON_TYPES, MONGO_CODE_POINTS, split_union, unify_types
from xinspector.discovery._samples import RecordSchemaBuilder

__all__ = ["discover_mongodb", "field_from_json_schema"]


def field_from_json_schema(spec: dict[str, Any], *, required: bool) -> FieldSchema:
    """A :class:`FieldSchema` from one property of a MongoDB ``$jsonSchema``."""
    raw = spec.get("bsonType", spec.get("type", "Any"))
    names = raw if isinstance(raw, list) else [raw]
    mapped = [BSON_TYPES.get(str(n), "Any") for n in names]
    nullable = "None" in mapped
    mapped = [m for m in mapped if m != "None"] or ["Any"]
    fs = FieldSchema(
        type=" | ".join(dict.fromkeys(mapped)),
        required=required,
        nullable=nullable,
        description=spec.get("description"),
    )
    if "enum" in spec:
        fs.enum = list(spec["enum"])
    for src, dst in (
        ("maxLength", "max_length"),
        ("minLength", "min_length"),
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("exclusiveMinimum", "exclusive_minimum"),
        ("exclusiveMaximum", "exclusive_maximum"),
    ):
        if src in spec:
            setattr(fs, dst, spec[src])
    if fs.type == "object" and isinstance(spec.get("properties"), dict):
        req = set(spec.get("required", []))
        fs.fields = {
            k: field_from_json_schema(v, required=k in req) for k, v in spec["properties"].items()
        }
    if fs.type == "list" and isinstance(spec.get("items"), dict):
        fs.items = field_from_json_schema(spec["items"], required=True)
    return fs


def _get(name: str) -> dict[str, Any]:
    return {"$getField": {"field": {"$literal": name}, "input": "$$ROOT"}}


def _child(parent: Any, name: str) -> dict[str, Any]:
    # $getField fails on a non-document input: a parent that is not one yields "missing".
    if parent == "$$ROOT":
        return _get(name)
    return {
        "$cond": [
            {"$eq": [{"$type": parent}, "object"]},
            {"$getField": {"field": {"$literal": name}, "input": parent}},
            "$$REMOVE",
        ]
    }


_MAX_VERIFIED_PATHS = 300


def _relax(fs: FieldSchema) -> None:
    fs.required = False
    fs.nullable = True
    for child in (fs.fields or {}).values():
        _relax(child)


def _type_expression(expr: Any, *, uuids: bool) -> Any:
    """The BSON type name of ``expr``, or ``uuid`` for a UUID (16 bytes of binary subtype 4)
    when the client reads those as ``uuid.UUID`` (``uuidRepresentation='standard'``, the
    resource's default), as the sampled documents are typed: a UUID field must not turn
    ``UUID | bytes`` past the sample. BSON orders binary data by length, then subtype, then
    bytes, so the UUIDs are exactly the values between the least and the greatest."""
    kind = {"$type": expr}
    if not uuids:
        return kind
    from bson.binary import Binary  # the MongoDB extra's: only MongoDB resources get here

    lo, hi = Binary(bytes(16), 4), Binary(b"\xff" * 16, 4)
    return {"$cond": [{"$and": [{"$gte": [expr, lo]}, {"$lte": [expr, hi]}]}, "uuid", kind]}


def _reads_uuids(resource: Any) -> bool:
    """Whether the resource's client decodes binary subtype 4 as ``uuid.UUID``."""
    from bson.binary import UuidRepresentation

    options = resource.db.codec_options
    return bool(options.uuid_representation == UuidRepresentation.STANDARD)


async def _verify_fields(
    resource: Any, collection: str, schema: CollectionSchema, total: int
) -> None:
    """Correct what a sample cannot know with one server-side pass: for every field (nested
    documents included, up to a bound), how many of the documents holding its parent lack it
    or hold null, and every BSON type it holds."""
    paths: list[tuple[FieldSchema, Any, Any]] = []  # (field, its expression, parent expression)

    def walk(fields: dict[str, FieldSchema], parent: Any) -> None:
        # Breadth first: when the bound cuts, the shallow fields (the ones most models use)
        # are the verified ones.
        queue: list[tuple[dict[str, FieldSchema], Any]] = [(fields, parent)]
        while queue:
            level, base = queue.pop(0)
            for name, fs in level.items():
                if len(paths) >= _MAX_VERIFIED_PATHS:
                    # Beyond the bound nothing is known for sure: never require it.
                    _relax(fs)
                    continue
                expr = _child(base, name)
                paths.append((fs, expr, base))
                if fs.fields:
                    queue.append((fs.fields, expr))

    # Every top-level key of the collection, sampled or not (one pass on the server).
    keys = await resource.aggregate(
        collection,
        [
            {"$project": {"_id": 0, "k": {"$objectToArray": "$$ROOT"}}},
            {"$unwind": "$k"},
            {"$group": {"_id": "$k.k"}},
            {"$limit": _MAX_VERIFIED_PATHS},
        ],
        allow_disk_use=True,
        collation=MONGO_CODE_POINTS,
    )
    for key in sorted(str(k["_id"]) for k in keys):
        if key not in schema.fields:
            schema.fields[key] = FieldSchema(type="Any", required=False, nullable=True)
    walk(schema.fields, "$$ROOT")
    group: dict[str, Any] = {"_id": None}
    uuids = _reads_uuids(resource)
    for i, (_, expr, parent) in enumerate(paths):
        kind = {"$type": expr}
        in_parent = True if parent == "$$ROOT" else {"$eq": [{"$type": parent}, "object"]}
        group[f"p{i}"] = {"$sum": {"$cond": [in_parent, 1, 0]}}
        group[f"m{i}"] = {
            "$sum": {"$cond": [{"$and": [in_parent, {"$eq": [kind, "missing"]}]}, 1, 0]}
        }
        group[f"n{i}"] = {"$sum": {"$cond": [{"$eq": [kind, "null"]}, 1, 0]}}
        group[f"t{i}"] = {"$addToSet": _type_expression(expr, uuids=uuids)}
    rows = await resource.aggregate(
        collection, [{"$group": group}], allow_disk_use=True, collation=MONGO_CODE_POINTS
    )
    if not rows:
        return
    row = rows[0]
    for i, (fs, _, _) in enumerate(paths):
        parents, missing, nulls = int(row[f"p{i}"]), int(row[f"m{i}"]), int(row[f"n{i}"])
        fs.required = missing == 0
        fs.nullable = missing > 0 or nulls > 0
        fs.presence = round((parents - missing) / parents, 6) if parents else 0.0
        seen = [
            "UUID" if t == "uuid" else BSON_TYPES.get(t, "Any")
            for t in row[f"t{i}"]
            if t not in ("missing", "null")
        ]
        for extra in seen:
            if extra not in fs.type.split(" | ") and not (extra == "int" and fs.type == "float"):
                fs.type = unify_types(fs.type, extra) if fs.type != "Any" else extra
                if "object" not in fs.type:
                    fs.fields = None
                if "list" not in fs.type:
                    fs.items = None


async def discover_mongodb(
    resource: Any, collection: str, *, sample_size: int = 1000, categorical_threshold: int = 100
) -> CollectionSchema:
    """Sample ``collection`` and describe it (see the module docstring)."""
    await resource.ensure_connected()
    target = resource.display_name
    names = await resource.list_collections_or_tables()
    if collection not in names:
        shown = ", ".join(names[:20]) or "(none)"
        raise XInspectorNotFoundError(
            f"collection {collection!r} not found; available: {shown}",
            target=target,
            operation="discover_schema",
        )
    total = await resource.count(collection)
    pipeline: list[dict[str, Any]] = (
        [{"$sample": {"size": int(sample_size)}}] if total > sample_size else []
    )
    builder = RecordSchemaBuilder(
        categorical_threshold=categorical_threshold, complete=not pipeline
    )
    async for batch in resource.aggregate_stream(
        collection, pipeline or [{"$match": {}}], collation=MONGO_CODE_POINTS
    ):
        builder.add_many(batch)
    schema = builder.build(collection, kind="collection", source="mongodb")
    schema.row_estimate = total
    if pipeline and schema.fields:
        await _verify_fields(resource, collection, schema, total)
    coll = resource.collection(collection)
    cursor = await coll.list_indexes()
    async for ix in cursor:
        keys = list(ix["key"].keys())
        schema.indexes.append(
            IndexSchema(
                name=ix["name"],
                fields=keys,
                unique=bool(ix.get("unique")) or ix["name"] == "_id_",
                primary=ix["name"] == "_id_",
                definition=str(dict(ix["key"])),
            )
        )
    infos = await resource.db.list_collections(filter={"name": collection})
    async for info in infos:
        validator = (info.get("options") or {}).get("validator") or {}
        json_schema = validator.get("$jsonSchema")
        if isinstance(json_schema, dict):
            schema.validator = json_schema
            required = set(json_schema.get("required", []))
            for key, spec in (json_schema.get("properties") or {}).items():
                if key not in schema.fields and isinstance(spec, dict):
                    schema.fields[key] = field_from_json_schema(spec, required=key in required)
                elif key in schema.fields and isinstance(spec, dict):
                    # The validator declares; what the sample showed stays for the rest.
                    declared = field_from_json_schema(spec, required=key in required)
                    for attr in ("enum", "max_length", "min_length", "minimum", "maximum"):
                        value = getattr(declared, attr)
                        if value is not None:
                            schema.fields[key].set_declared(attr, value)
    if "_id" in schema.fields:
        schema.primary_key = ["_id"]
        key = schema.fields["_id"]
        key.primary_key = True
        key.unique = True
        if "ObjectId" in split_union(key.type):
            # MongoDB assigns an ObjectId to a document inserted without _id: every document
            # has one, yet a model must not require it on create.
            key.required = False
            key.auto_increment = True
    for ix in schema.indexes:
        if ix.unique and len(ix.fields) == 1 and ix.fields[0] in schema.fields:
            schema.fields[ix.fields[0]].unique = True
            if ix.fields[0] != "_id":
                schema.unique_constraints.append(list(ix.fields))
    return schema
