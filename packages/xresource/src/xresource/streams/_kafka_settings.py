"""The parameters of a Kafka resource: fields, the topic rules, and the merge of
``producer_config`` / ``consumer_config`` (the specification's dicts) into aiokafka's keyword
arguments (see :mod:`xresource.streams.kafka` for what wins and what is an error)."""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator

from xobj_prototype import is_secret_key, redact_text
from xresource.errors import XResourceConfigurationError, XResourceValidationError
from xresource.streams.base import EventStreamResource
from xresource.url import ParsedURL

__all__: list[str] = []

_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")

# aiokafka arguments that the resource sets from a field of its own, for both clients: a key of
# producer_config/consumer_config among them wins for that one client, unless the caller gave the
# field explicitly with another value (then it is a clash, reported with both names).
_COMMON_KEYS = {
    "bootstrap_servers": "bootstrap_servers",
    "client_id": "client_id",
    "security_protocol": "security_protocol",
    "sasl_mechanism": "sasl_mechanism",
    "sasl_plain_username": "sasl_username",
    "sasl_plain_password": "sasl_password",
}
# Arguments of one client only that the resource's own behaviour depends on (commits, metadata):
# given in that client's config they are moved onto the field, so that both agree.
_LIFTED_KEYS = {
    "producer_config": {"acks": "acks"},
    "consumer_config": {
        "group_id": "group_id",
        "enable_auto_commit": "auto_commit",
        "auto_offset_reset": "auto_offset_reset",
    },
}
# Arguments the resource must control: it hands aiokafka bytes and decodes them itself
# (serializer=...), and topics are subscribed through subscribe()/consume().
_MANAGED_KEYS = {
    "producer_config": {
        "loop": "",
        "key_serializer": "serializer",
        "value_serializer": "serializer",
    },
    "consumer_config": {
        "loop": "",
        "topics": "subscribe() or consume()",
        "key_deserializer": "serializer",
        "value_deserializer": "serializer",
    },
}


class _KafkaSettings(EventStreamResource):
    """The parameters of :class:`~xresource.streams.kafka.KafkaResource` (documented there)."""

    bootstrap_servers: str = Field(description="host:port[,host2:port2...]")
    group_id: str | None = Field(
        default=None, validation_alias=AliasChoices("group_id", "consumer_group")
    )
    client_id: str | None = None
    auto_commit: bool = True
    auto_offset_reset: Literal["earliest", "latest"] = "latest"
    acks: Literal[0, 1, "all"] = 1
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    max_batch: int = Field(default=500, ge=1, description="Records fetched per poll.")
    liveness_interval: float = Field(
        default=5.0,
        gt=0,
        description="Seconds without records after which a subscribed resource asks the broker "
        "for metadata; when no answer comes within connect_timeout the connection counts as "
        "lost and is re-established like every stream's (events, backoff, final error).",
    )
    producer_config: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra AIOKafkaProducer arguments; they win over the resource's defaults.",
    )
    consumer_config: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra AIOKafkaConsumer arguments; they win over the resource's defaults.",
    )

    @field_validator("bootstrap_servers")
    @classmethod
    def _check_servers(cls, value: str) -> str:
        hosts = [h.strip() for h in value.split(",") if h.strip()]
        if not hosts:
            raise ValueError("bootstrap_servers needs at least one host:port")
        return ",".join(hosts)

    @model_validator(mode="before")
    @classmethod
    def _merge_client_configs(cls, data: Any) -> Any:
        # Before the fields are validated: a lifted key becomes the field's input (validated as
        # the field), and what the caller gave explicitly is still told apart from defaults.
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for option in ("producer_config", "consumer_config"):
            config = data.get(option)
            if config is None:
                continue
            if not isinstance(config, Mapping):
                raise ValueError(
                    f"{option} must be a mapping of aiokafka settings such as "
                    f"{{'linger_ms': 5}}, got {type(config).__name__}"
                )
            kept: dict[str, Any] = {}
            for key, value in config.items():
                if not isinstance(key, str) or not key.isidentifier():
                    raise ValueError(f"{option} key {key!r} is not an aiokafka setting name")
                managed = _MANAGED_KEYS[option].get(key)
                if managed is not None:
                    instead = f"; use {managed}= instead" if managed else ""
                    raise ValueError(f"{option}[{key!r}] is set by the resource itself{instead}")
                lifted = _LIFTED_KEYS[option].get(key)
                field = lifted or _COMMON_KEYS.get(key)
                if field is not None:
                    given = _explicit(data, field)
                    if given is not None and not _same(field, given, value):
                        shown = (
                            ""
                            if is_secret_key(key) or is_secret_key(field)
                            else f" ({value!r} against {given!r})"
                        )
                        raise ValueError(
                            f"{option}[{key!r}] clashes with {field}= given too{shown}; set it "
                            "in one place only"
                        )
                    if lifted is not None:
                        # aiokafka's acks=-1 is the field's "all".
                        data[lifted] = "all" if (key, value) == ("acks", -1) else value
                        continue
                kept[key] = value
            data[option] = kept
        return data

    @field_validator("producer_config", "consumer_config")
    @classmethod
    def _hide_secrets(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Kept as secrets, like the resource's own password fields: no repr shows them (this
        # runs on assignment too, where the model validator's result is not what is stored).
        return {
            k: SecretStr(v) if isinstance(v, str) and is_secret_key(k) else v
            for k, v in value.items()
        }

    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """``kafka://host:port[,host2:port2]/?group_id=svc&auto_offset_reset=earliest``."""
        netloc = url.raw.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
        params: dict[str, Any] = {}
        if "@" in netloc:
            netloc = netloc.rsplit("@", 1)[1]
            params["security_protocol"] = "SASL_PLAINTEXT"
            params["sasl_mechanism"] = "PLAIN"
            if url.username:
                params["sasl_username"] = url.username
            if url.password is not None:
                params["sasl_password"] = url.password
        params["bootstrap_servers"] = netloc or "127.0.0.1:9092"
        for name in (
            "group_id",
            "client_id",
            "auto_offset_reset",
            "auto_commit",
            "acks",
            "security_protocol",
            "sasl_mechanism",
        ):
            if name in url.query:
                params[name] = url.query[name]
        return params

    @classmethod
    def validate_topic(cls, topic: str, *, publish: bool = False) -> str:
        """Kafka topic names: 1-249 characters of ``A-Z a-z 0-9 . _ -``, not ``.`` or ``..``."""
        super().validate_topic(topic, publish=publish)
        if not _TOPIC.fullmatch(topic) or topic in (".", ".."):
            raise XResourceValidationError(
                f"invalid Kafka topic {topic[:60]!r}: use 1-249 characters of letters, digits, "
                "'.', '_' and '-' (not '.' or '..')",
                resource=cls.resource_type,
                operation="publish" if publish else "subscribe",
            )
        return topic

    def _common(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": int(self.connect_timeout * 1000) + 30000,
        }
        if self.client_id:
            config["client_id"] = self.client_id
        if self.sasl_mechanism:
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            config["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        return config

    def client_config(self, client: Literal["producer", "consumer"]) -> dict[str, Any]:
        """The keyword arguments the resource passes to ``AIOKafkaProducer`` (``"producer"``) or
        ``AIOKafkaConsumer`` (``"consumer"``): its own settings, then ``producer_config`` /
        ``consumer_config`` over them. Secrets are masked; no driver is needed.

        Examples:
            >>> kafka = KafkaResource(
            ...     bootstrap_servers="k:9092", producer_config={"acks": 0, "linger_ms": 5}
            ... )
            >>> config = kafka.client_config("producer")
            >>> config["acks"], config["linger_ms"]
            (0, 5)
        """
        if client not in ("producer", "consumer"):
            raise XResourceValidationError(
                f"client must be 'producer' or 'consumer', got {client!r}",
                resource=self.display_name,
                operation="client_config",
            )
        return {
            k: "**********" if isinstance(v, SecretStr) or (is_secret_key(k) and v) else v
            for k, v in self._client_kwargs(client, reveal=False).items()
        }

    def _client_kwargs(self, client: str, *, reveal: bool = True) -> dict[str, Any]:
        config: dict[str, Any] = self._common()
        if client == "producer":
            config["acks"] = self.acks
            extra = self.producer_config
        else:
            config["group_id"] = self.group_id
            config["enable_auto_commit"] = self.auto_commit and self.group_id is not None
            config["auto_offset_reset"] = self.auto_offset_reset
            extra = self.consumer_config
        # Last, so that a key of the config wins over the resource's default for it.
        config.update(extra)
        if reveal:
            return {
                k: v.get_secret_value() if isinstance(v, SecretStr) else v
                for k, v in config.items()
            }
        return config

    def _check_client_configs(self) -> None:
        """A key aiokafka's client does not take is the caller's mistake, named, never a
        connection failure (aiokafka would raise TypeError)."""
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

        accepted = {
            "producer_config": _parameters(AIOKafkaProducer),
            "consumer_config": _parameters(AIOKafkaConsumer),
        }
        for option, other in (
            ("producer_config", "consumer_config"),
            ("consumer_config", "producer_config"),
        ):
            unknown = sorted(set(getattr(self, option)) - accepted[option])
            if not unknown:
                continue
            key = unknown[0]
            client = "AIOKafkaProducer" if option == "producer_config" else "AIOKafkaConsumer"
            if key in accepted[other]:
                hint = f"; it is a setting of the other client: put it in {other}"
            else:
                close = difflib.get_close_matches(key, sorted(accepted[option]), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise XResourceConfigurationError(
                f"{option}[{key!r}] is not an argument of aiokafka's {client}{hint}"
                + (f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""),
                resource=self.display_name,
                operation="connect",
            )

    def _refused(self, client: str, exc: Exception, operation: str) -> XResourceConfigurationError:
        option = f"{client}_config"
        given = sorted(getattr(self, option))
        where = f" (with {option} {', '.join(given)})" if given else ""
        return XResourceConfigurationError(
            f"aiokafka refused the {client} settings{where}: {type(exc).__name__}: "
            f"{redact_text(str(exc))}",
            resource=self.display_name,
            operation=operation,
        )


def _explicit(data: Mapping[str, Any], field: str) -> Any:
    """The value the caller gave for ``field`` (through its alias too), else None."""
    if field == "group_id" and data.get("group_id") is None:
        return data.get("consumer_group")
    return data.get(field)


def _same(field: str, given: Any, value: Any) -> bool:
    """Whether a config value says what the field given explicitly says."""
    if isinstance(given, SecretStr):
        given = given.get_secret_value()
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if field == "bootstrap_servers" and isinstance(given, str) and isinstance(value, str):
        return [h.strip() for h in given.split(",") if h.strip()] == [
            h.strip() for h in value.split(",") if h.strip()
        ]
    if field == "acks":
        return bool({-1: "all"}.get(value, value) == {-1: "all"}.get(given, given))
    return bool(given == value)


def _parameters(client: type) -> set[str]:
    """The keyword arguments of an aiokafka client's constructor (this version's)."""
    return {
        name
        for name, p in inspect.signature(client).parameters.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }
