"""``ACLPolicy``: rules applied to one repository's queries, pipelines, results and writes.

For a caller (a :class:`~xrepo.acl.resolver.Principal`) and a permission the policy computes a
:class:`Decision`:

- **grant**: some rule of one of the caller's roles (or of the role ``"*"``: everyone) grants
  the permission, else the operation is refused (``XRepoPermissionError``);
- **row scope**: the OR of the granting rules' row filters (``None`` when one of them has
  none), with ``$user.id``/``$user.<attribute>`` replaced by the caller's values. The scope is a
  filter tree: every backend binds its values as parameters, nothing is spliced into a query.
  An attribute is always a *value*, never query syntax: the rule is parsed with placeholders
  and the caller's values are put into the parsed tree afterwards, so an attribute such as
  ``{"$ne": None}``, ``["a", "b"]`` or ``"$user.id"`` is compared literally (a ``$regex``
  placeholder matches the attribute's text, escaped);
- **columns**: the union of what the granting rules let the caller read (and write).

Hidden fields may not be *used* either: a filter, sort, distinct field, group key, accumulator,
``$project`` expression, ``$unwind`` or ``$lookup`` key naming one is refused, so a hidden value
cannot be probed through sort order, counts or a filter. What remains is stripped from results.

Rules of several roles combine permissively (a field one granting rule shows is shown). Give a
role that must see less its own rules and do not grant it the wider role too.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, create_model

from xrepo._context import Permission
from xrepo.acl._binding import (
    _PROBE,
    _bind_slots,
    _NoAttribute,
    _Slot,
    _substitute,
    freeze_value,
)
from xrepo.acl._rules import ACLRule
from xrepo.acl.resolver import ContextResolver, Principal, RoleResolver
from xrepo.errors import XRepoConfigurationError, XRepoPermissionError, XRepoValidationError
from xrepo.query import (
    DEFAULT_LIMITS,
    Count,
    FilterLimits,
    Group,
    Literal,
    Lookup,
    Match,
    Node,
    Or,
    Project,
    Sort,
    Stage,
    Unwind,
    conditions,
    parse_filter,
)

__all__ = ["EVERYONE", "ACLPolicy", "BoundPolicy", "Decision", "LookupGrant", "scope_fields"]

#: The role every caller has (anonymous ones too).
EVERYONE = "*"


@dataclass(frozen=True)
class Decision:
    """What one caller may do for one permission on one repository."""

    permission: Permission
    scope: Node | None
    readable: frozenset[str]
    writable: frozenset[str]
    hidden: frozenset[str]
    roles: tuple[str, ...]

    def fingerprint(self) -> dict[str, Any]:
        """What decides what the caller sees: part of every cache key."""
        return {
            "roles": list(self.roles),
            "scope": repr(self.scope),
            "hidden": sorted(self.hidden),
        }

    @functools.cached_property
    def fingerprint_text(self) -> str:
        """:meth:`fingerprint` as one string (computed once per decision)."""
        return repr(sorted(self.fingerprint().items()))


@dataclass(frozen=True)
class LookupGrant:
    """What a ``$lookup`` may read of another collection/table: its row scope and hidden
    fields (from that collection's own policy)."""

    scope: Node | None = None
    hidden: frozenset[str] = frozenset()


def scope_fields(node: Node | None) -> frozenset[str]:
    """Top-level fields a row scope reads (a write touching one must keep the row in scope)."""
    if node is None:
        return frozenset()
    return frozenset(c.path.split(".", 1)[0] for c in conditions(node))


class ACLPolicy:
    """Access rules for one repository.

    Args:
        rules: the :class:`ACLRule` list (dicts are validated into rules).
        resolver: turns the caller's context into roles and attributes
            (:class:`~xrepo.acl.resolver.ContextResolver` by default).
        lookups: what ``$lookup`` may read: ``{collection: ACLPolicy | None}``. A lookup into a
            collection not listed is refused; ``None`` opens it unrestricted; a policy restricts
            the foreign side by that policy's own rules for the same caller.

    Examples:
        >>> policy = ACLPolicy([
        ...     ACLRule(role="admin", permissions=["admin"]),
        ...     ACLRule(role="user", permissions=["read", "list"],
        ...             conditions={"rows": {"owner": "$user.id"}, "hidden_fields": ["ssn"]}),
        ... ])
    """

    def __init__(
        self,
        rules: Iterable[ACLRule | Mapping[str, Any]],
        *,
        resolver: RoleResolver | None = None,
        lookups: Mapping[str, ACLPolicy | None] | None = None,
        cache_size: int = 1024,
    ) -> None:
        parsed: list[ACLRule] = []
        for i, rule in enumerate(rules):
            if isinstance(rule, ACLRule):
                parsed.append(rule)
            elif isinstance(rule, Mapping):
                try:
                    parsed.append(ACLRule.model_validate(rule))
                except ValueError as exc:
                    raise XRepoConfigurationError(
                        f"ACL rule {i} is invalid: {exc}", operation="configure acl"
                    ) from None
            else:
                raise XRepoConfigurationError(
                    f"ACL rule {i} must be an ACLRule or a dict, got {type(rule).__name__}",
                    operation="configure acl",
                )
        if resolver is not None and not isinstance(resolver, RoleResolver):
            raise XRepoConfigurationError(
                f"resolver must be a RoleResolver, got {type(resolver).__name__}",
                operation="configure acl",
            )
        for name, sub in (lookups or {}).items():
            if sub is not None and not isinstance(sub, ACLPolicy):
                raise XRepoConfigurationError(
                    f"lookups[{name!r}] must be an ACLPolicy or None", operation="configure acl"
                )
        self.rules: tuple[ACLRule, ...] = tuple(parsed)
        self.resolver: RoleResolver = resolver or ContextResolver()
        self.lookups: dict[str, ACLPolicy | None] = dict(lookups or {})
        self.cache_size = cache_size
        self._models: dict[tuple[type[BaseModel], frozenset[str]], type[BaseModel]] = {}
        self._lookup_bound: dict[str, BoundPolicy] = {}

    # -- binding -------------------------------------------------------------------------------
    def bind(
        self,
        fields: Iterable[str],
        *,
        repo: str | None = None,
        limits: FilterLimits = DEFAULT_LIMITS,
    ) -> BoundPolicy:
        """This policy checked against a model's ``fields``, ready to :meth:`BoundPolicy.decide`.

        Raises:
            XRepoConfigurationError: a rule names an unknown field or has a bad row filter.
        """
        names = frozenset(fields)
        for rule in self.rules:
            rule.check_fields(names, repo)
            if rule.row_filter is not None:
                # Parse once with a dummy caller, so that a typo fails at configuration time.
                slots: list[_Slot] = []
                doc = _substitute(rule.row_filter, _PROBE, repo, slots, probe=True)
                try:
                    node = parse_filter(
                        doc, fields=names, limits=limits, operation="configure acl", repo=repo
                    )
                    _bind_slots(node, slots, limits, "configure acl", repo)
                except XRepoValidationError as exc:
                    raise XRepoConfigurationError(
                        f"ACL rule for role {rule.role!r}: bad row filter: {exc}",
                        repo=repo,
                        operation="configure acl",
                    ) from None
        return BoundPolicy(self, names, repo, limits)

    def lookup_grant(self, source: str, principal: Principal) -> LookupGrant:
        """What a ``$lookup`` into ``source`` may read for ``principal``.

        Raises:
            XRepoPermissionError: ``source`` is not open to lookups, or its policy refuses the
                caller.
        """
        if source not in self.lookups:
            raise XRepoPermissionError(
                f"$lookup into {source!r} is not allowed: declare it in the policy's "
                "lookups={...}",
                operation="aggregate",
            )
        sub = self.lookups[source]
        if sub is None:
            return LookupGrant()
        bound = self._lookup_bound.get(source)
        if bound is None:
            raise XRepoConfigurationError(
                f"the fields of $lookup source {source!r} are unknown; call "
                "policy.set_lookup_fields(source, fields)",
                operation="aggregate",
            )
        decision = bound.decide(principal, Permission.LIST)
        if decision is None:
            raise XRepoPermissionError(
                f"$lookup into {source!r}: the caller may not list it", operation="aggregate"
            )
        return LookupGrant(decision.scope, decision.hidden)

    def set_lookup_fields(self, source: str, fields: Iterable[str]) -> None:
        """Bind the policy of ``$lookup`` source ``source`` to that collection's fields."""
        sub = self.lookups.get(source)
        if sub is not None:
            self._lookup_bound[source] = sub.bind(fields, repo=source)

    # -- column checks -------------------------------------------------------------------------
    @staticmethod
    def check_node(node: Node, hidden: frozenset[str], operation: str, repo: str | None) -> None:
        """Refuse a filter that reads a hidden field."""
        if not hidden:
            return
        for cond in conditions(node):
            top = cond.path.split(".", 1)[0]
            if top in hidden:
                raise XRepoPermissionError(
                    f"field {top!r} is not readable by the caller and cannot be filtered on",
                    repo=repo,
                    operation=operation,
                )

    @staticmethod
    def check_paths(
        paths: Iterable[str], hidden: frozenset[str], operation: str, repo: str | None, what: str
    ) -> None:
        """Refuse ``paths`` (sort keys, a distinct field) that read a hidden field."""
        if not hidden:
            return
        for path in paths:
            if path.split(".", 1)[0] in hidden:
                raise XRepoPermissionError(
                    f"field {path.split('.', 1)[0]!r} is not readable by the caller and cannot "
                    f"be used {what}",
                    repo=repo,
                    operation=operation,
                )

    def check_pipeline(
        self,
        stages: Sequence[Stage],
        hidden: frozenset[str],
        grants: Mapping[str, LookupGrant],
        repo: str | None,
    ) -> frozenset[str]:
        """Refuse stages that use a hidden field; return the hidden paths still present in
        the output (to strip): top-level names, or ``as.field`` inside looked-up documents."""
        tainted: set[str] = set(hidden)

        def use(path: str, what: str) -> None:
            for t in tainted:
                if path == t or path.startswith(t + ".") or t.startswith(path + "."):
                    raise XRepoPermissionError(
                        f"field {t!r} is not readable by the caller and cannot be used {what}",
                        repo=repo,
                        operation="aggregate",
                    )

        for stage in stages:
            if isinstance(stage, Match):
                for cond in conditions(stage.node):
                    use(cond.path, "in $match")
            elif isinstance(stage, Project):
                if stage.include is not None:
                    for source in stage.include.values():
                        if not isinstance(source, Literal):
                            use(source, "in $project")
                    tainted = set()
                else:
                    # Excluding a hidden field only removes it: no use, nothing leaks.
                    tainted -= set(stage.exclude)
            elif isinstance(stage, Group):
                for k in stage.key_paths:
                    use(k, "as a $group key")
                for acc in stage.accumulators.values():
                    if acc.path is not None:
                        use(acc.path, "in a $group accumulator")
                tainted = set()
            elif isinstance(stage, Sort):
                for path, _ in stage.keys:
                    use(path, "in $sort")
            elif isinstance(stage, Unwind):
                # Unwinding looked-up documents is fine (their hidden keys stay stripped);
                # unwinding a hidden field itself is a use.
                for t in tainted:
                    if stage.path == t or stage.path.startswith(t + "."):
                        use(stage.path, "in $unwind")
            elif isinstance(stage, Lookup):
                use(stage.local, "as a $lookup key")
                grant = grants.get(stage.source, LookupGrant())
                if stage.foreign.split(".", 1)[0] in grant.hidden:
                    raise XRepoPermissionError(
                        f"field {stage.foreign!r} of {stage.source!r} is not readable by the "
                        "caller and cannot be a $lookup key",
                        repo=repo,
                        operation="aggregate",
                    )
                tainted = {
                    t for t in tainted if t != stage.as_ and not t.startswith(stage.as_ + ".")
                }
                tainted |= {f"{stage.as_}.{h}" for h in grant.hidden}
            elif isinstance(stage, Count):
                tainted = set()
        return frozenset(tainted)

    def check_write(
        self,
        keys: Iterable[str],
        decision: Decision,
        operation: str,
        repo: str | None,
        item: int | None = None,
    ) -> None:
        """Refuse writing fields the caller may not write."""
        denied = sorted(k for k in keys if k not in decision.writable)
        if denied:
            where = f" (item {item})" if item is not None else ""
            raise XRepoPermissionError(
                f"the caller may not write field(s) {denied}{where}",
                repo=repo,
                operation=operation,
                item=item,
            )

    # -- results -------------------------------------------------------------------------------
    @staticmethod
    def strip(rows: list[dict[str, Any]], tainted: frozenset[str]) -> list[dict[str, Any]]:
        """Remove hidden paths (``name`` or ``as.name``) from result documents, in place."""
        if not tainted:
            return rows
        top = [t for t in tainted if "." not in t]
        nested = [t.split(".", 1) for t in tainted if "." in t]
        for row in rows:
            for t in top:
                row.pop(t, None)
            for head, rest in nested:
                _strip_nested(row.get(head), rest)
        return rows

    def restricted_model(self, model: type[BaseModel], hidden: frozenset[str]) -> type[BaseModel]:
        """``model`` without the ``hidden`` fields (cached): what a restricted caller gets."""
        if not hidden:
            return model
        key = (model, hidden)
        found = self._models.get(key)
        if found is not None:
            return found
        fields: dict[str, Any] = {}
        for name, info in model.model_fields.items():
            if name in hidden:
                continue
            fields[name] = (info.annotation, info)
        base: type[BaseModel] = BaseModel
        for klass in model.__mro__:
            if klass.__name__ == "XObjPrototype":
                base = klass
                break
        restricted = create_model(
            model.__name__, __base__=base, __module__=model.__module__, **fields
        )
        restricted.__doc__ = (
            f"{model.__name__} as seen by a caller who may not read {sorted(hidden)}."
        )
        self._models[key] = restricted
        return restricted


class BoundPolicy:
    """An :class:`ACLPolicy` bound to one repository's fields, with a decision cache."""

    def __init__(
        self, policy: ACLPolicy, fields: frozenset[str], repo: str | None, limits: FilterLimits
    ) -> None:
        self.policy = policy
        self.fields = fields
        self.repo = repo
        self.limits = limits
        self._cache: OrderedDict[Any, Decision | None] = OrderedDict()
        self._lock = threading.Lock()

    def decide(self, principal: Principal, permission: Permission) -> Decision | None:
        """The decision for ``principal`` and ``permission``; ``None``: refused."""
        key = (permission, principal.user_id, principal.roles, freeze_value(principal.attributes))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        decision = self._decide(principal, permission)
        with self._lock:
            self._cache[key] = decision
            while len(self._cache) > self.policy.cache_size:
                self._cache.popitem(last=False)
        return decision

    def _decide(self, principal: Principal, permission: Permission) -> Decision | None:
        roles = principal.roles | {EVERYONE}
        granting = [r for r in self.policy.rules if r.role in roles and r.grants(permission)]
        if not granting:
            return None
        scopes: list[Node] = []
        unrestricted = False
        readable: frozenset[str] = frozenset()
        writable: frozenset[str] = frozenset()
        applied = 0
        for rule in granting:
            doc = rule.row_filter
            if doc is not None:
                slots: list[_Slot] = []
                try:
                    substituted = _substitute(doc, principal, self.repo, slots)
                except _NoAttribute:
                    continue  # the rule needs an attribute this caller lacks: no grant
                # The rule is parsed with placeholders, then the caller's values go into the
                # parsed tree: an attribute can never become an operator, a field or a pattern.
                parsed = parse_filter(
                    substituted,
                    fields=self.fields,
                    limits=self.limits,
                    operation="acl",
                    repo=self.repo,
                )
                scopes.append(_bind_slots(parsed, slots, self.limits, "acl", self.repo))
            else:
                unrestricted = True
            applied += 1
            readable |= rule.readable(self.fields)
            writable |= rule.writable(self.fields, creating=permission is Permission.CREATE)
        if not applied:
            return None
        scope: Node | None
        if unrestricted:
            scope = None
        elif len(scopes) == 1:
            scope = scopes[0]
        else:
            scope = Or(tuple(scopes))
        return Decision(
            permission=permission,
            scope=scope,
            readable=readable,
            writable=writable,
            hidden=self.fields - readable,
            roles=tuple(sorted(principal.roles)),
        )


def _strip_nested(value: Any, path: str) -> None:
    head, _, rest = path.partition(".")
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            if rest:
                _strip_nested(item.get(head), rest)
            else:
                item.pop(head, None)
