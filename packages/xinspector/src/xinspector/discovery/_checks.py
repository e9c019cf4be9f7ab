"""CHECK constraints of one column read as field constraints, where they can be.

A catalog gives a CHECK as SQL text (PostgreSQL's ``pg_get_expr``, MariaDB's
``CHECK_CONSTRAINTS.CHECK_CLAUSE``). The simple forms a model can enforce are read here: a
column compared with a constant (``price >= 0``, ``0 < qty``), ``BETWEEN``, ``IN (...)`` and
PostgreSQL's ``= ANY (ARRAY[...])``, joined by ``AND``. Anything else (``OR``, functions, two
columns) is left as text: :func:`parse_check` says which parts it could not read, and the
discovery keeps the whole clause in ``FieldSchema.checks`` for the reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from xinspector._schema import FieldSchema

__all__ = ["CheckConstraint", "apply_check", "parse_check"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^']|'')*')
      | (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
      | (?P<qid>`(?:[^`]|``)+`|"(?:[^"]|"")+")
      | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
      | (?P<op>::|>=|<=|<>|!=|=|<|>|\(|\)|\[|\]|,|-|\+)
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset({"and", "or", "not", "in", "between", "any", "array", "is", "null"})
_FLIP = {">=": "<=", "<=": ">=", ">": "<", "<": ">", "=": "="}
_ATTR = {
    ">=": "minimum",
    ">": "exclusive_minimum",
    "<=": "maximum",
    "<": "exclusive_maximum",
}


@dataclass
class _Tok:
    kind: str  # str, num, ident, kw, op, other
    text: str
    value: Any = None


@dataclass
class CheckConstraint:
    """What :func:`parse_check` read from one CHECK clause."""

    column: str | None
    constraints: dict[str, Any] = field(default_factory=dict)
    complete: bool = True


def _tokens(clause: str) -> list[_Tok] | None:
    out: list[_Tok] = []
    pos = 0
    text = clause.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        kind = m.lastgroup or "other"
        raw = m.group(kind)
        if kind == "str":
            out.append(_Tok("str", raw, raw[1:-1].replace("''", "'")))
        elif kind == "num":
            out.append(_Tok("num", raw, Decimal(raw)))
        elif kind == "qid":
            q = raw[0]
            out.append(_Tok("ident", raw, raw[1:-1].replace(q + q, q)))
        elif kind == "word":
            low = raw.lower()
            out.append(
                _Tok("kw" if low in _KEYWORDS else "ident", raw, low if low in _KEYWORDS else raw)
            )
        else:
            out.append(_Tok("op" if kind == "op" else "other", raw, raw))
    return out if pos >= len(text) else None


def _strip(tokens: list[_Tok]) -> list[_Tok]:
    """Drop casts (``::numeric``, ``::character varying[]``) and parentheses; fold signs."""
    out: list[_Tok] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.text == "::":
            i += 1
            # A type name is one or more words, then an optional size and array brackets.
            while (
                i < len(tokens)
                and tokens[i].kind in {"ident", "kw"}
                and tokens[i].value
                not in {
                    "and",
                    "or",
                }
            ):
                i += 1
            if i < len(tokens) and tokens[i].text == "(":
                while i < len(tokens) and tokens[i].text != ")":
                    i += 1
                i += 1
            while i + 1 < len(tokens) and tokens[i].text == "[" and tokens[i + 1].text == "]":
                i += 2
            continue
        if t.text in {"(", ")"}:
            i += 1
            continue
        if (
            t.text in {"-", "+"}
            and i + 1 < len(tokens)
            and tokens[i + 1].kind == "num"
            and (not out or out[-1].kind in {"op", "kw"})
        ):
            num = tokens[i + 1]
            out.append(_Tok("num", t.text + num.text, -num.value if t.text == "-" else num.value))
            i += 2
            continue
        out.append(t)
        i += 1
    return out


def _value(tok: _Tok) -> tuple[bool, Any]:
    if tok.kind == "num":
        return True, tok.value
    if tok.kind == "str":
        try:
            # PostgreSQL writes negative numbers as text cast to the type: '-5'::integer.
            return True, Decimal(tok.value) if tok.value.strip() else tok.value
        except InvalidOperation:
            return True, tok.value
    return False, None


def parse_check(clause: str) -> CheckConstraint:
    """Read a CHECK clause of a single column.

    Examples:
        >>> c = parse_check("((qty > 0) AND (qty <= 100))")
        >>> c.column, c.constraints, c.complete
        ('qty', {'exclusive_minimum': Decimal('0'), 'maximum': Decimal('100')}, True)
        >>> parse_check("`status` in ('new','paid')").constraints
        {'enum': ['new', 'paid']}
    """
    raw = _tokens(clause)
    if raw is None:
        return CheckConstraint(column=None, complete=False)
    tokens = _strip(raw)
    columns = {t.value for t in tokens if t.kind == "ident"}
    if len(columns) != 1:
        return CheckConstraint(column=None, complete=False)
    result = CheckConstraint(column=next(iter(columns)))
    if any(t.kind == "other" for t in tokens) or any(
        t.value in {"or", "not", "is", "null"} for t in tokens if t.kind == "kw"
    ):
        # Arithmetic, OR, NOT, IS NULL: true of the column, but not a form a model expresses.
        result.complete = False
        return result
    i = 0
    while i < len(tokens):
        end = _conjunct(tokens, i, result)
        if end is None:
            result.complete = False
            # Skip to the next AND: the other conjuncts still hold on their own.
            while i < len(tokens) and not (tokens[i].kind == "kw" and tokens[i].value == "and"):
                i += 1
            i += 1
            continue
        i = end
        if i < len(tokens):
            if tokens[i].kind == "kw" and tokens[i].value == "and":
                i += 1
            else:
                result.complete = False
                break
    return result


def _conjunct(tokens: list[_Tok], i: int, result: CheckConstraint) -> int | None:
    """Read one conjunct at ``i``; the index after it, or None when it is not a simple form."""
    n = len(tokens)
    t = tokens[i]
    if t.kind == "ident":
        if i + 1 >= n:
            return None
        nxt = tokens[i + 1]
        if nxt.kind == "kw" and nxt.value == "between" and i + 4 < n:
            ok1, low = _value(tokens[i + 2])
            ok2, high = _value(tokens[i + 4])
            if ok1 and ok2 and tokens[i + 3].value == "and":
                result.constraints["minimum"] = low
                result.constraints["maximum"] = high
                return i + 5
            return None
        if nxt.kind == "kw" and nxt.value == "in":
            values, j = _list(tokens, i + 2, closer=None)
            if not values:
                return None
            result.constraints["enum"] = values
            return j
        if nxt.text == "=" and i + 2 < n and tokens[i + 2].value == "any":
            j = i + 3
            if j < n and tokens[j].value == "array":
                j += 1
            if j < n and tokens[j].text == "[":
                values, j = _list(tokens, j + 1, closer="]")
                if values:
                    result.constraints["enum"] = values
                    return j
            return None
        if nxt.text in _FLIP and i + 2 < n:
            ok, value = _value(tokens[i + 2])
            if not ok:
                return None
            _compare(result, nxt.text, value, tokens[i + 2])
            return i + 3
        return None
    ok, value = _value(t)
    if ok and i + 2 < n and tokens[i + 1].text in _FLIP and tokens[i + 2].kind == "ident":
        _compare(result, _FLIP[tokens[i + 1].text], value, t)
        return i + 3
    return None


def _compare(result: CheckConstraint, op: str, value: Any, tok: _Tok) -> None:
    if op == "=":
        result.constraints["enum"] = [tok.value]
    else:
        result.constraints[_ATTR[op]] = value


def _list(tokens: list[_Tok], j: int, closer: str | None) -> tuple[list[Any], int]:
    values: list[Any] = []
    while j < len(tokens):
        t = tokens[j]
        if closer is not None and t.text == closer:
            return values, j + 1
        if t.text == ",":
            j += 1
            continue
        if t.kind in {"str", "num"}:
            values.append(t.value)
            j += 1
            continue
        break
    if closer is not None:
        return [], j  # the list never closed: not a form we read
    return values, j


def _typed(value: Any, type_name: str) -> Any:
    if not isinstance(value, Decimal):
        return value
    if type_name == "int":
        return int(value) if value == value.to_integral_value() else value
    if type_name == "float":
        return float(value)
    return value


def apply_check(fs: FieldSchema, clause: str, check: CheckConstraint) -> None:
    """Put what ``check`` read onto ``fs`` as declared constraints; keep the clause as text
    when part of it is not expressible (or the field's type takes no such constraint)."""
    expressed = check.complete
    base = fs.type
    for attr, value in check.constraints.items():
        if attr == "enum":
            if base == "str" and all(isinstance(v, str) for v in value):
                current = fs.enum if fs.is_declared("enum") else None
                values = [v for v in value if current is None or v in current]
                fs.set_declared("enum", values)
            elif base == "int" and all(isinstance(v, Decimal) for v in value):
                fs.set_declared("enum", [_typed(v, "int") for v in value])
            else:
                expressed = False
        elif base in {"int", "float", "Decimal"} and isinstance(value, Decimal):
            fs.set_declared(attr, _typed(value, base))
        else:
            expressed = False
    if not expressed:
        fs.checks = [*(fs.checks or []), clause.strip()]
