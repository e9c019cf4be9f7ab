"""``XRegistry``: the one entry point to the function, model and type registries.

The three registries share one namespace index (so ``find("ns.*.auth.*")`` spans them), one audit
log and one :class:`~xregistry.config.RegistryConfig`.

Example:
    >>> registry = XRegistry()
    >>> @registry.functions.register(namespace="math")
    ... def add(a: int, b: int) -> int:
    ...     return a + b
    >>> registry.find("ns.functions.math.*")
    ['ns.functions.math.add']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from xobj_prototype import NamespaceIndex, XNotFoundError
from xregistry._context import RegistryContext
from xregistry.audit import AuditLog
from xregistry.config import RegistryConfig, load_config
from xregistry.enrichment import EnrichedRegistry
from xregistry.errors import RegistryNotFoundError, RegistryValidationError
from xregistry.functions import FunctionRegistry, RegisteredFunction
from xregistry.models._registry import ModelRegistry, RegisteredModel
from xregistry.permissions import FunctionPermission, ModelPermission, Principal
from xregistry.types import RegisteredType, TypeRegistry

__all__ = [
    "XRegistry",
    "default_registry",
    "register_function",
    "set_default_registry",
]

F = TypeVar("F", bound=Callable[..., Any])


class XRegistry:
    """Functions, models and types in one place; see the module docstring.

    Args:
        config: settings applied to every registry (default: :class:`RegistryConfig()`; use
            :meth:`from_settings` to read them from Dynaconf).
    """

    ns = "registry"

    def __init__(
        self, config: RegistryConfig | None = None, *, index: NamespaceIndex[Any] | None = None
    ) -> None:
        self.config = config or RegistryConfig()
        self.audit = AuditLog(self.config.audit.max_events, enabled=self.config.audit.enabled)
        self.context = RegistryContext(
            index=index, audit=self.audit, prefix=self.config.namespace_prefix
        )
        self.functions = FunctionRegistry(context=self.context)
        self.models = ModelRegistry(context=self.context)
        self.types = TypeRegistry(context=self.context)
        self.enriched: EnrichedRegistry | None = None
        self.configure(self.config)

    @classmethod
    def from_settings(
        cls,
        *,
        settings_files: Sequence[str | os.PathLike[str]] | None = None,
        root: str | os.PathLike[str] | None = None,
        environment: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> XRegistry:
        """A registry configured from ``settings.toml``/``.secrets.toml``/``XREGISTRY_*``."""
        return cls(
            load_config(
                settings_files=settings_files,
                root=root,
                environment=environment,
                overrides=overrides,
            )
        )

    def configure(self, config: RegistryConfig) -> None:
        """Apply ``config`` to every registry (and to the enriched registry, once created)."""
        if config.namespace_prefix != self.context.prefix and len(self.context.index):
            raise RegistryValidationError(
                "the namespace prefix cannot change once items are registered "
                f"(registered under {self.context.prefix!r})"
            )
        self.config = config
        self.context.prefix = config.namespace_prefix
        self.audit.enabled = config.audit.enabled
        self.context.audit_reads = config.audit.audit_reads
        if self.audit.max_events != config.audit.max_events:
            self.audit.resize(config.audit.max_events)
        for registry, section in (
            (self.functions, config.functions),
            (self.models, config.models),
            (self.types, config.types),
        ):
            registry.config = section
            registry.allow_override = config.allow_override
        if self.enriched is not None:
            self.enriched.config = config.enrichment

    def get_enriched(self) -> EnrichedRegistry:
        """The enriched registry over these registries (created on first use)."""
        if self.enriched is None:
            self.enriched = EnrichedRegistry(
                self.models, self.types, self.functions, config=self.config.enrichment
            )
        return self.enriched

    # -- delegation ---------------------------------------------------------------------------
    def register_function(self, *args: Any, **kwargs: Any) -> Any:
        """:meth:`FunctionRegistry.register` (a call or a decorator factory)."""
        return self.functions.register(*args, **kwargs)

    def register_model(self, *args: Any, **kwargs: Any) -> RegisteredModel:
        """:meth:`ModelRegistry.register`."""
        return self.models.register(*args, **kwargs)

    def register_type(self, *args: Any, **kwargs: Any) -> RegisteredType:
        """:meth:`TypeRegistry.register_type`."""
        return self.types.register_type(*args, **kwargs)

    async def execute(
        self,
        name: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        principal: Principal | str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the limit also bounds a worker thread
    ) -> Any:
        """:meth:`FunctionRegistry.execute`."""
        return await self.functions.execute(
            name, args, kwargs, principal=principal, timeout=timeout
        )

    def get_model(self, name: str, *, principal: Principal | str | None = None) -> type[BaseModel]:
        """The class of a registered model."""
        return self.models.get(name, principal=principal).model_class

    def validate(self, type_name: str, value: Any) -> Any:
        """:meth:`TypeRegistry.validate`."""
        return self.types.validate(type_name, value)

    def check_access(
        self,
        model_name: str,
        operation: ModelPermission | str,
        principal: Principal | str | None = "anonymous",
    ) -> bool:
        """:meth:`ModelRegistry.check_access`."""
        return self.models.check_access(model_name, operation, principal)

    def find(self, pattern: str, *, segments: bool = False) -> list[str]:
        """Namespace paths of every kind matching the glob, sorted."""
        try:
            return self.context.index.glob(pattern, segments=segments)
        except ValueError as exc:
            raise RegistryValidationError(str(exc)) from None

    def resolve(self, ns_path: str) -> RegisteredFunction | RegisteredModel | RegisteredType:
        """Whatever is registered at ``ns_path``."""
        value = self.context.index.lookup(ns_path) if isinstance(ns_path, str) else None
        if isinstance(value, RegisteredFunction | RegisteredModel | RegisteredType):
            return value
        try:
            self.context.index.get(ns_path)
        except XNotFoundError as exc:  # carries the closest paths
            raise RegistryNotFoundError(exc.message, details=exc.details) from None
        except ValueError as exc:
            raise RegistryValidationError(str(exc)) from None
        raise RegistryNotFoundError(f"{ns_path!r} does not hold a registered item")

    def summary(self) -> dict[str, int]:
        """How many functions, models and types are registered."""
        return {
            "functions": len(self.functions.functions),
            "models": len(self.models.models),
            "types": len(self.types.types),
        }

    async def aclose(self) -> None:
        """Stop the enriched registry's background refresh tasks."""
        if self.enriched is not None:
            await self.enriched.aclose()


_default: XRegistry | None = None


def default_registry() -> XRegistry:
    """The process-wide registry (created on first use with the default config)."""
    global _default
    if _default is None:
        _default = XRegistry()
    return _default


def set_default_registry(registry: XRegistry | None) -> None:
    """Replace (or with None, forget) the process-wide registry; tests use it."""
    global _default
    _default = registry


def register_function(
    name: str | None = None,
    namespace: str | None = None,
    tags: Iterable[str] | None = None,
    permissions: Mapping[str, Iterable[FunctionPermission | str]] | None = None,
    *,
    description: str | None = None,
    override: bool = False,
    registry: FunctionRegistry | None = None,
) -> Callable[[F], F]:
    """Decorator: register the function (in ``registry``, else the functions of
    :func:`default_registry`) and return a tracked wrapper.

    Examples:
        >>> from xregistry import FunctionRegistry
        >>> reg = FunctionRegistry()
        >>> @register_function(namespace="finance", registry=reg)
        ... async def fetch_rate(currency: str) -> float:
        ...     return 1.1
        >>> reg.get("fetch_rate").metadata.is_async
        True
    """
    target = registry if registry is not None else default_registry().functions
    return target.register(
        name=name,
        namespace=namespace,
        tags=tags,
        permissions=permissions,
        description=description,
        override=override,
    )
