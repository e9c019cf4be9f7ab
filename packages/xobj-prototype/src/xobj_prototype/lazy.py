"""Lazy exports: a package names its public objects up front and imports each module on first use.

Packages whose public names live in modules with optional dependencies (database drivers, a
web framework) must not import those modules when the package is imported. The PEP 562 module
``__getattr__`` that does this is the same everywhere, so it lives here once::

    # xresource/__init__.py
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {"PostgreSQLResource": "xresource.databases.postgres"},
        extras={"xresource.databases.postgres": "xresource[postgres]"},
    )

A missing driver then reads ``PostgreSQLResource needs the extra xresource[postgres]: pip install
'xresource[postgres]' (No module named 'asyncpg')`` instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["MissingExtraError", "lazy_exports"]


class MissingExtraError(ImportError):
    """A public name needs an optional dependency that is not installed; the message names the
    extra to install."""


def lazy_exports(
    package: str,
    names: Mapping[str, str],
    *,
    extras: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each of ``names`` (``{name: module}``) is
    imported from its module on first access and then cached in the package's namespace.

    ``extras`` maps a module (or a module prefix, ending in ``.``) to the extra that provides
    its dependencies; an import failing for a missing dependency raises :class:`MissingExtraError`
    naming it.
    """
    table = dict(names)
    needs = dict(extras or {})
    modules = set(table.values())
    for key in needs:
        # A key that names nothing would silently never apply: say so where it is written.
        if key not in modules and not key.endswith("."):
            raise ValueError(
                f"lazy_exports({package!r}): extras key {key!r} is neither a module of the "
                "exported names nor a prefix ending in '.'"
            )

    def extra_for(module: str) -> str | None:
        if module in needs:
            return needs[module]
        prefixes = [p for p in needs if p.endswith(".") and module.startswith(p)]
        return needs[max(prefixes, key=len)] if prefixes else None

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            value = getattr(importlib.import_module(module), name)
        except ModuleNotFoundError as exc:
            extra = extra_for(module)
            # Only a missing third-party module means a missing extra; our own must import.
            if extra is None or (exc.name or "").split(".")[0] == package.split(".")[0]:
                raise
            raise MissingExtraError(
                f"{name} needs the extra {extra}: pip install '{extra}' ({exc})", name=exc.name
            ) from exc
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
