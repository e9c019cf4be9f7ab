"""xregistry: registries of functions, models and types with namespaces, permissions, versions,
auditing, import control and enrichment from live resources.

Start with :class:`XRegistry` (or :func:`default_registry`)::

    from xregistry import XRegistry, Principal

    registry = XRegistry()

    @registry.functions.register(namespace="finance", tags={"tax"})
    def calculate_tax(amount: float, rate: float) -> float:
        return amount * rate

    await registry.execute("calculate_tax", kwargs={"amount": 100, "rate": 0.2},
                           principal=Principal(id="ada", roles={"accountant"}))
"""

from xregistry.__about__ import __version__
from xregistry._context import RegistryContext
from xregistry._registry import (
    XRegistry,
    default_registry,
    register_function,
    set_default_registry,
)
from xregistry.audit import AuditAction, AuditEvent, AuditLog
from xregistry.config import (
    AuditConfig,
    EnrichmentConfig,
    FunctionRegistryConfig,
    ImportControlConfig,
    ModelRegistryConfig,
    RegistryConfig,
    TypeRegistryConfig,
    load_config,
)
from xregistry.enrichment import DiscoveryResult, EnrichedRegistry, ModelEnrichment, SyncResult
from xregistry.errors import (
    FunctionExecutionError,
    FunctionTimeoutError,
    RegistryConflictError,
    RegistryNotFoundError,
    RegistryPermissionError,
    RegistryValidationError,
    XRegistryError,
)
from xregistry.functions import (
    CallStats,
    FunctionMetadata,
    FunctionRegistry,
    ParameterInfo,
    RegisteredFunction,
)
from xregistry.imports import AccessRecord, ModelAccessControl, ModelGate, auto_discover_models
from xregistry.models import (
    MigrationRegistry,
    ModelEvolution,
    ModelMetadata,
    ModelRegistry,
    ModelSource,
    ModelVersion,
    RegisteredModel,
    bump_version,
    detect_widget,
    diff_fields,
    generate_ui_schema,
    model_fields_schema,
    model_from_json_schema,
)
from xregistry.permissions import (
    ANONYMOUS,
    SYSTEM,
    FunctionPermission,
    ModelPermission,
    Principal,
    as_principal,
)
from xregistry.types import (
    RegisteredType,
    RegisteredValidator,
    TypeCategory,
    TypeMetadata,
    TypeRegistry,
)

__all__ = [
    "ANONYMOUS",
    "SYSTEM",
    "AccessRecord",
    "AuditAction",
    "AuditConfig",
    "AuditEvent",
    "AuditLog",
    "CallStats",
    "DiscoveryResult",
    "EnrichedRegistry",
    "EnrichmentConfig",
    "FunctionExecutionError",
    "FunctionMetadata",
    "FunctionPermission",
    "FunctionRegistry",
    "FunctionRegistryConfig",
    "FunctionTimeoutError",
    "ImportControlConfig",
    "MigrationRegistry",
    "ModelAccessControl",
    "ModelEnrichment",
    "ModelEvolution",
    "ModelGate",
    "ModelMetadata",
    "ModelPermission",
    "ModelRegistry",
    "ModelRegistryConfig",
    "ModelSource",
    "ModelVersion",
    "ParameterInfo",
    "Principal",
    "RegisteredFunction",
    "RegisteredModel",
    "RegisteredType",
    "RegisteredValidator",
    "RegistryConfig",
    "RegistryConflictError",
    "RegistryContext",
    "RegistryNotFoundError",
    "RegistryPermissionError",
    "RegistryValidationError",
    "SyncResult",
    "TypeCategory",
    "TypeMetadata",
    "TypeRegistry",
    "TypeRegistryConfig",
    "XRegistry",
    "XRegistryError",
    "__version__",
    "as_principal",
    "auto_discover_models",
    "bump_version",
    "default_registry",
    "detect_widget",
    "diff_fields",
    "generate_ui_schema",
    "load_config",
    "model_fields_schema",
    "model_from_json_schema",
    "register_function",
    "set_default_registry",
]
