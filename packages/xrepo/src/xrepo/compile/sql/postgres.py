# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""PostgreSQL: ``jsonb`` paths and containment, POSIX regexes, typed casts of JSON values."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from xrepo.compile.sql.base import SQLCompiler

__all__ = ["PostgresCompiler", "pg_cast"]


def pg_cast(value: Any) -> str:
    """The PostgreSQL type a JSON-path text is cast to before it is compared with ``value``."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double precision"
    if isinstance(value, Decimal):
        return "numeric"
    if isinstance(value, _dt.datetime):
        return "timestamptz"
    if isinstance(value, _dt.date):
        return "date"
    return "text"


class PostgresCompiler(SQLCompiler):
    """The compiler of PostgreSQL (asyncpg binds Python values natively)."""

    false = "FALSE"
    no_limit = None

    @staticmethod
    def adapt(value: Any) -> Any:
        return SQLCompiler.adapt(value)

    def nested(
        self, col: str, segs: Sequence[str], filtering: Any, for_output: bool
    ) -> tuple[str, bool]:
        self.json_path(segs)
        if for_output:
            return f"({col}::jsonb #> {self.p_raw(list(segs))}::text[])", True
        text = f"({col}::jsonb #>> {self.p_raw(list(segs))}::text[])"
        if filtering is not None and not isinstance(filtering, str):
            return f"({text})::{pg_cast(filtering)}", False
        return text, False

    def array_contains(self, e: str, value: Any) -> str:
        return (
            f"COALESCE({e}::jsonb @> jsonb_build_array({self.p(value)}::{pg_cast(value)}), FALSE)"
        )

    def regex(self, e: str, pattern: str, flags: str) -> str:
        self.check_regex_flags(flags)
        return f"({e} {'~*' if 'i' in flags else '~'} {self.p(pattern)})"

    def order_term(self, e: str, path: str, direction: int) -> str:
        if path == self.id_field:
            # NULLS FIRST would stop PostgreSQL from walking the primary key's index; the id is
            # never null, so it needs none.
            return super().order_term(e, path, direction)
        return f"{e} ASC NULLS FIRST" if direction > 0 else f"{e} DESC NULLS LAST"

    def literal(self, value: Any) -> str:
        return f"CAST({self.p(value)} AS {pg_cast(value)})"

    def array_agg(self, e: str, *, distinct: bool, ordered: str) -> str:
        order = f" ORDER BY {ordered}" if ordered else ""
        return f"COALESCE(json_agg({'DISTINCT ' if distinct else ''}{e}{order}), '[]'::json)"

    def unwind_source(
        self, source: str, col: str, u: str, kind: Any, *, preserve: bool
    ) -> tuple[str, str, str, bool]:
        fn = "jsonb_array_elements" if kind is None else "jsonb_array_elements_text"
        join = "LEFT JOIN LATERAL" if preserve else "CROSS JOIN LATERAL"
        joined = f"{source} {join} {fn}({col}::jsonb) WITH ORDINALITY AS {u}(elem, n)" + (
            " ON TRUE" if preserve else ""
        )
        elem = f"{u}.elem"
        if kind is not None and kind is not str:
            elem = f"({elem})::{pg_cast(kind())}"
        return joined, elem, f"{u}.n", kind is None

    def rows_as_json(self, source: str, alias: str, cols: Sequence[str], on: str) -> str:
        return (
            f"(SELECT COALESCE(json_agg(row_to_json({alias})), '[]'::json) "
            f"FROM {source} AS {alias} WHERE {on})"
        )
