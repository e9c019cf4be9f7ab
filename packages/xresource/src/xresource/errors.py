"""The ``XResourceError`` hierarchy: every failure of a resource, named and redacted.

Each error knows which resource failed (``resource``: its name and type, never its credentials)
and which operation (``operation``: ``connect``, ``fetch``, ``publish``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xobj_prototype import XConfigurationError, XError, XNotFoundError, XValidationError

__all__ = [
    "XResourceAuthenticationError",
    "XResourceConfigurationError",
    "XResourceConnectionError",
    "XResourceError",
    "XResourceIntegrityError",
    "XResourceNotFoundError",
    "XResourcePoolExhaustedError",
    "XResourceQueryError",
    "XResourceTimeoutError",
    "XResourceUnknownTypeError",
    "XResourceValidationError",
]


class XResourceError(XError):
    """Base of every resource failure.

    Args:
        message: what went wrong and what to do.
        resource: the resource's display name (``"postgresql 'orders'"``), never a URL with secrets.
        operation: what was being done (``"connect"``, ``"fetch"``, ``"write"``...).
    """

    def __init__(
        self,
        message: str,
        *,
        resource: str | None = None,
        operation: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        prefix = " ".join(
            p for p in (resource and f"[{resource}]", operation and f"{operation}:") if p
        )
        super().__init__(
            f"{prefix} {message}" if prefix else message,
            details={**(details or {}), "resource": resource, "operation": operation},
        )
        self.resource = resource
        self.operation = operation


class XResourceConnectionError(XResourceError, ConnectionError):
    """The server cannot be reached, refused us, or went away; includes exhausted reconnects."""


class XResourceTimeoutError(XResourceError, TimeoutError):
    """An operation did not finish within its configured timeout."""


class XResourcePoolExhaustedError(XResourceError):
    """No pooled connection became free within the acquire timeout."""


class XResourceAuthenticationError(XResourceConnectionError):
    """The server rejected the credentials (they are never repeated in the message)."""


class XResourceNotFoundError(XResourceError, XNotFoundError):
    """A file, table, collection, sheet or endpoint does not exist."""


class XResourceConfigurationError(XResourceError, XConfigurationError):
    """A resource's parameters are missing, malformed or unsupported (bad URL, unknown type...)."""


class XResourceUnknownTypeError(XResourceConfigurationError, ValueError):
    """No resource type is registered under the name asked for (also a ``ValueError``, as the
    XResource specification's factory raises)."""


class XResourceValidationError(XResourceError, XValidationError):
    """Input to a resource operation is invalid (bad identifier, unserializable record...)."""


class XResourceQueryError(XResourceError):
    """The server rejected a statement (syntax, type mismatch...); the message has its reason."""


class XResourceIntegrityError(XResourceQueryError):
    """A write violated a constraint (unique, foreign key, not null); nothing was written."""
