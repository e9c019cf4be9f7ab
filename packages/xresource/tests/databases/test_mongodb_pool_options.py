"""MongoDB pooling options under the specification's names, checked without a server.

What the driver does with them on a real ``mongod`` is in
``tests-integration/xresource/test_resource_settings_pool.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from xresource import ResourceFactory, XResourceConfigurationError
from xresource.databases import MongoDBResource, MongoPoolStats

pytestmark = pytest.mark.usefixtures("isolated_factory")


def _mongo(**kwargs: Any) -> MongoDBResource:
    resource = ResourceFactory.create(
        "mongodb", connection_string="mongodb://localhost:27017/myapp", **kwargs
    )
    assert isinstance(resource, MongoDBResource)
    return resource


def test_spec_pool_options_reach_the_client_options() -> None:
    mongo = _mongo(max_pool_size=100, min_pool_size=10, max_idle_time_ms=60000)
    assert (mongo.pool_max_size, mongo.pool_min_size, mongo.max_idle_time) == (100, 10, 60.0)
    kwargs = mongo._client_kwargs()
    assert (kwargs["maxPoolSize"], kwargs["minPoolSize"], kwargs["maxIdleTimeMS"]) == (
        100,
        10,
        60000,
    )


def test_odd_milliseconds_survive_the_round_trip() -> None:
    mongo = _mongo(max_idle_time_ms=1234, connection_timeout=777)
    kwargs = mongo._client_kwargs()
    assert (kwargs["maxIdleTimeMS"], kwargs["connectTimeoutMS"]) == (1234, 777)


def test_direct_construction_accepts_the_spec_names() -> None:
    mongo = MongoDBResource(
        connection_string="mongodb://localhost:27017", database="myapp", max_pool_size=5
    )
    assert mongo.pool_max_size == 5


def test_pool_stats_before_connect_have_the_spec_keys() -> None:
    stats = _mongo(max_pool_size=20, min_pool_size=2, max_idle_time_ms=30000).get_pool_stats()
    assert isinstance(stats, MongoPoolStats)
    expected = {
        "status": "not_connected",
        "max_pool_size": 20,
        "min_pool_size": 2,
        "active_connections": 0,
        "idle_time_ms": 30000,
    }
    assert {key: stats[key] for key in expected} == expected
    assert (stats.max_size, stats.min_size, stats.size, stats.in_use) == (20, 2, 0, 0)
    assert dict(stats)["idle_time_ms"] == 30000
    with pytest.raises(KeyError):
        stats["nodes"]
    # get_metadata reports the same pool (and so the same keys).
    assert _mongo(max_pool_size=20).get_metadata()["pool"]["max_pool_size"] == 20


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"max_pool_size": 0}, r"pool_max_size \(given as max_pool_size\): Input should be"),
        ({"max_pool_size": -3}, r"given as max_pool_size"),
        ({"min_pool_size": -1}, r"pool_min_size \(given as min_pool_size\): Input should be"),
        (
            {"max_pool_size": 5, "min_pool_size": 6},
            r"pool_min_size \(given as min_pool_size\) \(6\) exceeds pool_max_size "
            r"\(given as max_pool_size\) \(5\)",
        ),
        ({"max_idle_time_ms": 0}, r"max_idle_time \(given as max_idle_time_ms\)"),
        ({"max_idle_time_ms": -1}, r"max_idle_time \(given as max_idle_time_ms\)"),
        ({"max_idle_time_ms": "1 minute"}, r"max_idle_time_ms must be a number, got str"),
        ({"max_idle_time_ms": float("nan")}, r"max_idle_time_ms must be a number"),
        ({"max_pool_size": "many"}, r"pool_max_size \(given as max_pool_size\)"),
        ({"max_pool_size": 5, "pool_max_size": 6}, r"max_pool_size and pool_max_size set"),
        ({"max_pool_size": 5, "pool_size": 6}, r"max_pool_size and pool_size set the same"),
    ],
)
def test_bad_pool_values_are_configuration_errors(params: dict[str, Any], expected: str) -> None:
    with pytest.raises(XResourceConfigurationError, match=expected):
        _mongo(**params)


def test_the_same_value_under_two_names_is_accepted() -> None:
    assert _mongo(max_pool_size=5, pool_max_size=5).pool_max_size == 5


def test_min_pool_size_zero_keeps_no_idle_connection() -> None:
    # 0 is a valid minimum (the driver's own default): only the maximum must be at least 1.
    assert _mongo(min_pool_size=0)._client_kwargs()["minPoolSize"] == 0


def test_pool_options_in_the_uri_become_fields() -> None:
    # Keyword options would silently override the URI's: they are moved into the fields instead.
    mongo = ResourceFactory.create(
        "mongodb",
        connection_string="mongodb://app:pw@h1,h2/shop?replicaSet=rs0&maxPoolSize=50"
        "&minPoolSize=3&maxIdleTimeMS=1500&appname=x",
    )
    assert isinstance(mongo, MongoDBResource)
    assert mongo.connection_string == "mongodb://h1,h2/shop?replicaSet=rs0&appname=x"
    assert (mongo.pool_max_size, mongo.pool_min_size, mongo.max_idle_time) == (50, 3, 1.5)
    assert (mongo.database, mongo.user) == ("shop", "app")
    kwargs = mongo._client_kwargs()
    assert (kwargs["maxPoolSize"], kwargs["minPoolSize"], kwargs["maxIdleTimeMS"]) == (50, 3, 1500)
    assert mongo.get_pool_stats()["max_pool_size"] == 50


def test_pool_options_in_options_become_fields() -> None:
    mongo = _mongo(options={"maxPoolSize": 7, "appname": "shop"})
    assert (mongo.pool_max_size, mongo.options) == (7, {"appname": "shop"})


def test_uri_given_in_code_beats_the_settings_pool_size() -> None:
    ResourceFactory.settings.configure({"resources": {"mongodb": {"default_pool_size": 10}}})
    mongo = ResourceFactory.create("mongodb", connection_string="mongodb://h/db?maxPoolSize=50")
    assert mongo.pool_max_size == 50  # type: ignore[attr-defined]
    assert ResourceFactory.from_url("mongodb://h/db?maxPoolSize=40").pool_max_size == 40  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"connection_string": "mongodb://h/db?maxPoolSize=50", "max_pool_size": 5},
            r"connection_string option maxPoolSize=50 and pool_max_size=5 disagree",
        ),
        (
            {"connection_string": "mongodb://h/db?minPoolSize=lots"},
            r"connection_string option minPoolSize must be a number, got 'lots'",
        ),
        ({"options": {"maxIdleTimeMS": None}}, r"options entry maxIdleTimeMS must be a number"),
        ({"connection_string": "mongodb://h/db?maxPoolSize=0"}, r"pool_max_size: Input should"),
    ],
)
def test_bad_pool_options_in_the_uri(params: dict[str, Any], expected: str) -> None:
    params.setdefault("connection_string", "mongodb://localhost:27017/myapp")
    with pytest.raises(XResourceConfigurationError, match=expected):
        ResourceFactory.create("mongodb", **params)
