"""``parse_url``: the parts of resource URLs, malformed input, and passwords kept secret."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from xresource import XResourceConfigurationError, parse_url


def test_database_url_parts() -> None:
    url = parse_url("postgresql://app:pw@db.internal:5433/sales?sslmode=require")
    assert (url.scheme, url.username, url.host, url.port, url.database) == (
        "postgresql",
        "app",
        "db.internal",
        5433,
        "sales",
    )
    assert url.query == {"sslmode": "require"}
    assert isinstance(url.password, SecretStr)
    assert url.password.get_secret_value() == "pw"


def test_percent_encoded_credentials_are_decoded() -> None:
    url = parse_url("mysql://us%40er:p%40ss%3Aw0rd@h/db")
    assert url.username == "us@er"
    assert url.password is not None
    assert url.password.get_secret_value() == "p@ss:w0rd"


def test_scheme_is_lowercased_and_blank_query_values_kept() -> None:
    url = parse_url("HTTPS://api.example.com/v1?flag=&x=1")
    assert url.scheme == "https"
    assert url.query == {"flag": "", "x": "1"}


@pytest.mark.parametrize(
    "raw",
    [
        "postgresql://app:hunter2@db/x",
        "mongodb://root:hunter2@h1:27017,h2:27017/db?replicaSet=rs0",
        "https://api.example.com/v1?api_key=hunter2",
        "redis://:hunter2@127.0.0.1:6379/0",
    ],
)
def test_password_never_printed(raw: str) -> None:
    url = parse_url(raw)
    for text in (str(url), repr(url), url.redacted):
        assert "hunter2" not in text
    assert "**********" in url.redacted


def test_multi_host_mongodb_url_keeps_every_host() -> None:
    url = parse_url("mongodb://u:p@h1:27017,h2:27018/shop?replicaSet=rs0")
    assert url.host == "h1:27017,h2:27018"
    assert url.port is None
    assert url.database == "shop"


@pytest.mark.parametrize("raw", ["data/orders.csv", "./x.json", "/abs/path/file.xlsx"])
def test_bare_paths_are_files(raw: str) -> None:
    url = parse_url(raw)
    assert (url.scheme, url.path) == ("file", raw)


def test_file_url_with_relative_host_slip() -> None:
    assert parse_url("file://data/x.csv").path == "data/x.csv"
    assert parse_url("file:///data/x.csv").path == "/data/x.csv"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("postgresql://h/db\n", "control characters"),
        ("postgresql://h/d\x00b", "control characters"),
        ("http://host:99999/x", "malformed"),
        ("http://host:port/x", "malformed"),
        ("postgresql:host/db", "expected scheme://"),
        ("://host/db", "no scheme"),
    ],
)
def test_malformed_urls_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(XResourceConfigurationError, match=reason):
        parse_url(raw)


def test_non_string_is_refused() -> None:
    with pytest.raises(XResourceConfigurationError):
        parse_url(None)  # type: ignore[arg-type]


def test_malformed_url_error_hides_the_password() -> None:
    with pytest.raises(XResourceConfigurationError) as info:
        parse_url("postgresql://app:hunter2@db:notaport/x")
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in repr(info.value)


def test_bare_path_takes_query_options_like_a_file_url() -> None:
    parsed = parse_url("data/orders.csv?delimiter=;&encoding=latin-1")
    assert parsed.scheme == "file"
    assert parsed.path == "data/orders.csv"
    assert parsed.query == {"delimiter": ";", "encoding": "latin-1"}
