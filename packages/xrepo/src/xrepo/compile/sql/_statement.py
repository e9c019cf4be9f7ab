"""SQL text and statement shapes shared by every dialect: parameter markers renumbered in text
order (:func:`finalize`), ``LIKE`` patterns, type-checked number literals, the block of a
statement being built (``_Block``) and a compiled pipeline with what turns its rows into
documents (:class:`CompiledPipeline`).

While compiling, every parameter is written as a private marker (``\\x00<n>\\x00``) and the
markers are renumbered in text order at the end, so fragments can be nested in any order and
still come out right for positional styles (``?``, ``%s``) as for numbered ones (``$1``).
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from xrepo.compile._decode import decode
from xrepo.errors import XRepoValidationError
from xrepo.query import RESERVED_PREFIX, FieldType, SortKey
from xresource import SQLDialect

__all__ = ["CompiledPipeline", "finalize", "json_text", "like_pattern", "number"]

_MARK = re.compile("\x00(\\d+)\x00")


def finalize(dialect: SQLDialect, text: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """Replace parameter markers by the dialect's placeholders, in text order."""
    params: list[Any] = []

    def repl(m: re.Match[str]) -> str:
        params.append(values[int(m.group(1))])
        return dialect.param(len(params))

    return _MARK.sub(repl, text), params


def rewrite_pattern(pattern: str, replacements: Mapping[str, str]) -> str:
    """``pattern`` (PCRE, as MongoDB reads it) with each metacharacter of ``replacements``
    (``$``, ``.``) replaced by its spelling in a database's regex dialect; escaped characters
    and characters inside a bracket expression stay as they are."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            # A "]" right after "[" or "[^" is a member of the class, not its end.
            opening = (
                3 if pattern.startswith("^]", i + 1) else 2 if pattern.startswith("]", i + 1) else 1
            )
            out.append(pattern[i : i + opening])
            i += opening
            continue
        else:
            c = replacements.get(c, c)
        out.append(c)
        i += 1
    return "".join(out)


def like_pattern(op: str, value: str) -> str:
    """The ``LIKE`` pattern of a text lookup (``contains``, ``istartswith``...) for ``value``,
    escaped with ``!`` (the compilers write ``ESCAPE '!'``)."""
    escaped = value.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    kind = op.removeprefix("i")
    before = "%" if kind in ("contains", "endswith") else ""
    after = "%" if kind in ("contains", "startswith") else ""
    return f"{before}{escaped}{after}"


def number(value: Any) -> str:
    """A type-checked number as SQL text (never user text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise XRepoValidationError(f"expected a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise XRepoValidationError(f"expected a finite number, got {value!r}")
    return repr(int(value)) if isinstance(value, int) else repr(float(value))


#: What the names of the compiler's own helper columns (row numbers, pushed lists, positions)
#: start with, and no other column: the query language reserves it (:data:`xrepo.query.
#: RESERVED_PREFIX`), so an output the caller names (``__``, ``__rn_f``) is never taken for one.
INTERNAL_PREFIX = RESERVED_PREFIX
#: The row numbers that find each group's first and last row for ``$first``/``$last``.
ROW_FIRST = f"{INTERNAL_PREFIX}rn_f"
ROW_LAST = f"{INTERNAL_PREFIX}rn_l"


@dataclass
class CompiledPipeline:
    """SQL of a pipeline plus what turning its rows into documents needs."""

    sql: str
    params: list[Any]
    json_columns: set[str] = field(default_factory=set)
    numeric_columns: set[str] = field(default_factory=set)
    #: The kind of each output column (:func:`xrepo.compile.decode`): values come out as
    #: ``list()`` types them.
    kinds: dict[str, FieldType] = field(default_factory=dict)
    nested_columns: set[str] = field(default_factory=set)
    optional_prefixes: set[str] = field(default_factory=set)

    def documents(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Decode JSON columns, normalize numbers and rebuild nested fields."""
        out: list[dict[str, Any]] = []
        for row in rows:
            doc: dict[str, Any] = {}
            for key, value in row.items():
                if key.startswith(INTERNAL_PREFIX):
                    continue
                if key in self.json_columns and isinstance(value, str | bytes):
                    value = json.loads(value)
                kind = self.kinds.get(key)
                if kind is not None:
                    value = decode(kind, value)
                elif key in self.numeric_columns and isinstance(value, Decimal):
                    value = _number(value)
                if key in self.nested_columns:
                    head, _, rest = key.partition(".")
                    target = doc.setdefault(head, {})
                    if isinstance(target, dict):
                        _set_nested(target, rest, value)
                    continue
                doc[key] = value
            for prefix in self.optional_prefixes:
                sub = doc.get(prefix)
                if isinstance(sub, dict) and all(v is None for v in sub.values()):
                    del doc[prefix]
            out.append(doc)
        return out


#: MongoDB answers an integer only within 64 bits; a sum beyond them is a double there.
_INT64 = 2**63


def _number(value: Decimal) -> int | float:
    """A number the database computed exactly (PostgreSQL's numeric sum of JSON numbers) as
    MongoDB would answer it: an integer within 64 bits, else a double."""
    if value == value.to_integral_value() and -_INT64 <= value < _INT64:
        return int(value)
    return float(value)


def json_text(value: Any) -> Any:
    """The JSON text of a value of an ``Any`` column (``None`` stays SQL ``NULL``)."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    return json.dumps(value, default=str, separators=(",", ":"))


def _set_nested(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for seg in parts[:-1]:
        doc = doc.setdefault(seg, {})
    doc[parts[-1]] = value


@dataclass
class _Block:
    source: str
    alias: str | None
    fields: list[str] | None
    nested: set[str] = field(default_factory=set)
    json_cols: set[str] = field(default_factory=set)
    numeric: set[str] = field(default_factory=set)
    optional: set[str] = field(default_factory=set)
    where: list[str] = field(default_factory=list)
    select: list[tuple[str, str]] | None = None
    group_by: list[str] | None = None
    having: list[str] = field(default_factory=list)
    order: list[SortKey] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0

    @property
    def shaped(self) -> bool:
        """Whether the rows are projected, grouped or paged already: a filter, a grouping or
        a join of the result must then wrap the block in a subquery first."""
        return (
            self.select is not None
            or self.group_by is not None
            or self.limit is not None
            or bool(self.offset)
        )
