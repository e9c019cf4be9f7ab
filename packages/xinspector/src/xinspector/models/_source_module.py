"""Assembling a generated module: its imports, the helpers it inlines, its ``Meta`` blocks.

The schema type names as annotations (``_SIMPLE``, ``_IMPORTED``) are shared by the two
renderers: of a :class:`~xinspector.models._generate.ModelSpec` and of an arbitrary model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xinspector._types import DEFAULT_NULL_TOKENS
from xinspector.models._source_format import (
    _WIDTH,
    _isort_key,
    _json_safe,
    _literal,
    _set_literal,
)

__all__: list[str] = []

_SIMPLE = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "bytes": "bytes",
    "None": "None",
}
_IMPORTED = {
    "Decimal": ("decimal", "Decimal"),
    "date": ("datetime", "date"),
    "datetime": ("datetime", "datetime"),
    "time": ("datetime", "time"),
    "timedelta": ("datetime", "timedelta"),
    "UUID": ("uuid", "UUID"),
}


# Definitions the generated module carries itself, so that it runs with pydantic alone (and
# xobj-prototype for the base class): the same validators as xinspector._types, inlined.
# name -> (the names it needs: "module:name" imports or other helpers, its source).
_HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "NULL_TOKENS": (
        (),
        "# Text that means no value in a CSV or Excel cell (compared after stripping).\n"
        + _set_literal("NULL_TOKENS", sorted(DEFAULT_NULL_TOKENS)),
    ),
    "blank_to_none": (
        ("typing:Any", "NULL_TOKENS"),
        """def blank_to_none(value: Any) -> Any:
    \"\"\"None for text that means no value (CSV and Excel cells), the value otherwise.\"\"\"
    if isinstance(value, str) and value.strip() in NULL_TOKENS:
        return None
    return value
""",
    ),
    "text_to_int": (
        ("typing:Any",),
        """def text_to_int(value: Any) -> Any:
    \"\"\"An int for text holding an integer (a CSV cell), the value otherwise.\"\"\"
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.lstrip("+-").isdigit():
            return int(text)
    return value
""",
    ),
    "ObjectIdStr": (
        ("typing:Annotated", "typing:Any", "pydantic:BeforeValidator"),
        """def _oid_to_str(value: Any) -> Any:
    # A bson.ObjectId validates as its 24-character hex string.
    if type(value).__name__ == "ObjectId":
        return str(value)
    return value


ObjectIdStr = Annotated[str, BeforeValidator(_oid_to_str)]
""",
    ),
    "DecimalValue": (
        ("typing:Annotated", "typing:Any", "pydantic:BeforeValidator", "decimal:Decimal"),
        """def _decimal128_to_decimal(value: Any) -> Any:
    # A bson.Decimal128 (how MongoDB stores exact decimals) validates as its Decimal.
    if type(value).__name__ == "Decimal128":
        return value.to_decimal()
    return value


DecimalValue = Annotated[Decimal, BeforeValidator(_decimal128_to_decimal)]
""",
    ),
    "JsonValue": (
        ("typing:Annotated", "typing:Any", "pydantic:BeforeValidator", "json:"),
        """def _decode_json_text(value: Any) -> Any:
    # JSON columns arrive as text from CSV files and some drivers, decoded from others.
    if isinstance(value, str | bytes) and value[:1] in ("{", "[", b"{", b"["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


JsonValue = Annotated[Any, BeforeValidator(_decode_json_text)]
""",
    ),
}


class _Imports:
    def __init__(self) -> None:
        self.std: dict[str, set[str]] = {}
        self.third: dict[str, set[str]] = {}
        self.first: dict[str, set[str]] = {}
        self.plain: set[str] = set()
        self.helpers: list[str] = []
        self.aliases: dict[str, tuple[str, str]] = {}  # name -> (values, rendered definition)

    def literal_alias(self, attr: str, values: list[str]) -> str:
        """A module-level name for ``Literal[values]``: a long value set would not fit on the
        field's line, and ruff would break it where no simple rule can follow."""
        base = "".join(p[:1].upper() + p[1:] for p in attr.split("_") if p) or "Field"
        joined = ", ".join(values)
        name, n = f"{base}Values", 2
        while name in self.aliases and self.aliases[name][0] != joined:
            name, n = f"{base}Values{n}", n + 1
        if name not in self.aliases:
            literal = self.add("typing", "Literal")
            one = f"{name} = {literal}[{joined}]"
            if len(one) <= _WIDTH:
                text = one
            elif 4 + len(joined) <= _WIDTH:
                text = f"{name} = {literal}[\n    {joined}\n]"
            else:
                text = f"{name} = {literal}[\n" + "".join(f"    {v},\n" for v in values) + "]"
            self.aliases[name] = (joined, text)
        return name

    def helper(self, name: str) -> str:
        """Use an inlined definition (and whatever it needs) by its name."""
        if name in self.helpers:
            return name
        needs, _ = _HELPERS[name]
        for need in needs:
            if ":" not in need:
                self.helper(need)
                continue
            module, attr = need.split(":")
            if attr:
                self.add(module, attr)
            else:
                self.plain.add(module)
        self.helpers.append(name)
        return name

    def render_helpers(self) -> str:
        blocks = [_HELPERS[name][1].rstrip("\n") for name in self.helpers]
        if self.aliases:
            blocks.append("\n".join(text for _, text in self.aliases.values()))
        return "\n\n\n".join(blocks)

    def add(self, module: str, name: str) -> str:
        if module in {"datetime", "decimal", "json", "typing", "uuid"}:
            group = self.std
        elif module in {"pydantic"}:
            group = self.third
        else:
            group = self.first
        group.setdefault(module, set()).add(name)
        return name

    def render(self) -> str:
        blocks = []
        for group in (self.std, self.third, self.first):
            lines = [f"import {m}" for m in sorted(self.plain)] if group is self.std else []
            for module in sorted(group):
                names = sorted(group[module], key=_isort_key)
                line = f"from {module} import {', '.join(names)}"
                if len(line) > _WIDTH:
                    inner = "".join(f"    {n},\n" for n in names)
                    line = f"from {module} import (\n{inner})"
                lines.append(line)
            if lines:
                blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


def _meta_source(meta: Mapping[str, Any]) -> str:
    lines = ["    class Meta:"]
    for key in (
        "ns",
        "collection",
        "indexes",
        "auto_generated",
        "enums",
        "strict_observed",
        "description",
        "source_schema",
    ):
        value = meta.get(key)
        if value is None or (key == "indexes" and not value):
            continue
        if key in {"enums", "strict_observed"} and not value:
            continue
        if key == "indexes":
            value = tuple(tuple(ix) for ix in value)
        if key == "source_schema":
            value = _json_safe(value)
        lines.append(f"        {key} = {_literal(value, 8, len(key) + 3)}")
    return "\n".join(lines)


def _module(classes: list[str], imports: _Imports, doc: str) -> str:
    header = f'"""{doc}"""\n\n' + imports.render() + "\n"
    helpers = imports.render_helpers()
    if helpers:
        header += "\n\n" + helpers + "\n"
    return header + "\n\n" + "\n\n".join(c.rstrip("\n") + "\n" for c in classes)
