"""Access control for repositories: rules, who the caller is, and how rules apply.

- :class:`ACLRule` — the spec's rule: a role, its permissions, row and column conditions;
- :class:`ACLPolicy` — the rules of one repository, a :class:`RoleResolver` and the
  ``$lookup`` sources it may read; bound to a repository it gives per-caller
  :class:`Decision` objects (row scope, readable and writable fields);
- resolvers: :class:`ContextResolver`, :class:`StaticResolver`, :class:`CallableResolver`.

Enforcement (refusals, row filters, hidden fields, audit of every write and refusal) lives in
:class:`xrepo.secure.SecureRepo`; :func:`scope_fields` and :func:`freeze_value` are what its
access layer reads of a decision.
"""

from xrepo.acl._binding import freeze_value
from xrepo.acl._policy import (
    EVERYONE,
    ACLPolicy,
    BoundPolicy,
    Decision,
    LookupGrant,
    scope_fields,
)
from xrepo.acl._rules import ACLRule, Permission
from xrepo.acl.resolver import (
    CallableResolver,
    ContextResolver,
    Principal,
    RoleResolver,
    StaticResolver,
)

__all__ = [
    "EVERYONE",
    "ACLPolicy",
    "ACLRule",
    "BoundPolicy",
    "CallableResolver",
    "ContextResolver",
    "Decision",
    "LookupGrant",
    "Permission",
    "Principal",
    "RoleResolver",
    "StaticResolver",
    "freeze_value",
    "scope_fields",
]
