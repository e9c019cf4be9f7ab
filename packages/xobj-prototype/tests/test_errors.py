"""The XError tree: hierarchy, messages, structured details, and no secret ever inside."""

from __future__ import annotations

import pickle
import traceback

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from xobj_prototype import (
    MASK,
    XConfigurationError,
    XConflictError,
    XError,
    XNotFoundError,
    XValidationError,
)

PASSWORD = "hunter2-Sup3r-S3cret"


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (XValidationError, ValueError),
        (XNotFoundError, LookupError),
        (XConfigurationError, Exception),
        (XConflictError, Exception),
    ],
)
def test_every_error_is_an_xerror_and_its_builtin_kin(
    cls: type[XError], builtin: type[Exception]
) -> None:
    with pytest.raises(XError):
        raise cls("boom")
    with pytest.raises(builtin):
        raise cls("boom")


def test_message_str_and_repr() -> None:
    err = XNotFoundError("table 'users' not found; create it first", details={"table": "users"})
    assert str(err) == "table 'users' not found; create it first"
    assert err.message == str(err)
    assert repr(err) == "XNotFoundError(\"table 'users' not found; create it first\")"
    assert err.details == {"table": "users"}
    assert err.args == (str(err),)


def test_details_default_to_an_empty_dict_and_are_copied() -> None:
    source = {"table": "users"}
    err = XError("x", details=source)
    source["table"] = "changed"
    assert err.details == {"table": "users"}
    assert XError("x").details == {}


@pytest.mark.parametrize(
    "details",
    [
        {"password": PASSWORD},
        {"db": {"user": "app", "Password": PASSWORD}},
        {"dsn": f"postgresql://app:{PASSWORD}@db:5432/main"},
        {"headers": {"Authorization": f"Bearer {PASSWORD}"}},
        {"log": f"retrying with Authorization: Bearer {PASSWORD}"},
        {"secret": SecretStr(PASSWORD)},
        {"urls": [f"redis://:{PASSWORD}@cache:6379/0", "redis://cache:6379/1"]},
        {"query": f"host=db&api_key={PASSWORD}"},
        {"api-key": PASSWORD, "X-Auth-Token": PASSWORD, "client_secret": PASSWORD},
    ],
)
def test_details_never_hold_a_secret(details: dict[str, object]) -> None:
    err = XConflictError("conflict", details=details)
    assert PASSWORD not in repr(err.details)
    assert PASSWORD not in str(err.details)
    assert MASK in repr(err.details)


@pytest.mark.parametrize(
    "message",
    [
        f"could not connect to postgresql://app:{PASSWORD}@db:5432/main",
        f"mysql://root:{PASSWORD}@127.0.0.1:3306/test refused the connection",
        f"request failed with Authorization: Bearer {PASSWORD}",
        f"bad dsn host=db password={PASSWORD} dbname=x",
        f"options were {{'user': 'app', 'password': '{PASSWORD}'}}",
    ],
)
def test_messages_never_hold_a_secret(message: str) -> None:
    err = XError(message)
    for text in (str(err), repr(err), err.message, *map(str, err.args)):
        assert PASSWORD not in text
    formatted = "".join(traceback.format_exception(err))
    assert PASSWORD not in formatted
    assert MASK in str(err)


def test_ordinary_messages_are_left_alone() -> None:
    text = "namespace path 'ns.functions.math.add' is already registered; pass override=True"
    assert str(XConflictError(text)) == text


def test_validation_error_from_pydantic_lists_locations_without_values() -> None:
    class Creds(BaseModel):
        user: str
        password: int  # a wrong type, so that the secret string is the rejected input
        port: int

    with pytest.raises(ValidationError) as info:
        Creds.model_validate({"user": "app", "password": PASSWORD, "port": "x"})
    err = XValidationError.from_pydantic(info.value, subject="credentials")
    assert str(err).startswith("invalid credentials: ")
    assert "password:" in str(err)
    assert "port:" in str(err)
    assert [e["loc"] for e in err.errors] == ["password", "port"]
    assert PASSWORD not in str(err)
    assert PASSWORD not in repr(err.errors)
    assert all(set(e) == {"loc", "msg"} for e in err.errors)


def test_validation_error_of_a_root_value_names_the_root() -> None:
    class Wrapper(BaseModel):
        value: int

    with pytest.raises(ValidationError) as info:
        Wrapper.model_validate("not a mapping")
    err = XValidationError.from_pydantic(info.value, subject="wrapper")
    assert err.errors[0]["loc"] == "(root)"


def test_validation_error_redacts_a_hand_written_error_list() -> None:
    err = XValidationError(
        "bad", errors=[{"loc": "dsn", "msg": f"cannot parse mysql://u:{PASSWORD}@h/db"}]
    )
    assert PASSWORD not in repr(err.errors)
    assert err.errors[0]["loc"] == "dsn"


@pytest.mark.parametrize(
    "err",
    [
        XError("plain", details={"a": 1}),
        XNotFoundError("missing", details={"path": "ns.a", "suggestions": ["ns.b"]}),
        XValidationError("invalid", errors=[{"loc": "x", "msg": "bad"}], details={"k": "v"}),
        XConfigurationError("config"),
        XConflictError("conflict"),
    ],
)
def test_errors_survive_pickling_with_their_details(err: XError) -> None:
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err)
    assert str(again) == str(err)
    assert again.details == err.details
    if isinstance(err, XValidationError):
        assert isinstance(again, XValidationError)
        assert again.errors == err.errors


class TableMissing(XNotFoundError):
    """What another package's error looks like: its own constructor arguments."""

    def __init__(self, table: str) -> None:
        super().__init__(f"table {table!r} not found", details={"table": table})
        self.table = table


def test_a_subclass_with_its_own_signature_still_pickles() -> None:
    again = pickle.loads(pickle.dumps(TableMissing("users")))
    assert again.table == "users"
    assert again.details == {"table": "users"}
    assert str(again) == "table 'users' not found"


def test_one_except_catches_everything_the_stack_raises() -> None:
    caught = []
    for cls in (XValidationError, XNotFoundError, XConfigurationError, XConflictError):
        try:
            raise cls("x")
        except XError as exc:
            caught.append(type(exc))
    assert caught == [XValidationError, XNotFoundError, XConfigurationError, XConflictError]
