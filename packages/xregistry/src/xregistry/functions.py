"""``FunctionRegistry``: functions (sync or async) with metadata, namespaces, tags, permissions per
role and call statistics; :func:`register_function` is the decorator of the document.

Example:
    >>> registry = FunctionRegistry()
    >>> @registry.register(namespace="finance.tax", tags={"finance"})
    ... def calculate_tax(amount: float, rate: float) -> float:
    ...     '''Tax for an amount at a rate.'''
    ...     return amount * rate
    >>> [f.metadata.name for f in registry.find_by_namespace("ns.functions.finance.*")]
    ['calculate_tax']
    >>> calculate_tax(100, 0.2)
    20.0
    >>> registry.get("calculate_tax").call_count
    1
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, validate_call

from xobj_prototype import MASK, XObjPrototype, is_secret_key, redact_text
from xregistry._shared import check_name, tags_of, utc_now
from xregistry._shared import optional_principal as _who
from xregistry.audit import AuditAction
from xregistry.config import FunctionRegistryConfig
from xregistry.context import RegistryContext
from xregistry.entries import EntryRegistry
from xregistry.errors import (
    FunctionExecutionError,
    FunctionTimeoutError,
    RegistryValidationError,
)
from xregistry.permissions import (
    FunctionPermission,
    Principal,
    as_principal,
    grants,
    normalize_permissions,
)

__all__ = [
    "CallStats",
    "FunctionMetadata",
    "FunctionRegistry",
    "ParameterInfo",
    "RegisteredFunction",
]

F = TypeVar("F", bound=Callable[..., Any])
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


class FunctionRegistry(EntryRegistry[RegisteredFunction]):
    """Registry of Python functions.

    Names are unique (a second registration under a taken name, or at a taken namespace path, is a
    :class:`RegistryConflictError` unless ``override=True``). Paths are
    ``<prefix>.functions.<namespace>.<name>``, held in the shared namespace index.

    Reads (``get``, ``find_*``) take an optional ``principal``: given one, they only return what its
    roles may VIEW. :meth:`execute` always checks EXECUTE (an absent principal is anonymous).
    """

    kind = "functions"
    noun = "function"
    entry_class = RegisteredFunction

    def __init__(
        self,
        *,
        context: RegistryContext | None = None,
        config: FunctionRegistryConfig | None = None,
        allow_override: bool = False,
    ) -> None:
        self.context = context or RegistryContext()
        self.config = config or FunctionRegistryConfig()
        self.allow_override = allow_override
        self.functions: dict[str, RegisteredFunction] = {}
        self.namespace_map: dict[str, str] = {}

    def _entries(self) -> dict[str, RegisteredFunction]:
        return self.functions

    # -- registration -------------------------------------------------------------------------
    @overload
    def register(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = ...,
        namespace: str | None = ...,
        tags: Iterable[str] | None = ...,
        permissions: Mapping[str, Iterable[FunctionPermission | str]] | None = ...,
        description: str | None = ...,
        override: bool = ...,
        principal: Principal | str | None = ...,
    ) -> RegisteredFunction: ...

    @overload
    def register(
        self,
        func: None = None,
        *,
        name: str | None = ...,
        namespace: str | None = ...,
        tags: Iterable[str] | None = ...,
        permissions: Mapping[str, Iterable[FunctionPermission | str]] | None = ...,
        description: str | None = ...,
        override: bool = ...,
        principal: Principal | str | None = ...,
    ) -> Callable[[F], F]: ...

    def register(
        self,
        func: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        namespace: str | None = None,
        tags: Iterable[str] | None = None,
        permissions: Mapping[str, Iterable[FunctionPermission | str]] | None = None,
        description: str | None = None,
        override: bool = False,
        principal: Principal | str | None = None,
    ) -> RegisteredFunction | Callable[[F], F]:
        """Register ``func``; without ``func``, return a decorator that registers and returns a
        tracked wrapper of the decorated function (sync or async, as the function is).

        Args:
            name: registered name (default: ``func.__name__``).
            namespace: dot path under ``<prefix>.functions`` (default: the function's module).
            tags: labels for :meth:`find_by_tag`.
            permissions: ``{role: {FunctionPermission | "execute" ...}}``; ``"*"`` is every role.
            override: replace an existing registration of the same name or path.

        Raises:
            RegistryConflictError: the name or path is taken and ``override`` is false.
            RegistryValidationError: not callable, a bad name, namespace, tag or permission.
        """

        def do(target: Callable[..., Any]) -> RegisteredFunction:
            return self._register(
                target,
                name=name,
                namespace=namespace,
                tags=tags,
                permissions=permissions,
                description=description,
                override=override,
                principal=principal,
            )

        if func is None:

            def decorator(f: F) -> F:
                registered = do(f)
                track = _tracked_async if registered.metadata.is_async else _tracked_sync
                return track(registered, f)  # type: ignore[return-value]

            return decorator
        return do(func)

    def _register(
        self,
        func: Callable[..., Any],
        *,
        name: str | None,
        namespace: str | None,
        tags: Iterable[str] | None,
        permissions: Mapping[str, Iterable[FunctionPermission | str]] | None,
        description: str | None,
        override: bool,
        principal: Principal | str | None,
    ) -> RegisteredFunction:
        if not callable(func):
            raise RegistryValidationError(
                f"only callables can be registered as functions, got {type(func).__name__}"
            )
        who = as_principal(principal) if principal is not None else None
        func_name = check_name(name or getattr(func, "__name__", None), "function")
        module = getattr(func, "__module__", None) or "builtins"
        ns = namespace if namespace is not None else module
        path = self.context.path(self.kind, ns, func_name)
        self._check_free(func_name, path, override)
        tag_set = tags_of(tags)
        perms = normalize_permissions(
            permissions, FunctionPermission, self.config.default_permissions
        )
        signature, params, ret = _describe(func)
        metadata = FunctionMetadata(
            name=func_name,
            module=module,
            qualname=getattr(func, "__qualname__", func_name),
            namespace=ns,
            ns_path=path,
            signature=signature,
            docstring=inspect.getdoc(func),
            description=description or (inspect.getdoc(func) or "").split("\n\n")[0] or None,
            parameters=params,
            return_type=ret,
            is_async=inspect.iscoroutinefunction(func),
            tags=tag_set,
            permissions=perms,
            registered_by=who.id if who else "system",
        )
        registered = RegisteredFunction(metadata=metadata, func=func)
        registered._tracker = _Tracker(self.config.max_call_history)
        registered._track = self.config.track_execution
        self._store(registered, override)
        self.context.audit.record(
            AuditAction.REGISTER,
            "function",
            func_name,
            principal=who,
            details={"ns_path": path, "override": override},
            trusted=True,
        )
        return registered

    def _store(self, registered: RegisteredFunction, override: bool) -> None:
        name, path = registered.metadata.name, registered.metadata.ns_path
        old = self.functions.get(name)
        if old is not None and old.metadata.ns_path != path:
            self._drop_path(old.metadata.ns_path)
        previous = self.context.index.lookup(path)
        if isinstance(previous, RegisteredFunction) and previous.metadata.name != name:
            self.functions.pop(previous.metadata.name, None)
        self.context.index.register(path, registered, override=True)
        self.functions[name] = registered
        self.namespace_map[path] = name

    def unregister(self, name: str, *, principal: Principal | str | None = None) -> None:
        """Remove a function; a principal, when given, needs MODIFY."""
        registered = self._resolve(name)
        if principal is not None:
            self._require(registered, as_principal(principal), FunctionPermission.MODIFY)
        del self.functions[registered.metadata.name]
        self._drop_path(registered.metadata.ns_path)
        self.context.audit.record(
            AuditAction.UNREGISTER,
            "function",
            registered.metadata.name,
            principal=as_principal(principal) if principal else None,
        )

    # -- lookup -------------------------------------------------------------------------------
    def get(self, name: str, *, principal: Principal | str | None = None) -> RegisteredFunction:
        """A function by name or full namespace path.

        Raises:
            RegistryNotFoundError: nothing is registered under that name (close names suggested).
            RegistryPermissionError: ``principal`` given and not allowed to VIEW it.
        """
        return self._read(self._resolve(name), principal)

    def get_by_namespace(
        self, ns_path: str, *, principal: Principal | str | None = None
    ) -> RegisteredFunction:
        """The function at an exact namespace path (see :meth:`get` for the errors)."""
        return self._read(self._at_path(ns_path), principal)

    def find_by_tag(
        self, tag: str, *, principal: Principal | str | None = None
    ) -> list[RegisteredFunction]:
        """Functions carrying ``tag``, sorted by namespace path."""
        return self._found(self._tagged(tag), f"tag:{tag}", principal)

    def find_by_namespace(
        self, pattern: str, *, segments: bool = False, principal: Principal | str | None = None
    ) -> list[RegisteredFunction]:
        """Functions whose path matches the glob ``pattern`` (``fnmatch``: ``*`` crosses dots;
        ``segments=True``: ``*`` stays in one segment and ``**`` crosses), sorted by path."""
        return self._found(self._glob(pattern, segments), pattern, principal)

    def list_all(self, *, principal: Principal | str | None = None) -> list[RegisteredFunction]:
        """Every function (that ``principal`` may VIEW, when given), sorted by path."""
        return self._visible(
            sorted(self.functions.values(), key=lambda f: f.metadata.ns_path), principal
        )

    def stats(self, name: str) -> CallStats:
        """Call statistics of a function."""
        return self._resolve(name).stats

    # -- execution ----------------------------------------------------------------------------
    async def execute(
        self,
        name: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        principal: Principal | str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the limit also bounds a worker thread
    ) -> Any:
        """Run a function after checking that ``principal`` (anonymous when None) may EXECUTE it.

        Arguments are validated against the annotations (``config.validate_arguments``) so that
        values from an HTTP request are coerced (``"2"`` to ``2``) or refused. Coroutine functions
        are awaited; plain functions run in a worker thread (``config.run_sync_in_thread``) so that
        a slow one does not stall the event loop. ``timeout`` (default ``config.execution_timeout``)
        bounds the wait.

        Raises:
            RegistryNotFoundError, RegistryPermissionError, RegistryValidationError: as named.
            FunctionTimeoutError: the call took longer than ``timeout``.
            FunctionExecutionError: the function raised (the original is ``__cause__``).
        """
        registered = self._resolve(name)
        who = as_principal(principal)
        self._require(registered, who, FunctionPermission.EXECUTE, action=AuditAction.EXECUTE)
        if not isinstance(args, Sequence) or isinstance(args, str | bytes):
            raise RegistryValidationError(
                f"arguments of {registered.metadata.ns_path} must be a list, got "
                f"{type(args).__name__}"
            )
        kw = dict(kwargs or {})
        limit = self.config.execution_timeout if timeout is None else timeout
        target = registered.func
        if self.config.validate_arguments:
            target = registered.validated_callable() or target
        start = time.perf_counter()
        ok = False
        try:
            if registered.metadata.is_async:
                result = await asyncio.wait_for(target(*args, **kw), limit)
            elif self.config.run_sync_in_thread:
                result = await asyncio.wait_for(asyncio.to_thread(target, *args, **kw), limit)
            else:
                result = target(*args, **kw)
            ok = True
        except TimeoutError as exc:
            raise FunctionTimeoutError(
                f"function {registered.metadata.ns_path} did not finish within {limit}s; raise "
                "the timeout or make the function faster",
                details={"function": registered.metadata.ns_path, "timeout": limit},
            ) from exc
        except ValidationError as exc:
            raise RegistryValidationError.from_pydantic(
                exc, subject=f"arguments of {registered.metadata.ns_path}"
            ) from None
        except Exception as exc:
            raise FunctionExecutionError(
                f"function {registered.metadata.ns_path} raised {type(exc).__name__}: "
                f"{redact_text(str(exc))}",
                details={"function": registered.metadata.ns_path, "error_type": type(exc).__name__},
            ) from exc
        finally:
            registered.record_call(time.perf_counter() - start, ok)
            self.context.audit.record(
                AuditAction.EXECUTE,
                "function",
                registered.metadata.name,
                principal=who,
                details={"ok": ok},
            )
        return result

    # -- internals ----------------------------------------------------------------------------
    def _read(
        self, registered: RegisteredFunction, principal: Principal | str | None
    ) -> RegisteredFunction:
        """``registered`` after checking VIEW (when ``principal`` is given); audited."""
        who = _who(principal)
        if who is not None:
            self._require(registered, who, FunctionPermission.VIEW)
        self.context.read(AuditAction.ACCESS, "function", registered.metadata.name, who)
        return registered

    def _require(
        self,
        registered: RegisteredFunction,
        who: Principal,
        permission: FunctionPermission,
        action: AuditAction = AuditAction.ACCESS,
    ) -> None:
        if registered.can(who, permission):
            return
        raise self._deny(
            who,
            permission.value,
            registered.metadata.ns_path,
            audit_name=registered.metadata.name,
            audit_details={"permission": permission.value, "operation": action.value},
            error_details={"function": registered.metadata.ns_path, "permission": permission.value},
        )

    def _visible(
        self, items: list[RegisteredFunction], principal: Principal | str | None
    ) -> list[RegisteredFunction]:
        if principal is None:
            return items
        who = as_principal(principal)
        return [f for f in items if f.can(who, FunctionPermission.VIEW)]
