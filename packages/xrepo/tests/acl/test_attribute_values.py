"""A caller's attributes are values in ACL row rules, never query syntax (issue 16).

A rule ``{"team": "$user.team"}`` compares the field with the caller's attribute. An attribute
that is an operator document (``{"$ne": None}``, which a token claim can carry), a list, a string
starting with ``$`` or anything else must be compared literally: the caller sees exactly the rows
whose field equals the attribute, on the memory engine and on SQLite alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from xrepo import (
    MaterializedRepo,
    Permission,
    RepoContext,
    XRepo,
    XRepoFactory,
    XRepoValidationError,
)
from xrepo.acl import ACLPolicy, ACLRule, Principal
from xrepo.query import MATCH_NONE, Condition
from xrepo.secure import SecureRepo
from xresource import ResourceFactory


class Rec(BaseModel):
    id: int
    team: str
    tag: str = ""


HOSTILE_TEXT = [
    "$ne",
    "$user.id",
    "$user.team",
    "$where",
    ".*",
    "a' OR '1'='1",
    "",
    " ",
    "a",
    "b",
    "{'$ne': None}",
    "é",
    "\x00",
]
ROWS = [{"id": i + 1, "team": t, "tag": t} for i, t in enumerate(HOSTILE_TEXT)]
RULES = [
    ACLRule(role="member", permissions=["read", "list"], conditions={"team": "$user.team"}),
    ACLRule(role="many", permissions=["list"], conditions={"team": {"$in": "$user.teams"}}),
    ACLRule(role="not", permissions=["list"], conditions={"team": {"$ne": "$user.team"}}),
    ACLRule(role="prefix", permissions=["list"], conditions={"team__startswith": "$user.p"}),
    ACLRule(role="pattern", permissions=["list"], conditions={"tag": {"$regex": "$user.p"}}),
]
#: Attributes that an attacker would use to widen a rule, each compared as a value.
HOSTILE_ATTRIBUTES: list[Any] = [
    {"$ne": None},
    {"$gt": ""},
    {"$exists": True},
    {"$in": ["a", "b"]},
    {"$regex": ".*"},
    {"$where": "true"},
    {"$or": [{"team": {"$ne": None}}]},
    ["a", "b"],
    [],
    None,
    True,
    0,
    1.5,
    "$user.id",
    "$user.team",
    "$where",
    "$ne",
    ".*",
    "a' OR '1'='1",
]


class World:
    """One repository per backend (memory, SQLite), secured by RULES, on one event loop."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.repos: dict[str, SecureRepo[Any]] = {}
        self.resource: Any = None
        self.loop.run_until_complete(self._open(tmp))

    async def _open(self, tmp: Path) -> None:
        memory = MaterializedRepo(model_class=Rec, data=ROWS, name="recs")
        self.repos["memory"] = SecureRepo(memory, acl=ACLPolicy(RULES))
        self.resource = ResourceFactory.from_url(f"sqlite:///{tmp / 'acl.db'}")
        await self.resource.connect()
        await self.resource.execute(
            'CREATE TABLE "recs" (id INTEGER PRIMARY KEY, team TEXT NOT NULL, tag TEXT)'
        )
        sql: XRepo[Any] = await XRepoFactory.create(
            resource=self.resource, model_class=Rec, collection="recs", soft_delete=False
        )
        await sql.bulk_create(ROWS)
        self.repos["sqlite"] = SecureRepo(sql, acl=ACLPolicy(RULES))

    def visible(self, backend: str, role: str, **attributes: Any) -> list[int]:
        ctx = RepoContext(user_id="x", roles=(role,), attributes=attributes)
        rows = self.loop.run_until_complete(
            self.repos[backend].list(context=ctx, limit=None, sort="id")
        )
        return [r.id for r in rows]

    def close(self) -> None:
        self.loop.run_until_complete(self.resource.disconnect())
        self.loop.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("acl"))
    yield w
    w.close()


def ids_where(pred: Any) -> list[int]:
    return [r["id"] for r in ROWS if pred(r)]


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize("attribute", HOSTILE_ATTRIBUTES, ids=repr)
def test_an_attribute_is_compared_as_a_value(world: World, backend: str, attribute: Any) -> None:
    want = ids_where(lambda r: type(attribute) is str and r["team"] == attribute)
    assert world.visible(backend, "member", team=attribute) == want
    if type(attribute) is str:
        assert want, "each hostile string is some row's team"


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_in_takes_the_attributes_elements_as_values(world: World, backend: str) -> None:
    teams = ["a", {"$ne": None}, "$user.id", ["b"], None]
    assert world.visible(backend, "many", teams=teams) == ids_where(
        lambda r: r["team"] in ("a", "$user.id")
    )
    # A scalar is one element; an operator document is one (impossible) value.
    assert world.visible(backend, "many", teams="b") == ids_where(lambda r: r["team"] == "b")
    assert world.visible(backend, "many", teams={"$ne": None}) == []


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_negated_rule_stays_a_negation_of_the_value(world: World, backend: str) -> None:
    # {"team": {"$ne": {"$ne": None}}}: every row differs from that document.
    assert world.visible(backend, "not", team={"$ne": None}) == [r["id"] for r in ROWS]
    assert world.visible(backend, "not", team="a") == ids_where(lambda r: r["team"] != "a")


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_text_operators_take_the_attribute_as_text(world: World, backend: str) -> None:
    assert world.visible(backend, "prefix", p="$") == ids_where(lambda r: r["team"][:1] == "$")
    assert world.visible(backend, "prefix", p={"$ne": None}) == []
    # A $regex placeholder matches the attribute's text: ".*" is two characters, not a pattern.
    assert world.visible(backend, "pattern", p=".*") == ids_where(lambda r: ".*" in r["tag"])
    assert len(ids_where(lambda r: ".*" in r["tag"])) == 1
    assert world.visible(backend, "pattern", p="$") == ids_where(lambda r: "$" in r["tag"])
    assert world.visible(backend, "pattern", p="'$ne'") == ids_where(lambda r: "'$ne'" in r["tag"])
    assert world.visible(backend, "pattern", p=["a"]) == []


def test_an_attribute_that_is_no_value_is_a_clear_error(world: World) -> None:
    for bad, what in ((object(), "object"), ({1: "a"}, "int key"), (b"a", "bytes")):
        with pytest.raises(XRepoValidationError, match="attribute 'team'") as info:
            world.visible("memory", "member", team=bad)
        assert what in str(info.value)


def test_the_scope_binds_the_document_as_one_value() -> None:
    policy = ACLPolicy(RULES).bind(Rec.model_fields, repo="recs")
    member = Principal(user_id="x", roles=frozenset({"member"}), attributes={"team": {"$ne": None}})
    decision = policy.decide(member, Permission.LIST)
    assert decision is not None
    assert decision.scope == Condition("team", "eq", {"$ne": None})
    many = Principal(user_id="x", roles=frozenset({"many"}), attributes={"teams": ["a", "$ne"]})
    decision = policy.decide(many, Permission.LIST)
    assert decision is not None
    assert decision.scope == Condition("team", "in", ("a", "$ne"))
    pattern = Principal(user_id="x", roles=frozenset({"pattern"}), attributes={"p": 5})
    decision = policy.decide(pattern, Permission.LIST)
    assert decision is not None
    assert decision.scope == MATCH_NONE


# -- property: visible rows are exactly those whose field equals the attribute --------------------
json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(HOSTILE_TEXT),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["$ne", "$gt", "$in", "$regex", "$where", "$or", "a", "team"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(attribute=json_like)
def test_visible_rows_are_the_rows_equal_to_the_attribute(world: World, attribute: Any) -> None:
    # Python equality, per the memory engine's type-strict semantics: a str field equals a str.
    want = ids_where(lambda r: isinstance(attribute, str) and r["team"] == attribute)
    for backend in ("memory", "sqlite"):
        assert world.visible(backend, "member", team=attribute) == want, backend
