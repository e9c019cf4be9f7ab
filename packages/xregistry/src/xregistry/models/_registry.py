"""``ModelRegistry``: static, dynamic (inspector-generated) and external Pydantic models with
JSON and UI schemas, permissions per role, versions and migrations.

Example:
    >>> from pydantic import BaseModel
    >>> class User(BaseModel):
    ...     name: str
    ...     email: str
    >>> models = ModelRegistry()
    >>> reg = models.register_static_model(User, namespace="auth",
    ...                                    permissions={"admin": {"create", "read"}})
    >>> reg.metadata.ns_path, models.check_access("User", "create", "admin")
    ('ns.models.auth.User', True)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from xobj_prototype import segment_for
from xregistry._context import RegistryContext
from xregistry._entries import EntryRegistry
from xregistry._inspection import generate_model
from xregistry._shared import check_name, tags_of, utc_now
from xregistry._shared import optional_principal as _who
from xregistry.audit import AuditAction
from xregistry.config import ModelRegistryConfig
from xregistry.errors import (
    RegistryNotFoundError,
    RegistryValidationError,
)
from xregistry.models._compatibility import CompatibilityMode, annotate_required, parse_mode
from xregistry.models._external import model_from_json_schema
from xregistry.models._registered import (
    ModelMetadata,
    ModelSource,
    RegisteredModel,
    json_schema_of,
)
from xregistry.models._ui_schema import generate_ui_schema
from xregistry.models._versioning import (
    MigrationHook,
    MigrationRegistry,
    ModelEvolution,
    ModelVersion,
    diff_fields,
    next_version,
    parse_version,
    schema_of,
)
from xregistry.permissions import (
    ModelPermission,
    Principal,
    as_principal,
    normalize_permissions,
)

if TYPE_CHECKING:
    from xresource import XResource

__all__ = ["ModelMetadata", "ModelRegistry", "ModelSource", "RegisteredModel"]


class ModelRegistry(EntryRegistry[RegisteredModel]):
    """Registry of Pydantic models under ``<prefix>.models.<namespace>.<name>``.

    Reads take an optional ``principal`` (they refuse or filter only when one is given);
    :meth:`check_access` answers for a role, as the document's ``check_model_access`` does.
    """

    kind = "models"
    noun = "model"
    entry_class = RegisteredModel
    name_taken_hint = "use update_model() for a new version, another name, or override=True"

    def __init__(
        self,
        *,
        context: RegistryContext | None = None,
        config: ModelRegistryConfig | None = None,
        allow_override: bool = False,
    ) -> None:
        self.context = context or RegistryContext()
        self.config = config or ModelRegistryConfig()
        self.allow_override = allow_override
        self.models: dict[str, RegisteredModel] = {}
        self.namespace_map: dict[str, str] = {}
        self.version_history: dict[str, deque[ModelVersion]] = {}
        self.evolutions: dict[str, deque[ModelEvolution]] = {}
        self.migrations = MigrationRegistry()
        #: Compatibility modes set per model (others follow ``config.compatibility``).
        self.compatibility: dict[str, CompatibilityMode] = {}

    def _entries(self) -> dict[str, RegisteredModel]:
        return self.models

    # -- registration -------------------------------------------------------------------------
    def register(
        self,
        model_class: type[BaseModel],
        name: str | None = None,
        source: ModelSource | str = ModelSource.STATIC,
        namespace: str | None = None,
        permissions: Mapping[str, Iterable[ModelPermission | str]] | None = None,
        tags: Iterable[str] | None = None,
        *,
        description: str | None = None,
        version: str = "1.0.0",
        collection: str | None = None,
        resource: str | None = None,
        override: bool = False,
        principal: Principal | str | None = None,
        origin: str | None = None,
        fields_schema: Mapping[str, Any] | None = None,
    ) -> RegisteredModel:
        """Register ``model_class``.

        Args:
            namespace: under ``<prefix>.models``; default: the module's last part for static
                models (``myapp.models.user`` -> ``user``), ``dynamic``/``external`` otherwise.
            permissions: ``{role: {ModelPermission | "read" ...}}``; default from the config.
            origin: what made this first version, as its history shows it (``code``, ``api``,
                ``discovery``, ``drift``); default from ``source``.
            fields_schema: the schema snapshot to keep (default: :func:`schema_of` the class).

        Raises:
            RegistryConflictError: name or path taken and no ``override``.
            RegistryValidationError: not a Pydantic model, a bad name, version or permission.
        """
        if not (isinstance(model_class, type) and issubclass(model_class, BaseModel)):
            raise RegistryValidationError(
                f"only Pydantic models can be registered, got {model_class!r}"
            )
        src = ModelSource(source)
        model_name = check_name(name or model_class.__name__, "model")
        parse_version(version)
        module = getattr(model_class, "__module__", None)
        if namespace is None:
            namespace = (
                module.rsplit(".", 1)[-1] if src is ModelSource.STATIC and module else src.value
            )
        path = self.context.path(self.kind, sanitize_namespace(namespace), model_name)
        self._check_free(model_name, path, override)
        who = as_principal(principal) if principal is not None else None

        metadata = ModelMetadata(
            name=model_name,
            source=src,
            module=module,
            version=version,
            json_schema=json_schema_of(model_class),
            fields_schema=dict(fields_schema) if fields_schema else schema_of(model_class),
            ui_schema=generate_ui_schema(model_class) if self.config.auto_generate_ui else None,
            permissions=normalize_permissions(
                permissions, ModelPermission, self.config.default_permissions
            ),
            tags=tags_of(tags),
            namespace=namespace,
            ns_path=path,
            description=description or (model_class.__doc__ or "").strip() or None,
            collection=collection,
            resource=resource,
            registered_by=who.display_id if who else "system",
        )
        registered = RegisteredModel(metadata=metadata, model_class=model_class)
        old = self.models.get(model_name)
        if old is not None and old.metadata.ns_path != path:
            self._drop_path(old.metadata.ns_path)
        previous = self.context.index.lookup(path)
        if isinstance(previous, RegisteredModel) and previous.metadata.name != model_name:
            self.models.pop(previous.metadata.name, None)
        self.context.index.register(path, registered, override=True)
        self.models[model_name] = registered
        self.namespace_map[path] = model_name
        self.version_history[model_name] = deque(maxlen=self.config.max_version_history)
        self.evolutions[model_name] = deque(maxlen=self.config.max_version_history)
        self._snapshot(registered, origin or _ORIGINS[src], [])
        self.context.audit.record(
            AuditAction.REGISTER,
            "model",
            model_name,
            principal=who,
            details={"ns_path": path, "source": src.value, "override": override},
        )
        return registered

    def register_static_model(self, model_class: type[BaseModel], **kwargs: Any) -> RegisteredModel:
        """Register a model written in code (``source=STATIC``)."""
        return self.register(model_class, source=ModelSource.STATIC, **kwargs)

    def register_external(
        self, schema: Mapping[str, Any], name: str | None = None, **kwargs: Any
    ) -> RegisteredModel:
        """Build a model from an outside JSON schema and register it (``source=EXTERNAL``).

        Raises:
            RegistryValidationError: the schema is not an object schema this builder understands.
        """
        model = model_from_json_schema(schema, name)
        return self.register(
            model, name=name or model.__name__, source=ModelSource.EXTERNAL, **kwargs
        )

    async def register_from_inspector(
        self,
        resource: XResource,
        collection_name: str | None = None,
        namespace: str | None = None,
        *,
        name: str | None = None,
        tags: Iterable[str] | None = None,
        permissions: Mapping[str, Iterable[ModelPermission | str]] | None = None,
        override: bool = False,
        principal: Principal | str | None = None,
    ) -> RegisteredModel:
        """Generate a model from a table or collection with ``XInspector`` and register it
        (``source=DYNAMIC``, namespace ``dynamic.<resource name>`` by default, tags ``dynamic``,
        ``inspector-generated`` and the resource type).
        """
        model_class = await generate_model(resource, collection_name)
        label = segment_for(collection_name or model_class.__name__)
        return self.register(
            model_class,
            name=name or label,
            source=ModelSource.DYNAMIC,
            namespace=namespace or f"dynamic.{segment_for(resource.name)}",
            permissions=permissions,
            tags={"dynamic", "inspector-generated", resource.resource_type, *(tags or ())},
            collection=collection_name,
            resource=resource.name,
            override=override,
            principal=principal,
        )

    def unregister(self, name: str, *, principal: Principal | str | None = None) -> None:
        """Remove a model (a principal, when given, needs DELETE)."""
        registered = self._resolve(name)
        who = as_principal(principal) if principal is not None else None
        if who is not None:
            self._require(registered, who, ModelPermission.DELETE)
        model_name = registered.metadata.name
        del self.models[model_name]
        self._drop_path(registered.metadata.ns_path)
        self.version_history.pop(model_name, None)
        self.evolutions.pop(model_name, None)
        self.compatibility.pop(model_name, None)
        self.context.audit.record(AuditAction.UNREGISTER, "model", model_name, principal=who)

    # -- versioning ---------------------------------------------------------------------------
    def update_model(
        self,
        model_name: str,
        new_model_class: type[BaseModel],
        version: str | None = None,
        migration_script: str | None = None,
        *,
        migration: MigrationHook | None = None,
        principal: Principal | str | None = None,
        origin: str = "code",
        fields_schema: Mapping[str, Any] | None = None,
    ) -> RegisteredModel:
        """Replace a model's class with a new version and record the evolution.

        Args:
            version: the new version; default: the next major (breaking changes), minor (added
                fields) or patch version. It must be greater than the current one.
            migration_script: text kept in the evolution record (the document's field).
            migration: a hook turning a record of the old version into one of the new version.
            origin: what made the version (``code``, ``api``, ``discovery``, ``drift``).
            fields_schema: the schema snapshot to keep (default: :func:`schema_of` the class).

        Raises:
            RegistryNotFoundError: unknown model.
            RegistryValidationError: not a model, or a version that does not go forward.
            RegistryPermissionError: ``principal`` given without UPDATE.
        """
        registered = self._resolve(model_name)
        who = as_principal(principal) if principal is not None else None
        if who is not None:
            self._require(registered, who, ModelPermission.UPDATE)
        if not (isinstance(new_model_class, type) and issubclass(new_model_class, BaseModel)):
            raise RegistryValidationError(
                f"the new version of {model_name} must be a Pydantic model, got {new_model_class!r}"
            )
        meta = registered.metadata
        new_fields = dict(fields_schema) if fields_schema else schema_of(new_model_class)
        changes = annotate_required(
            diff_fields(meta.fields_schema, new_fields), meta.fields_schema, new_fields
        )
        target = version or next_version(meta.version, changes)
        if parse_version(target) <= parse_version(meta.version):
            raise RegistryValidationError(
                f"new version {target} of {meta.name} must be greater than {meta.version}"
            )
        if migration is not None:
            self.migrations.register(meta.name, meta.version, target, migration)
        evolution = ModelEvolution(
            model_name=meta.name,
            from_version=meta.version,
            to_version=target,
            changes=changes,
            migration_script=migration_script,
            has_migration=migration is not None,
            applied_by=who.display_id if who else "system",
        )
        registered.metadata = meta.model_copy(
            update={
                "version": target,
                "updated_at": utc_now(),
                "json_schema": json_schema_of(new_model_class),
                "fields_schema": new_fields,
                "ui_schema": (
                    generate_ui_schema(new_model_class) if self.config.auto_generate_ui else None
                ),
            }
        )
        registered.model_class = new_model_class
        if self.config.enable_versioning:
            self.evolutions[meta.name].append(evolution)
            self._snapshot(registered, origin, changes)
        self.context.audit.record(
            AuditAction.UPDATE,
            "model",
            meta.name,
            principal=who,
            details={"from": meta.version, "to": target, "changes": len(changes)},
        )
        return registered

    def register_migration(
        self, model_name: str, from_version: str, to_version: str, hook: MigrationHook
    ) -> None:
        """Add a hook that turns a record of ``from_version`` into one of ``to_version``."""
        self._resolve(model_name)
        self.migrations.register(model_name, from_version, to_version, hook)

    def migrate(
        self,
        model_name: str,
        record: Mapping[str, Any],
        from_version: str,
        to_version: str | None = None,
    ) -> BaseModel:
        """Carry a record of an old version through the migration hooks and validate it with the
        target version's class (default: the current version).

        Raises:
            RegistryNotFoundError: unknown model, version or missing hook.
            RegistryValidationError: a hook failed or the result does not validate.
        """
        registered = self._resolve(model_name)
        target = to_version or registered.metadata.version
        data = self.migrations.migrate(registered.metadata.name, record, from_version, target)
        model_class = self.get_version(model_name, target).model_class
        try:
            return model_class.model_validate(data)
        except ValidationError as exc:
            raise RegistryValidationError.from_pydantic(
                exc, subject=f"record of {model_name} migrated to {target}"
            ) from None

    def get_version(self, model_name: str, version: str) -> ModelVersion:
        """A kept version of a model (the history holds ``max_version_history`` of them)."""
        registered = self._resolve(model_name)
        for entry in self.version_history.get(registered.metadata.name, ()):
            if entry.version == version:
                return entry
        kept = [v.version for v in self.version_history.get(registered.metadata.name, ())]
        raise RegistryNotFoundError(
            f"model {model_name} has no version {version} in its history (kept: {kept})",
            details={"model": model_name, "version": version},
        )

    def versions(self, model_name: str) -> list[ModelVersion]:
        """The kept versions of a model, oldest first (``max_version_history`` of them)."""
        return list(self.version_history.get(self._resolve(model_name).metadata.name, ()))

    def adopt_version(self, model_name: str, version: str) -> RegisteredModel:
        """Give the current version the number a registry store assigned (no new history
        entry: the schema is the same, only its number comes from the durable history)."""
        registered = self._resolve(model_name)
        parse_version(version)
        if registered.metadata.version != version:
            registered.metadata = registered.metadata.model_copy(update={"version": version})
            history = self.version_history.get(registered.metadata.name)
            if history:
                history[-1] = history[-1].model_copy(update={"version": version})
        return registered

    def compatibility_of(self, model_name: str) -> CompatibilityMode:
        """The model's compatibility mode: its own, else ``config.compatibility``."""
        name = self._resolve(model_name).metadata.name
        return self.compatibility.get(name) or parse_mode(self.config.compatibility)

    def set_compatibility(
        self, model_name: str, mode: CompatibilityMode | str | None
    ) -> CompatibilityMode:
        """Give a model its own compatibility mode (None: follow the configuration again)."""
        name = self._resolve(model_name).metadata.name
        if mode is None:
            self.compatibility.pop(name, None)
        else:
            self.compatibility[name] = parse_mode(mode)
        return self.compatibility_of(name)

    def history(self, model_name: str) -> list[ModelEvolution]:
        """The evolution records of a model, oldest first (bounded)."""
        return list(self.evolutions.get(self._resolve(model_name).metadata.name, ()))

    # -- lookup -------------------------------------------------------------------------------
    def get(self, name: str, *, principal: Principal | str | None = None) -> RegisteredModel:
        """A model by name or namespace path (READ needed when ``principal`` is given)."""
        return self._read(self._resolve(name), principal)

    def get_by_namespace(
        self, ns_path: str, *, principal: Principal | str | None = None
    ) -> RegisteredModel:
        """The model at an exact namespace path."""
        return self._read(self._at_path(ns_path), principal)

    def find_by_tag(
        self, tag: str, *, principal: Principal | str | None = None
    ) -> list[RegisteredModel]:
        """Models carrying ``tag``, sorted by path."""
        return self._found(self._tagged(tag), f"tag:{tag}", principal)

    def find_by_namespace(
        self, pattern: str, *, segments: bool = False, principal: Principal | str | None = None
    ) -> list[RegisteredModel]:
        """Models whose path matches the glob (``fnmatch`` semantics unless ``segments``)."""
        return self._found(self._glob(pattern, segments), pattern, principal)

    def list_models(
        self, source: ModelSource | str | None = None, *, principal: Principal | str | None = None
    ) -> list[RegisteredModel]:
        """Models (of one source, when given) that ``principal`` may LIST, sorted by name."""
        src = ModelSource(source) if source is not None else None
        found = sorted(
            (m for m in self.models.values() if src is None or m.metadata.source is src),
            key=lambda m: m.metadata.name,
        )
        if principal is None:
            return found
        who = as_principal(principal)
        return [m for m in found if m.can(who, ModelPermission.LIST)]

    # -- permissions --------------------------------------------------------------------------
    def check_access(
        self,
        model_name: str,
        operation: ModelPermission | str,
        principal: Principal | str | None = "anonymous",
    ) -> bool:
        """Whether the role (or principal) may perform ``operation`` on the model; audited.

        Unknown models and unknown operations answer False (and are audited as refused).
        """
        who = as_principal(principal)
        registered = self.models.get(model_name) if isinstance(model_name, str) else None
        try:
            perm = ModelPermission(operation.lower() if isinstance(operation, str) else operation)
        except ValueError:
            perm = None
        allowed = bool(registered and perm and registered.can(who, perm))
        self.context.audit.record(
            AuditAction.ACCESS if allowed else AuditAction.DENIED,
            "model",
            str(model_name),
            principal=who,
            allowed=allowed,
            details={"operation": str(getattr(perm, "value", operation))},
        )
        return allowed

    def require_access(
        self,
        model_name: str,
        operation: ModelPermission | str,
        principal: Principal | str | None = None,
    ) -> RegisteredModel:
        """:meth:`check_access` that raises instead of answering False."""
        registered = self._resolve(model_name)
        try:
            perm = ModelPermission(operation.lower() if isinstance(operation, str) else operation)
        except ValueError:
            raise RegistryValidationError(
                f"unknown model operation {operation!r}; expected one of "
                f"{[p.value for p in ModelPermission]}"
            ) from None
        self._require(registered, as_principal(principal), perm)
        return registered

    def get_accessible_models(self, principal: Principal | str | None) -> list[str]:
        """Names of the models on which the role holds any permission."""
        who = as_principal(principal)
        return sorted(
            name for name, m in self.models.items() if any(m.can(who, p) for p in ModelPermission)
        )

    # -- internals ----------------------------------------------------------------------------
    def _snapshot(
        self, registered: RegisteredModel, origin: str, changes: list[dict[str, Any]]
    ) -> None:
        meta = registered.metadata
        self.version_history[meta.name].append(
            ModelVersion(
                version=meta.version,
                json_schema=meta.json_schema,
                fields_schema=meta.fields_schema,
                model_class=registered.model_class,
                recorded_at=meta.updated_at,
                source=origin,
                changes=changes,
            )
        )

    def _read(
        self, registered: RegisteredModel, principal: Principal | str | None
    ) -> RegisteredModel:
        """``registered`` after checking READ (when ``principal`` is given); audited."""
        who = _who(principal)
        if who is not None:
            self._require(registered, who, ModelPermission.READ)
        self.context.read(AuditAction.ACCESS, "model", registered.metadata.name, who)
        return registered

    def _require(
        self, registered: RegisteredModel, who: Principal, permission: ModelPermission
    ) -> None:
        if registered.can(who, permission):
            return
        name = registered.metadata.name
        raise self._deny(
            who,
            permission.value,
            name,
            audit_name=name,
            audit_details={"operation": permission.value},
            error_details={"model": name, "permission": permission.value},
        )

    def _visible(
        self, items: list[RegisteredModel], principal: Principal | str | None
    ) -> list[RegisteredModel]:
        if principal is None:
            return items
        who = as_principal(principal)
        return [
            m for m in items if m.can(who, ModelPermission.READ) or m.can(who, ModelPermission.LIST)
        ]


#: The version source of a first registration, by where the model came from.
_ORIGINS = {
    ModelSource.STATIC: "code",
    ModelSource.DYNAMIC: "discovery",
    ModelSource.EXTERNAL: "api",
}


def sanitize_namespace(namespace: str) -> str:
    """A namespace with each segment made valid (``dynamic.my db`` -> ``dynamic.my_db``)."""
    return ".".join(segment_for(s) for s in namespace.split(".") if s)
