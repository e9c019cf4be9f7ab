"""Helpers the routers share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from xregistry.api.state import ApiState

__all__ = ["Name", "glob_for"]

#: A registered name or namespace path in a URL.
Name = Annotated[str, Path(min_length=1, max_length=300)]


def glob_for(state: ApiState, kind: str, namespace: str) -> str:
    """A namespace filter as a glob: ``finance`` -> ``ns.functions.finance.*``; full paths and
    patterns with wildcards are used as they are (relative ones get the prefix)."""
    head = f"{state.registry.context.prefix}.{kind}."
    pattern = namespace if namespace.startswith(head) else head + namespace.lstrip(".")
    if not any(ch in pattern for ch in "*?["):
        pattern += ".*"
    return pattern
