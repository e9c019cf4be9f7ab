"""Network resources: REST APIs over HTTP(S).

:class:`RESTResource` (imported on first access: it needs ``aiohttp``, the ``rest`` extra) answers
with :class:`RESTResponse` where the raw response is asked for; :class:`NetworkResource` is the
base of resources addressed by a base URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xobj_prototype import lazy_exports
from xresource.network.base import NetworkResource
from xresource.network.pagination import RESTResponse

if TYPE_CHECKING:
    from xresource.network.rest import RESTResource

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"RESTResource": "xresource.network.rest"},
    extras={"xresource.network.rest": "xresource[rest]"},
)

__all__ = ["NetworkResource", "RESTResource", "RESTResponse"]
