""":class:`FunctionRegistry`: registration, lookup, permissions and audited execution of
functions.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, overload

from pydantic import ValidationError

from xobj_prototype import redact_text
from xregistry._context import RegistryContext
from xregistry._entries import EntryRegistry
from xregistry._shared import check_name, tags_of
from xregistry._shared import optional_principal as _who
from xregistry.audit import AuditAction
from xregistry.config import FunctionRegistryConfig
from xregistry.errors import (
    FunctionExecutionError,
    FunctionTimeoutError,
    RegistryValidationError,
)
from xregistry.functions._registered import (
    CallStats,
    FunctionMetadata,
    RegisteredFunction,
    _describe,
    _tracked_async,
    _tracked_sync,
    _Tracker,
)
from xregistry.permissions import (
    FunctionPermission,
    Principal,
    as_principal,
    normalize_permissions,
)

F = TypeVar("F", bound=Callable[..., Any])


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
            registered_by=who.display_id if who else "system",
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
