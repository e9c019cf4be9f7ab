"""Settings defaults: ``[resources.<type>]`` from settings.toml, .secrets.toml and environment."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import SecretStr

from xobj_prototype import XConfigurationError
from xresource import ResourceFactory, XResource, XResourceConfigurationError

pytestmark = pytest.mark.usefixtures("isolated_factory")


class Svc(XResource):
    """A resource with the kinds of parameters settings feed: sizes, timeouts, a password."""

    resource_type: ClassVar[str] = "svc"

    host: str = "localhost"
    pool_size: int = 5
    timeout: float = 30.0
    password: SecretStr | None = None

    async def _connect(self) -> None:
        return None

    async def _disconnect(self) -> None:
        return None

    async def validate_connection(self) -> bool:
        return True

    async def list_collections_or_tables(self) -> list[str]:
        return []


@pytest.fixture
def svc() -> None:
    ResourceFactory.register("svc", Svc)


def _write(root: Path, settings: str, secrets: str | None = None) -> None:
    (root / "settings.toml").write_text(settings, encoding="utf-8")
    if secrets is not None:
        (root / ".secrets.toml").write_text(secrets, encoding="utf-8")


@pytest.mark.usefixtures("svc")
def test_defaults_and_secrets_from_files(tmp_path: Path) -> None:
    _write(
        tmp_path,
        """
[default.resources.svc]
host = "db.internal"
default_pool_size = 20
""",
        """
[default.resources.svc]
password = "from-secrets-file"
""",
    )
    ResourceFactory.settings.configure(
        root=tmp_path, settings_files=["settings.toml", ".secrets.toml"]
    )
    resource = ResourceFactory.create("svc")
    assert isinstance(resource, Svc)
    assert (resource.host, resource.pool_size) == ("db.internal", 20)
    assert resource.password is not None
    assert resource.password.get_secret_value() == "from-secrets-file"
    assert "from-secrets-file" not in repr(resource)
    assert "from-secrets-file" not in repr(resource.get_metadata())


@pytest.mark.usefixtures("svc")
def test_keyword_arguments_win_over_settings(tmp_path: Path) -> None:
    _write(tmp_path, "[default.resources.svc]\nhost = 'from-file'\ntimeout = 5\n")
    ResourceFactory.settings.configure(root=tmp_path, settings_files=["settings.toml"])
    resource = ResourceFactory.create("svc", host="from-code")
    assert (resource.host, resource.timeout) == ("from-code", 5.0)  # type: ignore[attr-defined]


@pytest.mark.usefixtures("svc")
def test_environment_sections_and_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(
        tmp_path,
        """
[default.resources.svc]
timeout = 5
[production.resources.svc]
timeout = 50
""",
    )
    ResourceFactory.settings.configure(
        root=tmp_path, settings_files=["settings.toml"], environment="production"
    )
    assert ResourceFactory.create("svc").timeout == 50.0  # type: ignore[attr-defined]
    monkeypatch.setenv("XRESOURCE_RESOURCES__SVC__TIMEOUT", "7")
    ResourceFactory.settings.configure(root=tmp_path, settings_files=["settings.toml"])
    assert ResourceFactory.create("svc").timeout == 7.0  # type: ignore[attr-defined]


@pytest.mark.usefixtures("svc")
def test_unknown_keys_are_an_error_listing_valid_ones(tmp_path: Path) -> None:
    _write(tmp_path, "[default.resources.svc]\nhots = 'typo'\npool_size = 2\n")
    ResourceFactory.settings.configure(root=tmp_path, settings_files=["settings.toml"])
    with pytest.raises(XResourceConfigurationError) as info:
        ResourceFactory.create("svc")
    message = str(info.value)
    assert "unknown keys hots" in message
    assert "valid keys (each may carry a default_ prefix) for svc resources:" in message
    assert "host" in message
    assert "pool_size" in message


@pytest.mark.usefixtures("svc")
def test_wrong_value_types_in_settings_are_configuration_errors(tmp_path: Path) -> None:
    _write(tmp_path, "[default.resources.svc]\npool_size = 'lots'\n")
    ResourceFactory.settings.configure(root=tmp_path, settings_files=["settings.toml"])
    with pytest.raises(XResourceConfigurationError, match="pool_size"):
        ResourceFactory.create("svc")


@pytest.mark.usefixtures("svc")
def test_missing_files_mean_no_defaults(tmp_path: Path) -> None:
    ResourceFactory.settings.configure(root=tmp_path, settings_files=["nothing-here.toml"])
    assert ResourceFactory.create("svc").host == "localhost"  # type: ignore[attr-defined]


def test_unparsable_file_is_a_configuration_error(tmp_path: Path) -> None:
    _write(tmp_path, "[default.resources.svc\nhost = \n")
    with pytest.raises(XConfigurationError, match=r"settings.toml"):
        ResourceFactory.settings.configure(root=tmp_path, settings_files=["settings.toml"])


@pytest.mark.usefixtures("svc")
def test_configure_with_a_mapping_and_reset() -> None:
    ResourceFactory.settings.configure({"resources": {"svc": {"host": "mapped"}}})
    assert ResourceFactory.create("svc").host == "mapped"  # type: ignore[attr-defined]
    assert ResourceFactory.settings.section("svc") == {"host": "mapped"}
    ResourceFactory.settings.configure({})
    assert ResourceFactory.create("svc").host == "localhost"  # type: ignore[attr-defined]
