"""``NetworkResource``: the spec's base of resources reached over HTTP(S)."""

from __future__ import annotations

from abc import ABC
from typing import Any

from pydantic import Field, field_validator, model_validator

from xresource.base import XResource
from xresource.network.urls import normalize_base_url

__all__ = ["NetworkResource"]


class NetworkResource(XResource, ABC):
    """A resource behind a base URL, with request timeouts.

    ``endpoint`` (the spec's name) is accepted for ``base_url``.
    """

    base_url: str = Field(description="http(s) URL every request path is relative to.")
    timeout: float = Field(default=30.0, gt=0, description="Seconds a whole request may take.")
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to open a connection.")

    @model_validator(mode="before")
    @classmethod
    def _endpoint_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "endpoint" in data:
            data = dict(data)
            endpoint = data.pop("endpoint")
            if data.setdefault("base_url", endpoint) != endpoint:
                raise ValueError("give base_url or endpoint, not both")
        return data

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return normalize_base_url(value)
