# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""SQLite: ``json_extract``/``json_each`` paths, a ``REGEXP`` function, exact substring tests."""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from xrepo.compile.sql.base import SQLCompiler

__all__ = ["SQLiteCompiler"]


class SQLiteCompiler(SQLCompiler):
    """The compiler of SQLite (values the driver cannot bind become text or floats)."""

    no_limit = "-1"

    @staticmethod
    def adapt(value: Any) -> Any:
        value = SQLCompiler.adapt(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, _dt.datetime | _dt.date | _dt.time):
            return value.isoformat()
        if isinstance(value, Decimal):
            return float(value)
        return value

    def nested(
        self, col: str, segs: Sequence[str], filtering: Any, for_output: bool
    ) -> tuple[str, bool]:
        return f"json_extract({col}, {self.p(self.json_path(segs))})", False

    def array_contains(self, e: str, value: Any) -> str:
        return f"EXISTS (SELECT 1 FROM json_each({e}) AS je WHERE je.value = {self.p(value)})"

    def like(self, e: str, op: str, value: str) -> str:
        if op.startswith("i"):
            return super().like(e, op, value)
        # SQLite's LIKE ignores ASCII case; instr/substr compare exactly.
        v = self.p(value)
        if op == "contains":
            return f"(instr({e}, {v}) > 0)"
        if op == "startswith":
            return f"(substr({e}, 1, length({v})) = {v})"
        return f"(length({e}) >= length({v}) AND substr({e}, -length({v})) = {v})"

    def regex(self, e: str, pattern: str, flags: str) -> str:
        self.check_regex_flags(flags)
        if not self.regexp:
            raise self.error(
                "$regex needs a REGEXP function on this SQLite connection; use "
                "__contains/__startswith or register one"
            )
        return f"({e} REGEXP {self.p(('(?i)' if 'i' in flags else '') + pattern)})"

    def array_agg(self, e: str, *, distinct: bool, ordered: str) -> str:
        return f"json_group_array({'DISTINCT ' if distinct else ''}{e})"

    def unwind_source(
        self, source: str, col: str, u: str, kind: Any, *, preserve: bool
    ) -> tuple[str, str, str, bool]:
        join = "LEFT JOIN" if preserve else "JOIN"
        return f"{source} {join} json_each({col}) AS {u} ON 1=1", f"{u}.value", f"{u}.key", False

    def rows_as_json(self, source: str, alias: str, cols: Sequence[str], on: str) -> str:
        pairs = ", ".join(f"{self.p(c)}, {alias}.{self.q(c)}" for c in cols)
        return (
            f"(SELECT json_group_array(json_object({pairs})) FROM {source} AS {alias} WHERE {on})"
        )
