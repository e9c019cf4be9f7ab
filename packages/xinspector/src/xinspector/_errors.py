"""The ``XInspectorError`` hierarchy, rooted in :class:`xobj_prototype.XError`.

Every error names what was being inspected (``target``: a resource's display name, never its URL
with credentials) and the operation, and says what to do about it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xobj_prototype import XError, XNotFoundError, XValidationError

__all__ = [
    "XInspectorConnectionError",
    "XInspectorError",
    "XInspectorNotFoundError",
    "XInspectorSchemaError",
    "XInspectorUnsupportedError",
]


class XInspectorError(XError):
    """Base of every failure of schema discovery, profiling or model generation.

    Args:
        message: what went wrong and what to do.
        target: what was inspected (``"postgresql 'db'"``, ``"file 'orders.csv'"``).
        operation: ``"discover_schema"``, ``"profile_data"``, ``"generate_model"``...
    """

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        operation: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        prefix = " ".join(p for p in (target and f"[{target}]", operation and f"{operation}:") if p)
        super().__init__(
            f"{prefix} {message}" if prefix else message,
            details={**(details or {}), "target": target, "operation": operation},
        )
        self.target = target
        self.operation = operation


class XInspectorConnectionError(XInspectorError, ConnectionError):
    """The resource could not be reached while inspecting it (dead server, missing file...)."""


class XInspectorNotFoundError(XInspectorError, XNotFoundError):
    """The table, collection, file or sheet to inspect does not exist."""


class XInspectorUnsupportedError(XInspectorError):
    """The resource type (or this operation on it) is not something xinspector can inspect."""


class XInspectorSchemaError(XInspectorError, XValidationError):
    """A schema (dict or model) is malformed, or a model cannot be generated from it."""

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        operation: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        XInspectorError.__init__(self, message, target=target, operation=operation, details=details)
        self.errors: list[dict[str, Any]] = []
