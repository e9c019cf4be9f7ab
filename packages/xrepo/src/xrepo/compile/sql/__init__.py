"""Compile filters, sorts and pipelines to SQL text with bound parameters, one compiler per dialect.

:mod:`.base` holds the statement structure every SQL database shares; :mod:`.postgres`,
:mod:`.mysql` (MariaDB and MySQL) and :mod:`.sqlite` hold what each database does differently,
so the semantics of one dialect read in one place::

    compiler = compiler_for(resource.dialect, columns=["id", "name"])
    sql, params = compiler.select('"users"', parse_filter({"name": "Ada"}))
"""

from __future__ import annotations

from typing import Any

from xrepo.compile.sql.base import CompiledPipeline, SQLCompiler, finalize
from xrepo.compile.sql.mysql import MySQLCompiler
from xrepo.compile.sql.postgres import PostgresCompiler
from xrepo.compile.sql.sqlite import SQLiteCompiler
from xresource.databases.dialect import SQLDialect

__all__ = [
    "CompiledPipeline",
    "MySQLCompiler",
    "PostgresCompiler",
    "SQLCompiler",
    "SQLiteCompiler",
    "adapt_value",
    "compiler_for",
    "finalize",
]

_COMPILERS: dict[str, type[SQLCompiler]] = {
    "postgresql": PostgresCompiler,
    "mysql": MySQLCompiler,
    "sqlite": SQLiteCompiler,
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
