"""The error root shared by every xstack package.

Every package derives its own hierarchy from :class:`XError`, so a caller can catch everything
the stack raises with one ``except XError``. The message and the structured ``details`` are
redacted on the way in: a password or token handed to an error never reaches a log line or a
traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xobj_prototype.redaction import redact, redact_text

__all__ = [
    "XConfigurationError",
    "XConflictError",
    "XError",
    "XNotFoundError",
    "XValidationError",
]


class XError(Exception):
    """Root of every error raised by the xstack packages.

    Args:
        message: what went wrong, naming the object, the operation and what to do about it.
            URL passwords, ``password=...``-style pairs and bearer tokens in it are masked.
        details: structured context (names, counts, paths); values under secret-looking keys and
            passwords inside URLs are masked before they are stored.

    Examples:
        >>> raise XError("table 'users' not found", details={"table": "users"})
        Traceback (most recent call last):
        xobj_prototype.errors.XError: table 'users' not found
    """

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        message = redact_text(str(message))
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = redact(dict(details or {}))

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild without calling __init__: subclasses in other packages take other arguments,
        # and pickling must keep the (already redacted) details.
        return (_rebuild, (type(self), self.args, self.__dict__.copy()))


def _rebuild(cls: type[XError], args: tuple[Any, ...], state: dict[str, Any]) -> XError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class XValidationError(XError, ValueError):
    """Input failed validation; ``errors`` lists each problem as ``{"loc": ..., "msg": ...}``.

    The offending values are deliberately not repeated: they may be secrets.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.errors: list[dict[str, Any]] = redact(list(errors or []))

    @classmethod
    def from_pydantic(cls, exc: Any, *, subject: str) -> XValidationError:
        """Build from a ``pydantic.ValidationError`` without echoing input values."""
        errors = [
            {"loc": ".".join(str(p) for p in err.get("loc", ())) or "(root)", "msg": err["msg"]}
            for err in exc.errors(include_input=False, include_url=False)
        ]
        listed = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
        return cls(f"invalid {subject}: {listed}", errors=errors)


class XConfigurationError(XError):
    """Settings are missing, malformed or contradictory."""


class XNotFoundError(XError, LookupError):
    """A named object (namespace path, table, file, model...) does not exist."""


class XConflictError(XError):
    """An operation collides with existing state: a duplicate name, a stale version."""
