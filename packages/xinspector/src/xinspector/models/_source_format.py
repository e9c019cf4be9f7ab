"""Python literals as ruff formats them (lines within 100 characters), for generated source."""

from __future__ import annotations

import json
from typing import Any

__all__: list[str] = []

_WIDTH = 100


def _set_literal(name: str, values: list[str]) -> str:
    """``NAME = frozenset({...})`` as ruff formats it (on one line when it fits)."""
    inner = "{" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "}"
    one = f"{name} = frozenset({inner})\n"
    if len(one) <= _WIDTH + 1:
        return one
    return f"{name} = frozenset(\n    {inner}\n)\n"


def _isort_key(name: str) -> tuple[int, str]:
    # isort's force-sort-within-sections default: CONSTANTS, Classes, functions.
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _string(value: str, indent: int, lead: int = 0, trail: int = 0) -> str:
    """A string literal as ruff formats it: on its line when it fits (``lead`` characters before
    it after ``indent``, ``trail`` after it), else alone in parentheses one level deeper, else
    split into an implicit concatenation in those parentheses."""
    text = json.dumps(value, ensure_ascii=False)
    if indent + lead + len(text) + trail <= _WIDTH:
        return text
    pad = " " * (indent + 4)
    if indent + 4 + len(text) <= _WIDTH:
        return f"(\n{pad}{text}\n{' ' * indent})"
    pieces: list[str] = []
    chunk = ""
    room = _WIDTH - indent - 4
    for word in value.split(" "):
        candidate = f"{chunk} {word}" if chunk else word
        if len(json.dumps(candidate + " ", ensure_ascii=False)) > room and chunk:
            pieces.append(chunk + " ")
            chunk = word
        else:
            chunk = candidate
    pieces.append(chunk)
    body = "\n".join(pad + json.dumps(p, ensure_ascii=False) for p in pieces)
    return f"(\n{body}\n{' ' * indent})"


def _literal(value: Any, indent: int, lead: int = 0, trail: int = 0) -> str:
    """A Python literal for ``value`` as ruff formats it: on one line when it fits after
    ``indent`` columns (and ``lead``/``trail`` characters around it on that line), otherwise one
    element per line, one level deeper."""
    if isinstance(value, str) and not isinstance(value, _Name):
        return _string(value, indent, lead, trail)
    flat = _flat(value)
    fits = indent + lead + len(flat) + trail <= _WIDTH
    if fits or not isinstance(value, dict | list | tuple) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            key = json.dumps(str(k), ensure_ascii=False)
            items.append(f"{pad}{key}: {_literal(v, indent + 4, len(key) + 2, 1)},")
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{_literal(v, indent + 4, 0, 1)}," for v in value]
    opener, closer = ("[", "]") if isinstance(value, list) else ("(", ")")
    return opener + "\n" + "\n".join(items) + "\n" + " " * indent + closer


def _flat(value: Any) -> str:
    if isinstance(value, _Name):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(str(k))}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _docstring(text: str) -> str:
    text = " ".join(text.split())
    if '"""' not in text and "\\" not in text and len(text) + 10 <= _WIDTH:
        return f'"""{text}"""'
    return _string(text, 4)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


class _Name(str):
    """A bare name in rendered source (``list``), not a string literal."""

    __slots__ = ()


# Constraint attributes of pydantic/annotated-types metadata objects, in Field() spelling.
