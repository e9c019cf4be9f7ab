"""What the three registries share: the namespace index, the audit log and the path prefix.

:class:`~xregistry.XRegistry` builds one :class:`RegistryContext` and hands it to its
function, model and type registries, so that ``ns.functions.*``, ``ns.models.*`` and ``ns.types.*``
live in one :class:`xobj_prototype.NamespaceIndex` and one audit trail.
"""

from __future__ import annotations

from typing import Any

from xobj_prototype import NamespaceIndex, XValidationError, validate_path
from xregistry.audit import AuditAction, AuditLog
from xregistry.errors import RegistryValidationError

__all__ = ["RegistryContext"]


class RegistryContext:
    """The namespace index, audit log and prefix shared by the registries of one XRegistry."""

    def __init__(
        self,
        *,
        index: NamespaceIndex[Any] | None = None,
        audit: AuditLog | None = None,
        prefix: str = "ns",
    ) -> None:
        self.index: NamespaceIndex[Any] = index if index is not None else NamespaceIndex()
        self.audit = audit if audit is not None else AuditLog()
        self.prefix = prefix
        #: Audit reads (get, find, successful validation) too, not only writes and denials.
        self.audit_reads = True

    def read(
        self, action: AuditAction, kind: str, name: str, principal: Any, **details: Any
    ) -> None:
        """Audit a read (when ``audit_reads``); ``principal`` is None for in-process code."""
        if self.audit_reads and self.audit.enabled:
            self.audit.record(
                action, kind, name, principal=principal, details=details, trusted=True
            )

    def path(self, kind: str, namespace: str | None, name: str) -> str:
        """``<prefix>.<kind>.<namespace>.<name>``, validated (``kind`` is functions/models/types).

        A namespace that already starts with ``<prefix>.<kind>.`` is taken as the full parent.
        """
        head = f"{self.prefix}.{kind}"
        if namespace:
            if namespace.startswith(head + "."):
                namespace = namespace[len(head) + 1 :]
            path = f"{head}.{namespace}.{name}"
        else:
            path = f"{head}.{name}"
        try:
            return validate_path(path)
        except XValidationError as exc:
            raise RegistryValidationError(
                f"cannot register {name!r} in namespace {namespace!r}: {exc.message}"
            ) from None
