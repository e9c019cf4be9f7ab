"""What the function, model and type registries share: entries held by name and by namespace path.

:class:`EntryRegistry` is the mechanics of one registry kind - the conflict check on registration,
lookup by name or path with close-name suggestions, tag and glob searches, dropping a path and the
audited refusal of a permission - so that :class:`~xregistry.functions.FunctionRegistry`,
:class:`~xregistry.models.ModelRegistry` and :class:`~xregistry.types.TypeRegistry` only
hold what differs between them.
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from xregistry._context import RegistryContext
from xregistry._shared import optional_principal
from xregistry.audit import AuditAction
from xregistry.errors import (
    RegistryConflictError,
    RegistryNotFoundError,
    RegistryPermissionError,
    RegistryValidationError,
)
from xregistry.permissions import Principal

__all__ = ["EntryRegistry"]


class _Metadata(Protocol):
    name: str
    ns_path: str
    tags: Any


class _Entry(Protocol):
    @property
    def metadata(self) -> _Metadata: ...


E = TypeVar("E", bound=_Entry)


class EntryRegistry(Generic[E]):
    """Entries of one kind held by name and at ``<prefix>.<kind>.<namespace>.<name>``.

    A subclass sets the class attributes and :meth:`_entries` (its public ``functions`` /
    ``models`` / ``types`` dict); ``context``, ``allow_override`` and ``namespace_map`` are set by
    its ``__init__``.
    """

    #: The path segment under the prefix: ``functions``, ``models`` or ``types``.
    kind: ClassVar[str]
    #: The singular used in messages and audit records: ``function``, ``model``, ``type``.
    noun: ClassVar[str]
    #: The class of the entries (what a namespace path must hold to count as one).
    entry_class: ClassVar[type[Any]]
    #: What to do about a name already taken (the end of the conflict message).
    name_taken_hint: ClassVar[str] = "choose another name or pass override=True"
    #: What to do about a path already taken.
    path_taken_hint: ClassVar[str] = "choose another name or namespace, or pass override=True"
    #: Whether a dotted unknown name gets namespace paths as suggestions (else names).
    suggest_paths: ClassVar[bool] = True

    context: RegistryContext
    allow_override: bool
    namespace_map: dict[str, str]

    def _entries(self) -> dict[str, E]:
        """The entries by name (the subclass's public dict)."""
        raise NotImplementedError

    # -- registration -------------------------------------------------------------------------
    def _check_free(self, name: str, path: str, override: bool) -> None:
        if override or self.allow_override:
            return
        entries = self._entries()
        if name in entries:
            raise RegistryConflictError(
                f"a {self.noun} named {name!r} is already registered at "
                f"{entries[name].metadata.ns_path}; {self.name_taken_hint}",
                details={"name": name},
            )
        if path in self.context.index:
            raise RegistryConflictError(
                f"namespace path {path!r} is already taken; {self.path_taken_hint}",
                details={"path": path},
            )

    def _drop_path(self, path: str) -> None:
        if path in self.context.index:
            self.context.index.unregister(path)
        self.namespace_map.pop(path, None)

    # -- lookup -------------------------------------------------------------------------------
    def _resolve(self, name: str) -> E:
        if not isinstance(name, str):
            raise RegistryValidationError(f"{self.noun} name must be a string, got {name!r}")
        found = self._entries().get(name)
        if found is None and "." in name:
            candidate = self.context.index.lookup(name)
            found = candidate if isinstance(candidate, self.entry_class) else None
        if found is None:
            raise self._not_found(name)
        return found

    def _at_path(self, ns_path: str) -> E:
        """The entry at an exact namespace path (not found when the path holds another kind)."""
        found = self.context.index.lookup(ns_path) if isinstance(ns_path, str) else None
        if not isinstance(found, self.entry_class):
            raise self._not_found(ns_path)
        entry: E = found
        return entry

    def _not_found(self, name: object) -> RegistryNotFoundError:
        dotted = self.suggest_paths and "." in str(name)
        names = list(self.namespace_map) if dotted else list(self._entries())
        close = difflib.get_close_matches(str(name), names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; register it first"
        return RegistryNotFoundError(
            f"no {self.noun} is registered as {name!r}{hint}",
            details={"name": str(name), "suggestions": close},
        )

    def _tagged(self, tag: str) -> list[E]:
        """Entries carrying ``tag``, sorted by namespace path."""
        return sorted(
            (e for e in self._entries().values() if tag in e.metadata.tags),
            key=lambda e: e.metadata.ns_path,
        )

    def _glob(self, pattern: str, segments: bool) -> list[E]:
        """Entries whose path matches the glob ``pattern``, in the index's (path) order."""
        try:
            paths = self.context.index.glob(pattern, segments=segments)
        except RegistryValidationError:
            raise
        except ValueError as exc:  # XValidationError from the index: re-raise as ours
            raise RegistryValidationError(str(exc)) from None
        lookup = self.context.index.lookup
        return [e for e in map(lookup, paths) if isinstance(e, self.entry_class)]

    def _visible(self, items: list[E], principal: Principal | str | None) -> list[E]:
        """The entries ``principal`` may see (all of them here; registries with permissions
        filter)."""
        return items

    def _found(self, found: list[E], query: str, principal: Principal | str | None) -> list[E]:
        """The visible part of a search's result, with the search audited as a read."""
        visible = self._visible(found, principal)
        self.context.read(
            AuditAction.FIND, self.noun, query, optional_principal(principal), count=len(visible)
        )
        return visible

    # -- permissions --------------------------------------------------------------------------
    def _deny(
        self,
        who: Principal,
        permission: str,
        entry: str,
        *,
        audit_details: dict[str, Any],
        error_details: dict[str, Any],
        audit_name: str,
    ) -> RegistryPermissionError:
        """Audit a refused ``permission`` and return the error to raise (``entry`` names it)."""
        self.context.audit.record(
            AuditAction.DENIED,
            self.noun,
            audit_name,
            principal=who,
            allowed=False,
            details=audit_details,
        )
        return RegistryPermissionError(
            f"{who.display_id!r} (roles {sorted(who.roles)}) may not {permission} {self.noun} "
            f"{entry}; ask for a role that holds {permission!r}",
            details=error_details,
        )
