"""``xregistry serve`` for the tests that drive it (``scripts/registry_serve.py``, which the API
benchmark uses too): a server that does not start fails the test with what it printed."""

from __future__ import annotations

import pytest
from registry_serve import Served, ServeFailed, stop_serve
from registry_serve import start_serve as _start_serve

__all__ = ["Served", "start_serve", "stop_serve"]


def start_serve(*args: str, timeout: float = 60.0, env: dict[str, str] | None = None) -> Served:
    """Run ``xregistry serve --port 0 ...`` and wait for its URL line."""
    try:
        return _start_serve(*args, timeout=timeout, env=env)
    except ServeFailed as exc:
        pytest.fail(str(exc), pytrace=False)
