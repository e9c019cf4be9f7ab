"""xregistry: registries of functions, models and types with namespaces, permissions, versions,
auditing, import control and enrichment from live resources.

The top level holds what a user needs; the rest lives in the subpackage faces:
:mod:`xregistry.functions`, :mod:`xregistry.models`, :mod:`xregistry.types`,
:mod:`xregistry.enrichment`, :mod:`xregistry.imports`, :mod:`xregistry.permissions`,
:mod:`xregistry.audit`, :mod:`xregistry.config`, :mod:`xregistry.errors` and :mod:`xregistry.api`
(whose app and server need the ``xregistry[api]`` extra; without it they raise
``MissingExtraError`` naming it).

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
from xregistry.config import RegistryConfig, load_config
from xregistry.enrichment import EnrichedRegistry
from xregistry.errors import (
    FunctionExecutionError,
    FunctionTimeoutError,
    RegistryConflictError,
    RegistryNotFoundError,
    RegistryPermissionError,
    RegistryValidationError,
    XRegistryError,
)
from xregistry.functions import FunctionRegistry, RegisteredFunction
from xregistry.imports import ModelGate, auto_discover_models
from xregistry.models import ModelRegistry, ModelSource, RegisteredModel
from xregistry.permissions import (
    ANONYMOUS,
    SYSTEM,
    FunctionPermission,
    ModelPermission,
    Principal,
)
from xregistry.types import RegisteredType, TypeCategory, TypeRegistry

__all__ = [
    "ANONYMOUS",
    "SYSTEM",
    "AuditAction",
    "AuditEvent",
    "AuditLog",
    "EnrichedRegistry",
    "FunctionExecutionError",
    "FunctionPermission",
    "FunctionRegistry",
    "FunctionTimeoutError",
    "ModelGate",
    "ModelPermission",
    "ModelRegistry",
    "ModelSource",
    "Principal",
    "RegisteredFunction",
    "RegisteredModel",
    "RegisteredType",
    "RegistryConfig",
    "RegistryConflictError",
    "RegistryContext",
    "RegistryNotFoundError",
    "RegistryPermissionError",
    "RegistryValidationError",
    "TypeCategory",
    "TypeRegistry",
    "XRegistry",
    "XRegistryError",
    "__version__",
    "auto_discover_models",
    "default_registry",
    "load_config",
    "register_function",
    "set_default_registry",
]
