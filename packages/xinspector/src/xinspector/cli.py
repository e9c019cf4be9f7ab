"""The ``xinspector`` command line.

::

    xinspector inspect URL [--collection C] [--format json|yaml|table]
    xinspector schema URL [--collection C] [--format json|yaml]
    xinspector generate URL --collection C [--model-name M] [--enums] [--strict-observed]
                        [--include-samples] [--out models.py]
    xinspector report URL [--collection C] [--out profile.html] [--title T]
    xinspector diff OLD.json NEW.json

Commands that read a source show progress on stderr when stderr is a terminal (records done and
the total when known, rate, elapsed time); ``--progress`` / ``--no-progress`` force it on or off.
``report`` writes one self-contained HTML page (histograms, quantiles, top values, alerts).

URLs are resource URLs (``postgresql://user@host/db``, ``sqlite:///app.db``,
``mongodb://host/db``, ``data/orders.csv``...). Passwords never reach the output: the resource
is named by its display name. Exit status: 0 success, 1 an error (message on stderr), 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from xinspector.__about__ import __version__
from xinspector._diff import diff_schemas
from xinspector._inspector import XInspector
from xinspector._progress import ProgressLine, wants_progress
from xinspector.models._source_model import model_to_source
from xinspector.profiling._stats import InspectionResult
from xinspector.report._alerts import quality_alerts
from xinspector.report._html import render_report
from xobj_prototype import XError, redact_text
from xresource import ResourceFactory

__all__ = ["main", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """``value`` with every non-JSON type turned into JSON (ISO dates, decimal text, base64)."""
    if isinstance(value, BaseModel):
        return to_jsonable(value.model_dump(by_alias=True))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return str(value)


def _dump(data: Any, fmt: str) -> str:
    plain = to_jsonable(data)
    if fmt == "yaml":
        try:
            import yaml  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise XError("YAML output needs PyYAML: pip install 'xinspector[cli]'") from None
        return str(yaml.safe_dump(plain, sort_keys=False, allow_unicode=True))
    return json.dumps(plain, indent=2, ensure_ascii=False) + "\n"


def _cell(value: Any, width: int = 24) -> str:
    text = "" if value is None else str(to_jsonable(value))
    text = text.replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(result: InspectionResult) -> str:
    """A Markdown table of the fields of an inspection, with a header line."""
    lines = [
        f"{result.source} / {result.collection}: {result.total_count} records"
        f"{' (computed by the database)' if result.pushdown else ''}",
        "",
        "| field | type | nulls | unique | min | max | mean | top value |",
        "| --- | --- | ---: | ---: | --- | --- | ---: | --- |",
    ]
    for name, fs in result.field_statistics.items():
        top = fs.top_values[0] if fs.top_values else None
        mean = f"{fs.mean:.4g}" if fs.mean is not None else ""
        unique = f"{fs.unique_count}{'' if fs.unique_exact else '~'}"
        lines.append(
            f"| {_cell(name)} | {_cell(fs.type)}{' ?' if fs.null_count else ''} | "
            f"{fs.null_count} | {unique} | {_cell(fs.min)} | {_cell(fs.max)} | {mean} | "
            f"{_cell(top.value) + f' ({top.count})' if top else ''} |"
        )
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    # A temporary file beside the target, then a rename: never a half-written output. Created
    # with os.open(0o666) so the umask applies as to any new file (mkstemp would make it 0600).
    for folder in (path.parent, *path.parent.parents):
        if folder.exists() and not folder.is_dir():
            raise XError(f"cannot write {path}: {folder} is a file, not a folder")
    if path.is_dir():
        raise XError(f"cannot write {path}: it is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise XError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise XError(
            f"{path} is not JSON ({exc.msg} at line {exc.lineno}); give a schema "
            "written by 'xinspector schema URL --format json'"
        ) from None


async def _run(args: argparse.Namespace) -> str:
    if args.command == "diff":
        return _dump(
            [c.model_dump() for c in diff_schemas(_read_json(args.old), _read_json(args.new))],
            args.format,
        )
    resource = ResourceFactory.from_url(args.url)
    progress = None
    if wants_progress(sys.stderr, args.progress):
        # The URL as given (its password masked) names the source better than a display name.
        target = redact_text(args.url) + (f" / {args.collection}" if args.collection else "")
        progress = ProgressLine(sys.stderr, f"{args.command} {target}")
        progress.start()
    try:
        return await _inspect(args, resource, progress)
    finally:
        if progress is not None:
            await progress.finish()


async def _inspect(args: argparse.Namespace, resource: Any, progress: ProgressLine | None) -> str:
    async with resource:
        inspector = XInspector(
            resource,
            sample_size=args.sample_size,
            progress=progress.update if progress is not None else None,
        )
        if args.command == "report":
            result = await inspector.inspect(args.collection)
            page = render_report(result, title=args.title)
            if not args.out:
                return page
            await asyncio.to_thread(_write_atomic, Path(args.out), page)
            alerts = quality_alerts(result)
            return (
                f"wrote the profile of {result.collection} ({result.total_count:,} records, "
                f"{len(result.field_statistics)} columns, {len(alerts)} alert(s)) to {args.out}\n"
            )
        if args.command == "inspect":
            result = await inspector.inspect(args.collection)
            if args.format == "table":
                return render_table(result)
            return _dump(result.model_dump(by_alias=True), args.format)
        if args.command == "schema":
            return _dump(await inspector.discover_schema(args.collection), args.format)
        model = await inspector.generate_model(
            args.collection,
            model_name=args.model_name,
            enums=args.enums,
            profile=args.profile,
            strict_observed=args.strict_observed,
        )
        source = model_to_source(model, include_samples=args.include_samples)
        if args.out:
            await asyncio.to_thread(_write_atomic, Path(args.out), source)
            return f"wrote {model.__name__} to {args.out}\n"
        return source


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``xinspector`` command."""
    parser = argparse.ArgumentParser(
        prog="xinspector",
        description="Inspect data sources: schemas, statistics and generated Pydantic models.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("url", help="resource URL or file path")
        p.add_argument("--collection", "-c", help="table, collection, sheet or endpoint")
        p.add_argument(
            "--sample-size",
            type=int,
            default=1000,
            help="documents or items to sample (MongoDB, REST)",
        )
        p.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="progress on stderr (default: when stderr is a terminal)",
        )

    p_inspect = sub.add_parser("inspect", help="schema and statistics")
    common(p_inspect)
    p_inspect.add_argument("--format", "-f", choices=("json", "yaml", "table"), default="table")
    p_schema = sub.add_parser("schema", help="the schema dict only")
    common(p_schema)
    p_schema.add_argument("--format", "-f", choices=("json", "yaml"), default="json")
    p_gen = sub.add_parser("generate", help="a Pydantic model as Python source")
    common(p_gen)
    p_gen.add_argument("--out", "-o", help="write the module here (default: stdout)")
    p_gen.add_argument("--model-name", help="class name (default: from the collection)")
    p_gen.add_argument(
        "--enums", action="store_true", help="Literal types for low-cardinality fields"
    )
    p_gen.add_argument(
        "--strict-observed",
        action="store_true",
        help="make facts only seen in the data (longest string, values seen) validators too",
    )
    p_gen.add_argument(
        "--include-samples",
        action="store_true",
        help="write sample and observed values from the data into the module",
    )
    p_gen.add_argument(
        "--profile", action="store_true", help="profile first (cardinality, samples, enums)"
    )
    p_report = sub.add_parser(
        "report", help="a self-contained HTML page: histograms, quantiles, top values, alerts"
    )
    common(p_report)
    p_report.add_argument("--out", "-o", help="write the page here (default: stdout)")
    p_report.add_argument("--title", help="the page title (default: the collection's name)")
    p_diff = sub.add_parser("diff", help="compare two schema JSON files")
    p_diff.add_argument("old")
    p_diff.add_argument("new")
    p_diff.add_argument("--format", "-f", choices=("json", "yaml"), default="json")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        output = asyncio.run(_run(args))
    except XError as exc:
        print(f"xinspector: error: {redact_text(exc.message)}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"xinspector: error: {redact_text(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    sys.stdout.write(output)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
