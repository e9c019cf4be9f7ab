"""``XObjPrototype``: the Pydantic v2 base class of every abstraction and generated model."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Secret,
    SecretBytes,
    SecretStr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
)
from pydantic.fields import FieldInfo

from xobj_prototype.errors import XValidationError
from xobj_prototype.namespace.path import validate_path
from xobj_prototype.redaction import MASK

__all__ = ["FuzzyField", "ModelMeta", "SecretField", "XObjPrototype"]

_FUZZY = "x-fuzzy"
_SECRET = "x-secret"  # noqa: S105 - the name of a schema marker, not a secret
# Serialization context key of model_dump_revealed: the one way to dump secrets in clear text.
_REVEAL = "x_reveal_secrets"
_SECRET_TYPES = (SecretStr, SecretBytes, Secret)
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def FuzzyField(default: Any = ..., **kwargs: Any) -> Any:
    """A ``pydantic.Field`` whose value takes part in :meth:`XObjPrototype.get_fuzzy_text`.

    >>> class User(XObjPrototype):
    ...     name: str = FuzzyField()
    ...     email: str = FuzzyField()
    ...     age: int = 0
    >>> User(name="Ada Lovelace", email="ada@example.org", age=36).get_fuzzy_text()
    'Ada Lovelace ada@example.org'
    """
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra[_FUZZY] = True
    return Field(default, json_schema_extra=extra, **kwargs)


def SecretField(default: Any = ..., **kwargs: Any) -> Any:
    """A field whose plain value never appears in ``repr()``, ``model_dump()`` or JSON.

    Prefer ``SecretStr`` where the type is yours to choose; this marker is for fields that must
    stay plain ``str`` (generated models of a table with a ``password_hash`` column, say). The
    value stays readable as an attribute; dumps show ``**********``, also when the model is
    nested in another one. :meth:`XObjPrototype.model_dump_revealed` is the one way to get it.

    >>> class Account(XObjPrototype):
    ...     login: str
    ...     password_hash: str = SecretField()
    >>> Account(login="ada", password_hash="$2b$12$abc").model_dump()
    {'login': 'ada', 'password_hash': '**********'}
    """
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra[_SECRET] = True
    return Field(default, json_schema_extra=extra, **kwargs)


class ModelMeta(BaseModel):
    """Class-level metadata of a model (the repo spec's ``Meta``), from a nested ``class Meta``.

    Generated models fill ``collection``, ``indexes``, ``auto_generated`` and ``source_schema``;
    hand-written ones may set ``ns`` and ``collection``. Other attributes are kept as extras.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    ns: str | None = None
    collection: str | None = None
    indexes: tuple[Any, ...] = ()
    auto_generated: bool = False
    source_schema: Mapping[str, Any] | None = None
    description: str | None = None

    @field_validator("ns")
    @classmethod
    def _valid_ns(cls, value: str | None) -> str | None:
        return None if value is None else validate_path(value)


def _has_marker(info: FieldInfo, marker: str) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get(marker))


def _holds_secret_type(annotation: Any) -> bool:
    """Whether ``annotation`` is or contains a secret type (``SecretStr | None``, ``list[...]``)."""
    origin = get_origin(annotation) or annotation
    if isinstance(origin, type) and issubclass(origin, _SECRET_TYPES):
        return True
    return any(_holds_secret_type(arg) for arg in get_args(annotation))


def _reveal(value: Any, json_mode: bool) -> Any:
    """``value`` with every secret wrapper replaced by its content."""
    if isinstance(value, _SECRET_TYPES):
        inner = value.get_secret_value()
        if json_mode and isinstance(inner, bytes):
            return inner.decode("utf-8", errors="replace")
        return inner
    if isinstance(value, Mapping):
        return {k: _reveal(v, json_mode) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_reveal(v, json_mode) for v in value]
        return items if json_mode or isinstance(value, list) else type(value)(items)
    return value


def _meta(cls: type, values: Mapping[str, Any]) -> ModelMeta:
    try:
        return ModelMeta.model_validate(dict(values))
    except ValidationError as exc:
        raise XValidationError.from_pydantic(exc, subject=f"Meta of {cls.__qualname__}") from None


class XObjPrototype(BaseModel):
    """Base of every xstack abstraction and every generated model.

    - validated on construction *and on assignment*; validation errors never echo input values
      (they may be secrets);
    - a namespace: the ``ns`` field when set, else the class's ``Meta.ns``, else
      ``ns.<module>.<ClassName>`` (see :meth:`get_ns`);
    - :meth:`get_fuzzy_text` joins the fields declared with :func:`FuzzyField`;
    - secrets (``SecretStr``, ``SecretBytes``, ``Secret[...]``, :func:`SecretField`, also inside
      ``Optional``/containers) are masked in ``repr()`` and in every dump, nested models included.

    A subclass that defines its own ``@model_serializer`` replaces the masking: don't.

    Examples:
        >>> class User(XObjPrototype):
        ...     class Meta:
        ...         ns = "ns.models.user.User"
        ...         collection = "users"
        ...     name: str
        >>> User(name="Ada").get_ns()
        'ns.models.user.User'
        >>> User.meta().collection
        'users'
    """

    model_config = ConfigDict(
        validate_assignment=True,
        populate_by_name=True,
        arbitrary_types_allowed=True,
        use_enum_values=False,
        ser_json_timedelta="iso8601",
        hide_input_in_errors=True,
    )

    ns: str | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="Namespace path of this object, when it has its own.",
    )

    __x_meta__: ClassVar[ModelMeta] = ModelMeta()
    __x_fuzzy_fields__: ClassVar[tuple[str, ...]] = ()
    __x_secret_fields__: ClassVar[frozenset[str]] = frozenset()
    __x_typed_secret_fields__: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._refresh_x_metadata()

    @classmethod
    def _refresh_x_metadata(cls) -> None:
        """Recompute the class-level caches; called on subclassing and by model generators."""
        inherited: ModelMeta = next(
            (vars(b)["__x_meta__"] for b in cls.__mro__[1:] if "__x_meta__" in vars(b)),
            ModelMeta(),
        )
        own = vars(cls).get("Meta")
        if own is not None:
            attrs = {k: v for k, v in vars(own).items() if not k.startswith("_")}
            # auto_generated/source_schema describe one class, not its subclasses.
            base = inherited.model_dump(exclude={"auto_generated", "source_schema"})
            cls.__x_meta__ = _meta(cls, {**base, **attrs})
        elif "__x_meta__" not in vars(cls):
            cls.__x_meta__ = inherited.model_copy(
                update={"auto_generated": False, "source_schema": None}
            )
        fields = cls.model_fields
        cls.__x_fuzzy_fields__ = tuple(n for n, f in fields.items() if _has_marker(f, _FUZZY))
        typed = frozenset(n for n, f in fields.items() if _holds_secret_type(f.annotation))
        cls.__x_typed_secret_fields__ = typed
        cls.__x_secret_fields__ = typed | {n for n, f in fields.items() if _has_marker(f, _SECRET)}

    @field_validator("ns")
    @classmethod
    def _valid_ns(cls, value: Any) -> Any:
        # A subclass may redefine `ns` with another type; only a string is a namespace path.
        return validate_path(value) if isinstance(value, str) else value

    @classmethod
    def meta(cls) -> ModelMeta:
        """The class-level metadata (``collection``, ``indexes``, ``auto_generated``...)."""
        return cls.__x_meta__

    @classmethod
    def set_meta(cls, **values: Any) -> None:
        """Replace metadata entries of this class (model generators call it after
        ``create_model``); the values are validated like a ``class Meta``."""
        cls.__x_meta__ = _meta(cls, {**cls.__x_meta__.model_dump(), **values})

    @classmethod
    def fuzzy_fields(cls) -> tuple[str, ...]:
        """Names of the fields that :meth:`get_fuzzy_text` concatenates, in declaration order."""
        return cls.__x_fuzzy_fields__

    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        """Names of the fields that are masked in ``repr()`` and dumps."""
        return cls.__x_secret_fields__

    @classmethod
    def default_ns(cls) -> str:
        """The namespace of the class: ``Meta.ns`` or ``ns.<module>.<ClassName>``.

        The derived path is always a valid one: a class defined inside a function drops the
        ``<locals>`` part of its qualified name, and characters a path may not hold become ``_``.
        """
        if cls.__x_meta__.ns:
            return cls.__x_meta__.ns
        names = [*cls.__module__.split("."), *cls.__qualname__.split(".")]
        segments = [_UNSAFE.sub("_", n).lstrip("-") or "_" for n in names if n != "<locals>"]
        return ".".join(["ns", *segments])

    def get_ns(self) -> str:
        """The namespace path of this object: its ``ns`` field, else its class's namespace."""
        return self.ns or self.default_ns()

    def get_fuzzy_text(self, separator: str = " ") -> str:
        """Concatenate the non-empty values of the fuzzy-searchable fields, for search indexes.

        Sequence values contribute each item; ``None`` and empty strings are skipped.
        """
        parts: list[str] = []
        for name in self.__x_fuzzy_fields__:
            value = getattr(self, name)
            if value is None or value == "":
                continue
            if isinstance(value, list | tuple | set | frozenset):
                parts.extend(str(v) for v in value if v is not None and v != "")
            else:
                parts.append(str(value))
        return separator.join(parts)

    def __repr_args__(self) -> Any:
        secret = self.__x_secret_fields__
        for name, value in super().__repr_args__():
            yield name, (MASK if name in secret and value is not None else value)

    # No return annotation on purpose: pydantic would build the serialization JSON schema from
    # it; without one the schema stays the model's own.
    @model_serializer(mode="wrap")
    def _x_serialize(  # type: ignore[no-untyped-def]
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ):
        data = handler(self)
        secret = self.__x_secret_fields__
        if not secret or not isinstance(data, dict):
            return data
        context = info.context
        reveal = isinstance(context, Mapping) and bool(context.get(_REVEAL))
        fields = type(self).model_fields
        json_mode = info.mode == "json"
        for name in secret:
            alias = fields[name].serialization_alias or fields[name].alias
            key = alias if info.by_alias and alias else name
            if key not in data:
                continue
            if not reveal:
                if data[key] is not None:
                    data[key] = MASK
            elif name in self.__x_typed_secret_fields__:
                # The handler's output is already masked by pydantic (in JSON mode) or wrapped.
                data[key] = _reveal(getattr(self, name), json_mode)
        return data

    def model_dump_revealed(self, **kwargs: Any) -> dict[str, Any]:
        """Dump with secret values in clear text: for writing to a store, never for logging.

        Takes the arguments of ``model_dump`` (``mode="json"`` included); nested models are
        revealed too.
        """
        context = kwargs.pop("context", None)
        merged = {**(context if isinstance(context, Mapping) else {}), _REVEAL: True}
        return self.model_dump(context=merged, **kwargs)


XObjPrototype._refresh_x_metadata()
