"""Translation of driver exceptions into the ``XResourceError`` hierarchy, shared by SQL drivers.

Each SQL resource classifies its own driver's exceptions (``_classify``: the error class and a
message); what every driver has in common lives here: socket failures and timeouts, the hints
that tell the user what to do, redaction of the server's text (credentials, and the record values
that servers quote in constraint and conversion messages), and :class:`ErrorGuard`, the ``with``
block that turns any driver exception into the right ``XResourceError``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import TracebackType
from typing import Literal, Protocol

from xobj_prototype import redact_text
from xresource.databases.value_scrub import raise_alone, scrub_record_values
from xresource.errors import (
    XResourceAuthenticationError,
    XResourceConnectionError,
    XResourceError,
    XResourceIntegrityError,
    XResourceNotFoundError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceValidationError,
)

__all__ = [
    "CONNECT_OPERATIONS",
    "Classified",
    "ErrorGuard",
    "auth_error",
    "integrity_error",
    "not_found_error",
    "quotes_values",
    "translate_error",
]

#: Operations during which a timeout means "the server did not answer", not "the query was slow".
CONNECT_OPERATIONS = frozenset({"connect", "acquire"})

Classified = tuple[type[XResourceError], str]

_CONNECT_HINT = "check that the server is running and that host and port are right"


class ErringResource(Protocol):
    """What translating an error needs of the SQL resource (``PooledSQLResource`` is one): a
    protocol, so that this module stays below the resources that use it."""

    connect_timeout: float
    command_timeout: float | None

    @property
    def address(self) -> str: ...

    @property
    def display_name(self) -> str: ...

    def _classify(self, exc: Exception, operation: str) -> Classified | None: ...


def auth_error(detail: str) -> Classified:
    """An authentication failure; ``detail`` is the server's text (never holds the password)."""
    return XResourceAuthenticationError, (
        f"the server rejected the credentials ({detail}); check the user name and password"
    )


def not_found_error(kind: str, name: str | None, detail: str) -> Classified:
    """A missing table (or database, schema...) named in the message."""
    what = f"{kind} {name!r}" if name else kind
    return XResourceNotFoundError, (
        f"{what} does not exist ({detail}); check the name or create it first"
    )


def integrity_error(detail: str) -> Classified:
    """A constraint violation; the statement (or the whole transaction) wrote nothing."""
    return XResourceIntegrityError, f"constraint violated, nothing was written: {detail}"


_NAMES = (
    # PostgreSQL: relation "public.t" does not exist
    re.compile(r'relation "(?P<name>[^"]+)" does not exist'),
    # MySQL/MariaDB: Table 'test.t' doesn't exist
    re.compile(r"Table '(?P<name>[^']+)' doesn't exist"),
    # SQLite: no such table: main.t
    re.compile(r"no such table: (?P<name>\S+)"),
)


def missing_table_name(message: str) -> str | None:
    """The table a driver's "no such table" message names, if it names one."""
    for pattern in _NAMES:
        match = pattern.search(message)
        if match:
            return match["name"]
    return None


def _generic(resource: ErringResource, exc: Exception, operation: str) -> Classified:
    """What every driver shares: timeouts and socket errors; anything else is a query error."""
    if isinstance(exc, TimeoutError):
        if operation in CONNECT_OPERATIONS:
            return XResourceConnectionError, (
                f"the server at {resource.address} did not answer within "
                f"{resource.connect_timeout:g}s; {_CONNECT_HINT}"
            )
        return XResourceTimeoutError, (
            f"the statement did not finish within command_timeout={resource.command_timeout}s; "
            "make it cheaper or raise command_timeout"
        )
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        return XResourceConnectionError, (
            f"cannot reach the server at {resource.address} ({reason}); {_CONNECT_HINT}"
        )
    return XResourceQueryError, f"{type(exc).__name__}: {exc}"


def translate_error(resource: ErringResource, exc: BaseException, operation: str) -> XResourceError:
    """The ``XResourceError`` for driver exception ``exc`` raised during ``operation``."""
    if isinstance(exc, XResourceError):
        return exc
    if not isinstance(exc, Exception):  # pragma: no cover - BaseExceptions are never translated
        raise TypeError("only Exception instances are translated")
    classified = resource._classify(exc, operation) or _generic(resource, exc, operation)
    cls, message = classified
    # Servers quote the offending record values (a duplicate token, a row that failed a check):
    # they may be secrets, and the message goes to logs, audit entries and HTTP answers.
    message = scrub_record_values(redact_text(message))
    return cls(message, resource=resource.display_name, operation=operation)


#: Driver exception attributes that may hold record values besides its text (asyncpg).
_VALUE_ATTRIBUTES = ("detail", "context", "internal_query")


def quotes_values(exc: BaseException) -> bool:
    """Whether the driver exception ``exc`` repeats record values (in its text or attributes)."""
    texts = [str(exc), *(str(a) for a in getattr(exc, "args", ()) if isinstance(a, str))]
    texts += [v for n in _VALUE_ATTRIBUTES if isinstance(v := getattr(exc, n, None), str)]
    return any(scrub_record_values(t) != t for t in texts)


class ErrorGuard:
    """``with ErrorGuard(resource, "fetch"):`` re-raises driver exceptions as ``XResourceError``.

    Exceptions listed in ``passthrough`` (raised by the caller's own code, such as a record
    generator) are not the driver's and pass unchanged.

    ``BaseException`` (cancellation, ``KeyboardInterrupt``) passes through untouched. The driver's
    exception is kept as ``__cause__`` for debugging, except where its text could hold a secret:
    authentication failures (credentials), constraint violations and values that do not fit
    their column (record values, such as a duplicate ``api_token``), and any driver message that
    quotes a record value. Those raise with neither ``__cause__`` nor ``__context__``; their
    message keeps the constraint, column and key names, with the values replaced by ``…``.
    """

    __slots__ = ("operation", "passthrough", "resource")

    def __init__(
        self,
        resource: ErringResource,
        operation: str,
        passthrough: Sequence[BaseException] = (),
    ) -> None:
        self.resource = resource
        self.operation = operation
        self.passthrough = passthrough

    def __enter__(self) -> ErrorGuard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if (
            exc is None
            or not isinstance(exc, Exception)
            or isinstance(exc, XResourceError)
            or any(exc is p for p in self.passthrough)
        ):
            return False
        error = translate_error(self.resource, exc, self.operation)
        if isinstance(
            error,
            XResourceAuthenticationError | XResourceIntegrityError | XResourceValidationError,
        ) or quotes_values(exc):
            raise_alone(error)
        raise error from exc
