"""What SQL databases that live in a local file share (SQLite, DuckDB): the ``path`` field
(``":memory:"`` for none), ``database=`` as its other name, the file's address in errors, the
path of a ``scheme:///path`` URL and the check that the file's directory exists."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from xresource.databases.pooled import PooledSQLResource
from xresource.errors import XResourceConfigurationError, XResourceNotFoundError
from xresource.url import ParsedURL

__all__ = ["MEMORY", "EmbeddedSQLResource"]

#: The ``path`` of an in-memory database.
MEMORY = ":memory:"


def _parent_dir(path: str) -> Path | None:
    """The directory ``path`` would live in, when that directory does not exist."""
    parent = Path(path).expanduser().absolute().parent
    return None if parent.is_dir() else parent


class EmbeddedSQLResource(PooledSQLResource):
    """A SQL database in a local file, or in memory: no server, no host."""

    path: str = Field(default=MEMORY, description='Database file, or ":memory:".')
    host: str = ""

    @model_validator(mode="before")
    @classmethod
    def _database_is_path(cls, data: Any) -> Any:
        # `database=` (the SQL resources' common field) names the file when `path` is not given.
        if isinstance(data, dict) and data.get("database") and not data.get("path"):
            data = {**data, "path": data["database"]}
        return data

    @model_validator(mode="after")
    def _check_path(self) -> EmbeddedSQLResource:
        if not self.path.strip():
            raise ValueError('path must be a file path or ":memory:"')
        if "\x00" in self.path:
            raise ValueError("path contains a NUL character")
        return self

    @property
    def is_memory(self) -> bool:
        """Whether this is an in-memory database."""
        return self.path == MEMORY

    @property
    def address(self) -> str:
        """The database path, as errors show it."""
        return self.path

    @classmethod
    def _url_path(cls, url: ParsedURL, product: str, suffix: str) -> str:
        """The file a ``scheme:///relative`` or ``scheme:////absolute`` URL names
        (``":memory:"`` when it names none); a host is refused."""
        if url.host:
            raise XResourceConfigurationError(
                f"{product} URL names a file, not a host: {url.redacted!r}; write "
                f"{url.scheme}:///relative/path{suffix} or "
                f"{url.scheme}:////absolute/path{suffix}",
                operation="from_url",
            )
        path = url.path
        if url.scheme != "file" and path.startswith("/"):
            # urlsplit leaves "/relative.db" or "//abs/path.db": the first slash only separates.
            path = path[1:]
        return path or MEMORY

    async def _check_directory(self) -> None:
        """Refuse a database file whose directory does not exist (it would not be created)."""
        if self.is_memory:
            return
        parent = await asyncio.to_thread(_parent_dir, self.path)
        if parent is not None:
            raise XResourceNotFoundError(
                f"the directory {str(parent)!r} of database file {self.path!r} does not "
                "exist; create it first or fix the path",
                resource=self.display_name,
                operation="connect",
            )
