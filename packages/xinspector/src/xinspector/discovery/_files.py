"""Files: CSV and Excel type inference, JSON and YAML with nesting, in one streaming pass.

CSV files are read here with the resource's own dialect (path, encoding, delimiter, quoting,
header) by ``csv.reader`` in a worker thread, chunk by chunk, and profiled column-wise as text:
this is both the schema discovery and the profile (one pass, bounded memory). Excel, JSON and
YAML files go through the resource's ``read_stream``: their cells are already typed values;
nested JSON/YAML records also feed a :class:`~xinspector.RecordSchemaBuilder`
so that nested objects and arrays keep their structure.
"""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from xinspector._errors import XInspectorError, XInspectorNotFoundError
from xinspector._schema import CollectionSchema, FieldSchema, SourceKind
from xinspector.discovery._samples import RecordSchemaBuilder
from xinspector.profiling._options import ProfileOptions, ProgressCallback, gc_paused
from xinspector.profiling._stats import FieldStatistics
from xinspector.profiling._streaming import StreamingProfiler

__all__ = ["FileProfile", "profile_file", "schema_from_statistics"]

_PARSE_BATCH = 500


class FileProfile:
    """What one pass over a file yields: schema, statistics and the first records."""

    def __init__(
        self,
        schema: CollectionSchema,
        total: int,
        fields: dict[str, FieldStatistics],
        sample_rows: list[dict[str, Any]],
    ) -> None:
        self.schema = schema
        self.total = total
        self.fields = fields
        self.sample_rows = sample_rows


def schema_from_statistics(
    name: str,
    total: int,
    stats: dict[str, FieldStatistics],
    *,
    kind: SourceKind = "file",
    source: str | None = None,
) -> CollectionSchema:
    """A schema from column statistics (the types they inferred, nulls, lengths, samples)."""
    fields: dict[str, FieldSchema] = {}
    for col, fs in stats.items():
        type_name = fs.type if fs.type != "None" else "Any"
        field = FieldSchema(
            type=type_name,
            required=True,
            nullable=fs.null_count > 0,
            cardinality=fs.cardinality,
            sample_values=list(fs.sample_values),
        )
        # A file declares nothing: lengths, scales, formats and value sets are what the rows
        # held, recorded as observed facts (information for the model, not validators).
        if fs.format == "json":
            field.format = "json"
        elif fs.format is not None:
            field.set_observed("format", fs.format)
        if type_name == "str" and fs.max_length is not None:
            field.set_observed("max_length", fs.max_length)
        if type_name == "Decimal" and fs.model_extra and "decimal_places" in fs.model_extra:
            field.set_observed("decimal_places", fs.model_extra["decimal_places"])
        if fs.is_categorical and fs.distinct_values is not None and type_name in {"str", "int"}:
            field.set_observed("enum", list(fs.distinct_values))
        fields[col] = field
    return CollectionSchema(
        name=name, kind=kind, source=source, fields=fields, row_estimate=total, sample_size=total
    )


def _names(header: list[str]) -> list[str]:
    # Same rule as the CSV resource: blank names get a position, duplicates a suffix.
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, raw in enumerate(header, start=1):
        name = raw.strip() or f"column_{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _csv_pass(
    resource: Any,
    options: ProfileOptions,
    report: ProgressCallback | None,
) -> tuple[int, dict[str, FieldStatistics], list[dict[str, Any]]]:
    path: Path = resource.resolve_path("profile")
    target = resource.display_name
    if not path.is_file():
        raise XInspectorNotFoundError(
            f"file {str(path)!r} does not exist; check the path",
            target=target,
            operation="profile_data",
        )
    profiler = StreamingProfiler(options=options, progress=report)
    samples: list[dict[str, Any]] = []
    header_opt = getattr(resource, "header", True)
    encoding = getattr(resource, "read_encoding", None) or resource.encoding
    try:
        with (
            gc_paused(options.pause_gc),
            path.open(
                encoding=encoding, errors=getattr(resource, "encoding_errors", "strict"), newline=""
            ) as fh,
        ):
            reader = csv.reader(
                fh,
                delimiter=resource.delimiter,
                quotechar=resource.quotechar,
                escapechar=getattr(resource, "escapechar", None),
                doublequote=True,
            )
            skip_blank = getattr(resource, "skip_blank_lines", True)
            # Blank lines (empty rows) are dropped per batch, on the ragged-row slow path: a
            # per-row filter would cost as much as the parsing.
            rows_iter: Iterator[list[str]] = reader
            first: list[list[str]] = []
            if isinstance(header_opt, list):
                names = list(header_opt)
            else:
                row = next(rows_iter, None)
                while row is not None and not row and skip_blank:
                    row = next(rows_iter, None)
                if row is None:
                    return 0, {}, []
                if header_opt:
                    names = _names(row)
                else:
                    names = [f"column_{i}" for i in range(1, len(row) + 1)]
                    first = [row]
            width = len(names)
            pending = first
            profilers = [profiler.column(n) for n in names]

            def fresh() -> list[list[str] | Counter[str]]:
                # Columns of few repeated values are counted batch by batch (their cells are
                # freed at once, only the distinct values stay); the others keep their cells.
                return [Counter() if p.wants_counts else [] for p in profilers]

            parts = fresh()
            buffered = 0
            while True:
                # Small parse batches, transposed right away: each batch of row lists is freed
                # (and its memory reused) before the next one is read.
                rows = pending + list(islice(rows_iter, _PARSE_BATCH - len(pending)))
                pending = []
                done = not rows
                if rows:
                    if set(map(len, rows)) != {width}:
                        # Blank lines go; in ragged rows missing cells are nulls and extra
                        # cells are ignored.
                        rows = [
                            r[:width] + [""] * (width - len(r)) if len(r) != width else r
                            for r in rows
                            if r or not skip_blank
                        ]
                    if len(samples) < options.sample_size:
                        samples.extend(
                            dict(zip(names, r, strict=True))
                            for r in rows[: options.sample_size - len(samples)]
                        )
                    for part, values in zip(parts, zip(*rows, strict=True), strict=True):
                        if isinstance(part, Counter):
                            part.update(values)
                        else:
                            part.extend(values)
                    buffered += len(rows)
                if buffered and (done or buffered >= options.chunk_size):
                    profiler.add_text_parts(names, parts, buffered)
                    parts = fresh()
                    buffered = 0
                if done:
                    break
    except UnicodeDecodeError as exc:
        raise XInspectorError(
            f"file {str(path)!r} is not valid {encoding} text ({exc.reason} at byte "
            f"{exc.start}); pass the right encoding= to the resource",
            target=target,
            operation="profile_data",
        ) from None
    except csv.Error as exc:
        raise XInspectorError(
            f"file {str(path)!r} is not valid CSV: {exc}", target=target, operation="profile_data"
        ) from None
    total, fields = profiler.finish()
    for name in names:
        fields.setdefault(name, FieldStatistics(name=name, type="Any"))
    return total, fields, samples


async def profile_file(
    resource: Any,
    collection: str | None,
    *,
    options: ProfileOptions,
    progress: ProgressCallback | None = None,
) -> FileProfile:
    """Schema, statistics and sample records of a CSV, Excel, JSON or YAML resource."""
    kind = resource.resource_type
    name = collection or resource.stem
    loop = asyncio.get_running_loop()

    def report(done: int, total: int | None) -> None:
        if progress is not None:
            loop.call_soon_threadsafe(progress, done, total)

    if kind == "csv":
        if collection is not None and collection != resource.stem:
            raise XInspectorNotFoundError(
                f"collection {collection!r} not found: the CSV file holds one table, "
                f"{resource.stem!r}",
                target=resource.display_name,
                operation="discover_schema",
            )
        await resource.ensure_connected()
        total, fields, samples = await asyncio.to_thread(_csv_pass, resource, options, report)
        schema = schema_from_statistics(name, total, fields, source=kind)
        return FileProfile(schema, total, fields, samples)
    profiler = StreamingProfiler(options=options, progress=progress)
    builder = RecordSchemaBuilder(
        categorical_threshold=options.categorical_threshold, refine_strings=kind != "excel"
    )
    samples = []
    async for chunk in resource.read_stream(
        chunk_size=min(options.chunk_size, 10_000), collection=collection
    ):
        builder.add_many(chunk)
        profiler.add_rows(chunk)
        if len(samples) < options.sample_size:
            samples.extend(chunk[: options.sample_size - len(samples)])
    total, fields = profiler.finish()
    schema = builder.build(name, kind="file", source=kind)
    schema.row_estimate = total
    for col, fs in fields.items():
        field = schema.fields.get(col)
        if field is None:
            continue
        if kind == "excel" and field.type == "str" and fs.type != "str":
            field.type = fs.type
        field.cardinality = fs.cardinality
    return FileProfile(schema, total, fields, samples)
