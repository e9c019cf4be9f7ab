"""XObjPrototype: validation, namespaces, fuzzy text, class metadata and secret masking."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import Field, Secret, SecretBytes, SecretStr, ValidationError, create_model

from xobj_prototype import (
    MASK,
    FuzzyField,
    ModelMeta,
    NamespaceIndex,
    SecretField,
    XObjPrototype,
    XValidationError,
    validate_path,
)

PASSWORD = "hunter2-Sup3r-S3cret"
TOKEN = "tok_9f8e7d6c5b4a"


class User(XObjPrototype):
    class Meta:
        collection = "users"
        indexes = ("email",)

    name: str = FuzzyField()
    email: str = FuzzyField(description="where to write")
    age: int = Field(default=0, ge=0)
    tags: list[str] = FuzzyField(default_factory=list)


class Account(XObjPrototype):
    login: str
    password_hash: str = SecretField(alias="pwHash")
    api_token: SecretStr | None = None
    backup_codes: list[SecretStr] = Field(default_factory=list)
    key: SecretBytes | None = None
    pin: Secret[int] | None = None


class Service(XObjPrototype):
    name: str
    account: Account
    replicas: list[Account] = Field(default_factory=list)


def _account() -> Account:
    return Account(
        login="ada",
        pwHash=PASSWORD,
        api_token=TOKEN,
        backup_codes=["code-one-1111"],
        key=b"raw-key-bytes",
        pin=4321,
    )


SECRETS = (PASSWORD, TOKEN, "code-one-1111", "raw-key-bytes", "4321")


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into {text!r}"


# -- validation -------------------------------------------------------------------------------
def test_construction_validates_types_and_constraints() -> None:
    with pytest.raises(ValidationError):
        User(name="Ada", email="ada@example.org", age=-1)
    with pytest.raises(ValidationError):
        User(name="Ada")  # email missing
    with pytest.raises(ValidationError):
        User(name=["not", "a", "string"], email="x")


def test_assignment_is_validated_and_a_rejected_value_is_not_stored() -> None:
    user = User(name="Ada", email="ada@example.org", age=36)
    user.age = 37
    assert user.age == 37
    with pytest.raises(ValidationError):
        user.age = -5
    with pytest.raises(ValidationError):
        user.age = "old"  # type: ignore[assignment]
    assert user.age == 37


def test_assignment_coerces_like_construction() -> None:
    user = User(name="Ada", email="ada@example.org")
    user.age = "40"  # type: ignore[assignment]
    assert user.age == 40


def test_validation_errors_never_echo_the_input() -> None:
    class Login(XObjPrototype):
        password: str = SecretField(min_length=32)

    with pytest.raises(ValidationError) as info:
        Login(password=PASSWORD)
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in repr(info.value)
    login = Login(password="x" * 32)
    with pytest.raises(ValidationError) as info:
        login.password = PASSWORD
    assert PASSWORD not in str(info.value)
    assert login.password == "x" * 32


# -- fuzzy text -------------------------------------------------------------------------------
def test_fuzzy_text_joins_fuzzy_fields_in_declaration_order() -> None:
    user = User(name="John Doe", email="john@example.com", age=30, tags=["admin", "ops"])
    assert User.fuzzy_fields() == ("name", "email", "tags")
    assert user.get_fuzzy_text() == "John Doe john@example.com admin ops"
    assert user.get_fuzzy_text(separator="|") == "John Doe|john@example.com|admin|ops"


def test_fuzzy_text_skips_empty_values() -> None:
    class Doc(XObjPrototype):
        title: str | None = FuzzyField(None)
        body: str = FuzzyField("")
        words: list[str | None] = FuzzyField(default_factory=list)
        count: int = FuzzyField(0)

    assert Doc().get_fuzzy_text() == "0"
    assert Doc(title="T", words=["a", None, "", "b"]).get_fuzzy_text() == "T a b 0"


def test_fuzzy_field_keeps_its_other_field_arguments() -> None:
    info = User.model_fields["email"]
    assert info.description == "where to write"
    assert info.is_required()
    extra_field = FuzzyField("x", json_schema_extra={"example": "y"})
    assert extra_field.json_schema_extra == {"example": "y", "x-fuzzy": True}


def test_a_model_without_fuzzy_fields_has_empty_fuzzy_text() -> None:
    class Plain(XObjPrototype):
        a: str = "x"

    assert Plain.fuzzy_fields() == ()
    assert Plain().get_fuzzy_text() == ""


# -- secrets ----------------------------------------------------------------------------------
def test_secret_fields_are_detected_through_optional_and_containers() -> None:
    assert Account.secret_fields() == {"password_hash", "api_token", "backup_codes", "key", "pin"}
    assert User.secret_fields() == frozenset()


def test_secret_values_stay_readable_as_attributes() -> None:
    account = _account()
    assert account.password_hash == PASSWORD
    assert account.api_token is not None
    assert account.api_token.get_secret_value() == TOKEN


def test_repr_and_str_mask_every_secret() -> None:
    account = _account()
    for text in (repr(account), str(account), f"{account}", f"{account!r}"):
        assert_no_secret(text)
        assert MASK in text
    assert "login='ada'" in repr(account)


def test_model_dump_masks_every_secret() -> None:
    dumped = _account().model_dump()
    assert dumped == {
        "login": "ada",
        "password_hash": MASK,
        "api_token": MASK,
        "backup_codes": MASK,
        "key": MASK,
        "pin": MASK,
    }


def test_model_dump_by_alias_masks_under_the_alias() -> None:
    dumped = _account().model_dump(by_alias=True)
    assert dumped["pwHash"] == MASK
    assert "password_hash" not in dumped


def test_model_dump_json_masks_and_keeps_pydantic_formatting() -> None:
    account = _account()
    text = account.model_dump_json()
    assert_no_secret(text)
    assert json.loads(text)["password_hash"] == MASK
    assert text.startswith('{"login":"ada",')  # compact, as pydantic writes it
    indented = account.model_dump_json(indent=2)
    assert_no_secret(indented)
    assert "\n" in indented


def test_none_secrets_stay_none() -> None:
    account = Account(login="bob", pwHash=PASSWORD)
    dumped = account.model_dump()
    assert dumped["api_token"] is None
    assert dumped["key"] is None
    assert "api_token=None" in repr(account)


def test_nested_models_mask_their_secrets_in_every_dump() -> None:
    service = Service(name="api", account=_account(), replicas=[_account(), _account()])
    for text in (
        repr(service),
        str(service),
        service.model_dump_json(),
        str(service.model_dump()),
        str(service.model_dump(mode="json")),
        str(service.model_dump(by_alias=True)),
    ):
        assert_no_secret(text)
    assert service.model_dump()["replicas"][1]["password_hash"] == MASK


def test_model_dump_revealed_gives_clear_values_for_a_store() -> None:
    revealed = _account().model_dump_revealed()
    assert revealed["password_hash"] == PASSWORD
    assert revealed["api_token"] == TOKEN
    assert revealed["backup_codes"] == ["code-one-1111"]
    assert revealed["key"] == b"raw-key-bytes"
    assert revealed["pin"] == 4321


def test_model_dump_revealed_in_json_mode_and_by_alias() -> None:
    revealed = _account().model_dump_revealed(mode="json", by_alias=True)
    assert revealed["pwHash"] == PASSWORD
    assert revealed["api_token"] == TOKEN
    assert revealed["key"] == "raw-key-bytes"
    json.dumps(revealed)  # JSON-ready


def test_model_dump_revealed_reveals_nested_models_and_keeps_the_callers_context() -> None:
    service = Service(name="api", account=_account())
    revealed = service.model_dump_revealed(context={"caller": "store"})
    assert revealed["account"]["password_hash"] == PASSWORD
    # ...and revealing once does not unmask later dumps.
    assert service.model_dump()["account"]["password_hash"] == MASK


def test_exclude_and_include_still_work_with_secrets() -> None:
    account = _account()
    assert account.model_dump(include={"login"}) == {"login": "ada"}
    assert "password_hash" not in account.model_dump(exclude={"password_hash"})


def test_serialization_json_schema_still_describes_the_fields() -> None:
    schema = Service.model_json_schema(mode="serialization")
    assert set(schema["properties"]) == {"name", "account", "replicas"}
    account_schema = schema["$defs"]["Account"]
    assert "pwHash" in account_schema["properties"]


def test_secret_field_keeps_its_other_arguments() -> None:
    info = Account.model_fields["password_hash"]
    assert info.alias == "pwHash"
    assert isinstance(info.json_schema_extra, dict)
    assert info.json_schema_extra["x-secret"] is True


def test_roundtrip_through_revealed_dump() -> None:
    account = _account()
    again = Account.model_validate(account.model_dump_revealed(by_alias=True))
    assert again.password_hash == PASSWORD
    assert again.pin is not None
    assert again.pin.get_secret_value() == 4321


# -- namespaces -------------------------------------------------------------------------------
class WithMetaNs(XObjPrototype):
    class Meta:
        ns = "ns.models.custom.Thing"

    value: int = 0


def test_get_ns_prefers_the_field_then_meta_then_module_and_class() -> None:
    assert WithMetaNs(ns="ns.things.one").get_ns() == "ns.things.one"
    assert WithMetaNs().get_ns() == "ns.models.custom.Thing"
    assert User(name="a", email="b").get_ns() == f"ns.{__name__}.User"
    assert User.default_ns() == f"ns.{__name__}.User"


def test_default_ns_is_always_a_valid_path() -> None:
    class Local(XObjPrototype):
        pass

    generated = create_model("user-table!", __base__=XObjPrototype)
    for model in (Local, generated):
        assert validate_path(model.default_ns()) == model.default_ns()
    assert "<locals>" not in Local.default_ns()
    assert Local.default_ns().endswith(".Local")
    index: NamespaceIndex[type[XObjPrototype]] = NamespaceIndex()
    index.register(Local.default_ns(), Local)
    assert index.get(Local.default_ns()) is Local


def test_ns_field_is_validated_on_construction_and_assignment() -> None:
    with pytest.raises(ValidationError, match="empty segment"):
        WithMetaNs(ns="ns..bad")
    thing = WithMetaNs(ns="ns.ok")
    with pytest.raises(ValidationError):
        thing.ns = "not a path"
    assert thing.ns == "ns.ok"
    thing.ns = None
    assert thing.get_ns() == "ns.models.custom.Thing"


def test_ns_field_is_neither_dumped_nor_shown() -> None:
    thing = WithMetaNs(ns="ns.things.one", value=3)
    assert thing.model_dump() == {"value": 3}
    assert "ns.things.one" not in thing.model_dump_json()
    assert "ns.things.one" not in repr(thing)


# -- Meta -------------------------------------------------------------------------------------
def test_meta_is_read_from_the_nested_class() -> None:
    meta = User.meta()
    assert isinstance(meta, ModelMeta)
    assert meta.collection == "users"
    assert meta.indexes == ("email",)
    assert meta.auto_generated is False


def test_meta_is_inherited_except_what_describes_one_generated_class() -> None:
    class Generated(XObjPrototype):
        class Meta:
            collection = "orders"
            auto_generated = True
            source_schema = {"fields": {"id": {"type": "int"}}}
            description = "orders table"

    class Extended(Generated):
        note: str = ""

    class ExtendedWithMeta(Generated):
        class Meta:
            indexes = ("id",)

    assert Generated.meta().auto_generated is True
    assert Generated.meta().source_schema == {"fields": {"id": {"type": "int"}}}
    for child in (Extended, ExtendedWithMeta):
        assert child.meta().collection == "orders"
        assert child.meta().description == "orders table"
        assert child.meta().auto_generated is False
        assert child.meta().source_schema is None
    assert ExtendedWithMeta.meta().indexes == ("id",)
    assert Generated.meta().indexes == ()


def test_meta_keeps_extra_attributes_and_ignores_private_ones() -> None:
    class Tagged(XObjPrototype):
        class Meta:
            owner = "team-data"
            _internal = "hidden"

    assert Tagged.meta().model_extra == {"owner": "team-data"}


def test_a_model_without_meta_has_defaults() -> None:
    class Bare(XObjPrototype):
        pass

    assert Bare.meta() == ModelMeta()


@pytest.mark.parametrize(
    "attrs",
    [{"ns": "bad..ns"}, {"auto_generated": "maybe"}, {"indexes": 5}, {"collection": ["x"]}],
)
def test_an_invalid_meta_fails_at_class_definition(attrs: dict[str, Any]) -> None:
    # Built with type() so that each case gets its own Meta; the qualname makes it a nested class.
    meta = type("Meta", (), {**attrs, "__qualname__": "Broken.Meta", "__module__": __name__})
    with pytest.raises(XValidationError, match="Meta of Broken"):
        type(
            "Broken",
            (XObjPrototype,),
            {"Meta": meta, "__module__": __name__, "__qualname__": "Broken"},
        )


def test_set_meta_updates_one_class_and_validates() -> None:
    class Gen(XObjPrototype):
        pass

    class Child(Gen):
        pass

    Gen.set_meta(collection="gen", auto_generated=True, source_schema={"table": "gen"})
    assert Gen.meta().collection == "gen"
    assert Gen.meta().auto_generated is True
    assert Child.meta().collection is None  # subclasses created earlier keep theirs
    with pytest.raises(XValidationError):
        Gen.set_meta(ns="no spaces allowed")
    assert Gen.meta().ns is None
    assert XObjPrototype.meta() == ModelMeta()


def test_meta_is_frozen() -> None:
    with pytest.raises(ValidationError):
        User.meta().collection = "other"  # type: ignore[misc]


def test_a_model_field_named_like_meta_keys_does_not_clash() -> None:
    class Row(XObjPrototype):
        collection: str = "x"
        indexes: list[int] = Field(default_factory=list)

    row = Row(collection="c", indexes=[1])
    assert row.collection == "c"
    assert Row.meta().collection is None
