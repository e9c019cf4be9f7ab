"""The columnar engine of file resources: a DuckDB database in which the file is a view.

``FileResource.engine()`` opens an in-memory :class:`~xresource.databases.duckdb.DuckDBResource`
and creates one view over the file, through DuckDB's own readers (``read_csv``, ``read_json``,
``read_parquet``), which read it in parallel and never load it into Python. This module holds
what those views share: the extra check, SQL literals of the reader options, and the view.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from xobj_prototype import MissingExtraError
from xresource.databases.dialect import DUCKDB

if TYPE_CHECKING:
    from xresource.databases.duckdb import DuckDBResource

__all__ = ["engine_database", "literal", "open_engine", "reader_call"]

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


def reader_call(function: str, path: str, options: Mapping[str, Any]) -> str:
    """``read_csv('/path', delim = ';', ...)``: a DuckDB table function call over one file."""
    args = [literal(path), *(f"{name} = {literal(value)}" for name, value in options.items())]
    return f"{function}({', '.join(args)})"


@asynccontextmanager
async def open_engine(view: str, source: str) -> AsyncIterator[DuckDBResource]:
    """A connected in-memory DuckDB in which ``view`` is ``SELECT * FROM <source>``."""
    db = engine_database()
    async with db:
        await db.execute(f"CREATE VIEW {DUCKDB.quote(view)} AS SELECT * FROM {source}")  # noqa: S608
        yield db
