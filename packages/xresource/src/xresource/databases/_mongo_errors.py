"""What a PyMongo or BSON failure becomes: the matching ``XResourceError``, its message redacted
(credentials) and scrubbed (the record values servers quote), never chained to a driver error that
holds documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn, Protocol

from bson.errors import BSONError
from pymongo import errors as pm_errors
from pymongo.asynchronous.client_session import AsyncClientSession

from xobj_prototype import redact_text
from xresource.databases.value_scrub import raise_alone, scrub_record_values
from xresource.errors import (
    XResourceAuthenticationError,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceIntegrityError,
    XResourcePoolExhaustedError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceValidationError,
)

__all__: list[str] = []

# Server error codes that mean "who are you?" (18 AuthenticationFailed) or "not allowed" (13).
_AUTH_CODES = frozenset({13, 18})
# 50 MaxTimeMSExpired; 262 ExceededTimeLimit.
_TIMEOUT_CODES = frozenset({50, 262})
_DUPLICATE_KEY = 11000
# What the driver raises: PyMongo's errors, and BSON's for values it cannot encode.
DRIVER_ERRORS = (pm_errors.PyMongoError, BSONError)


class _Failing(Protocol):
    """What the messages name of the resource (``MongoDBResource`` is one)."""

    acquire_timeout: float
    pool_max_size: int
    connect_timeout: float
    connection_string: str

    @property
    def display_name(self) -> str: ...


def raise_driver_error(
    resource: _Failing,
    exc: Exception,
    op: str,
    collection: str | None = None,
    *,
    session: AsyncClientSession | None = None,
) -> NoReturn:
    """Re-raise a PyMongo failure as the matching ``XResourceError`` (message redacted)."""
    where = f" on collection {collection!r}" if collection else ""
    raw = str(exc)
    if isinstance(exc, pm_errors.OperationFailure) and isinstance(exc.details, Mapping):
        # str() appends the full server reply (cluster time, signatures): keep the reason only.
        raw = str(exc.details.get("errmsg") or raw)
    # Server selection errors append the whole topology description: the first part says it.
    text = redact_text(raw.split(", Timeout:")[0])
    # Record values (the value of a duplicate key) are hidden: they may be secrets.
    details = getattr(exc, "details", None)
    keys = details.get("keyPattern") if isinstance(details, Mapping) else None
    text = scrub_record_values(text, key_names=keys)[:1000]
    kw: dict[str, Any] = {"resource": resource.display_name, "operation": op}
    code = getattr(exc, "code", None)
    if isinstance(exc, pm_errors.BulkWriteError):
        details = exc.details or {}
        write_errors = details.get("writeErrors") or []
        inserted = details.get("nInserted", 0)
        first = write_errors[0] if write_errors else {}
        message = scrub_record_values(
            redact_text(str(first.get("errmsg", text))), key_names=first.get("keyPattern")
        )[:1000]
        if session is not None and session.in_transaction:
            written = "nothing is committed: the transaction aborts when this error leaves it"
        else:
            written = (
                f"{inserted} document(s) were written before the failure "
                "(use atomic=True for all-or-nothing)"
            )
        # The driver's error holds the documents ("op" of each write error): not chained.
        if first.get("code") == _DUPLICATE_KEY:
            raise_alone(
                XResourceIntegrityError(f"duplicate key{where}: {message}; {written}", **kw)
            )
        raise_alone(XResourceQueryError(f"bulk write failed{where}: {message}; {written}", **kw))
    if isinstance(exc, pm_errors.DuplicateKeyError) or code == _DUPLICATE_KEY:
        raise_alone(XResourceIntegrityError(f"duplicate key{where}: {text}", **kw))
    if isinstance(exc, pm_errors.WaitQueueTimeoutError):
        raise XResourcePoolExhaustedError(
            f"no pooled connection became free within {resource.acquire_timeout}s "
            f"(pool_max_size={resource.pool_max_size}); raise pool_max_size or acquire_timeout",
            **kw,
        ) from None
    if isinstance(exc, pm_errors.ServerSelectionTimeoutError):
        raise XResourceConnectionError(
            f"no MongoDB server answered within {resource.connect_timeout}s; check that it runs "
            f"and the address ({resource.connection_string}) is right: {text}",
            **kw,
        ) from None
    if isinstance(exc, pm_errors.NetworkTimeout | pm_errors.ExecutionTimeout) or (
        code in _TIMEOUT_CODES
    ):
        raise XResourceTimeoutError(f"timed out{where}: {text}", **kw) from None
    if isinstance(exc, pm_errors.OperationFailure) and code in _AUTH_CODES:
        raise XResourceAuthenticationError(
            f"the server rejected the credentials or the permission (code {code}){where}; "
            "check user, password and authSource",
            **kw,
        ) from None
    if isinstance(exc, pm_errors.ConnectionFailure):
        raise XResourceConnectionError(
            f"connection to MongoDB failed{where}: {text}", **kw
        ) from None
    if isinstance(exc, pm_errors.ConfigurationError):
        raise XResourceConfigurationError(f"invalid configuration: {text}", **kw) from None
    if isinstance(exc, pm_errors.InvalidName | pm_errors.InvalidOperation | BSONError):
        raise XResourceValidationError(f"invalid request{where}: {text}", **kw) from None
    raise XResourceQueryError(f"MongoDB refused the request{where}: {text}", **kw) from None
