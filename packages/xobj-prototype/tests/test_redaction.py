"""redact(), redact_url(), redact_text(), is_secret_key(): the one place secrets are masked."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import pytest
from pydantic import Secret, SecretBytes, SecretStr

from xobj_prototype import MASK, is_secret_key, redact, redact_text, redact_url

PASSWORD = "hunter2-Sup3r-S3cret"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"postgresql://app:{PASSWORD}@db:5432/main?sslmode=require",
            f"postgresql://app:{MASK}@db:5432/main?sslmode=require",
        ),
        (f"redis://:{PASSWORD}@cache:6379/0", f"redis://:{MASK}@cache:6379/0"),
        (
            f"mongodb://root:{PASSWORD}@h1:27017,h2:27017/db?replicaSet=rs0",
            f"mongodb://root:{MASK}@h1:27017,h2:27017/db?replicaSet=rs0",
        ),
        (
            f"https://api.example.org/v1?user=ada&token={PASSWORD}&page=2",
            f"https://api.example.org/v1?user=ada&token={MASK}&page=2",
        ),
        (
            f"https://example.org/cb#access_token={PASSWORD}&state=1",
            f"https://example.org/cb#access_token={MASK}&state=1",
        ),
        # An "@" inside the password: the host starts after the last one.
        ("mysql://app:p@ss@db:3306/test", f"mysql://app:{MASK}@db:3306/test"),
        ("amqp://guest@rabbit:5672/", "amqp://guest@rabbit:5672/"),
        ("postgresql://db:5432/main", "postgresql://db:5432/main"),
        ("", ""),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_url_falls_back_to_text_scrubbing_on_unparsable_urls() -> None:
    masked = redact_url(f"http://app:{PASSWORD}@[::1")
    assert PASSWORD not in masked


def test_redact_url_rejects_non_strings() -> None:
    with pytest.raises(TypeError, match="string"):
        redact_url(b"http://x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        f"connect to redis://:{PASSWORD}@cache:6379 failed",
        f"password={PASSWORD}",
        f"Password = {PASSWORD}",
        f"db_pass={PASSWORD};host=db",
        f"api_key={PASSWORD}&x=1",
        f"Authorization: Bearer {PASSWORD}",
        f"authorization: bearer {PASSWORD}",
        "Authorization: Basic dXNlcjpodW50ZXIyLVN1cDNyLVMzY3JldA==",
        f"{{'password': '{PASSWORD}'}}",
        f'{{"token": "{PASSWORD}"}}',
        f"password='{PASSWORD} with spaces'",
        f"first postgres://a:{PASSWORD}@h then mysql://b:{PASSWORD}@h",
    ],
)
def test_redact_text_masks_secrets_in_free_text(text: str) -> None:
    masked = redact_text(text)
    assert PASSWORD not in masked
    assert "dXNlcjpodW50ZXIyLVN1cDNyLVMzY3JldA" not in masked
    assert MASK in masked


@pytest.mark.parametrize(
    "text",
    [
        "namespace path 'ns.functions.math.add' not found",
        "Basic auth failed for user ada",
        "author=Ada Lovelace",
        "bypass=1&passenger=2",
        "see https://docs.example.org/a:b@c",
        "ratio 3:4, key=value",
        "",
    ],
)
def test_redact_text_leaves_ordinary_text_alone(text: str) -> None:
    # "https://docs.example.org/a:b@c": the "@" is in the path, there is no userinfo.
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "key",
    [
        "password", "PASSWORD", "db_password", "passwd", "pwd", "db_pass", "passphrase",
        "secret", "client_secret", "token", "access_token", "X-Auth-Token", "api_key",
        "apiKey", "x-api-key", "Authorization", "proxy_authorization", "auth", "basic-auth",
        "credentials", "private_key", "aws_access_key_id", "session_key", "cookie",
        "Set-Cookie", "signature", "sasl_plain_password",
    ],
)  # fmt: skip
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    ["author", "authors", "passenger", "bypass", "compass", "user", "host", "path", "oauth",
     "description", "ns", "keyword"],
)  # fmt: skip
def test_ordinary_keys(key: str) -> None:
    assert not is_secret_key(key)


@pytest.mark.parametrize("key", [None, 1, b"password", ("password",)])
def test_non_string_keys_are_not_secret_keys(key: Any) -> None:
    assert is_secret_key(key) is False


def test_redact_walks_nested_structures() -> None:
    data = {
        "user": "app",
        "password": PASSWORD,
        "nested": {"api_key": PASSWORD, "hosts": ["a", f"mysql://u:{PASSWORD}@h/db"]},
        "tuple": ("x", f"token={PASSWORD}"),
        "count": 3,
        "flag": True,
        "nothing": None,
    }
    masked = redact(data)
    assert PASSWORD not in repr(masked)
    assert masked["user"] == "app"
    assert masked["password"] == MASK
    assert masked["nested"]["api_key"] == MASK
    assert masked["nested"]["hosts"] == ["a", f"mysql://u:{MASK}@h/db"]
    assert masked["tuple"] == ("x", f"token={MASK}")
    assert masked["count"] == 3
    assert masked["flag"] is True
    assert masked["nothing"] is None
    # The input is not modified.
    assert data["password"] == PASSWORD


def test_redact_keeps_empty_secret_values_visible() -> None:
    # "password: ''" tells the reader that no password was set, which is worth seeing.
    assert redact({"password": "", "token": None}) == {"password": "", "token": None}


def test_redact_masks_pydantic_secret_types() -> None:
    masked = redact([SecretStr(PASSWORD), SecretBytes(b"raw"), Secret[int](42)])
    assert masked == [MASK, MASK, MASK]


def test_redact_keeps_named_tuples_and_sets() -> None:
    Endpoint = namedtuple("Endpoint", "name url")
    masked = redact(
        {"ep": Endpoint("db", f"postgres://a:{PASSWORD}@h"), "s": {f"token={PASSWORD}"}}
    )
    assert masked["ep"] == Endpoint("db", f"postgres://a:{MASK}@h")
    assert type(masked["ep"]) is Endpoint
    assert masked["s"] == {f"token={MASK}"}
    frozen = redact(frozenset({"a"}))
    assert frozen == frozenset({"a"})
    assert type(frozen) is frozenset


def test_redact_survives_cycles_and_depth() -> None:
    loop: list[Any] = [PASSWORD]
    loop.append(loop)
    masked = redact({"password": "x", "loop": loop})
    assert masked["loop"][1] == "..."
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["next"] = {}
        node = node["next"]
    node["password"] = PASSWORD
    assert PASSWORD not in repr(redact(deep))


def test_redact_shared_but_acyclic_structures_are_walked_twice() -> None:
    shared = {"password": PASSWORD}
    assert redact([shared, shared]) == [{"password": MASK}, {"password": MASK}]


@pytest.mark.parametrize("value", [b"bytes", bytearray(b"x"), 1.5, object])
def test_redact_returns_other_values_unchanged(value: Any) -> None:
    assert redact(value) is value


def test_redact_text_is_linear_on_long_input() -> None:
    # A megabyte of base64-like text with no secret: returns unchanged (and does return).
    blob = "QUJD" * 250_000
    assert redact_text(blob) == blob


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
        ("file:///data/orders.csv?token=abc", "file:///data/orders.csv?token=**********"),
        ("sqlite:////abs/x.db?password=pw", "sqlite:////abs/x.db?password=**********"),
        ("mongodb://u:pw@h1:1,h2:2/db", "mongodb://u:**********@h1:1,h2:2/db"),
    ],
)
def test_redact_url_keeps_empty_authority_and_multi_host(url: str, expected: str) -> None:
    assert redact_url(url) == expected
