"""The checks of every MongoDB request's parts (collection name, filter, pipeline, sort, batch
size) and the refusal of server-side JavaScript in any of them, before anything is sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from xresource.databases.base import DatabaseResource
from xresource.databases.mongo_guard import check_request
from xresource.errors import XResourceValidationError

__all__: list[str] = []

Document = dict[str, Any]


class _MongoRequests(DatabaseResource):
    """The request checks of :class:`~xresource.databases.MongoDBResource` (no parameters of
    its own); each raises ``XResourceValidationError`` naming the resource and the operation."""

    def _invalid(self, message: str, op: str) -> XResourceValidationError:
        """The error for bad input to operation ``op``, naming this resource."""
        return XResourceValidationError(message, resource=self.display_name, operation=op)

    def _no_server_js(self, value: Any, op: str, *, where: str = "filter") -> None:
        """:func:`~xresource.databases.mongo_guard.check_request` for one part of a request,
        its complaint raised as this resource's error."""
        self._guard(op, **{where: value})

    def _guard(self, op: str, **parts: Any) -> None:
        """Refuse server-side JavaScript in any part of a request (filter, projection, sort,
        update, pipeline...) before anything is sent: every operation goes through here."""
        try:
            check_request(op, **parts)
        except ValueError as exc:
            raise self._invalid(str(exc), op) from None

    def _collection_name(self, name: Any, op: str) -> str:
        if not isinstance(name, str) or not name:
            raise self._invalid(
                f"collection name must be a non-empty string, got {name!r}",
                op,
            )
        if (
            "$" in name
            or "\x00" in name
            or name.startswith(("system.", "."))
            or name.endswith(".")
            or len(name) > 255
        ):
            raise self._invalid(
                f"{name!r} is not a usable collection name (no '$', NUL, leading/trailing '.', "
                "or 'system.' prefix)",
                op,
            )
        return name

    def _filter(self, value: Any, op: str, *, required: bool = False) -> Document:
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping):
            raise self._invalid(
                f"filter must be a mapping such as {{'field': value}}, got {type(value).__name__}",
                op,
            )
        self._no_server_js(value, op)
        return dict(value)

    def _pipeline(self, value: Any, op: str) -> list[Document]:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            raise self._invalid(
                f"pipeline must be a list of stages, got {type(value).__name__}",
                op,
            )
        for i, stage in enumerate(value):
            if not isinstance(stage, Mapping) or len(stage) != 1:
                raise self._invalid(
                    f"pipeline stage #{i} must be a mapping with one operator such as "
                    "{'$match': {...}}",
                    op,
                )
        self._no_server_js(list(value), op, where="pipeline")
        return [dict(s) for s in value]

    def _check_batch_size(self, batch_size: Any, op: str) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise self._invalid(f"batch_size must be a positive integer, got {batch_size!r}", op)

    def _sort(self, sort: Any, op: str) -> list[tuple[str, int]] | None:
        if sort is None:
            return None
        items: list[Any]
        if isinstance(sort, str):
            items = [(sort, 1)]
        elif isinstance(sort, Mapping):
            items = list(sort.items())
        elif isinstance(sort, list | tuple):
            items = [(s, 1) if isinstance(s, str) else s for s in sort]
        else:
            items = [None]
        out: list[tuple[str, int]] = []
        for item in items:
            if (
                not isinstance(item, tuple | list)
                or len(item) != 2
                or not isinstance(item[0], str)
                or item[1] not in (1, -1)
            ):
                raise self._invalid(
                    "sort must be a field name, a mapping field -> 1/-1 or a list of "
                    f"(field, 1/-1) pairs, got {sort!r}",
                    op,
                )
            out.append((item[0], int(item[1])))
        return out
