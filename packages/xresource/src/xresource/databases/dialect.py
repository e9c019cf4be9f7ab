"""SQL dialects: how each database spells placeholders and quotes identifiers.

The repository layer compiles queries to SQL text with bound parameters; the dialect is what makes
that text right for the driver. Identifiers are validated and quoted, never interpolated raw.
"""

from __future__ import annotations

from dataclasses import dataclass

from xresource.errors import XResourceValidationError

__all__ = ["DUCKDB", "MYSQL", "POSTGRESQL", "SQLITE", "SQLDialect"]


def _shown(identifier: str) -> str:
    """The identifier as an error message names it (its repr, cut when very long)."""
    return repr(identifier) if len(identifier) <= 80 else f"{identifier[:80]!r}..."


@dataclass(frozen=True)
class SQLDialect:
    """Placeholder style and identifier quoting of one SQL database."""

    name: str
    #: ``"numeric"`` ($1, $2 — asyncpg, duckdb), ``"format"`` (%s — aiomysql), ``"qmark"``
    #: (? — sqlite)
    paramstyle: str
    quote_char: str
    max_identifier_length: int
    #: ``max_identifier_length`` counts UTF-8 bytes, not characters (PostgreSQL's NAMEDATALEN:
    #: a longer name is silently cut, so two long names could become one table).
    length_in_bytes: bool = False
    #: Only characters of the Basic Multilingual Plane (MariaDB/MySQL refuse an emoji in a name).
    bmp_only: bool = False
    #: The server strips leading spaces from an output name (``AS ` x` `` reads back as ``x``).
    strips_alias_spaces: bool = False
    #: Output names the server cannot carry out of a subquery, case-insensitive: SQLite names a
    #: column ``AS "FALSE"`` otherwise (``column1``), and an outer ``SELECT "FALSE"`` then reads
    #: the text 'FALSE', not the value: a wrong answer, so the name is refused.
    unusable_aliases: frozenset[str] = frozenset()

    def param(self, index: int) -> str:
        """The placeholder of the ``index``-th parameter (1-based)."""
        if self.paramstyle == "numeric":
            return f"${index}"
        if self.paramstyle == "format":
            return "%s"
        return "?"

    def _invalid(self, identifier: str, problem: str) -> XResourceValidationError:
        return XResourceValidationError(
            f"SQL identifier {_shown(identifier)} {problem} ({self.name}); choose another name",
            operation="quote identifier",
        )

    def quote(self, identifier: str) -> str:
        """Validate and quote one identifier (a column, table or schema name).

        Any character is allowed except NUL and control characters (and, on MariaDB/MySQL,
        characters beyond the Basic Multilingual Plane, which the server refuses); the quote
        character is doubled, which is how every supported database escapes it inside quotes.
        A name the database cannot take is an ``XResourceValidationError`` naming it, raised
        before the server is called.

        >>> MYSQL.quote("growth %")
        '`growth %`'
        """
        if not isinstance(identifier, str) or not identifier:
            raise XResourceValidationError(
                f"SQL identifier must be a non-empty string, got {identifier!r}",
                operation="quote identifier",
            )
        size = len(identifier.encode("utf-8", "surrogatepass")) if self.length_in_bytes else None
        if len(identifier) > self.max_identifier_length or (
            size is not None and size > self.max_identifier_length
        ):
            unit = "bytes (UTF-8)" if self.length_in_bytes else "characters"
            raise self._invalid(identifier, f"is longer than {self.max_identifier_length} {unit}")
        if any(ord(c) < 32 or ord(c) == 127 for c in identifier):
            raise self._invalid(identifier, "contains control characters")
        if any(0xD800 <= ord(c) <= 0xDFFF for c in identifier):
            raise self._invalid(identifier, "contains a lone surrogate (not valid Unicode)")
        if self.bmp_only and any(ord(c) > 0xFFFF for c in identifier):
            raise self._invalid(
                identifier,
                "contains a character beyond U+FFFF (emoji...), which the server refuses",
            )
        q = self.quote_char
        return f"{q}{identifier.replace(q, q + q)}{q}"

    def quote_alias(self, identifier: str) -> str:
        """Validate and quote an output name (``SELECT ... AS <name>``).

        As :meth:`quote`; on MariaDB/MySQL a name starting with a space is refused, since the
        server would silently strip the space and the column would read back under another name;
        on SQLite ``TRUE`` and ``FALSE`` (any case) are refused, since a query around the one
        that names them reads the literal instead of the column.
        """
        quoted = self.quote(identifier)
        if self.strips_alias_spaces and identifier.startswith(" "):
            raise self._invalid(
                identifier, "starts with a space, which the server strips from output names"
            )
        if identifier.upper() in self.unusable_aliases:
            raise self._invalid(
                identifier, "is read as a boolean literal, not a column, in a nested query"
            )
        return quoted

    def qualified(self, *parts: str | None) -> str:
        """Quote a dotted name from its parts: ``qualified("public", "users")``."""
        return ".".join(self.quote(p) for p in parts if p)


POSTGRESQL = SQLDialect("postgresql", "numeric", '"', 63, length_in_bytes=True)
MYSQL = SQLDialect("mysql", "format", "`", 64, bmp_only=True, strips_alias_spaces=True)
SQLITE = SQLDialect("sqlite", "qmark", '"', 1024, unusable_aliases=frozenset({"TRUE", "FALSE"}))
#: DuckDB (the ``duckdb`` extra): ``$1`` placeholders, double-quoted names. Quoted names are
#: case-insensitive in DuckDB (``"Name"`` and ``"name"`` are one column), as in MariaDB/MySQL.
DUCKDB = SQLDialect("duckdb", "numeric", '"', 1024)
