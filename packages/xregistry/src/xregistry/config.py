"""``RegistryConfig``: the typed settings of every registry, read through Dynaconf.

Files ``settings.toml`` and ``.secrets.toml`` (with ``[default]``/``[development]``/``[production]``
environments or without), then environment variables prefixed ``XREGISTRY_`` (nested keys with
``__``), then values given in code. The ``[registry]`` table is the input::

    [default.registry.models]
    max_version_history = 10

    # XREGISTRY_REGISTRY__MODELS__MAX_VERSION_HISTORY=5 overrides it; XREGISTRY_ENV=production
    # picks the [production] environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from xobj_prototype import load_settings

__all__ = [
    "AuditConfig",
    "EnrichmentConfig",
    "FunctionRegistryConfig",
    "ImportControlConfig",
    "ModelRegistryConfig",
    "RegistryConfig",
    "StoreConfig",
    "TypeRegistryConfig",
    "load_config",
]

PositiveInt = Annotated[int, Field(gt=0)]
_Section = ConfigDict(extra="forbid")


def _role_map(value: Any) -> Any:
    """A bare list of permissions (the document's ``default_permissions = ["execute"]``) means
    "granted to every role"."""
    if isinstance(value, list | tuple | set | frozenset):
        return {"*": list(value)}
    return value


class _PermissionsSection(BaseModel):
    """A section with ``default_permissions`` (functions, models), which may be a bare list."""

    model_config = _Section

    @field_validator("default_permissions", mode="before", check_fields=False)
    @classmethod
    def _coerce(cls, value: Any) -> Any:
        return _role_map(value)


class FunctionRegistryConfig(_PermissionsSection):
    """``[registry.functions]``."""

    model_config = _Section

    default_permissions: dict[str, list[str]] = Field(default_factory=lambda: {"*": ["execute"]})
    track_execution: bool = True
    execution_timeout: float | None = Field(default=30.0, gt=0)
    max_call_history: PositiveInt = 1000
    run_sync_in_thread: bool = True
    validate_arguments: bool = True


class ModelRegistryConfig(_PermissionsSection):
    """``[registry.models]``."""

    model_config = _Section

    default_permissions: dict[str, list[str]] = Field(
        default_factory=lambda: {"*": ["read", "list"]}
    )
    enable_versioning: bool = True
    max_version_history: PositiveInt = 10
    auto_generate_ui: bool = True
    #: Compatibility mode of every model without its own: none, backward, forward or full.
    compatibility: str = Field(default="backward", pattern=r"^(?i:none|backward|forward|full)$")


class TypeRegistryConfig(BaseModel):
    """``[registry.types]``."""

    model_config = _Section

    enable_validators: bool = True
    validate_on_register: bool = True
    cache_validated_values: bool = True
    validation_cache_ttl: float = Field(default=3600.0, ge=0)
    validation_cache_size: PositiveInt = 10_000


class EnrichmentConfig(BaseModel):
    """``[registry.enrichment]``."""

    model_config = _Section

    auto_refresh: bool = True
    refresh_interval: float = Field(default=300.0, gt=0)
    sample_size: PositiveInt = 100
    enable_categorical_detection: bool = True
    categorical_threshold: PositiveInt = 100


class ImportControlConfig(BaseModel):
    """``[registry.import_control]``."""

    model_config = _Section

    models_package: str | None = None
    auto_discover_on_startup: bool = False
    strict_mode: bool = True
    max_access_log: PositiveInt = 10_000


class AuditConfig(BaseModel):
    """``[registry.audit]``."""

    model_config = _Section

    enabled: bool = True
    audit_reads: bool = True
    max_events: PositiveInt = 10_000


class StoreConfig(BaseModel):
    """``[registry.store]``: where ``xregistry serve`` keeps versions, audit and enrichment.

    ``url`` is ``sqlite:///path.db`` or ``postgresql://...``; empty means the SQLite file
    ``registry.db`` under the serve data directory, and ``"memory"`` keeps nothing.
    """

    model_config = _Section

    url: str | None = None
    table_prefix: str = Field(default="xregistry_", pattern=r"^[a-z_][a-z0-9_]{0,30}$")
    #: Seconds between two looks at the store for other instances' changes.
    poll_interval: float = Field(default=0.5, gt=0, le=3600)
    #: Persist successful reads from the audit log too (the hottest path; off by default).
    audit_reads: bool = False


class RegistryConfig(BaseModel):
    """Every setting of the registries; :meth:`XRegistry.configure` applies it to each one."""

    model_config = ConfigDict(extra="ignore")

    namespace_prefix: str = Field(default="ns", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    allow_override: bool = False
    enable_enrichment: bool = True
    functions: FunctionRegistryConfig = Field(default_factory=FunctionRegistryConfig)
    models: ModelRegistryConfig = Field(default_factory=ModelRegistryConfig)
    types: TypeRegistryConfig = Field(default_factory=TypeRegistryConfig)
    enrichment: EnrichmentConfig = Field(default_factory=EnrichmentConfig)
    import_control: ImportControlConfig = Field(default_factory=ImportControlConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)


def load_config(
    *,
    settings_files: Sequence[str | os.PathLike[str]] | None = None,
    root: str | os.PathLike[str] | None = None,
    environment: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> RegistryConfig:
    """Read :class:`RegistryConfig` from the ``[registry]`` table of the settings files and the
    ``XREGISTRY_`` environment.

    Raises:
        xobj_prototype.XConfigurationError: unreadable files or values of the wrong type (each bad
            key is named).
    """
    return load_settings(
        RegistryConfig,
        "XREGISTRY",
        section="registry",
        settings_files=settings_files,
        root=root,
        environment=environment,
        overrides=overrides,
    )
