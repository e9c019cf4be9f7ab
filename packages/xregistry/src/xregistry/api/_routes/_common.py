"""Helpers the routers share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from xregistry.api._state import ApiState

__all__ = ["NAMESPACE_PATTERN", "Name", "NamespaceFilter", "NamespacePattern", "glob_for"]

#: A registered name or namespace path in a URL.
Name = Annotated[str, Path(min_length=1, max_length=300)]

#: What a namespace glob may hold, stated in the OpenAPI document so that clients (and
#: schemathesis) know it: word characters of any script, dots, hyphens and the glob characters.
#: Namespace segments are such words (``xobj_prototype.namespace``), so nothing else could ever
#: match, and whitespace or control characters are refused by the namespace index anyway.
NAMESPACE_PATTERN = r"^[\w.*?\[\]!\-]+$"
_NAMESPACE_DOC = "A namespace path or glob (fnmatch: * ? [...]): letters, digits, _ . - only."

#: A namespace filter in a query string.
NamespaceFilter = Annotated[
    str | None,
    Query(min_length=1, max_length=200, pattern=NAMESPACE_PATTERN, description=_NAMESPACE_DOC),
]
#: A namespace pattern in a URL path.
NamespacePattern = Annotated[
    str, Path(min_length=1, max_length=200, pattern=NAMESPACE_PATTERN, description=_NAMESPACE_DOC)
]


def glob_for(state: ApiState, kind: str, namespace: str) -> str:
    """A namespace filter as a glob: ``finance`` -> ``ns.functions.finance.*``; full paths and
    patterns with wildcards are used as they are (relative ones get the prefix)."""
    head = f"{state.registry.context.prefix}.{kind}."
    pattern = namespace if namespace.startswith(head) else head + namespace.lstrip(".")
    if not any(ch in pattern for ch in "*?["):
        pattern += ".*"
    return pattern
