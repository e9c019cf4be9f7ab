"""Principal: the one caller type (ids, roles, attributes, anonymous, hostile input)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from pydantic import ValidationError

from xobj_prototype import ANONYMOUS, ANONYMOUS_ROLE, EVERYONE, MASK, SYSTEM, Principal, check_roles


def test_roles_become_a_frozenset_from_a_name_or_a_collection() -> None:
    assert Principal(id="ada", roles={"admin", "viewer"}).roles == frozenset({"admin", "viewer"})
    assert Principal(id="ada", roles=["admin", "admin"]).roles == frozenset({"admin"})
    assert Principal(id="ada", roles=("admin",)).roles == frozenset({"admin"})
    # One name is one role, never a set of its letters.
    assert Principal(id="ada", roles="admin").roles == frozenset({"admin"})


def test_user_id_is_the_other_spelling_of_id() -> None:
    bob = Principal.model_validate({"user_id": "bob", "roles": ("r",), "request_id": "req-1"})
    assert bob.id == bob.user_id == "bob"
    assert bob == Principal(id="bob", roles={"r"}, request_id="req-1")


def test_anonymous_means_no_id() -> None:
    assert ANONYMOUS.id is None
    assert ANONYMOUS.is_anonymous
    assert ANONYMOUS.roles == frozenset({ANONYMOUS_ROLE})
    assert Principal.anonymous(request_id="r-9").request_id == "r-9"
    bare = Principal()
    assert bare.is_anonymous
    assert bare.roles == frozenset()
    assert not SYSTEM.is_anonymous
    assert SYSTEM.roles == frozenset({"system"})
    assert not Principal(id="anonymous-looking").is_anonymous
    assert ANONYMOUS.display_id == bare.display_id == "anonymous"
    assert SYSTEM.display_id == "system"


def test_principals_are_immutable_hashable_and_compare_by_value() -> None:
    ada = Principal(id="ada", roles={"admin"}, attributes={"tenant": "acme"})
    with pytest.raises(ValidationError):
        ada.id = "eve"  # type: ignore[misc]
    same = Principal(id="ada", roles=["admin"], attributes={"tenant": "acme"})
    assert ada == same
    assert hash(ada) == hash(same)
    assert len({ada, same, SYSTEM}) == 2
    assert ada != Principal(id="ada", roles={"admin"}, attributes={"tenant": "other"})
    assert pickle.loads(pickle.dumps(ada)) == ada


def test_attributes_are_copied_so_the_callers_dict_cannot_change_them() -> None:
    attributes: dict[str, Any] = {"tenant": "acme"}
    ada = Principal(id="ada", attributes=attributes)
    attributes["tenant"] = "evil"
    assert ada.attributes == {"tenant": "acme"}


def test_repr_masks_secret_looking_attributes() -> None:
    ada = Principal(id="ada", attributes={"api_token": "s3cr3t-value", "tenant": "acme"})
    assert "s3cr3t-value" not in repr(ada)
    assert MASK in repr(ada)
    assert ada.attributes["api_token"] == "s3cr3t-value"  # the value itself is kept


def test_has_role_and_with_request() -> None:
    ada = Principal(id="ada", roles={"admin"})
    assert ada.has_role("viewer", "admin")
    assert not ada.has_role("viewer")
    moved = ada.with_request("req-2")
    assert moved.request_id == "req-2"
    assert moved.id == "ada"
    assert ada.request_id is None
    with pytest.raises(ValidationError, match="request id"):
        ada.with_request("a\nb")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": ""}, "principal id must not be empty"),
        ({"id": "   "}, "principal id must not be empty"),
        ({"id": "ada\nINFO forged line"}, "control characters"),
        ({"id": "x" * 256}, "at most 255"),
        ({"id": 42}, "principal id must be a string, got int"),
        ({"roles": {""}}, "must not be empty"),
        ({"roles": {EVERYONE}}, "every principal"),
        ({"roles": {"r" * 101}}, "at most 100"),
        ({"roles": {"admin\t"}}, "control characters"),
        ({"roles": [1]}, "a role name must be a string, got int"),
        ({"roles": 5}, "got int"),
        ({"roles": {"admin": True}}, "got dict"),
        ({"attributes": ["tenant"]}, "attributes must be a mapping, got list"),
        ({"attributes": {1: "x"}}, "attribute names must be non-empty strings"),
        ({"request_id": ""}, "request id must not be empty"),
        ({"name": "ada"}, "Extra inputs are not permitted"),
    ],
)
def test_hostile_fields_are_refused_with_a_message_naming_them(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Principal(**fields)


def test_non_ascii_ids_and_roles_are_names_like_any_other() -> None:
    p = Principal(id="Zoë Ødegård", roles={"comptabilité", "経理"})
    assert p.id == "Zoë Ødegård"
    assert "経理" in p.roles


def test_check_roles_is_the_shared_role_rule() -> None:
    assert check_roles(()) == frozenset()
    with pytest.raises(ValueError, match="every principal"):
        check_roles(["ok", "*"])
