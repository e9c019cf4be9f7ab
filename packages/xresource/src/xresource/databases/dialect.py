"""SQL dialects: how each database spells placeholders and quotes identifiers.

The repository layer compiles queries to SQL text with bound parameters; the dialect is what makes
that text right for the driver. Identifiers are validated and quoted, never interpolated raw.
"""

from __future__ import annotations

from dataclasses import dataclass

from xresource.errors import XResourceValidationError

__all__ = ["MYSQL", "POSTGRESQL", "SQLITE", "SQLDialect"]


@dataclass(frozen=True)
class SQLDialect:
    """Placeholder style and identifier quoting of one SQL database."""

    name: str
    #: ``"numeric"`` ($1, $2 — asyncpg), ``"format"`` (%s — aiomysql), ``"qmark"`` (? — sqlite)
    paramstyle: str
    quote_char: str
    max_identifier_length: int

    def param(self, index: int) -> str:
        """The placeholder of the ``index``-th parameter (1-based)."""
        if self.paramstyle == "numeric":
            return f"${index}"
        if self.paramstyle == "format":
            return "%s"
        return "?"

    def quote(self, identifier: str) -> str:
        """Validate and quote one identifier (a column, table or schema name).

        Any character is allowed except NUL and control characters; the quote character is
        doubled, which is how every supported database escapes it inside quotes.
        """
        if not isinstance(identifier, str) or not identifier:
            raise XResourceValidationError(
                f"SQL identifier must be a non-empty string, got {identifier!r}",
                operation="quote identifier",
            )
        if len(identifier) > self.max_identifier_length:
            raise XResourceValidationError(
                f"SQL identifier {identifier[:20]!r}... is longer than {self.max_identifier_length}"
                f" characters ({self.name})",
                operation="quote identifier",
            )
        if any(ord(c) < 32 or ord(c) == 127 for c in identifier):
            raise XResourceValidationError(
                f"SQL identifier {identifier!r} contains control characters",
                operation="quote identifier",
            )
        q = self.quote_char
        return f"{q}{identifier.replace(q, q + q)}{q}"

    def qualified(self, *parts: str | None) -> str:
        """Quote a dotted name from its parts: ``qualified("public", "users")``."""
        return ".".join(self.quote(p) for p in parts if p)


POSTGRESQL = SQLDialect("postgresql", "numeric", '"', 63)
MYSQL = SQLDialect("mysql", "format", "`", 64)
SQLITE = SQLDialect("sqlite", "qmark", '"', 1024)
