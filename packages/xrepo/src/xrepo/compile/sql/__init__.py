"""Compile filters, sorts and pipelines to SQL text with bound parameters, one compiler per dialect.

:class:`SQLCompiler` holds what every SQL database shares (private modules: expressions and
filters, ``$lookup``/``$unwind``, statements and pipelines); :class:`PostgresCompiler`,
:class:`MySQLCompiler` (MariaDB and MySQL), :class:`SQLiteCompiler` and :class:`DuckDBCompiler`
hold what each database does differently, so the semantics of one dialect read in one place::

    compiler = compiler_for(resource.dialect, columns=["id", "name"])
    sql, params = compiler.select('"users"', parse_filter({"name": "Ada"}))

SQLite lacks functions the compiled SQL uses: register :data:`SQLITE_FUNCTIONS` on every
connection (the SQL repository does).
"""

from __future__ import annotations

from typing import Any

from xrepo.compile.sql._compiler import SQLCompiler
from xrepo.compile.sql._duckdb import DuckDBCompiler
from xrepo.compile.sql._mysql import MySQLCompiler
from xrepo.compile.sql._postgres import PostgresCompiler
from xrepo.compile.sql._sqlite import SQLiteCompiler
from xrepo.compile.sql._sqlite_functions import (
    SQLITE_FUNCTIONS,
    canonical_datetime,
    regex_timed_out,
)
from xrepo.compile.sql._statement import CompiledPipeline, finalize, json_text
from xresource import SQLDialect

__all__ = [
    "SQLITE_FUNCTIONS",
    "CompiledPipeline",
    "DuckDBCompiler",
    "MySQLCompiler",
    "PostgresCompiler",
    "SQLCompiler",
    "SQLiteCompiler",
    "adapt_value",
    "canonical_datetime",
    "compiler_for",
    "finalize",
    "json_text",
    "regex_timed_out",
]

_COMPILERS: dict[str, type[SQLCompiler]] = {
    "postgresql": PostgresCompiler,
    "mysql": MySQLCompiler,
    "sqlite": SQLiteCompiler,
    "duckdb": DuckDBCompiler,
}


def compiler_class(dialect: SQLDialect) -> type[SQLCompiler]:
    """The compiler class of ``dialect`` (a ``ValueError`` names an unknown one)."""
    try:
        return _COMPILERS[dialect.name]
    except KeyError:
        raise ValueError(
            f"no SQL compiler for dialect {dialect.name!r}; known: {', '.join(_COMPILERS)}"
        ) from None


def compiler_for(dialect: SQLDialect, **options: Any) -> SQLCompiler:
    """A fresh compiler of ``dialect``; ``options`` are :class:`SQLCompiler`'s arguments."""
    return compiler_class(dialect)(dialect, **options)


def adapt_value(dialect: SQLDialect, value: Any) -> Any:
    """A Python value as the driver of ``dialect`` binds it (JSON text for dicts and lists)."""
    return compiler_class(dialect).adapt(value)
