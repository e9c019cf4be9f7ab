"""What the registry store suites share: JSON over HTTP to a served registry, settings files for
``xregistry serve`` with a store, and polling until an instance shows what another one wrote."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from registry_server import Served

__all__ = ["call", "settings_file", "wait_for"]

ADMIN_MODELS = '["create", "read", "update", "delete", "list"]'


def call(
    served: Served, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    """``(status, JSON body)`` of one request (the local admin's token by default); non-ASCII
    characters of ``path`` are percent-encoded."""
    data = None if body is None else json.dumps(body).encode()
    target = served.url + quote(path, safe="/?=&%")
    request = urllib.request.Request(target, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token or served.token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def settings_file(
    directory: Path,
    *,
    store_url: str | None = None,
    prefix: str = "xregistry_",
    poll_interval: float = 0.2,
    resources: list[str] = (),  # type: ignore[assignment]
) -> Path:
    """A settings.toml: the given sources (no sample), admins may update models, the store."""
    lines = [
        "[api]",
        "sample = false",
        f"resources = {json.dumps(list(resources))}",
        "[registry]",
        "[registry.enrichment]",
        "auto_refresh = false",
        "[registry.models.default_permissions]",
        '"*" = ["read", "list"]',
        f"admin = {ADMIN_MODELS}",
        "[registry.store]",
        f'table_prefix = "{prefix}"',
        f"poll_interval = {poll_interval}",
    ]
    if store_url is not None:
        lines.append(f"url = {json.dumps(store_url)}")
    path = directory / "settings.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "the condition") -> Any:
    """Call ``check`` until it returns something true (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout}s; last answer: {last!r}")
