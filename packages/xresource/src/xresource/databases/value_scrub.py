"""Record values out of database error messages.

Databases quote the offending value in many of their messages: PostgreSQL's ``Key
(api_token)=(tok-123) already exists`` and ``Failing row contains (...)``, MariaDB's ``Duplicate
entry 'tok-123' for key 'api_token'`` and ``Incorrect integer value: 'xyz' for column ...``,
MongoDB's ``dup key: { api_token: "tok-123" }``. Such a value may be a secret (a token, a password
hash), and an error travels far: into logs, audit entries, HTTP answers. :func:`scrub_record_values`
replaces the values by :data:`HIDDEN` and keeps everything that helps fixing the problem: the
constraint, index, key, column and type names.

The patterns are greedy on purpose: a value may itself contain the text that ends it (a quote, a
closing parenthesis, ``' for key``), so a value ends at the *last* place it can end, and a message
cut short is hidden up to its end. Hiding a little more than the value is the safe mistake.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NoReturn

__all__ = ["HIDDEN", "raise_alone", "scrub_record_values"]

#: What a hidden value reads as.
HIDDEN = "…"

_S = re.DOTALL

# (pattern, replacement) in order; each pattern leaves HIDDEN where the value was, and none
# matches its own output again (the function is idempotent).
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # -- PostgreSQL -------------------------------------------------------------------------
    # Exclusion constraints name a second key: "... conflicts with existing key (a)=(2)."
    (
        re.compile(r"(?P<h>existing key \((?P<c>[^\n]*?)\)=\()(?!…\))(?P<v>.*)\)", _S),
        r"\g<h>…)",
    ),
    # "Key (api_token)=(tok-123) already exists." (unique), "... is not present in table" and
    # "... is still referenced from table" (foreign keys), "... conflicts with existing key".
    (
        re.compile(
            r"(?P<h>\bKey \((?P<c>[^\n]*?)\)=\()(?!…\))(?P<v>.*)"
            r"(?P<t>\) (?:already exists|is not present in table|is still referenced from table"
            r"|conflicts with existing key))",
            _S,
        ),
        r"\g<h>…\g<t>",
    ),
    # A key whose message was cut short, or a wording not listed above: hide to the end.
    (re.compile(r"(?P<h>\bKey \((?P<c>[^\n]*?)\)=\()(?!…\))(?P<v>.+)", _S), r"\g<h>…)"),
    # "Failing row contains (1, tok-123, null)." (check and not-null constraints): the whole row.
    (re.compile(r"Failing row contains (?!\(…\)).*\)", _S), "Failing row contains (…)"),
    (re.compile(r"Failing row contains (?!\(…\)).+", _S), "Failing row contains (…)"),
    # "invalid input syntax for type integer: "xyz"", enum values, date/time fields, literals.
    (
        re.compile(
            r"(?P<h>(?:invalid input syntax for type|invalid input value for enum)[^:\n\"]*: "
            r"|field value out of range: |malformed [\w ]+ literal: |invalid hexadecimal digit: "
            r"|time zone |\bunit )\"(?!…\")(?P<v>.*)\"",
            _S,
        ),
        r'\g<h>"…"',
    ),
    # "value "99999999999" is out of range for type integer"
    (
        re.compile(r"\bvalue \"(?!…\")(?P<v>.*)\"(?P<t> is out of range for type)", _S),
        r'value "…"\g<t>',
    ),
    # JSON input: "Token "tok-123" is invalid.", "Expected ..., but found "x".", escapes.
    (
        re.compile(r"(?P<h>\bToken |\bbut found |Escape sequence )\"(?!…\")(?P<v>.*)\"", _S),
        r'\g<h>"…"',
    ),
    # -- MySQL / MariaDB ----------------------------------------------------------------------
    # "Duplicate entry 'tok-123' for key 'api_token'" (1062, 1586)
    (
        re.compile(r"Duplicate entry '(?!…')(?P<v>.*)'(?P<t> for key)", _S),
        r"Duplicate entry '…'\g<t>",
    ),
    (re.compile(r"Duplicate entry '(?!…')(?P<v>.+)", _S), "Duplicate entry '…'"),
    # "Incorrect integer value: 'xyz' for column `db`.`t`.`n` at row 1" (1366, 1292, 1411...),
    # "Truncated incorrect DOUBLE value: 'xyz'" (1292).
    (
        re.compile(
            r"(?P<h>\b(?:Incorrect|Truncated incorrect) [\w ]+? value: )'(?!…')(?P<v>.*)'"
            r"(?P<t> for (?:column|function)\b)",
            _S,
        ),
        r"\g<h>'…'\g<t>",
    ),
    (
        re.compile(
            r"(?P<h>\b(?:Incorrect|Truncated incorrect) [\w ]+? value: )'(?!…')(?P<v>.*)", _S
        ),
        r"\g<h>'…'",
    ),
    # Syntax errors quote the statement, and aiomysql puts the values into the statement.
    (re.compile(r"\bnear '(?!…')(?P<v>.*)'(?P<t> at line \d+)", _S), r"near '…'\g<t>"),
    # "BIGINT value is out of range in '(`t`.`n` + 'tok-123')'" (1690): an expression with values.
    (re.compile(r"(?P<h>value is out of range in )'(?!…')(?P<v>.*)'", _S), r"\g<h>'…'"),
    # -- DuckDB -------------------------------------------------------------------------------
    # 'Duplicate key "id: 1" violates primary key constraint.', foreign keys: 'because key
    # "id: 5" does not exist in the referenced table'.
    (
        re.compile(
            r"(?P<h>\b(?:Duplicate|because) key )\"(?!…\")(?P<v>.*)\"(?P<t> (?:violates|does not"
            r" exist|is still referenced|is used))",
            _S,
        ),
        r'\g<h>"…"\g<t>',
    ),
    (re.compile(r"(?P<h>\b(?:Duplicate|because) key )\"(?!…\")(?P<v>.+)", _S), r'\g<h>"…"'),
    # "Could not convert string 'tok-123' to INT32", "Type VARCHAR with value 'x' can't be cast".
    (
        re.compile(
            r"(?P<h>Could not convert string |\bwith value )'(?!…')(?P<v>.*)'"
            r"(?P<t> to [A-Z]|(?: can't| cannot) be cast)",
            _S,
        ),
        r"\g<h>'…'\g<t>",
    ),
    # CSV reader errors quote the offending line: "Original Line: 1,tok-123\n\nValue with...".
    (
        re.compile(
            r"(?P<h>Original Line: )(?!…)(?P<v>.*?)(?P<t>\n\n(?:Possible fixes|  file = )|$)", _S
        ),
        r"\g<h>…\g<t>",
    ),
)

# MongoDB: "E11000 duplicate key error collection: db.c index: api_token_1 dup key: { ... }".
_MONGO_DUP_KEY = re.compile(r"dup key: (?!\{ (?:[^{}\n]*: )?…)(?P<v>\{.*)", _S)
# asyncpg, before sending: "invalid input for query argument $1: 'xyz' (<reason>)". The reason
# (the encoder's exception) may quote the value too ("could not convert string to float: 'xyz'"),
# and where the value's repr ends is ambiguous when it holds " (": the reason is kept only when
# it quotes nothing but type names ("'str' object cannot be interpreted as an integer").
_QUERY_ARGUMENT = re.compile(
    r"(?P<h>invalid input for query argument \$\d+[^:\n]*: )(?!…(?: \(|$))(?P<rest>.*)", _S
)
_TYPE_NAME = re.compile(r"'[\w.]+' object|<class '[\w.]+'>")


def _query_argument(m: re.Match[str]) -> str:
    rest = m["rest"]
    cut = rest.rfind(" (")
    if cut < 0 or not rest.endswith(")"):
        return f"{m['h']}…"
    reason = rest[cut + 2 : -1]
    if any(q in _TYPE_NAME.sub("", reason) for q in "'\""):
        reason = "…"
    return f"{m['h']}… ({reason})"


def scrub_record_values(text: str, *, key_names: Iterable[str] | None = None) -> str:
    """``text`` (a database's error message) with the record values it quotes hidden.

    Names of constraints, indexes, keys, columns and types stay; values become ``…``.
    ``key_names`` are the fields of a MongoDB duplicate key (its ``keyPattern``): when given,
    they are kept as ``dup key: { api_token: … }``; without them the key reads ``{ … }``.

    >>> scrub_record_values("Key (api_token)=(tok-123) already exists.")
    'Key (api_token)=(…) already exists.'
    >>> scrub_record_values("Duplicate entry 'tok-123' for key 'api_token'")
    "Duplicate entry '…' for key 'api_token'"
    >>> scrub_record_values('dup key: { api_token: "tok-123" }', key_names=["api_token"])
    'dup key: { api_token: … }'
    """
    if not isinstance(text, str):
        raise TypeError(f"scrub_record_values expects a string, got {type(text).__name__}")
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = _QUERY_ARGUMENT.sub(_query_argument, text)
    names = [str(k) for k in key_names or ()]
    inner = ", ".join(f"{k}: …" for k in names) if names else "…"
    return _MONGO_DUP_KEY.sub(lambda _m: f"dup key: {{ {inner} }}", text)


def raise_alone(error: BaseException) -> NoReturn:
    """Raise ``error`` with neither ``__cause__`` nor ``__context__``.

    For errors raised while a driver exception is being handled, when that exception's text may
    hold a secret: ``raise error from None`` only hides the driver exception from tracebacks;
    error reporters and a caller's own code that walk ``__context__`` would still find it.
    """
    try:
        raise error from None
    except BaseException as raised:
        raised.__context__ = None
        raise
