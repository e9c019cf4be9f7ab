"""Shared set-up of the integration suites: real servers, real datasets, no mocks.

The servers of CONVENTIONS.md must answer; MongoDB and the Kafka broker are started here when they
do not (through ``scripts/test_servers.py``, the same code ``nox -s integration`` uses). A server
that cannot be reached fails the run: integration tests never skip for a missing server.

Tests get addresses from fixtures, which read the ``XTEST_*`` environment variables with loopback
defaults, so the suites run against any real deployment.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import test_servers  # noqa: E402
from cdp_browser import CDP, open_page  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def server_env() -> dict[str, str]:
    """Every ``XTEST_*`` address; starts MongoDB and Kafka when they are not running."""
    try:
        env, _started = test_servers.start(sys.executable)
    except test_servers.ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    os.environ.update({k: v for k, v in env.items() if k.startswith("XTEST_")})
    # Servers started here stay up for the next run; `nox -s servers -- stop` stops them.
    return env


@pytest.fixture(scope="session")
def postgres_url(server_env: dict[str, str]) -> str:
    return server_env["XTEST_POSTGRES_URL"]


@pytest.fixture(scope="session")
def mysql_url(server_env: dict[str, str]) -> str:
    return server_env["XTEST_MYSQL_URL"]


@pytest.fixture(scope="session")
def mongodb_url(server_env: dict[str, str]) -> str:
    return server_env["XTEST_MONGODB_URL"]


@pytest.fixture(scope="session")
def redis_url(server_env: dict[str, str]) -> str:
    return server_env["XTEST_REDIS_URL"]


@pytest.fixture(scope="session")
def amqp_url(server_env: dict[str, str]) -> str:
    return server_env["XTEST_AMQP_URL"]


@pytest.fixture(scope="session")
def mqtt_url(server_env: dict[str, str]) -> str:
    return server_env["XTEST_MQTT_URL"]


@pytest.fixture(scope="session")
def kafka_bootstrap(server_env: dict[str, str]) -> str:
    return server_env["XTEST_KAFKA_BOOTSTRAP"]


@pytest.fixture(scope="session")
def datasets() -> Path:
    """``../shared/datasets`` (or ``$XTEST_DATASETS``); skipped with its name when absent, but a
    failure when ``XTEST_REQUIRE_DATASETS=1`` (as in CI)."""
    path = Path(os.environ.get("XTEST_DATASETS", str(ROOT.parent / "shared" / "datasets")))
    if not path.is_dir():
        message = f"the public datasets folder {path} is absent (set XTEST_DATASETS)"
        if os.environ.get("XTEST_REQUIRE_DATASETS") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture
def unique_name() -> str:
    """A table/collection/topic name no other test (or concurrent run) uses."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system Chromium (installed on demand); the test fails when there is none."""
    try:
        return str(test_servers.ensure_chromium())
    except test_servers.ServerError as exc:
        pytest.fail(f"the browser test needs Chromium: {exc}", pytrace=False)


@pytest.fixture
async def page(chromium: str, tmp_path: Path) -> AsyncIterator[CDP]:
    """A CDP session on a fresh headless Chromium page (``cdp_browser``)."""
    async with open_page(chromium, tmp_path / "chromium-profile") as cdp:
        yield cdp
