"""repr() of a resource masks secrets inside its option mappings, as get_metadata() does.

Found while building the DuckDB resource: its URL's query keys are DuckDB settings, among them
credentials (``s3_secret_access_key``); the same held for every SQL resource's driver options
(PostgreSQL's ``?sslpassword=``), which repr() printed in clear.
"""

from __future__ import annotations

import pytest

from xresource import DuckDBResource, ResourceFactory


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql://app:pw-1@db/shop?sslpassword=SECRET-A&application_name=shop", "SECRET-A"),
        ("duckdb:///x.duckdb?s3_secret_access_key=SECRET-B&threads=2", "SECRET-B"),
        ("mysql://app@db/shop?init_command=SET+x%3D1&password=SECRET-C", "SECRET-C"),
    ],
)
def test_repr_masks_secret_options(url: str, secret: str) -> None:
    resource = ResourceFactory.from_url(url)
    assert secret not in repr(resource)
    assert secret not in str(resource)
    assert secret not in str(resource.get_metadata())
    assert "pw-1" not in repr(resource)


def test_plain_options_stay_readable() -> None:
    resource = DuckDBResource(options={"threads": "2", "token": "tok-9"})
    text = repr(resource)
    assert "'threads': '2'" in text
    assert "tok-9" not in text
    assert resource.options["token"] == "tok-9"  # only the display is masked
