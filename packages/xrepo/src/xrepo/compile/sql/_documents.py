"""Sub-documents of a pipeline: a path that names a nested prefix of a block's columns.

A SQL block holds a sub-document as one column per field: after ``$lookup`` + ``$unwind`` the
joined document lives in ``o.id``, ``o.ref``...; after a ``$group`` with a compound key, ``_id``
lives in ``_id.<name>``. MongoDB reads such a path (``o``, ``_id``) as the whole document, so:

- **read as a value** (``$push``, ``$addToSet``, ``$first``, ``$last``): a JSON object built
  from its columns (the dialect hook :meth:`~._compiler.SQLCompiler.json_object`), decoded on
  output;
- **projected or grouped on**: expanded into its columns (``$project {"o": 1}`` outputs
  ``o.id``, ``o.ref``... which :class:`~._statement.CompiledPipeline` nests again), so every field
  keeps its own type;
- **sorted on**: field by field in key order, which is MongoDB's order of documents holding the
  same keys (every row of a block does);
- **matched**: a document is never null, never a scalar, never a string for a text operator; it
  equals a document value with the same keys in the same order and equal values (``null`` equals
  missing, as everywhere on SQL). Ranges against a document value are refused.

A sub-document made by a ``$lookup`` kept with ``preserveNullAndEmptyArrays`` is missing on the
rows that joined nothing: all its columns are ``NULL`` there
(:attr:`~._compiler.SQLCompiler.optional`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from xrepo.errors import XRepoValidationError
from xrepo.query import MATCH_ALL, MATCH_NONE, TEXT_OPS, And, Condition, Node, Not, Or, SortKey
from xresource import SQLDialect

__all__ = ["children", "document_condition", "document_value", "expand", "expand_keys"]

_RANGE = ("gt", "gte", "lt", "lte")


class SQLCompiler(Protocol):
    """What this module needs of the compiler (:class:`~._compiler.SQLCompiler`): declared here
    so that the compiler imports this module and not the other way round."""

    d: SQLDialect
    optional: set[str]
    json_names: set[str]

    def q(self, ident: str) -> str: ...

    def error(self, message: str, operation: str = "query") -> XRepoValidationError: ...

    def expr(
        self,
        path: str,
        fields: Sequence[str] | None,
        *,
        filtering: Any = None,
        for_output: bool = False,
    ) -> tuple[str, bool]: ...

    def where(self, node: Node, fields: Sequence[str] | None) -> str: ...

    def json_object(self, pairs: Sequence[tuple[str, str, bool]]) -> str: ...


def children(path: str, fields: Sequence[str] | None) -> list[str]:
    """The columns under ``path`` when it is a nested prefix of ``fields`` (else ``[]``)."""
    if fields is None or path in fields:
        return []
    prefix = path + "."
    return [f for f in fields if f.startswith(prefix)]


def expand(path: str, name: str, fields: Sequence[str] | None) -> list[tuple[str, str]]:
    """``(column, output name)`` for each column of the sub-document ``path`` output as
    ``name``; ``[(path, name)]`` when ``path`` is not a sub-document."""
    cols = children(path, fields)
    if not cols:
        return [(path, name)]
    return [(c, name + c[len(path) :]) for c in cols]


def expand_keys(keys: Sequence[SortKey], fields: Sequence[str] | None) -> list[SortKey]:
    """Sort keys with each sub-document replaced by its columns in key order."""
    return [(c, d) for p, d in keys for c, _ in expand(p, p, fields)]


def document_value(compiler: SQLCompiler, path: str, fields: Sequence[str]) -> str:
    """SQL of the sub-document ``path`` as one JSON value (``NULL`` where it is missing)."""
    cols = children(path, fields)
    tree: dict[str, Any] = {}
    for col in cols:
        node = tree
        *heads, last = col[len(path) + 1 :].split(".")
        for seg in heads:
            sub = node.setdefault(seg, {})
            if not isinstance(sub, dict):
                break  # a column and a deeper one share a name: the column wins
            node = sub
        else:
            node.setdefault(last, col)

    def build(node: dict[str, Any]) -> str:
        pairs: list[tuple[str, str, bool]] = []
        for key, sub in node.items():
            if isinstance(sub, dict):
                pairs.append((key, build(sub), True))
            else:
                e, is_json = compiler.expr(sub, fields, for_output=True)
                pairs.append((key, e, is_json or sub in compiler.json_names))
        return compiler.json_object(pairs)

    value = build(tree)
    if path not in compiler.optional:
        return value
    present = " OR ".join(f"{compiler.q(c)} IS NOT NULL" for c in cols)
    return f"(CASE WHEN {present} THEN {value} END)"


def _present(compiler: SQLCompiler, path: str, cols: Sequence[str]) -> Node:
    """Whether the sub-document is there: always, unless a ``$lookup`` may have left it out."""
    if path not in compiler.optional:
        return MATCH_ALL
    return Or(tuple(Condition(c, "exists", True) for c in cols))


def _equals(
    compiler: SQLCompiler, path: str, cols: Sequence[str], value: Any, fields: Sequence[str]
) -> Node:
    """The sub-document equals ``value``: never a scalar or a list; a document with the same
    keys in the same order and equal values (a key left out equals a ``NULL`` column)."""
    if value is None:
        return Not(_present(compiler, path, cols))
    if not isinstance(value, dict):
        return MATCH_NONE
    keys = list(dict.fromkeys(c[len(path) + 1 :].split(".")[0] for c in cols))
    if any(k not in keys and v is not None for k, v in value.items()):
        return MATCH_NONE
    named = [k for k in value if k in keys]
    if named != [k for k in keys if k in value]:
        return MATCH_NONE  # MongoDB compares documents field by field, in order
    return And(tuple(Condition(f"{path}.{k}", "eq", value.get(k)) for k in keys))


def document_condition(
    compiler: SQLCompiler, c: Condition, cols: Sequence[str], fields: Sequence[str]
) -> str:
    """SQL of the condition ``c`` on the sub-document at ``c.path`` (columns ``cols``)."""
    op, value, path = c.op, c.value, c.path
    node: Node
    if op == "exists":
        present = _present(compiler, path, cols)
        node = present if value else Not(present)
    elif op in ("eq", "ne"):
        node = _equals(compiler, path, cols, value, fields)
        node = node if op == "eq" else Not(node)
    elif op in ("in", "nin"):
        node = Or(tuple(_equals(compiler, path, cols, v, fields) for v in value))
        node = node if op == "in" else Not(node)
    elif op in _RANGE:
        if isinstance(value, dict):
            raise compiler.error(
                f"${op} with a document value on the document field {path!r} is not supported "
                f"on {compiler.d.name} (MongoDB's order of documents); compare its fields "
                f"('{path}.<name>') instead"
            )
        # Ranges compare within one type only, and a null bound means equality with null.
        node = (
            Not(_present(compiler, path, cols)) if value is None and op[-1] == "e" else MATCH_NONE
        )
    elif op in TEXT_OPS:
        node = MATCH_NONE  # a document is not a string
    else:
        raise compiler.error(f"${op} on the document field {path!r} is not supported")
    return compiler.where(node, fields)
