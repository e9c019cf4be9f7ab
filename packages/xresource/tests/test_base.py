"""The lifecycle every resource shares: lazy, idempotent, locked connect; redacted metadata."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest
from pydantic import SecretStr

from xresource import (
    ResourceMetadata,
    XResource,
    XResourceConfigurationError,
    XResourceConnectionError,
    parse_url,
)


class Probe(XResource):
    """A resource whose 'connection' is a counter: what the base class does is all we test."""

    resource_type: ClassVar[str] = "probe"

    url: str = "probe://localhost"
    password: SecretStr | None = None
    fail_connects: int = 0

    _opened: int = 0
    _closed: int = 0

    async def _connect(self) -> None:
        await asyncio.sleep(0.01)  # long enough for concurrent callers to pile up on the lock
        if self.fail_connects > 0:
            self.fail_connects -= 1
            raise XResourceConnectionError(
                "refused", resource=self.display_name, operation="connect"
            )
        self._opened += 1

    async def _disconnect(self) -> None:
        self._closed += 1

    async def validate_connection(self) -> bool:
        return self.is_connected

    async def list_collections_or_tables(self) -> list[str]:
        await self.ensure_connected()
        return ["a", "b"]


async def test_not_connected_until_first_use() -> None:
    probe = Probe()
    assert not probe.is_connected
    assert await probe.list_collections_or_tables() == ["a", "b"]
    assert probe.is_connected
    assert probe._opened == 1
    await probe.disconnect()


async def test_connect_and_disconnect_are_idempotent() -> None:
    probe = Probe()
    await probe.connect()
    await probe.connect()
    assert probe._opened == 1
    await probe.disconnect()
    await probe.disconnect()
    assert probe._closed == 1
    assert not probe.is_connected


async def test_disconnect_before_connect_does_nothing() -> None:
    probe = Probe()
    await probe.disconnect()
    assert probe._closed == 0


async def test_concurrent_first_calls_open_once() -> None:
    probe = Probe()
    await asyncio.gather(*(probe.ensure_connected() for _ in range(20)))
    assert probe._opened == 1
    await probe.disconnect()


async def test_reconnect_after_disconnect_opens_again() -> None:
    probe = Probe()
    async with probe:
        assert probe.is_connected
    assert not probe.is_connected
    async with probe:
        pass
    assert (probe._opened, probe._closed) == (2, 2)


async def test_failed_connect_leaves_it_disconnected_and_retryable() -> None:
    probe = Probe(fail_connects=1)
    with pytest.raises(XResourceConnectionError, match=r"\[probe 'probe'\] connect: refused"):
        await probe.connect()
    assert not probe.is_connected
    await probe.connect()
    assert probe.is_connected
    assert probe._opened == 1
    await probe.disconnect()


async def test_context_manager_disconnects_on_error() -> None:
    probe = Probe()
    with pytest.raises(RuntimeError):
        async with probe:
            raise RuntimeError("boom")
    assert probe._closed == 1


def test_name_and_metadata_defaults() -> None:
    probe = Probe()
    assert probe.name == "probe"
    assert probe.display_name == "probe 'probe'"
    assert isinstance(probe.metadata, ResourceMetadata)
    named = Probe(
        name="orders", metadata=ResourceMetadata(name="orders", tags=["x"], description="d")
    )
    meta = named.get_metadata()
    assert (meta["type"], meta["name"], meta["tags"], meta["description"]) == (
        "probe",
        "orders",
        ["x"],
        "d",
    )
    assert meta["connected"] is False


def test_metadata_and_repr_mask_secrets() -> None:
    probe = Probe(
        url="probe://app:hunter2@db.internal/x?token=abc123", password=SecretStr("s3cret-pw")
    )
    meta = probe.get_metadata()
    dumped = repr(meta)
    for secret in ("hunter2", "abc123", "s3cret-pw"):
        assert secret not in dumped
    assert meta["password"] == "**********"
    assert "db.internal" in meta["url"]
    assert "s3cret-pw" not in repr(probe)
    assert "s3cret-pw" not in str(probe)


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="colour"):
        Probe(colour="red")  # type: ignore[call-arg]


def test_params_from_url_default_refuses() -> None:
    with pytest.raises(XResourceConfigurationError, match="cannot be created from a URL"):
        Probe.params_from_url(parse_url("probe://x"))


def test_abstract_base_cannot_be_instantiated() -> None:
    with pytest.raises(TypeError):
        XResource()  # type: ignore[abstract]
