"""``XObjPrototype``: the Pydantic v2 base class of every abstraction and generated model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretBytes, SecretStr
from pydantic.fields import FieldInfo

from xobj_prototype.redaction import MASK

__all__ = ["FuzzyField", "ModelMeta", "SecretField", "XObjPrototype"]

_FUZZY = "x-fuzzy"
_SECRET = "x-secret"


def FuzzyField(default: Any = ..., **kwargs: Any) -> Any:  # noqa: N802 - reads like pydantic.Field
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


def SecretField(default: Any = ..., **kwargs: Any) -> Any:  # noqa: N802 - reads like pydantic.Field
    """A field whose plain value never appears in ``repr()``, ``model_dump()`` or JSON.

    Prefer ``SecretStr`` where the type is yours to choose; this marker is for fields that must stay
    plain ``str`` (generated models of a table with a ``password_hash`` column, say). The value stays
    readable as an attribute; dumps show ``**********`` unless ``reveal_secrets=True`` is passed to
    :meth:`XObjPrototype.model_dump_revealed`.
    """
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra[_SECRET] = True
    return Field(default, json_schema_extra=extra, **kwargs)


class ModelMeta(BaseModel):
    """Class-level metadata of a model (the repo spec's ``Meta``), read from a nested ``class Meta``.

    Generated models fill ``collection``, ``indexes``, ``auto_generated`` and ``source_schema``;
    hand-written ones may set ``ns`` and ``collection``.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    ns: str | None = None
    collection: str | None = None
    indexes: tuple[Any, ...] = ()
    auto_generated: bool = False
    source_schema: Mapping[str, Any] | None = None
    description: str | None = None


def _has_marker(info: FieldInfo, marker: str) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get(marker))


class XObjPrototype(BaseModel):
    """Base of every xstack abstraction and every generated model.

    - validated on construction *and on assignment*;
    - a namespace: the ``ns`` field when set, else the class's ``Meta.ns``, else
      ``ns.<module>.<ClassName>`` (see :meth:`get_ns`);
    - :meth:`get_fuzzy_text` joins the fields declared with :func:`FuzzyField`;
    - secrets (``SecretStr``, ``SecretBytes``, :func:`SecretField`) are masked in ``repr()`` and
      in every dump.

    Example:
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
    )

    ns: str | None = Field(default=None, exclude=True, repr=False,
                           description="Namespace path of this object, when it has its own.")

    __x_meta__: ClassVar[ModelMeta] = ModelMeta()
    __x_fuzzy_fields__: ClassVar[tuple[str, ...]] = ()
    __x_secret_fields__: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._refresh_x_metadata()

    @classmethod
    def _refresh_x_metadata(cls) -> None:
        """Recompute the class-level caches; called on subclassing and by model generators."""
        inherited = next((b.__x_meta__ for b in cls.__mro__[1:] if "__x_meta__" in vars(b)),
                         ModelMeta())
        own = vars(cls).get("Meta")
        if own is not None:
            attrs = {k: v for k, v in vars(own).items() if not k.startswith("_")}
            # auto_generated/source_schema describe one class, not its subclasses.
            base = inherited.model_dump(exclude={"auto_generated", "source_schema"})
            cls.__x_meta__ = ModelMeta(**{**base, **attrs})
        elif "__x_meta__" not in vars(cls):
            cls.__x_meta__ = inherited.model_copy(update={"auto_generated": False,
                                                          "source_schema": None})
        fields = cls.model_fields
        cls.__x_fuzzy_fields__ = tuple(n for n, f in fields.items() if _has_marker(f, _FUZZY))
        cls.__x_secret_fields__ = frozenset(
            n for n, f in fields.items()
            if _has_marker(f, _SECRET) or f.annotation in (SecretStr, SecretBytes)
        )

    @classmethod
    def meta(cls) -> ModelMeta:
        """The class-level metadata (``collection``, ``indexes``, ``auto_generated``...)."""
        return cls.__x_meta__

    @classmethod
    def set_meta(cls, **values: Any) -> None:
        """Replace metadata entries of this class (model generators use it after ``create_model``)."""
        cls.__x_meta__ = cls.__x_meta__.model_copy(update=values)

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
        """The namespace of the class: ``Meta.ns`` or ``ns.<module>.<ClassName>``."""
        return cls.__x_meta__.ns or f"ns.{cls.__module__}.{cls.__qualname__}"

    def get_ns(self) -> str:
        """The namespace path of this object: its ``ns`` field, else its class's namespace."""
        return self.ns or self.default_ns()

    def get_fuzzy_text(self, separator: str = " ") -> str:
        """Concatenate the non-empty values of the fuzzy-searchable fields, for search indexes."""
        parts: list[str] = []
        for name in self.__x_fuzzy_fields__:
            value = getattr(self, name)
            if value is None or value == "":
                continue
            if isinstance(value, Sequence) and not isinstance(value, str | bytes):
                parts.extend(str(v) for v in value if v is not None)
            else:
                parts.append(str(value))
        return separator.join(parts)

    def __repr_args__(self) -> Any:
        secret = self.__x_secret_fields__
        for name, value in super().__repr_args__():
            yield name, (MASK if name in secret and value is not None else value)

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """``BaseModel.model_dump`` with secret fields masked (see :meth:`model_dump_revealed`)."""
        data = super().model_dump(**kwargs)
        return self._mask(data) if self.__x_secret_fields__ else data

    def model_dump_json(self, **kwargs: Any) -> str:
        """``BaseModel.model_dump_json`` with secret fields masked."""
        if not self.__x_secret_fields__:
            return super().model_dump_json(**kwargs)
        import json  # only models with secrets pay for the round trip

        indent = kwargs.pop("indent", None)
        data = self._mask(json.loads(super().model_dump_json(**kwargs)))
        return json.dumps(data, indent=indent, ensure_ascii=False)

    def model_dump_revealed(self, **kwargs: Any) -> dict[str, Any]:
        """Dump with secret values in clear text: for writing to a store, never for logging."""
        data = super().model_dump(**kwargs)
        for name in self.__x_secret_fields__ & data.keys():
            value = data[name]
            if isinstance(value, SecretStr | SecretBytes):
                data[name] = value.get_secret_value()
        return data

    def _mask(self, data: dict[str, Any]) -> dict[str, Any]:
        for name in self.__x_secret_fields__:
            key = name
            info = type(self).model_fields[name]
            if info.alias and info.alias in data and name not in data:
                key = info.alias
            if key in data and data[key] is not None:
                data[key] = MASK
        return data


XObjPrototype._refresh_x_metadata()
