"""ACLRule, resolvers and ACLPolicy decisions (no repository involved)."""

from __future__ import annotations

import pytest

from xrepo import RepoContext, XRepoConfigurationError, XRepoPermissionError
from xrepo.acl import (
    ACLPolicy,
    ACLRule,
    CallableResolver,
    ContextResolver,
    Permission,
    Principal,
    StaticResolver,
)
from xrepo.query import And, Condition, Or

FIELDS = frozenset({"id", "owner", "team", "title", "salary"})


def test_rule_grants_and_admin_implies_all() -> None:
    rule = ACLRule(role="viewer", permissions=["read", "list"])
    assert rule.grants(Permission.READ)
    assert not rule.grants(Permission.DELETE)
    admin = ACLRule(role="root", permissions="admin")
    assert all(admin.grants(p) for p in Permission)


def test_rule_columns() -> None:
    rule = ACLRule(
        role="r",
        permissions=["list", "update"],
        conditions={"hidden_fields": ["salary"], "readonly_fields": ["owner"]},
    )
    assert rule.readable(FIELDS) == FIELDS - {"salary"}
    assert rule.writable(FIELDS) == FIELDS - {"salary", "owner"}
    whitelist = ACLRule(role="r", permissions=["list"], conditions={"fields": ["id", "title"]})
    assert whitelist.readable(FIELDS) == {"id", "title"}
    assert whitelist.writable(FIELDS) == {"id", "title"}


def test_rule_shorthand_row_filter() -> None:
    rule = ACLRule(role="r", permissions=["list"], conditions={"owner": "$user.id"})
    assert rule.row_filter == {"owner": "$user.id"}
    assert rule.readable(FIELDS) == FIELDS


@pytest.mark.parametrize(
    "conditions",
    [
        {"rows": {"owner": 1}, "owner": 2},  # reserved and plain keys mixed
        {"fields": ["a"], "hidden_fields": ["b"]},
        {"writable_fields": ["a"], "readonly_fields": ["b"]},
        {"rows": "owner = 1"},
        {"hidden_fields": "salary"},
        {"hidden_fields": ["a.b"]},
        {"hidden_fields": [3]},
    ],
)
def test_rule_rejects_bad_conditions(conditions: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"conditions|give|field"):
        ACLRule(role="r", permissions=["list"], conditions=conditions)


@pytest.mark.parametrize(
    "bad",
    [
        {"role": "", "permissions": ["list"]},
        {"role": "r", "permissions": []},
        {"role": "r", "permissions": ["fly"]},
        {"role": "r", "permissions": ["list"], "extra": 1},
    ],
)
def test_rule_rejects_bad_input(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ACLRule.model_validate(bad)


def test_policy_rejects_unknown_fields_and_bad_filters() -> None:
    with pytest.raises(XRepoConfigurationError, match="unknown field"):
        ACLPolicy(
            [ACLRule(role="r", permissions=["list"], conditions={"hidden_fields": ["x"]})]
        ).bind(FIELDS)
    with pytest.raises(XRepoConfigurationError, match="bad row filter"):
        ACLPolicy([{"role": "r", "permissions": ["list"], "conditions": {"nope": 1}}]).bind(FIELDS)
    with pytest.raises(XRepoConfigurationError, match="placeholder"):
        ACLPolicy(
            [{"role": "r", "permissions": ["list"], "conditions": {"owner": "$user.a-b"}}]
        ).bind(FIELDS)
    with pytest.raises(XRepoConfigurationError, match="ACL rule 0"):
        ACLPolicy([{"role": "r"}])
    with pytest.raises(XRepoConfigurationError, match="must be an ACLRule"):
        ACLPolicy(["admin"])  # type: ignore[list-item]


def test_decision_scope_substitutes_bound_values() -> None:
    policy = ACLPolicy(
        [
            ACLRule(role="u", permissions=["list"], conditions={"owner": "$user.id"}),
            ACLRule(
                role="lead",
                permissions=["list"],
                conditions={"rows": {"team": {"$in": "$user.teams"}}, "hidden_fields": ["salary"]},
            ),
        ]
    )
    bound = policy.bind(FIELDS)
    hostile = "x' OR '1'='1"
    d = bound.decide(Principal(user_id=hostile, roles=frozenset({"u"})), Permission.LIST)
    assert d is not None
    # The caller's id is a value of the tree, never text of a query.
    assert d.scope == Condition("owner", "eq", hostile)
    both = bound.decide(
        Principal(user_id="u1", roles=frozenset({"u", "lead"}), attributes={"teams": ["a", "b"]}),
        Permission.LIST,
    )
    assert both is not None
    assert isinstance(both.scope, Or)
    assert Condition("team", "in", ("a", "b")) in both.scope.children
    # permissive union: the "u" rule shows salary
    assert both.hidden == frozenset()


def test_decision_refusals() -> None:
    policy = ACLPolicy(
        [ACLRule(role="lead", permissions=["list"], conditions={"team": "$user.team"})]
    )
    bound = policy.bind(FIELDS)
    assert bound.decide(Principal(user_id="u", roles=frozenset({"other"})), Permission.LIST) is None
    assert (
        bound.decide(Principal(user_id="u", roles=frozenset({"lead"})), Permission.DELETE) is None
    )
    # the rule needs an attribute the caller lacks: no grant rather than a match on null
    assert bound.decide(Principal(user_id="u", roles=frozenset({"lead"})), Permission.LIST) is None
    # anonymous callers never match $user.id
    anon = ACLPolicy([ACLRule(role="*", permissions=["list"], conditions={"owner": "$user.id"})])
    assert anon.bind(FIELDS).decide(Principal(), Permission.LIST) is None


def test_everyone_role_and_cache() -> None:
    policy = ACLPolicy([ACLRule(role="*", permissions=["list"])])
    bound = policy.bind(FIELDS)
    p = Principal(user_id="x")
    first = bound.decide(p, Permission.LIST)
    assert first is not None
    assert first.scope is None
    assert bound.decide(p, Permission.LIST) is first


def test_fingerprint_differs_by_access() -> None:
    policy = ACLPolicy([ACLRule(role="u", permissions=["list"], conditions={"owner": "$user.id"})])
    bound = policy.bind(FIELDS)
    a = bound.decide(Principal(user_id="a", roles=frozenset({"u"})), Permission.LIST)
    b = bound.decide(Principal(user_id="b", roles=frozenset({"u"})), Permission.LIST)
    assert a is not None
    assert b is not None
    assert a.fingerprint() != b.fingerprint()


async def test_resolvers() -> None:
    ctx = RepoContext(user_id="u1", roles=("admin",), attributes={"team": "t"})
    p = await ContextResolver().resolve(ctx)
    assert p.roles == {"admin"}
    assert p.attributes == {"team": "t"}
    static = StaticResolver({"u1": {"roles": ["viewer"], "attributes": {"team": "x"}}, "u2": "ops"})
    p = await static.resolve(ctx)
    assert p.roles == {"viewer"}, "a static resolver ignores roles the context claims"
    assert (await static.resolve(RepoContext(user_id="u2"))).roles == {"ops"}
    assert (await static.resolve(RepoContext(user_id="nobody"))).roles == frozenset()
    deny = StaticResolver({}, unknown="deny")
    with pytest.raises(XRepoPermissionError):
        await deny.resolve(RepoContext(user_id="nobody"))
    with pytest.raises(XRepoConfigurationError):
        StaticResolver({}, unknown="maybe")

    async def lookup(c: RepoContext) -> dict[str, object]:
        return {"roles": "auditor", "attributes": {"org": 7}}

    p = await CallableResolver(lookup).resolve(ctx)
    assert p.roles == {"auditor"}
    assert p.attributes == {"org": 7}
    p = await CallableResolver(lambda c: Principal(user_id="z")).resolve(ctx)
    assert p.user_id == "z"
    with pytest.raises(XRepoConfigurationError):
        await CallableResolver(lambda c: 42).resolve(ctx)
    with pytest.raises(XRepoConfigurationError):
        CallableResolver("nope")  # type: ignore[arg-type]


def test_restricted_model_and_strip() -> None:
    from pydantic import BaseModel

    class M(BaseModel):
        id: int
        salary: int

    policy = ACLPolicy([])
    R = policy.restricted_model(M, frozenset({"salary"}))
    assert set(R.model_fields) == {"id"}
    assert policy.restricted_model(M, frozenset({"salary"})) is R
    assert policy.restricted_model(M, frozenset()) is M
    rows = [{"id": 1, "salary": 2, "orders": [{"cost": 1, "secret": 2}], "o": {"secret": 1}}]
    ACLPolicy.strip(rows, frozenset({"salary", "orders.secret", "o.secret"}))
    assert rows == [{"id": 1, "orders": [{"cost": 1}], "o": {}}]
    _ = And
