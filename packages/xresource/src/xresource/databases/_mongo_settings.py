"""The parameters of a MongoDB resource: fields, aliases, the pool options found in a URI or in
``options``, the credentials cut out of the URI (:mod:`._mongo_credentials`), and the keyword
options of the ``AsyncMongoClient`` they give."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from pydantic import Field, SecretStr, field_validator, model_validator

from xobj_prototype import is_secret_key
from xresource.base import ParameterAlias
from xresource.databases._mongo_credentials import (
    _PLAIN_OPTIONS,
    _split_credentials,
    extract_credentials,
)
from xresource.databases._mongo_pool import _lift_pool_options
from xresource.databases._mongo_requests import _MongoRequests
from xresource.errors import XResourceConfigurationError
from xresource.url import ParsedURL

__all__: list[str] = []


class _MongoSettings(_MongoRequests):
    """The parameters of :class:`~xresource.databases.MongoDBResource` (documented there)."""

    resource_type: ClassVar[str] = "mongodb"
    url_schemes: ClassVar[tuple[str, ...]] = ("mongodb", "mongodb+srv")
    parameter_aliases: ClassVar[Mapping[str, str | ParameterAlias]] = {
        "max_pool_size": "pool_max_size",
        "min_pool_size": "pool_min_size",
        "max_idle_time_ms": ParameterAlias("max_idle_time", 0.001),
    }

    connection_string: str = Field(
        default="mongodb://127.0.0.1:27017", description="MongoDB URI without its password."
    )
    database: str = Field(default="", description="Database name.")
    user: str | None = None
    password: SecretStr | None = None
    secret_options: dict[str, SecretStr] = Field(
        default_factory=dict, description="URI options whose names look secret, kept masked."
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Extra AsyncMongoClient keyword options."
    )
    max_idle_time: float | None = Field(
        default=60.0, gt=0, description="Seconds an idle pooled connection lives."
    )

    @model_validator(mode="before")
    @classmethod
    def _extract_credentials(cls, data: Any) -> Any:
        # Moves secrets out of the URI before any field (and so any repr) holds them.
        if not isinstance(data, dict):
            return data
        # Aliases and the URI's pool options become fields first (see canonical_params).
        return extract_credentials(cls.canonical_params(data))

    @classmethod
    def canonical_params(
        cls, params: Mapping[str, Any], *, given_as: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Aliases replaced (see :meth:`XResource.canonical_params`), and pool options given as
        driver options (``?maxPoolSize=50`` in the URI, ``options={"minPoolSize": 2}``) moved
        into their fields: the driver, :meth:`get_pool_stats` and :meth:`get_metadata` then
        agree, where keyword options would silently override the URI's. Run per layer by the
        factory, so a URI given in code beats a pool size from the settings.
        """
        out = super().canonical_params(params, given_as=given_as)
        options = out.get("options")
        if isinstance(options, Mapping):
            out["options"] = _lift_pool_options(out, options.items(), "options entry")
        raw = out.get("connection_string")
        if isinstance(raw, SecretStr):
            raw = raw.get_secret_value()
        if isinstance(raw, str) and "?" in raw:
            head, _, query = raw.partition("?")
            pairs = parse_qsl(query, keep_blank_values=True)
            kept = _lift_pool_options(out, pairs, "connection_string option")
            if len(kept) != len(pairs):
                out["connection_string"] = head + (
                    "?" + urlencode(list(kept.items())) if kept else ""
                )
        return out

    @field_validator("connection_string")
    @classmethod
    def _no_password_left(cls, value: str) -> str:
        # Construction moves credentials out (above); an assignment later must not bring one in.
        _, _, password, secrets = _split_credentials(value)
        if password is not None or secrets:
            raise ValueError(
                "connection_string must not hold a password here; set the "
                "password field (a SecretStr) instead"
            )
        return value

    @field_validator("options")
    @classmethod
    def _no_secret_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if is_secret_key(str(key)) and str(key).lower() not in _PLAIN_OPTIONS:
                raise ValueError(f"option {key!r} looks secret: give it through secret_options")
        return value

    @field_validator("database")
    @classmethod
    def _check_database(cls, value: str) -> str:
        if not value:
            raise ValueError(
                "no database given: pass database=... or put it in the "
                "connection string's path (mongodb://host/<database>)"
            )
        if len(value) > 63 or any(c in value for c in '/\\. "$\x00'):
            raise ValueError(f"{value!r} is not a valid MongoDB database name")
        return value

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """``mongodb://[user:pw@]host[:port][,host2...]/<database>[?options]``."""
        if url.scheme not in cls.url_schemes:
            raise XResourceConfigurationError(
                f"{url.redacted!r} is not a mongodb:// or mongodb+srv:// URL", operation="from_url"
            )
        return {"connection_string": url.raw}

    def _client_kwargs(self) -> dict[str, Any]:
        ms = 1000.0
        kwargs: dict[str, Any] = {
            "maxPoolSize": self.pool_max_size,
            "minPoolSize": self.pool_min_size,
            "waitQueueTimeoutMS": int(self.acquire_timeout * ms),
            "serverSelectionTimeoutMS": round(self.connect_timeout * ms),
            "connectTimeoutMS": round(self.connect_timeout * ms),
            "document_class": dict,
            # Datetimes come back aware, in datetime.UTC (not bson's FixedOffset): the zone
            # every xstack backend returns. Naive datetimes written are taken as UTC.
            "tz_aware": True,
            "tzinfo": datetime.UTC,
        }
        query = self.connection_string.partition("?")[2]
        if not any(k.lower() == "uuidrepresentation" for k, _ in parse_qsl(query)):
            # uuid.UUID values are written as BSON's UUID (binary subtype 4) and read back as
            # uuid.UUID; PyMongo's own default refuses to write them. (A keyword would beat
            # the URI's own choice: only set when the URI makes none; ``options`` beat it.)
            kwargs["uuidRepresentation"] = "standard"
        if self.command_timeout is not None:
            kwargs["socketTimeoutMS"] = int(self.command_timeout * ms)
        if self.max_idle_time is not None:
            kwargs["maxIdleTimeMS"] = round(self.max_idle_time * ms)
        if self.user is not None:
            kwargs["username"] = self.user
        if self.password is not None:
            kwargs["password"] = self.password.get_secret_value()
        kwargs.update({k: v.get_secret_value() for k, v in self.secret_options.items()})
        kwargs.update(self.options)
        return kwargs
