"""What a registered function is: its metadata and parameters, call statistics and the
tracked wrappers that count every call.
"""

from __future__ import annotations

import functools
import inspect
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, validate_call

from xobj_prototype import MASK, XObjPrototype, is_secret_key
from xregistry._shared import utc_now
from xregistry.permissions import (
    FunctionPermission,
    Principal,
    as_principal,
    grants,
)

_JSON_SCALARS = (str, int, float, bool, type(None))


def type_name(annotation: Any) -> str:
    """A readable name of an annotation: ``int``, ``list[str]``, ``Optional[int]``."""
    if annotation is inspect.Parameter.empty:
        return "Any"
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _json_default(value: Any) -> Any:
    """A default value as metadata can show it: JSON scalars as they are, anything else as repr."""
    if isinstance(value, _JSON_SCALARS):
        return value
    return repr(value)


class ParameterInfo(BaseModel):
    """One parameter of a registered function."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    type: str = "Any"
    required: bool = True
    default: Any = None


class FunctionMetadata(BaseModel):
    """What the registry knows about a function (read from its signature and docstring)."""

    name: str
    module: str
    qualname: str
    namespace: str | None = None
    ns_path: str
    signature: str
    docstring: str | None = None
    description: str | None = None
    parameters: dict[str, ParameterInfo] = Field(default_factory=dict)
    return_type: str | None = None
    is_async: bool = False
    tags: frozenset[str] = frozenset()
    permissions: dict[str, frozenset[FunctionPermission]] = Field(default_factory=dict)
    registered_at: datetime = Field(default_factory=utc_now)
    registered_by: str = "system"


class CallStats(BaseModel):
    """A snapshot of a function's call statistics (durations in seconds)."""

    model_config = ConfigDict(frozen=True)

    call_count: int = 0
    error_count: int = 0
    last_called: datetime | None = None
    last_duration: float | None = None
    total_duration: float = 0.0
    min_duration: float | None = None
    max_duration: float | None = None
    mean_duration: float | None = None
    median_duration: float | None = None
    p95_duration: float | None = None


class _Tracker:
    """Mutable counters behind :class:`CallStats`; the recent durations are bounded."""

    __slots__ = (
        "count",
        "errors",
        "last",
        "last_duration",
        "maximum",
        "minimum",
        "recent",
        "total",
    )

    def __init__(self, history: int) -> None:
        self.count = 0
        self.errors = 0
        self.last: datetime | None = None
        self.last_duration: float | None = None
        self.total = 0.0
        self.minimum: float | None = None
        self.maximum: float | None = None
        self.recent: deque[float] = deque(maxlen=history)

    def record(self, duration: float, ok: bool) -> None:
        self.count += 1
        if not ok:
            self.errors += 1
        self.last = utc_now()
        self.last_duration = duration
        self.total += duration
        self.minimum = duration if self.minimum is None else min(self.minimum, duration)
        self.maximum = duration if self.maximum is None else max(self.maximum, duration)
        self.recent.append(duration)

    def snapshot(self) -> CallStats:
        recent = sorted(self.recent)
        p95 = recent[min(len(recent) - 1, int(0.95 * len(recent)))] if recent else None
        return CallStats(
            call_count=self.count,
            error_count=self.errors,
            last_called=self.last,
            last_duration=self.last_duration,
            total_duration=self.total,
            min_duration=self.minimum,
            max_duration=self.maximum,
            mean_duration=self.total / self.count if self.count else None,
            median_duration=statistics.median(recent) if recent else None,
            p95_duration=p95,
        )


class RegisteredFunction(XObjPrototype):
    """A registered function: its metadata, the callable and its call statistics.

    Calling the object calls the function directly (tracked, not permission-checked: code that
    holds the object is trusted); :meth:`FunctionRegistry.execute` is the checked entry point.
    """

    metadata: FunctionMetadata
    func: Callable[..., Any] = Field(exclude=True)
    ns: str | None = "registry.functions"

    _tracker: _Tracker = PrivateAttr(default_factory=lambda: _Tracker(1000))
    _validated: Callable[..., Any] | None = PrivateAttr(default=None)
    _validation_failed: bool = PrivateAttr(default=False)
    _track: bool = PrivateAttr(default=True)

    @property
    def call_count(self) -> int:
        """How many times the function ran through the registry or its decorator."""
        return self._tracker.count

    @property
    def last_called(self) -> datetime | None:
        """When it last ran."""
        return self._tracker.last

    @property
    def stats(self) -> CallStats:
        """Count, errors, last call and duration statistics."""
        return self._tracker.snapshot()

    def can(self, principal: Principal | str | None, permission: FunctionPermission) -> bool:
        """Whether ``principal`` holds ``permission`` (EXECUTE and MODIFY include VIEW)."""
        implied = (
            (FunctionPermission.EXECUTE, FunctionPermission.MODIFY)
            if permission is FunctionPermission.VIEW
            else ()
        )
        return grants(self.metadata.permissions, as_principal(principal), permission, implied)

    def record_call(self, duration: float, ok: bool) -> None:
        """Count one call (the registry and the decorator's wrapper call this)."""
        if self._track:
            self._tracker.record(duration, ok)

    def validated_callable(self) -> Callable[..., Any] | None:
        """The function wrapped in ``pydantic.validate_call`` (built once, lazily); None when its
        annotations cannot be turned into a validator (then arguments pass through unchecked)."""
        if self._validated is None and not self._validation_failed:
            try:
                self._validated = validate_call(self.func)
            except Exception:  # unresolved forward refs, exotic annotations: run unvalidated
                self._validation_failed = True
        return self._validated

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.metadata.is_async:
            return self._call_async(*args, **kwargs)
        start = time.perf_counter()
        ok = False
        try:
            result = self.func(*args, **kwargs)
            ok = True
            return result
        finally:
            self.record_call(time.perf_counter() - start, ok)

    async def _call_async(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        ok = False
        try:
            result = await self.func(*args, **kwargs)
            ok = True
            return result
        finally:
            self.record_call(time.perf_counter() - start, ok)


def _tracked_sync(registered: RegisteredFunction, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        ok = False
        try:
            result = func(*args, **kwargs)
            ok = True
            return result
        finally:
            registered.record_call(time.perf_counter() - start, ok)

    wrapper.registered = registered  # type: ignore[attr-defined]
    return wrapper


def _tracked_async(
    registered: RegisteredFunction, func: Callable[..., Awaitable[Any]]
) -> Callable[..., Any]:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        ok = False
        try:
            result = await func(*args, **kwargs)
            ok = True
            return result
        finally:
            registered.record_call(time.perf_counter() - start, ok)

    wrapper.registered = registered  # type: ignore[attr-defined]
    return wrapper


def _describe(func: Callable[..., Any]) -> tuple[str, dict[str, ParameterInfo], str | None]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # some builtins and C callables have no signature
        return "(...)", {}, None
    # model_construct: the values come from inspect, not from a user, and registration of many
    # functions is a hot path (see benchmarks/bench_registry.py).
    params = {
        p.name: ParameterInfo.model_construct(
            name=p.name,
            kind=p.kind.name.lower(),
            type=type_name(p.annotation),
            required=p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD),
            default=None
            if p.default is p.empty or is_secret_key(p.name)
            else _json_default(p.default),
        )
        for p in sig.parameters.values()
    }
    ret = None if sig.return_annotation is sig.empty else type_name(sig.return_annotation)
    # The signature text must not carry a secret default (`password="hunter2"`) either.
    secret = [
        p for p in sig.parameters.values() if p.default is not p.empty and is_secret_key(p.name)
    ]
    if secret:
        sig = sig.replace(
            parameters=[
                p.replace(default=_Masked()) if p in secret else p for p in sig.parameters.values()
            ]
        )
    return str(sig), params, ret


class _Masked:
    """Stands in for a secret default in a signature's text."""

    def __repr__(self) -> str:
        return MASK
