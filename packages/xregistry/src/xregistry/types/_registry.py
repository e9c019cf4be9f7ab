""":class:`TypeRegistry`: registration of constraint, composite, validated and transformer
types, and validation of a value against a registered type by name.
"""

from __future__ import annotations

import time
import typing
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
)

from xregistry._context import RegistryContext
from xregistry._entries import EntryRegistry
from xregistry._shared import check_name, tags_of
from xregistry.audit import AuditAction
from xregistry.config import TypeRegistryConfig
from xregistry.errors import (
    RegistryValidationError,
)
from xregistry.permissions import Principal, as_principal
from xregistry.types._registered import (
    _BUILTINS,
    _CONSTRAINT_ATTRS,
    RegisteredType,
    RegisteredValidator,
    TypeCategory,
    TypeMetadata,
    _base_type,
    _constraints,
    _doc,
)


def _as_annotation(kind: Any, registry: TypeRegistry) -> Any:
    """A transformer end: a registered type's name, a builtin's name, or a type."""
    if isinstance(kind, str):
        if kind in registry.types:
            return registry.types[kind].value_type()
        if kind in _BUILTINS:
            return _BUILTINS[kind]
        raise registry._not_found(kind)
    return kind


def _type_label(kind: Any) -> str:
    return kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))


class TypeRegistry(EntryRegistry[RegisteredType]):
    """Registry of custom types under ``<prefix>.types.<namespace or category>.<name>``."""

    kind = "types"
    noun = "type"
    entry_class = RegisteredType
    path_taken_hint = "pass override=True to replace it"
    suggest_paths = False

    def __init__(
        self,
        *,
        context: RegistryContext | None = None,
        config: TypeRegistryConfig | None = None,
        allow_override: bool = False,
    ) -> None:
        self.context = context or RegistryContext()
        self.config = config or TypeRegistryConfig()
        self.allow_override = allow_override
        self.types: dict[str, RegisteredType] = {}
        self.namespace_map: dict[str, str] = {}
        self.validators: dict[str, list[RegisteredValidator]] = {}
        self._cache: OrderedDict[tuple[str, Any], tuple[float, Any]] = OrderedDict()

    def _entries(self) -> dict[str, RegisteredType]:
        return self.types

    # -- registration -------------------------------------------------------------------------
    def register_type(
        self,
        type_class: Any,
        name: str | None = None,
        category: TypeCategory | str = TypeCategory.CONSTRAINT,
        namespace: str | None = None,
        description: str | None = None,
        examples: Sequence[Any] | None = None,
        tags: Iterable[str] | None = None,
        *,
        override: bool = False,
        principal: Principal | str | None = None,
        _extra: dict[str, Any] | None = None,
    ) -> RegisteredType:
        """Register a type (an ``Annotated`` constraint type needs ``name``).

        With ``config.validate_on_register`` the type must be one Pydantic can validate and every
        example must validate.

        Raises:
            RegistryConflictError: name or path taken and no ``override``.
            RegistryValidationError: a bad name, a type Pydantic cannot validate, a bad example.
        """
        cat = TypeCategory(category)
        # An Annotated alias answers __name__ with its base's name ("int"): it needs its own.
        own_name = (
            None
            if typing.get_origin(type_class) is Annotated
            else (getattr(type_class, "__name__", None))
        )
        type_name = check_name(name or own_name, "type")
        path = self.context.path(self.kind, namespace or cat.value, type_name)
        self._check_free(type_name, path, override)

        who = as_principal(principal) if principal is not None else None
        extra = dict(_extra or {})
        registered = RegisteredType(
            metadata=TypeMetadata(
                name=type_name,
                category=cat,
                base_type=extra.pop("base_type", None) or _base_type(type_class),
                constraints=_constraints(type_class),
                description=description or _doc(type_class),
                examples=list(examples or []),
                namespace=namespace or cat.value,
                ns_path=path,
                tags=tags_of(tags),
                registered_by=who.display_id if who else "system",
                **extra,
            ),
            type_class=type_class,
            validator_func=extra.get("validator_func"),
        )
        if cat is not TypeCategory.TRANSFORMER and self.config.validate_on_register:
            self._check_type(registered)
        old = self.types.get(type_name)
        if old is not None and old.metadata.ns_path != path:
            self._drop_path(old.metadata.ns_path)
        self.context.index.register(path, registered, override=True)
        self.types[type_name] = registered
        self.namespace_map[path] = type_name
        self._cache.clear()
        self.context.audit.record(
            AuditAction.REGISTER,
            "type",
            type_name,
            principal=who,
            details={"ns_path": path, "category": cat.value},
        )
        return registered

    def create_constraint_type(
        self,
        name: str,
        base_type: Any,
        *,
        namespace: str | None = None,
        description: str | None = None,
        examples: Sequence[Any] | None = None,
        tags: Iterable[str] | None = None,
        override: bool = False,
        **constraints: Any,
    ) -> Any:
        """``Annotated[base_type, Field(**constraints)]``, registered as a constraint type.

        >>> types = TypeRegistry()
        >>> Percent = types.create_constraint_type("Percent", int, ge=0, le=100)
        >>> types.validate("Percent", 50)
        50
        """
        unknown = sorted(set(constraints) - set(_CONSTRAINT_ATTRS))
        if unknown:
            raise RegistryValidationError(
                f"constraint type {name!r}: unknown constraints {unknown}; use "
                f"{', '.join(_CONSTRAINT_ATTRS)}"
            )
        try:
            annotated = Annotated[base_type, Field(**constraints)]
        except TypeError as exc:
            raise RegistryValidationError(f"constraint type {name!r}: {exc}") from None
        self.register_type(
            annotated,
            name=name,
            category=TypeCategory.CONSTRAINT,
            namespace=namespace,
            description=description,
            examples=examples,
            tags=tags,
            override=override,
        )
        return annotated

    def register_validator(
        self,
        type_name: str,
        validator_func: Callable[[Any], Any],
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        """Add a validator run after the type's own validation whenever ``type_name`` (a
        registered type or a builtin such as ``"int"``) is validated by name. It returns the
        (possibly cleaned) value or raises ``ValueError``."""
        if not callable(validator_func):
            raise RegistryValidationError(f"validator for {type_name!r} must be callable")
        if not isinstance(type_name, str) or not type_name:
            raise RegistryValidationError("validator type name must be a non-empty string")
        label = str(name or getattr(validator_func, "__name__", "validator"))
        self.validators.setdefault(type_name, []).append(
            RegisteredValidator(validator_func, label, description or _doc(validator_func))
        )
        if type_name in self.types:
            self.types[type_name].metadata.validators.append(label)
        self._cache.clear()

    def create_validated_type(
        self,
        base_type: Any,
        validators: Sequence[Callable[[Any], Any]],
        name: str,
        namespace: str | None = None,
        *,
        description: str | None = None,
        examples: Sequence[Any] | None = None,
        tags: Iterable[str] | None = None,
        override: bool = False,
    ) -> type[BaseModel]:
        """A model with one field, ``value: base_type``, checked by ``validators`` in order; it is
        registered (category VALIDATOR) and validating by name takes the bare value.

        >>> types = TypeRegistry()
        >>> def even(v: int) -> int:
        ...     if v % 2:
        ...         raise ValueError("must be even")
        ...     return v
        >>> Even = types.create_validated_type(int, [even], "Even")
        >>> Even(value=4).value, types.validate("Even", "6")
        (4, 6)
        """
        if not validators or not all(callable(v) for v in validators):
            raise RegistryValidationError(
                f"validated type {name!r} needs a non-empty list of validator functions"
            )
        check_name(name, "type")
        chain = list(validators)

        def run(value: Any) -> Any:
            for fn in chain:
                value = fn(value)
            return value

        def check(cls: type[BaseModel], value: Any) -> Any:
            return run(value)

        validators_map: dict[str, Any] = {
            "_validate_value": field_validator("value")(classmethod(check))
        }
        model = create_model(
            name,
            __module__="xregistry.generated",
            value=(base_type, ...),
            __validators__=validators_map,
        )
        model.__x_value_type__ = Annotated[base_type, AfterValidator(run)]  # type: ignore[attr-defined]
        self.register_type(
            model,
            name=name,
            category=TypeCategory.VALIDATOR,
            namespace=namespace,
            description=description,
            examples=examples,
            tags=tags,
            override=override,
            _extra={
                "base_type": _base_type(base_type),
                "validators": [getattr(v, "__name__", "validator") for v in chain],
            },
        )
        self.types[name].validator_func = run
        return model

    def register_transformer(
        self,
        from_type: Any,
        to_type: Any,
        transformer_func: Callable[[Any], Any],
        name: str | None = None,
        *,
        namespace: str | None = "transformers",
        description: str | None = None,
        override: bool = False,
    ) -> RegisteredType:
        """Register a conversion; :meth:`transform` validates its input against ``from_type`` and
        its output against ``to_type`` (types, builtin names or registered type names)."""
        if not callable(transformer_func):
            raise RegistryValidationError("transformer must be callable")
        label = name or f"{_type_label(from_type)}_to_{_type_label(to_type)}"
        holder = type(
            label,
            (),
            {
                "transform": staticmethod(transformer_func),
                "from_type": from_type,
                "to_type": to_type,
                "__module__": "xregistry.transformers",
            },
        )
        registered = self.register_type(
            holder,
            name=label,
            category=TypeCategory.TRANSFORMER,
            namespace=namespace,
            description=description or _doc(transformer_func),
            override=override,
            _extra={
                "base_type": _type_label(from_type),
                "from_type": _type_label(from_type),
                "to_type": _type_label(to_type),
            },
        )
        registered.transformer_func = transformer_func
        return registered

    def unregister(self, name: str, *, principal: Principal | str | None = None) -> None:
        """Remove a type (and the validators registered under its name)."""
        registered = self._resolve(name)
        del self.types[registered.metadata.name]
        self.validators.pop(registered.metadata.name, None)
        self._drop_path(registered.metadata.ns_path)
        self._cache.clear()
        self.context.audit.record(
            AuditAction.UNREGISTER,
            "type",
            registered.metadata.name,
            principal=as_principal(principal) if principal else None,
        )

    # -- validation ---------------------------------------------------------------------------
    def validate(
        self, type_name: str, value: Any, *, principal: Principal | str | None = None
    ) -> Any:
        """Validate (and coerce) ``value`` against a registered type or a builtin name, then run
        the validators registered for that name.

        Raises:
            RegistryNotFoundError: unknown type name.
            RegistryValidationError: the value does not fit (the value itself is not echoed).
        """
        if not isinstance(type_name, str):
            raise RegistryValidationError(f"type name must be a string, got {type_name!r}")
        registered = self.types.get(type_name)
        if registered is None and type_name not in _BUILTINS:
            raise self._not_found(type_name)
        if registered is not None and registered.metadata.category is TypeCategory.TRANSFORMER:
            raise RegistryValidationError(
                f"{type_name} is a transformer; call transform({type_name!r}, value)"
            )
        key = self._cache_key(type_name, value)
        if key is not None:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > time.monotonic():
                self._cache.move_to_end(key)
                if registered is not None:
                    registered.usage_count += 1
                return hit[1]
        adapter = (
            registered.adapter() if registered is not None else TypeAdapter(_BUILTINS[type_name])
        )
        try:
            result = adapter.validate_python(value)
            if self.config.enable_validators:
                for validator in self.validators.get(type_name, ()):
                    result = validator(result)
        except ValidationError as exc:
            self._audit_validation(type_name, principal, ok=False)
            raise RegistryValidationError.from_pydantic(
                exc, subject=f"value for type {type_name}"
            ) from None
        except (ValueError, TypeError, AssertionError) as exc:
            self._audit_validation(type_name, principal, ok=False)
            raise RegistryValidationError(
                f"invalid value for type {type_name}: {exc}",
                errors=[{"loc": "(root)", "msg": str(exc)}],
            ) from None
        if registered is not None:
            registered.usage_count += 1
        self.context.read(
            AuditAction.VALIDATE, "type", type_name, as_principal(principal) if principal else None
        )
        if key is not None:
            self._cache[key] = (time.monotonic() + self.config.validation_cache_ttl, result)
            if len(self._cache) > self.config.validation_cache_size:
                self._cache.popitem(last=False)
        return result

    def is_valid(self, type_name: str, value: Any) -> bool:
        """Whether ``value`` validates against the type (unknown names still raise)."""
        try:
            self.validate(type_name, value)
        except RegistryValidationError:
            return False
        return True

    def transform(self, name: str, value: Any) -> Any:
        """Run a registered transformer with its input and output validated.

        Raises:
            RegistryNotFoundError: unknown transformer.
            RegistryValidationError: input or output does not fit, or the function raised.
        """
        registered = self._resolve(name)
        func = registered.transformer_func
        if registered.metadata.category is not TypeCategory.TRANSFORMER or func is None:
            raise RegistryValidationError(
                f"{name} is a {registered.metadata.category.value} "
                "type, not a transformer; use validate()"
            )
        holder = registered.type_class
        source = TypeAdapter(_as_annotation(holder.from_type, self))
        target = TypeAdapter(_as_annotation(holder.to_type, self))
        try:
            result = target.validate_python(func(source.validate_python(value)))
        except ValidationError as exc:
            raise RegistryValidationError.from_pydantic(exc, subject=f"transform {name}") from None
        except Exception as exc:
            raise RegistryValidationError(
                f"transformer {name} failed: {type(exc).__name__}: {exc}"
            ) from exc
        registered.usage_count += 1
        return result

    # -- lookup -------------------------------------------------------------------------------
    def get(self, name: str) -> RegisteredType:
        """A type by name or namespace path."""
        return self._resolve(name)

    def get_by_namespace(self, ns_path: str) -> RegisteredType:
        """The type at an exact namespace path."""
        return self._at_path(ns_path)

    def find_by_tag(self, tag: str) -> list[RegisteredType]:
        """Types carrying ``tag``, sorted by path."""
        return self._tagged(tag)

    def find_by_namespace(self, pattern: str, *, segments: bool = False) -> list[RegisteredType]:
        """Types whose path matches the glob."""
        return self._glob(pattern, segments)

    def list_types(self, category: TypeCategory | str | None = None) -> list[RegisteredType]:
        """Every type (of one category, when given), sorted by name."""
        cat = TypeCategory(category) if category is not None else None
        return sorted(
            (t for t in self.types.values() if cat is None or t.metadata.category is cat),
            key=lambda t: t.metadata.name,
        )

    # -- internals ----------------------------------------------------------------------------
    def _check_type(self, registered: RegisteredType) -> None:
        try:
            adapter = registered.adapter()
        except Exception as exc:
            raise RegistryValidationError(
                f"type {registered.metadata.name} cannot be validated by Pydantic: "
                f"{type(exc).__name__}; register an Annotated type, a model or a class with "
                "__get_pydantic_core_schema__"
            ) from None
        try:
            registered.metadata.json_schema = adapter.json_schema()
        except Exception:  # validators without a JSON schema are fine
            registered.metadata.json_schema = None
        for i, example in enumerate(registered.metadata.examples):
            try:
                adapter.validate_python(example)
            except (ValidationError, ValueError) as exc:
                raise RegistryValidationError(
                    f"example #{i} of type {registered.metadata.name} does not validate: "
                    f"{str(exc).splitlines()[0]}"
                ) from None

    def _cache_key(self, type_name: str, value: Any) -> tuple[str, Any] | None:
        if not self.config.cache_validated_values or self.config.validation_cache_ttl <= 0:
            return None
        if not isinstance(value, Hashable) or (isinstance(value, float) and value != value):
            return None
        # type(value) is part of the key: 1, 1.0 and True are equal but validate differently.
        try:
            hash(value)
        except TypeError:
            return None
        return (type_name, (type(value), value))

    def _audit_validation(
        self, type_name: str, principal: Principal | str | None, ok: bool
    ) -> None:
        self.context.audit.record(
            AuditAction.VALIDATE,
            "type",
            type_name,
            principal=as_principal(principal) if principal else None,
            allowed=ok,
        )
