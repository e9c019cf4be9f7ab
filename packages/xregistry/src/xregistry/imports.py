"""Import control: make a project's ``models/__init__.py`` the gate to its models.

In ``myapp/models/__init__.py``::

    from xregistry import ModelGate, default_registry
    from myapp.models.user import User, UserProfile

    gate = ModelGate(__name__, default_registry())
    gate.export(User, UserProfile, permissions={"admin": {"create", "read", "update", "delete"},
                                                "user": {"read"}})
    get_model = gate.get_model
    list_models = gate.list_models
    register_dynamic_model = gate.register_dynamic_model
    check_model_access = gate.check_model_access

    __all__ = ["User", "UserProfile", "get_model", "list_models", "register_dynamic_model",
               "check_model_access"]

Application code then imports from ``myapp.models`` only. In strict mode (the default,
``[registry.import_control] strict_mode``) the gate refuses a model of the package that
``__all__`` does not export, both in :meth:`ModelGate.get_model` and in
:meth:`ModelGate.auto_discover_models`.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from xregistry._registry import XRegistry, default_registry
from xregistry.errors import (
    RegistryPermissionError,
    RegistryValidationError,
)
from xregistry.models._registry import ModelRegistry, ModelSource
from xregistry.permissions import ModelPermission, Principal, as_principal

if TYPE_CHECKING:
    from xresource import XResource

__all__ = ["AccessRecord", "ModelAccessControl", "ModelGate", "auto_discover_models"]


class AccessRecord(BaseModel):
    """One answer of :meth:`ModelAccessControl.check_access`."""

    model_config = ConfigDict(frozen=True)

    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    model: str
    operation: str
    role: str
    principal: str
    allowed: bool


class ModelAccessControl:
    """Answers "may this role do that to this model?" and keeps a bounded log of the answers."""

    def __init__(self, models: ModelRegistry, *, max_log: int = 10_000) -> None:
        self.models = models
        self.access_log: deque[AccessRecord] = deque(maxlen=max_log)

    def check_access(
        self,
        model_name: str,
        operation: ModelPermission | str,
        user_role: Principal | str | None = "anonymous",
    ) -> bool:
        """Whether the role (or principal) may perform ``operation``; unknown models, unknown
        operations and missing grants all answer False. Every answer is logged."""
        who = as_principal(user_role)
        allowed = self.models.check_access(model_name, operation, who)
        self.access_log.append(
            AccessRecord(
                model=str(model_name),
                operation=str(getattr(operation, "value", operation)),
                role=",".join(sorted(who.roles)),
                principal=who.display_id,
                allowed=allowed,
            )
        )
        return allowed

    def get_accessible_models(self, user_role: Principal | str | None) -> list[str]:
        """Models on which the role holds any permission."""
        return self.models.get_accessible_models(user_role)


class ModelGate:
    """The gate of one models package; see the module docstring.

    Args:
        package: the package's ``__name__`` (``"myapp.models"``).
        registry: an :class:`~xregistry.XRegistry` or a bare
            :class:`~xregistry.models.ModelRegistry` (default: the default registry).
        strict: refuse models of the package that ``__all__`` does not export (default from
            ``import_control.strict_mode``).
    """

    def __init__(
        self,
        package: str,
        registry: XRegistry | ModelRegistry | None = None,
        *,
        strict: bool | None = None,
        max_access_log: int | None = None,
    ) -> None:
        if not isinstance(package, str) or not package:
            raise RegistryValidationError("ModelGate needs the package name (pass __name__)")
        self.package = package
        owner = registry if registry is not None else default_registry()
        control = owner.config.import_control if isinstance(owner, XRegistry) else None
        self.models: ModelRegistry = owner.models if isinstance(owner, XRegistry) else owner
        self.strict = strict if strict is not None else (control.strict_mode if control else True)
        size = max_access_log or (control.max_access_log if control else 10_000)
        self.access = ModelAccessControl(self.models, max_log=size)
        self._static: dict[str, type[BaseModel]] = {}
        self._exported_dynamic: set[str] = set()

    # -- the package ----------------------------------------------------------------------------
    def _module(self) -> ModuleType:
        module = sys.modules.get(self.package)
        if module is None:
            module = importlib.import_module(self.package)
        return module

    def exported_names(self) -> list[str]:
        """What the package's ``__all__`` lists (empty when it has none yet)."""
        return list(getattr(self._module(), "__all__", ()) or ())

    def _in_package(self, model: type[BaseModel]) -> bool:
        module = getattr(model, "__module__", "") or ""
        return module == self.package or module.startswith(self.package + ".")

    # -- registration ---------------------------------------------------------------------------
    def export(
        self,
        *models: type[BaseModel],
        name: str | None = None,
        namespace: str | None = None,
        permissions: Mapping[str, Iterable[ModelPermission | str]] | None = None,
        tags: Iterable[str] | None = None,
        override: bool = False,
    ) -> list[str]:
        """Register static models through the gate (namespace: the defining module's last part).

        Returns the registered names.
        """
        if name is not None and len(models) != 1:
            raise RegistryValidationError("name= applies to exactly one model")
        names: list[str] = []
        for model in models:
            model_name = name or model.__name__
            existing = self.models.models.get(model_name)
            if existing is not None and existing.model_class is model and not override:
                self._static[model_name] = model  # already registered (module re-imported)
                names.append(model_name)
                continue
            self.models.register_static_model(
                model,
                name=model_name,
                namespace=namespace,
                permissions=permissions,
                tags=tags,
                override=override,
            )
            self._static[model_name] = model
            names.append(model_name)
        return names

    def auto_discover_models(
        self,
        *,
        namespace: str | None = None,
        permissions: Mapping[str, Iterable[ModelPermission | str]] | None = None,
    ) -> list[str]:
        """Import every public module of the package and register the models defined there.

        Private modules (``_x``) are skipped; in strict mode only models named in ``__all__``
        are registered. Returns the names registered by this call.
        """
        module = self._module()
        paths = getattr(module, "__path__", None)
        if paths is None:
            raise RegistryValidationError(
                f"{self.package} is a module, not a package: auto-discovery needs a package"
            )
        exported = set(self.exported_names())
        found: list[str] = []
        for info in pkgutil.iter_modules(list(paths)):
            if info.name.startswith("_"):
                continue
            sub = importlib.import_module(f"{self.package}.{info.name}")
            for attr in vars(sub).values():
                if not (
                    isinstance(attr, type)
                    and issubclass(attr, BaseModel)
                    and attr.__module__ == sub.__name__
                ):
                    continue
                if self.strict and attr.__name__ not in exported:
                    continue
                if attr.__name__ in self.models.models:
                    self._static.setdefault(attr.__name__, attr)
                    continue
                self.models.register_static_model(
                    attr, namespace=namespace or info.name, permissions=permissions
                )
                self._static[attr.__name__] = attr
                found.append(attr.__name__)
        return sorted(found)

    async def register_dynamic_model(
        self,
        resource: XResource,
        collection_name: str,
        auto_export: bool = False,
        *,
        namespace: str | None = None,
    ) -> type[BaseModel]:
        """Generate and register a model from a table or collection; with ``auto_export`` it also
        becomes an attribute of the package and a name in its ``__all__``."""
        registered = await self.models.register_from_inspector(
            resource, collection_name, namespace=namespace
        )
        model_name = registered.metadata.name
        if auto_export:
            module = self._module()
            setattr(module, model_name, registered.model_class)
            current = list(getattr(module, "__all__", ()) or ())
            if model_name not in current:
                current.append(model_name)
            setattr(module, "__all__", current)  # noqa: B010 - a module attribute, not ours
            self._exported_dynamic.add(model_name)
        return registered.model_class

    # -- access ---------------------------------------------------------------------------------
    def get_model(self, name: str) -> type[BaseModel]:
        """A model by name: an exported static model, or a dynamic/external one from the registry.

        Raises:
            RegistryNotFoundError: nothing is registered under ``name`` (a ``KeyError`` too).
            RegistryPermissionError: strict mode and the package does not export ``name``.
        """
        model = self._static.get(name)
        if model is None:
            registered = self.models.models.get(name) if isinstance(name, str) else None
            if registered is None:
                raise self.models._not_found(name)
            model = registered.model_class
            if registered.metadata.source is not ModelSource.STATIC:
                return model
        if self.strict and self._in_package(model) and name not in self.exported_names():
            raise RegistryPermissionError(
                f"model {name!r} is defined in {model.__module__} but {self.package} does not "
                f"export it; add it to {self.package}.__all__ (strict import control)",
                details={"model": name, "package": self.package},
            )
        return model

    def list_models(self, category: ModelSource | str | None = None) -> list[str]:
        """Names of the available models: ``"static"`` (exported through the gate),
        ``"dynamic"``, ``"external"``, or all of them."""
        src = ModelSource(category) if category is not None else None
        names: set[str] = set()
        if src in (None, ModelSource.STATIC):
            exported = set(self.exported_names())
            names.update(
                n
                for n, m in self._static.items()
                if not self.strict or n in exported or not self._in_package(m)
            )
        if src is not ModelSource.STATIC:
            names.update(
                m.metadata.name
                for m in self.models.list_models(src)
                if m.metadata.source is not ModelSource.STATIC
            )
        return sorted(names)

    def check_model_access(
        self,
        model_name: str,
        operation: ModelPermission | str,
        user_role: Principal | str | None = "anonymous",
    ) -> bool:
        """:meth:`ModelAccessControl.check_access` (logged)."""
        return self.access.check_access(model_name, operation, user_role)

    @property
    def access_log(self) -> list[AccessRecord]:
        """The recent access answers, oldest first."""
        return list(self.access.access_log)

    def __repr__(self) -> str:
        return f"ModelGate({self.package!r}, strict={self.strict}, static={sorted(self._static)})"


def auto_discover_models(
    package: str,
    registry: XRegistry | ModelRegistry | None = None,
    *,
    strict: bool | None = None,
    namespace: str | None = None,
) -> list[str]:
    """Register the models of every public module of ``package`` (see
    :meth:`ModelGate.auto_discover_models`); returns the names registered by this call.

    Example (at application start-up)::

        auto_discover_models("myapp.models")
    """
    return ModelGate(package, registry, strict=strict).auto_discover_models(namespace=namespace)
