"""Principals, permissions per role, and the one function that decides whether a role may act.

A registered item carries ``permissions: {role: {permission, ...}}``. The role ``"*"`` applies to
every principal. Roles are never taken from a caller's word: the HTTP layer authenticates and builds
the :class:`Principal`; the registries only read it. :class:`Principal`, :data:`ANONYMOUS` and
:data:`SYSTEM` are the stack's own (:mod:`xobj_prototype`), shared with the repositories.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum, StrEnum
from typing import Any, TypeVar

from pydantic import ValidationError

from xobj_prototype import ANONYMOUS, ANONYMOUS_ROLE, EVERYONE, SYSTEM, Principal
from xregistry.errors import RegistryValidationError

__all__ = [
    "ANONYMOUS",
    "EVERYONE",
    "SYSTEM",
    "FunctionPermission",
    "ModelPermission",
    "Principal",
    "as_principal",
    "grants",
    "normalize_permissions",
]

P = TypeVar("P", bound=Enum)


class FunctionPermission(StrEnum):
    """What a role may do with a registered function."""

    EXECUTE = "execute"
    VIEW = "view"
    MODIFY = "modify"


class ModelPermission(StrEnum):
    """What a role may do with a registered model."""

    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    LIST = "list"


def as_principal(who: Principal | str | None) -> Principal:
    """A :class:`Principal` from a principal, a bare role name (the document's ``user_role``) or
    ``None`` (anonymous).

    ``"anonymous"`` and ``None`` give :data:`ANONYMOUS` (no id, the role ``"anonymous"``); any
    other role name gives a principal of that id holding that one role.
    """
    if who is None:
        return ANONYMOUS
    if isinstance(who, Principal):
        return who
    if isinstance(who, str) and who == ANONYMOUS_ROLE:
        return ANONYMOUS
    if isinstance(who, str) and who and who != EVERYONE:
        try:
            return Principal(id=who, roles=frozenset({who}))
        except ValidationError as exc:
            problems = "; ".join(e["msg"] for e in exc.errors(include_url=False))
            raise RegistryValidationError(
                f"{who[:60]!r} is not a usable role name: {problems}"
            ) from None
    raise RegistryValidationError(
        f"a principal must be a Principal or a role name, got {type(who).__name__} {who!r}"
    )


def normalize_permissions(
    permissions: Mapping[str, Iterable[P | str]] | None,
    enum: type[P],
    default: Mapping[str, Iterable[P | str]],
) -> dict[str, frozenset[P]]:
    """``{role: frozenset(enum members)}`` from sets of members or their string values.

    Raises:
        RegistryValidationError: an unknown permission name or a malformed role.
    """
    source: Mapping[str, Iterable[Any]] = default if permissions is None else permissions
    if not isinstance(source, Mapping):
        raise RegistryValidationError(
            f"permissions must map role names to sets of {enum.__name__}, "
            f"got {type(source).__name__}"
        )
    allowed = {m.value: m for m in enum}
    out: dict[str, frozenset[P]] = {}
    for role, perms in source.items():
        if not isinstance(role, str) or not role:
            raise RegistryValidationError(f"permission role must be a non-empty string: {role!r}")
        if isinstance(perms, str | Enum):
            perms = [perms]
        members: set[P] = set()
        for perm in perms:
            if isinstance(perm, enum):
                members.add(perm)
            elif isinstance(perm, str) and perm.lower() in allowed:
                members.add(allowed[perm.lower()])
            else:
                raise RegistryValidationError(
                    f"unknown {enum.__name__} {perm!r} for role {role!r}; expected one of "
                    f"{sorted(allowed)}"
                )
        out[role] = frozenset(members)
    return out


def grants(
    permissions: Mapping[str, frozenset[P]],
    principal: Principal,
    permission: P,
    implied_by: Iterable[P] = (),
) -> bool:
    """Whether one of the principal's roles, or ``"*"``, holds ``permission`` (or a permission
    in ``implied_by`` that includes it)."""
    wanted = {permission, *implied_by}
    for role in (EVERYONE, *principal.roles):
        held = permissions.get(role)
        if held and not wanted.isdisjoint(held):
            return True
    return False
