"""The columnar engine of file resources: a DuckDB database in which the file is a view.

``FileResource.engine()`` opens an in-memory :class:`~xresource.databases.duckdb.DuckDBResource`
and creates one view over the file, through DuckDB's own readers (``read_csv``, ``read_json``,
``read_parquet``), which read it in parallel and never load it into Python. This module holds
what those views share: the extra check, SQL literals of the reader options, and the view.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xobj_prototype import MissingExtraError
from xresource.databases._duckdb_quiet import quiet_connect
from xresource.databases.dialect import DUCKDB

if TYPE_CHECKING:
    from xresource.databases.duckdb import DuckDBResource

__all__ = [
    "empty_relation",
    "engine_database",
    "file_pattern",
    "json_source",
    "line_buffer",
    "literal",
    "object_bound",
    "open_engine",
    "reader_call",
    "sniffed_columns",
    "spaced_quotes",
]

#: The extra that installs the engine.
EXTRA = "xresource[duckdb]"


def engine_database(**params: Any) -> DuckDBResource:
    """A new in-memory DuckDB resource, or :class:`MissingExtraError` naming the extra."""
    try:
        from xresource.databases.duckdb import DuckDBResource
    except ModuleNotFoundError as exc:
        if exc.name != "duckdb":
            raise
        raise MissingExtraError(
            f"the columnar engine of file resources needs DuckDB, which is not installed; "
            f"install it with: pip install '{EXTRA}'"
        ) from None
    return DuckDBResource(path=":memory:", **params)


def literal(value: Any) -> str:
    """``value`` as a DuckDB SQL literal (text, booleans, integers, lists and mappings of them).

    Views cannot take bound parameters, so reader options are written into the view's SQL:
    text is single-quoted with quotes doubled, NUL refused (nothing else needs escaping in a
    DuckDB string literal).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a NUL character cannot be written into an SQL literal")
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no SQL literal for a {type(value).__name__}")


_GLOB = re.compile(r"([\[*?])")


def file_pattern(path: str) -> str:
    """``path`` as DuckDB's readers take it: they expand ``*``, ``?`` and ``[...]`` as a glob
    (``x[1].csv`` would read ``x1.csv``), so each such character is a one-character class."""
    return _GLOB.sub(r"[\1]", path)


def reader_call(function: str, path: str, options: Mapping[str, Any]) -> str:
    """``read_csv('/path', delim = ';', ...)``: a DuckDB table function call over one file."""
    args = [
        literal(file_pattern(path)),
        *(f"{name} = {literal(value)}" for name, value in options.items()),
    ]
    return f"{function}({', '.join(args)})"


def empty_relation(names: list[str]) -> str:
    """A relation of text columns ``names`` (``column_1`` when none) and no rows: the view of a
    file that holds no records (a view needs a column)."""
    cols = ", ".join(f"NULL::VARCHAR AS {DUCKDB.quote(n)}" for n in names or ["column_1"])
    return f"(SELECT {cols} WHERE false)"


# A date, time, timestamp or UUID type in DuckDB's type text (a top-level type, or a field's
# type inside STRUCT(...)/[]: types follow a space and end at "," ")" "[" or the end; a field
# *name* is followed by a space, so it never matches).
_TEXT_LOOKALIKES = re.compile(
    r"(?:^|(?<= ))(?:TIMESTAMP WITH TIME ZONE|TIMESTAMP|DATE|TIME WITH TIME ZONE|TIME|UUID)"
    r"(?=[,)\[]|$)"
)

# The JSON type, at the top or nested (as above).
_JSON_TYPE = re.compile(r"(?:^|(?<= ))JSON(?=[,)\[]|$)")


def sniffed_columns(path: str, options: Mapping[str, Any], names: list[str]) -> dict[str, Any]:
    """``read_csv`` options that give ``names`` the types DuckDB's sniffer finds in the file
    (under ``options``, which hold its dialect and ``sample_size``): the columns, and the date
    and timestamp formats it detected. Sniffing once here, not in the view, spares every
    query over the view a sniffing pass of its own. Raises ``duckdb.Error``."""

    sniffing = {k: v for k, v in options.items() if k != "auto_detect"}  # sniff_csv refuses it
    with quiet_connect() as con:
        row = con.execute(
            "SELECT Columns, DateFormat, TimestampFormat FROM "  # noqa: S608
            + reader_call("sniff_csv", path, {**sniffing, "names": names})
        ).fetchone()
    assert row is not None  # sniff_csv answers one row
    columns, date_format, timestamp_format = row
    found = {str(c["name"]): str(c["type"]) for c in columns}
    typed: dict[str, Any] = {"columns": {n: found.get(n, "VARCHAR") for n in names}}
    if date_format:
        typed["dateformat"] = date_format
    if timestamp_format:
        typed["timestampformat"] = timestamp_format
    return typed


#: DuckDB's own max_line_size: its CSV reader allocates buffers after it, per thread.
_DEFAULT_LINE = 2 << 20


def line_buffer(longest: int) -> dict[str, int]:
    """``read_csv`` options for records of at most ``longest`` bytes: ``max_line_size`` (a
    longer one fails the query) and a buffer of twice that, as DuckDB needs room for a line
    that crosses buffers. A fixed large bound is no option: DuckDB allocates its buffers after
    it (``max_line_size`` 1 GiB held 2 GB of memory on any CSV over 1 GB, and a count of 18
    million rows took 7.8 s instead of 1.7 s)."""
    line = max(_DEFAULT_LINE, longest)
    return {"max_line_size": line, "buffer_size": 2 * line}


#: DuckDB's own maximum_object_size for JSON.
_DEFAULT_OBJECT = 16 << 20


def object_bound(path: Path, *, lines: bool) -> int:
    """``read_json``'s ``maximum_object_size`` for ``path``: DuckDB allocates its buffers
    after it (1 GiB held 1.5 GB of memory on a 1.5 GB JSON Lines file, 155 MB at the
    default). For JSON Lines the longest line, as :meth:`read` parses one document per line
    (a scan of the bytes: 0.7 s per 1.5 GB, against the full pass the view's typing takes
    anyway); else the whole file, up to DuckDB's 1 GiB; DuckDB's default at least."""
    size = path.stat().st_size
    if lines:
        with path.open("rb") as fh:
            size = max(map(len, fh), default=0)
    return max(_DEFAULT_OBJECT, min(size + 1, 1 << 30))


def spaced_quotes(path: str, *, delimiter: str, quote: str, encoding: str, longest: int) -> bool:
    """Whether a line of the CSV file has spaces or tabs between a quote and a delimiter (or the
    line's start or end, or another quote): ``a, "b"``, ``"a" ,b``, ``"a" ""``.

    Python's ``csv`` reads such a field as text, quotes and spaces included (a quote opens a
    field only right after the delimiter); DuckDB trims the spaces and unquotes it. One scan
    of the file's lines (a cheap filter first) tells; a quoted value that holds such text makes
    it say ``True`` too, which only costs the caller its fallback. ``longest``: the most bytes
    a record can take (see :func:`line_buffer`). Raises ``duckdb.Error``.
    """

    d, q = re.escape(delimiter), re.escape(quote)
    # Spaces before an opening quote, after a closing one, or between a closing quote and a
    # quote (`"a" ""`: Python keeps ' ""', DuckDB drops it).
    # (A quote right after the delimiter opens a value: " " is a quoted space, not that.)
    pattern = f"(^|{d})[ \t]+{q}|{q}[ \t]+({d}|\r?$)|[^{d}]{q}[ \t]+{q}"
    lines = reader_call(
        "read_csv",
        path,
        {
            "columns": {"line": "VARCHAR"},
            # Whole lines: no quoting, and a delimiter no text file holds.
            "delim": "\x01\x02\x03",
            "quote": "",
            "escape": "",
            "header": False,
            "auto_detect": False,
            "strict_mode": False,
            "encoding": encoding,
            "nullstr": "\n",
            **line_buffer(longest),  # a line is no longer than the record that holds it
        },
    )
    near = " OR ".join(
        f"contains(line, {literal(a + b)})"
        for a, b in ((" ", quote), (quote, " "), ("\t", quote), (quote, "\t"))
    )
    sql = (
        f"SELECT EXISTS (SELECT 1 FROM {lines} WHERE ({near}) "  # noqa: S608
        f"AND regexp_matches(line, {literal(pattern)}))"
    )
    with quiet_connect() as con:
        row = con.execute(sql).fetchone()
    return bool(row and row[0])


def json_source(path: str, options: Mapping[str, Any]) -> str:
    """The table expression reading a JSON file with the values ``json.loads`` gives.

    DuckDB infers the columns from every record; two of its inferences are undone: text it would
    parse as dates, times or UUIDs stays text (``read()`` keeps them as strings), and a field
    whose values have different JSON types (a number here, a text there), which DuckDB reads as
    JSON text, is a ``VARIANT`` (also inside structs and lists), so that each value comes back
    as itself. Raises ``duckdb.Error`` when DuckDB
    cannot read the file.
    """

    with quiet_connect() as con:
        described = con.execute(
            f"DESCRIBE SELECT * FROM {reader_call('read_json', path, options)}"  # noqa: S608
        ).fetchall()
    columns = {str(row[0]): _TEXT_LOOKALIKES.sub("VARCHAR", str(row[1])) for row in described}
    if not columns:
        return empty_relation([])
    source = reader_call("read_json", path, {**options, "columns": columns})
    mixed = {
        name: _JSON_TYPE.sub("VARIANT", kind)
        for name, kind in columns.items()
        if _JSON_TYPE.search(kind)
    }
    if not mixed:
        return source
    casts = ", ".join(f"{DUCKDB.quote(n)}::{t} AS {DUCKDB.quote(n)}" for n, t in mixed.items())
    return f"(SELECT * REPLACE ({casts}) FROM {source})"  # noqa: S608 - quoted names


@asynccontextmanager
async def open_engine(db: DuckDBResource, view: str, source: str) -> AsyncIterator[DuckDBResource]:
    """``db`` connected, with ``view`` defined as ``SELECT * FROM <source>``."""
    async with db:
        await db.execute(f"CREATE VIEW {DUCKDB.quote(view)} AS SELECT * FROM {source}")  # noqa: S608
        yield db
