"""The XResource specification's ``settings.toml``, written as the document shows it, applied.

Each test writes the file into ``tmp_path`` and loads it as a user would: from the working
directory (the factory reads ``settings.toml`` there on first use) or through
``ResourceFactory.settings.configure(settings_files=[...])``. What the values do at run time
(pool options handed to the driver, a REST client's timeout and retries against a real server) is
checked in ``tests-integration/xresource/test_resource_settings_pool.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from xresource import ResourceFactory, XResourceConfigurationError
from xresource.databases import MongoDBResource, MySQLResource, PostgreSQLResource
from xresource.files import CSVResource
from xresource.network import RESTResource

pytestmark = pytest.mark.usefixtures("isolated_factory")

# Verbatim from the specification's "Configuration Integration" section.
SPEC_SETTINGS = """\
# settings.toml
[resources.mongodb]
default_connection_string = "mongodb://localhost:27017"
default_pool_size = 10
connection_timeout = 5000

[resources.csv]
default_encoding = "utf-8"
default_delimiter = ","

[resources.api]
default_timeout = 30
retry_attempts = 3
"""

# The same keys with values that differ from every built-in default, so that a value that is
# merely the default cannot pass for one that was applied.
CUSTOM_SETTINGS = """\
[resources.mongodb]
default_connection_string = "mongodb://db.internal:27018"
default_pool_size = 7
connection_timeout = 2500

[resources.csv]
default_encoding = "latin-1"
default_delimiter = ";"

[resources.api]
timeout = 4.5
retry_attempts = 1
"""


def _configure(tmp_path: Path, text: str) -> None:
    (tmp_path / "settings.toml").write_text(text, encoding="utf-8")
    ResourceFactory.settings.configure(root=tmp_path, settings_files=["settings.toml"])


def test_spec_file_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No configure() call: settings.toml in the working directory is read on first use."""
    (tmp_path / "settings.toml").write_text(SPEC_SETTINGS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    ResourceFactory.settings.reset()

    mongo = ResourceFactory.create("mongodb", name="user_db", database="myapp")
    assert isinstance(mongo, MongoDBResource)
    assert mongo.connection_string == "mongodb://localhost:27017"
    assert mongo.pool_max_size == 10
    assert mongo.connect_timeout == 5.0  # 5000 ms
    kwargs = mongo._client_kwargs()
    assert kwargs["maxPoolSize"] == 10
    assert kwargs["connectTimeoutMS"] == 5000
    assert kwargs["serverSelectionTimeoutMS"] == 5000

    csv = ResourceFactory.create("csv", name="sales_data", file_path="/data/sales_2024.csv")
    assert isinstance(csv, CSVResource)
    assert (csv.encoding, csv.delimiter) == ("utf-8", ",")

    api = ResourceFactory.create("rest_api", name="weather_api", endpoint="https://api.test/v1")
    assert isinstance(api, RESTResource)
    assert (api.timeout, api.max_retries) == (30.0, 3)


def test_values_that_differ_from_the_defaults_are_applied(tmp_path: Path) -> None:
    _configure(tmp_path, CUSTOM_SETTINGS)
    mongo = ResourceFactory.create("mongodb", database="myapp")
    assert isinstance(mongo, MongoDBResource)
    assert mongo.connection_string == "mongodb://db.internal:27018"
    assert (mongo.pool_max_size, mongo.connect_timeout) == (7, 2.5)
    assert mongo.get_pool_stats()["max_pool_size"] == 7

    api = ResourceFactory.create("rest", base_url="https://api.test")
    assert isinstance(api, RESTResource)
    assert (api.timeout, api.max_retries) == (4.5, 1)
    # [resources.api] applies under every name of the type and to from_url.
    for made in (
        ResourceFactory.create("api", base_url="https://api.test"),
        ResourceFactory.create("http", base_url="https://api.test"),
        ResourceFactory.from_url("https://api.test/v2"),
    ):
        assert (made.timeout, made.max_retries) == (4.5, 1)  # type: ignore[attr-defined]


async def test_csv_defaults_are_used_to_read_a_file(tmp_path: Path) -> None:
    _configure(tmp_path, CUSTOM_SETTINGS)
    data = tmp_path / "cities.csv"
    data.write_bytes("code;city\n0042;Köln\n0043;Zürich\n".encode("latin-1"))
    csv = ResourceFactory.create("csv", path=str(data))
    rows = await csv.read()  # type: ignore[attr-defined]
    assert rows == [{"code": "0042", "city": "Köln"}, {"code": "0043", "city": "Zürich"}]


def test_caller_values_win_whatever_the_spelling(tmp_path: Path) -> None:
    _configure(tmp_path, CUSTOM_SETTINGS)
    by_spec_name = ResourceFactory.create("mongodb", database="d", max_pool_size=3)
    by_field = ResourceFactory.create("mongodb", database="d", pool_max_size=4)
    assert (by_spec_name.pool_max_size, by_field.pool_max_size) == (3, 4)  # type: ignore[attr-defined]
    conn = ResourceFactory.create("mongodb", database="d", connect_timeout=1.0)
    assert conn.connect_timeout == 1.0  # type: ignore[attr-defined]
    api = ResourceFactory.create("rest", base_url="https://a.test", max_retries=0, timeout=2)
    assert (api.max_retries, api.timeout) == (0, 2.0)  # type: ignore[attr-defined]
    uri = ResourceFactory.create("mongodb", connection_string="mongodb://other:1/db")
    assert uri.connection_string == "mongodb://other:1/db"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("section", "resource_class", "extra"),
    [
        ("postgresql", PostgreSQLResource, {}),
        ("postgres", PostgreSQLResource, {}),
        ("mysql", MySQLResource, {}),
        ("mongodb", MongoDBResource, {"database": "d"}),
    ],
)
def test_database_keys_apply_to_every_database_type(
    tmp_path: Path, section: str, resource_class: type[Any], extra: dict[str, Any]
) -> None:
    _configure(
        tmp_path,
        f"[resources.{section}]\ndefault_pool_size = 6\nconnection_timeout = 1500\n",
    )
    resource = ResourceFactory.create(resource_class.resource_type, **extra)
    assert isinstance(resource, resource_class)
    assert (resource.pool_max_size, resource.connect_timeout) == (6, 1.5)


def test_environment_variable_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XRESOURCE_RESOURCES__API__RETRY_ATTEMPTS", "5")
    _configure(tmp_path, SPEC_SETTINGS)
    assert ResourceFactory.create("rest", base_url="https://a.test").max_retries == 5  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A typo: named with its section, and the valid keys listed.
        (
            "[resources.api]\nretry_attemps = 3\n",
            r"\[resources.api\] has unknown keys retry_attemps; valid keys.*retry_attempts",
        ),
        ("[resources.mongodb]\npool = 3\n", r"\[resources.mongodb\] has unknown keys pool"),
        ('[resources.csv]\n"üñí dé" = 1\n', r"\[resources.csv\] has unknown keys üñí dé"),
        # Two spellings of one parameter in one section, or in two sections of one type.
        (
            "[resources.api]\ntimeout = 3\ndefault_timeout = 30\n",
            r"\[resources.api\] timeout and \[resources.api\] default_timeout both set rest "
            r"parameter timeout",
        ),
        (
            "[resources.rest]\nmax_retries = 2\n[resources.api]\nretry_attempts = 3\n",
            r"\[resources.rest\] max_retries and \[resources.api\] retry_attempts both set",
        ),
        # A unit alias needs a number.
        (
            "[resources.mongodb]\nconnection_timeout = '5s'\n",
            r"\[resources.mongodb\] connection_timeout: connection_timeout must be a number",
        ),
        ("[resources.mongodb]\nconnection_timeout = true\n", r"must be a number, got bool"),
        # A section that is not a table.
        ("resources = 3\n", r"'resources' must be a table"),
        ("[resources]\napi = 'fast'\n", r"\[resources.api\] must be a table"),
    ],
)
def test_bad_settings_are_clear_configuration_errors(
    tmp_path: Path, text: str, expected: str
) -> None:
    _configure(tmp_path, text)
    kind = "mongodb" if "mongodb" in text else "csv" if "csv" in text else "rest"
    params: dict[str, Any] = {
        "mongodb": {"database": "d"},
        "csv": {"path": "x.csv"},
        "rest": {"base_url": "https://a.test"},
    }[kind]
    with pytest.raises(XResourceConfigurationError, match=expected):
        ResourceFactory.create(kind, **params)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[resources.mongodb]\ndefault_pool_size = 0\n", r"pool_max_size: Input should be"),
        ("[resources.mongodb]\nconnection_timeout = -5\n", r"connect_timeout: Input should be"),
        ("[resources.api]\nretry_attempts = 'three'\n", r"max_retries: Input should be"),
        ("[resources.api]\ndefault_timeout = 0\n", r"timeout: Input should be greater than 0"),
    ],
)
def test_bad_values_in_settings_name_the_parameter(
    tmp_path: Path, text: str, expected: str
) -> None:
    _configure(tmp_path, text)
    params = {"database": "d"} if "mongodb" in text else {"base_url": "https://a.test"}
    kind = "mongodb" if "mongodb" in text else "rest"
    with pytest.raises(XResourceConfigurationError, match=expected):
        ResourceFactory.create(kind, **params)


def test_secret_in_a_settings_connection_string_is_moved_out(tmp_path: Path) -> None:
    _configure(
        tmp_path,
        '[resources.mongodb]\ndefault_connection_string = "mongodb://app:s3cr3t-pw@h:1/db"\n',
    )
    mongo = ResourceFactory.create("mongodb")
    assert isinstance(mongo, MongoDBResource)
    assert mongo.connection_string == "mongodb://h:1/db"
    assert mongo.password is not None
    assert mongo.password.get_secret_value() == "s3cr3t-pw"
    assert "s3cr3t-pw" not in repr(mongo.get_metadata())
