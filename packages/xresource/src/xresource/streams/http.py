"""``HTTPStreamResource``: what the aiohttp-based streams (SSE, WebSocket) share.

Both connect to one endpoint URL with extra headers and an optional bearer token, and hold one
``aiohttp.ClientSession`` per connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, SecretStr

from xresource.streams._runtime import _Runtime
from xresource.streams.base import EventStreamResource
from xresource.url import ParsedURL

if TYPE_CHECKING:
    import aiohttp

__all__ = ["HTTPStreamResource"]


@dataclass(eq=False)
class _HTTPRuntime(_Runtime):
    """The HTTP session of a running resource."""

    session: aiohttp.ClientSession | None = None


class HTTPStreamResource(EventStreamResource):
    """Base of the event streams read over HTTP through ``aiohttp`` (not registered itself)."""

    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP request (or WebSocket handshake) headers."
    )
    token: SecretStr | None = Field(default=None, description="Sent as 'Authorization: Bearer'.")

    runtime_class: ClassVar[type[_Runtime]] = _HTTPRuntime
    if TYPE_CHECKING:  # the type of the slot (see EventStreamResource)
        _rt: _HTTPRuntime

    @staticmethod
    def _reject_endpoint_credentials(value: str) -> str:
        """Validator step: credentials in the endpoint URL would leak into errors and metadata."""
        if "@" in value.split("/", 3)[2]:
            raise ValueError("put credentials in token= or headers=, not in the endpoint URL")
        return value

    @classmethod
    def _endpoint_params(cls, url: ParsedURL, kind: str, endpoint: str) -> dict[str, Any]:
        """``params_from_url`` body: the URL is the endpoint; ``kind`` names it in the error."""
        if url.username or url.password is not None:
            raise ValueError(f"{kind} URLs take no credentials; pass token=... instead")
        return {"endpoint": endpoint}

    def _request_headers(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` with the bearer token added (the user's ``headers`` are already in it)."""
        if self.token is not None:
            base["Authorization"] = f"Bearer {self.token.get_secret_value()}"
        return base

    def _new_session(self) -> aiohttp.ClientSession:
        """A session that bounds the connect but never a read: streams stay open indefinitely."""
        import aiohttp

        return aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self.connect_timeout, sock_read=None
            )
        )
