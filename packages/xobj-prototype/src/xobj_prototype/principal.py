"""Who is acting: the one principal type of the stack.

Registries, repositories and HTTP layers all read the caller from a :class:`Principal`: an id for
the audit trail, the roles that permissions are granted to, attributes that row conditions read
(``$user.<name>``) and the id of the request it came with. The application builds it after
authenticating the caller; the libraries only read it, they never take roles from a caller's word.

A principal without an id is anonymous: nobody authenticated. :meth:`Principal.anonymous` (and the
constant :data:`ANONYMOUS`) gives such a caller the one role ``"anonymous"``, so that permissions
granted to ``"anonymous"`` reach every unauthenticated caller; a principal built with no id and no
roles is anonymous too, and holds no role at all.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from xobj_prototype.redaction import redact

__all__ = ["ANONYMOUS", "ANONYMOUS_ROLE", "EVERYONE", "SYSTEM", "Principal", "check_roles"]

#: The role that :meth:`Principal.anonymous` holds.
ANONYMOUS_ROLE = "anonymous"
#: In a permission table, the role that applies to every principal; never a principal's own role.
EVERYONE = "*"

_MAX_ID = 255
_MAX_ROLE = 100


def _printable(value: str, what: str, limit: int) -> str:
    # Control characters in an id end up in audit lines and log messages: a newline would let a
    # caller forge a second log line, so they are refused rather than escaped.
    if not value.strip():
        raise ValueError(f"{what} must not be empty or only whitespace")
    if len(value) > limit:
        raise ValueError(f"{what} must be at most {limit} characters, got {len(value)}")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError(f"{what} must not contain control characters (newlines, tabs...)")
    return value


def check_roles(roles: Any) -> frozenset[str]:
    """Role names as a frozenset: one name (a ``str``) or an iterable of names.

    Each name is 1-100 printable characters and not ``"*"`` (which means "everyone" in a
    permission table, so no caller may hold it).

    Raises:
        ValueError: a role that is not a string, empty, too long, ``"*"`` or has control
            characters; the message names the role.

    Examples:
        >>> sorted(check_roles(["admin", "viewer"])), check_roles("admin")
        (['admin', 'viewer'], frozenset({'admin'}))
    """
    if isinstance(roles, str):
        roles = (roles,)
    elif isinstance(roles, Mapping) or not isinstance(roles, Iterable):
        raise ValueError(
            f"roles must be a role name or a collection of role names, got {type(roles).__name__}"
        )
    out: set[str] = set()
    for role in roles:
        if not isinstance(role, str):
            raise ValueError(f"a role name must be a string, got {type(role).__name__} {role!r}")
        if role == EVERYONE:
            raise ValueError(f"{EVERYONE!r} means every principal; it cannot be a principal's role")
        out.add(_printable(role, f"role {role[:40]!r}", _MAX_ROLE))
    return frozenset(out)


class Principal(BaseModel):
    """Who is acting: an id, the roles permissions are granted to, attributes and a request id.

    ``id`` is ``None`` for an anonymous caller; ``user_id=`` is accepted as its other spelling
    (and :attr:`user_id` reads it). ``roles`` takes one name or a collection of names.
    ``attributes`` are the caller's facts that access rules read (``{"tenant": "acme"}``).

    Principals are immutable and hashable; two principals are equal when every field is.

    Examples:
        >>> ada = Principal(id="ada", roles={"admin"}, attributes={"tenant": "acme"})
        >>> ada.roles, ada.is_anonymous
        (frozenset({'admin'}), False)
        >>> Principal(user_id="bob").id
        'bob'
        >>> Principal.anonymous().roles
        frozenset({'anonymous'})
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str | None = Field(default=None, validation_alias=AliasChoices("id", "user_id"))
    roles: frozenset[str] = frozenset()
    attributes: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"a principal id must be a string, got {type(value).__name__}")
        return _printable(value, "a principal id", _MAX_ID)

    @field_validator("request_id", mode="before")
    @classmethod
    def _request_id_text(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"a request id must be a string, got {type(value).__name__}")
        return _printable(value, "a request id", _MAX_ID)

    @field_validator("roles", mode="before")
    @classmethod
    def _role_names(cls, value: Any) -> frozenset[str]:
        return check_roles(value)

    @field_validator("attributes", mode="before")
    @classmethod
    def _attribute_names(cls, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError(f"attributes must be a mapping, got {type(value).__name__}")
        for key in value:
            if not isinstance(key, str) or not key:
                raise ValueError(f"attribute names must be non-empty strings, got {key!r}")
        return dict(value)  # a copy: the caller's dict changing later must not change us

    @classmethod
    def anonymous(cls, *, request_id: str | None = None) -> Principal:
        """An unauthenticated caller: no id, the one role ``"anonymous"``."""
        return cls(roles=frozenset({ANONYMOUS_ROLE}), request_id=request_id)

    @property
    def user_id(self) -> str | None:
        """:attr:`id` under the name repositories use (``RepoContext.user_id``)."""
        return self.id

    @property
    def display_id(self) -> str:
        """The id as messages and audit views show it: :attr:`id`, or ``"anonymous"``."""
        return self.id if self.id is not None else ANONYMOUS_ROLE

    @property
    def is_anonymous(self) -> bool:
        """Whether nobody authenticated (the principal has no id)."""
        return self.id is None

    def has_role(self, *roles: str) -> bool:
        """Whether the principal holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    def with_request(self, request_id: str | None) -> Principal:
        """The same caller, acting for another request (the request id validated)."""
        return type(self).model_validate({**self._fields(), "request_id": request_id})

    def _fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "roles": self.roles,
            "attributes": self.attributes,
            "request_id": self.request_id,
        }

    def __hash__(self) -> int:
        # attributes (a dict) are left out of the hash: equal principals still hash equal.
        return hash((type(self), self.id, self.roles, self.request_id))

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Attributes may carry a token or an e-mail address the caller did not mean to log.
        for name, value in super().__repr_args__():
            yield name, redact(value) if name == "attributes" else value


ANONYMOUS = Principal.anonymous()
#: The principal of in-process calls that no user triggered (start-up registration, refresh tasks).
SYSTEM = Principal(id="system", roles=frozenset({"system"}))
