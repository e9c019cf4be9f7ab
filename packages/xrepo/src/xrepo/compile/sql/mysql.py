# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""MariaDB and MySQL: ``JSON_VALUE``/``JSON_TABLE`` paths, PCRE regexes, binary ``LIKE``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from xrepo.compile.sql.base import SQLCompiler

__all__ = ["MySQLCompiler"]

#: SQL types of unwound array elements, by the list's declared element type.
_ELEMENT_TYPES: dict[Any, str] = {str: "VARCHAR(4096)", int: "BIGINT", float: "DOUBLE"}


class MySQLCompiler(SQLCompiler):
    """The compiler of MariaDB and MySQL."""

    no_limit = "18446744073709551615"

    @staticmethod
    def adapt(value: Any) -> Any:
        value = SQLCompiler.adapt(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        return value

    def nested(
        self, col: str, segs: Sequence[str], filtering: Any, for_output: bool
    ) -> tuple[str, bool]:
        if for_output:
            return f"JSON_EXTRACT({col}, {self.p(self.json_path(segs))})", True
        return f"JSON_VALUE({col}, {self.p(self.json_path(segs))})", False

    def array_contains(self, e: str, value: Any) -> str:
        return f"COALESCE(JSON_CONTAINS({e}, JSON_ARRAY({self.p(value)})), 0)"

    def like(self, e: str, op: str, value: str) -> str:
        sql = super().like(e, op, value)
        if op.startswith("i"):
            return sql
        # LIKE follows the column's collation; BINARY compares exactly.
        return sql.replace(" LIKE ", " LIKE BINARY ", 1)

    def regex(self, e: str, pattern: str, flags: str) -> str:
        self.check_regex_flags(flags)
        prefix = "(?i)" if "i" in flags else "(?-i)"
        return f"({e} REGEXP {self.p(prefix + pattern)})"

    def array_agg(self, e: str, *, distinct: bool, ordered: str) -> str:
        order = f" ORDER BY {ordered}" if ordered else ""
        return f"COALESCE(JSON_ARRAYAGG({'DISTINCT ' if distinct else ''}{e}{order}), JSON_ARRAY())"

    def unwind_source(
        self, source: str, col: str, u: str, kind: Any, *, preserve: bool
    ) -> tuple[str, str, str, bool]:
        sql_type = _ELEMENT_TYPES.get(kind, "JSON")
        join = "LEFT JOIN" if preserve else "CROSS JOIN"
        joined = (
            f"{source} {join} JSON_TABLE({col}, '$[*]' COLUMNS (n FOR ORDINALITY, "
            f"elem {sql_type} PATH '$')) AS {u}" + (" ON 1=1" if preserve else "")
        )
        return joined, f"{u}.elem", f"{u}.n", sql_type == "JSON"

    def rows_as_json(self, source: str, alias: str, cols: Sequence[str], on: str) -> str:
        pairs = ", ".join(f"{self.p(c)}, {alias}.{self.q(c)}" for c in cols)
        return (
            f"(SELECT COALESCE(JSON_ARRAYAGG(JSON_OBJECT({pairs})), JSON_ARRAY()) "
            f"FROM {source} AS {alias} WHERE {on})"
        )
