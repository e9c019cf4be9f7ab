"""The error hierarchy of xregistry, rooted in :class:`xobj_prototype.XError`.

Every error also derives from the matching built-in (``KeyError``, ``PermissionError``,
``ValueError``) so that code written against the registry document's examples keeps working.
"""

from __future__ import annotations

from xobj_prototype import XConflictError, XError, XNotFoundError, XValidationError

__all__ = [
    "FunctionExecutionError",
    "FunctionTimeoutError",
    "RegistryConflictError",
    "RegistryNotFoundError",
    "RegistryPermissionError",
    "RegistryValidationError",
    "XRegistryError",
]


class XRegistryError(XError):
    """Root of every error the registries raise."""


class RegistryNotFoundError(XRegistryError, XNotFoundError, KeyError):
    """No function, model or type is registered under the given name or namespace path."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class RegistryConflictError(XRegistryError, XConflictError):
    """A name or namespace path is already registered (pass ``override=True`` to replace it)."""


class RegistryPermissionError(XRegistryError, PermissionError):
    """The principal's roles do not grant the permission an operation needs."""


class RegistryValidationError(XRegistryError, XValidationError):
    """A value, argument or definition failed validation; ``errors`` lists each problem."""


class FunctionExecutionError(XRegistryError):
    """A registered function raised; the original exception is the ``__cause__``."""


class FunctionTimeoutError(FunctionExecutionError, TimeoutError):
    """A registered function did not finish within its timeout."""
