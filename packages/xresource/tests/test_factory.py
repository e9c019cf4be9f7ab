"""``ResourceFactory``: registration, lookup by type, alias and URL, and its error messages."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any, ClassVar

import pytest

import xresource.factory as factory_module
from xresource import (
    ResourceFactory,
    XResource,
    XResourceConfigurationError,
    XResourceUnknownTypeError,
)

pytestmark = pytest.mark.usefixtures("isolated_factory")


class Dummy(XResource):
    """A resource with no I/O, for registry tests."""

    resource_type: ClassVar[str] = "dummy"

    host: str = "localhost"
    size: int = 1

    async def _connect(self) -> None:
        return None

    async def _disconnect(self) -> None:
        return None

    async def validate_connection(self) -> bool:
        return True

    async def list_collections_or_tables(self) -> list[str]:
        return []


class OtherDummy(Dummy):
    resource_type: ClassVar[str] = "dummy"


def test_register_and_create() -> None:
    ResourceFactory.register("dummy", Dummy)
    resource = ResourceFactory.create("dummy", name="test", size=3)
    assert isinstance(resource, Dummy)
    assert (resource.name, resource.size) == ("test", 3)
    assert "dummy" in ResourceFactory.known_types()


def test_type_names_are_case_insensitive() -> None:
    ResourceFactory.register("Dummy", Dummy)
    assert isinstance(ResourceFactory.create("DUMMY"), Dummy)


def test_registering_a_taken_name_needs_override() -> None:
    ResourceFactory.register("dummy", Dummy)
    ResourceFactory.register("dummy", Dummy)  # the same class again is harmless
    with pytest.raises(XResourceConfigurationError, match=r"already registered.*override=True"):
        ResourceFactory.register("dummy", OtherDummy)
    ResourceFactory.register("dummy", OtherDummy, override=True)
    assert type(ResourceFactory.create("dummy")) is OtherDummy


def test_builtin_type_can_be_overridden_only_explicitly() -> None:
    with pytest.raises(XResourceConfigurationError, match="already registered"):
        ResourceFactory.register("csv", Dummy)


@pytest.mark.parametrize("bad_name", ["", "two words", "1abc", "a-b", None, 3])
def test_register_refuses_bad_names(bad_name: Any) -> None:
    with pytest.raises(XResourceConfigurationError, match="identifier"):
        ResourceFactory.register(bad_name, Dummy)


@pytest.mark.parametrize("bad_class", [object, dict, "xresource.base:XResource", Dummy()])
def test_register_refuses_non_resources(bad_class: Any) -> None:
    with pytest.raises(XResourceConfigurationError, match="not an XResource subclass"):
        ResourceFactory.register("thing", bad_class)


def test_unknown_type_lists_known_types() -> None:
    with pytest.raises(XResourceConfigurationError) as info:
        ResourceFactory.create("oracle")
    # The XResource specification's factory raises ValueError for an unknown type.
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, XResourceUnknownTypeError)
    message = str(info.value)
    assert "unknown resource type 'oracle'" in message
    for known in ("csv", "mongodb", "postgresql", "rest"):
        assert known in message


@pytest.mark.parametrize(
    ("alias", "target"),
    [
        ("postgres", "postgresql"),
        ("pg", "postgresql"),
        ("mongo", "mongodb"),
        ("api", "rest"),
        ("http", "rest"),
        ("mariadb", "mysql"),
        ("redis_pubsub", "redis"),
    ],
)
def test_aliases_resolve_to_the_canonical_type(
    alias: str, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ResourceFactory._registry, target, Dummy)
    assert ResourceFactory.resolve(alias) is Dummy


def test_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        ResourceFactory._registry, "mongodb", "xresource_no_such_driver_module:MongoDBResource"
    )
    with pytest.raises(XResourceConfigurationError) as info:
        ResourceFactory.create("mongo")
    message = str(info.value)
    assert "needs a driver that is not installed" in message
    assert "pip install 'xresource[mongodb]'" in message


def test_invalid_parameters_become_configuration_errors() -> None:
    ResourceFactory.register("dummy", Dummy)
    with pytest.raises(XResourceConfigurationError) as info:
        ResourceFactory.create("dummy", size="many", colour="red")
    message = str(info.value)
    assert "size" in message
    assert "colour" in message
    assert "many" not in message  # input values may be secrets: never echoed


def test_entry_point_types_are_discovered(monkeypatch: pytest.MonkeyPatch) -> None:
    point = EntryPoint(name="Plugin", value=f"{__name__}:Dummy", group="xresource.resources")

    def fake_entry_points(*, group: str) -> list[EntryPoint]:
        return [point] if group == factory_module.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(factory_module, "entry_points", fake_entry_points)
    monkeypatch.setattr(ResourceFactory, "_entry_points_loaded", False)
    assert "plugin" in ResourceFactory.known_types()
    assert ResourceFactory.resolve("plugin") is Dummy


def test_entry_point_never_replaces_a_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    point = EntryPoint(name="csv", value=f"{__name__}:Dummy", group="xresource.resources")
    monkeypatch.setattr(factory_module, "entry_points", lambda *, group: [point])
    monkeypatch.setattr(ResourceFactory, "_entry_points_loaded", False)
    ResourceFactory.known_types()
    assert ResourceFactory._registry["csv"] != f"{__name__}:Dummy"


def test_from_url_unknown_scheme_lists_schemes() -> None:
    with pytest.raises(XResourceConfigurationError) as info:
        ResourceFactory.from_url("gopher://u:hunter2@host/x")
    message = str(info.value)
    assert "unknown URL scheme 'gopher'" in message
    assert "postgresql" in message
    assert "hunter2" not in message


def test_from_url_unknown_file_suffix() -> None:
    with pytest.raises(XResourceConfigurationError, match="cannot tell the file type"):
        ResourceFactory.from_url("data/blob.bin")


def test_from_url_resource_type_override_and_params(monkeypatch: pytest.MonkeyPatch) -> None:
    class FromURL(Dummy):
        @classmethod
        def params_from_url(cls, url: Any) -> dict[str, Any]:
            return {"host": url.host, "size": int(url.query.get("size", "1"))}

    ResourceFactory.register("fromurl", FromURL)
    resource = ResourceFactory.from_url(
        "https://api.example.com/?size=4", resource_type="fromurl", name="n"
    )
    assert isinstance(resource, FromURL)
    assert (resource.host, resource.size, resource.name) == ("api.example.com", 4, "n")
    # keyword arguments win over the URL
    assert ResourceFactory.from_url("https://h/?size=4", resource_type="fromurl", size=9).size == 9  # type: ignore[attr-defined]


def test_from_url_value_error_is_wrapped_and_redacted() -> None:
    class Strict(Dummy):
        @classmethod
        def params_from_url(cls, url: Any) -> dict[str, Any]:
            raise ValueError("port out of range")

    ResourceFactory.register("strict", Strict)
    with pytest.raises(XResourceConfigurationError) as info:
        ResourceFactory.from_url("https://u:hunter2@h/", resource_type="strict")
    assert "port out of range" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_builtin_types_resolve_by_scheme() -> None:
    pytest.importorskip("pymongo", reason="the mongodb extra (pymongo) is not installed")
    resource = ResourceFactory.from_url("mongodb://127.0.0.1:27017/shop")
    assert resource.resource_type == "mongodb"
