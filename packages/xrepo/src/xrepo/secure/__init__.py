"""Secured repositories: :class:`SecureRepo` applies access control, audit, caching and
statistics around any :class:`~xrepo.XRepo` (see :mod:`xrepo.secure.repo`).

XX
the repositories themselves, so this package imports :class:`SecureRepo` only on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xrepo.secure.repo import SecureRepo


def __getattr__(name: str) -> Any:
    if name != "SecureRepo":
        raise AttributeError(f"module 'xrepo.secure' has no attribute {name!r}")
    value = importlib.import_module("xrepo.secure.repo").SecureRepo
    globals()[name] = value
    return value


__all__ = ["SecureRepo"]
