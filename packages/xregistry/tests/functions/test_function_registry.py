"""FunctionRegistry: the document's tests in Pydantic v2 form, plus execution, tracking and bad
input."""

from __future__ import annotations

import asyncio
import fnmatch
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xregistry import (
    AuditAction,
    FunctionExecutionError,
    FunctionPermission,
    FunctionRegistry,
    FunctionTimeoutError,
    Principal,
    RegisteredFunction,
    RegistryConflictError,
    RegistryNotFoundError,
    RegistryPermissionError,
    RegistryValidationError,
    XRegistry,
    XRegistryError,
    register_function,
)
from xregistry.config import FunctionRegistryConfig

ADMIN = Principal(id="ada", roles=frozenset({"admin"}))
USER = Principal(id="bob", roles=frozenset({"user"}))


# -- the document's examples ----------------------------------------------------------------------
def test_function_registration(function_registry: FunctionRegistry) -> None:
    @function_registry.register(namespace="test", tags={"test", "example"})
    def sample_function(x: int) -> int:
        """Sample function"""
        return x * 2

    assert "sample_function" in function_registry.functions
    registered = function_registry.functions["sample_function"]
    assert registered.metadata.namespace == "test"
    assert "test" in registered.metadata.tags
    assert registered.metadata.ns_path == "ns.functions.test.sample_function"
    assert registered.metadata.docstring == "Sample function"
    assert registered.metadata.parameters["x"].type == "int"
    assert registered.metadata.return_type == "int"
    assert sample_function(4) == 8


def test_function_permissions(function_registry: FunctionRegistry) -> None:
    @function_registry.register(
        permissions={
            "admin": {FunctionPermission.EXECUTE, FunctionPermission.MODIFY},
            "user": {FunctionPermission.VIEW},
        }
    )
    def secure_function() -> None:
        """Secure function"""

    registered = function_registry.functions["secure_function"]
    admin_perms = registered.metadata.permissions["admin"]
    assert FunctionPermission.EXECUTE in admin_perms
    assert FunctionPermission.MODIFY in admin_perms
    user_perms = registered.metadata.permissions["user"]
    assert FunctionPermission.VIEW in user_perms
    assert FunctionPermission.EXECUTE not in user_perms


def test_function_namespace_discovery(function_registry: FunctionRegistry) -> None:
    @function_registry.register(namespace="math.basic")
    def add(a, b):  # type: ignore[no-untyped-def]
        return a + b

    @function_registry.register(namespace="math.basic")
    def subtract(a, b):  # type: ignore[no-untyped-def]
        return a - b

    @function_registry.register(namespace="math.advanced")
    def power(base, exp):  # type: ignore[no-untyped-def]
        return base**exp

    basic = function_registry.find_by_namespace("ns.functions.math.basic.*")
    assert [f.metadata.name for f in basic] == ["add", "subtract"]
    # fnmatch semantics: `*` crosses dots.
    assert len(function_registry.find_by_namespace("ns.functions.math.*")) == 3
    # The segment-bounded spelling stays in one segment; `**` crosses.
    assert function_registry.find_by_namespace("ns.functions.math.*", segments=True) == []
    assert len(function_registry.find_by_namespace("ns.functions.**", segments=True)) == 3
    assert function_registry.get_by_namespace("ns.functions.math.advanced.power").func(2, 3) == 8


def test_document_decorator_examples(registry: XRegistry) -> None:
    @register_function()
    def calculate_tax(amount: float, rate: float) -> float:
        """Calculate tax for given amount and rate"""
        return amount * rate

    @register_function(namespace="finance.calculations", tags={"finance", "calculation", "tax"})
    def calculate_compound_interest(
        principal: float, rate: float, time: int, compound_frequency: int = 12
    ) -> float:
        """Calculate compound interest"""
        return principal * (1 + rate / compound_frequency) ** (compound_frequency * time)

    func = registry.functions.get_by_namespace(
        "ns.functions.finance.calculations.calculate_compound_interest"
    )
    assert func(1000, 0.05, 2) == pytest.approx(1104.94, abs=0.01)
    assert func.call_count == 1
    assert calculate_tax(100, 0.2) == pytest.approx(20.0)
    # No namespace: the function's module is the namespace.
    assert registry.functions.get("calculate_tax").metadata.ns_path == (
        f"ns.functions.{__name__}.calculate_tax"
    )
    params = func.metadata.parameters
    assert params["compound_frequency"].default == 12
    assert not params["compound_frequency"].required
    assert params["principal"].required
    assert [f.metadata.name for f in registry.functions.find_by_tag("tax")] == [
        "calculate_compound_interest"
    ]


# -- registration forms ---------------------------------------------------------------------------
def test_register_as_a_call_returns_the_registration(function_registry: FunctionRegistry) -> None:
    def double(x: int) -> int:
        return 2 * x

    registered = function_registry.register(double, namespace="util", name="twice")
    assert isinstance(registered, RegisteredFunction)
    assert registered.metadata.name == "twice"
    assert registered.func is double
    assert registered(3) == 6
    assert registered.call_count == 1


def test_decorator_keeps_the_function_usable_and_tracks_calls(
    function_registry: FunctionRegistry,
) -> None:
    @function_registry.register(namespace="util")
    def slow(x: int) -> int:
        """Slow."""
        time.sleep(0.01)
        return x

    assert slow.__name__ == "slow"
    assert slow.__doc__ == "Slow."
    for i in range(3):
        assert slow(i) == i
    stats = function_registry.stats("slow")
    assert stats.call_count == 3
    assert stats.error_count == 0
    assert stats.last_called is not None
    assert stats.min_duration is not None
    assert stats.min_duration >= 0.009
    assert stats.max_duration is not None
    assert stats.max_duration >= stats.min_duration
    assert stats.mean_duration == pytest.approx(stats.total_duration / 3)
    assert stats.median_duration is not None


async def test_async_functions_register_and_stay_async(
    function_registry: FunctionRegistry,
) -> None:
    @function_registry.register(namespace="io")
    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        return n + 1

    assert asyncio.iscoroutinefunction(fetch)
    assert await fetch(1) == 2
    registered = function_registry.get("fetch")
    assert registered.metadata.is_async
    assert registered.call_count == 1
    assert await function_registry.execute("fetch", [41]) == 42
    assert registered.call_count == 2


def test_register_function_uses_an_explicit_registry() -> None:
    mine = FunctionRegistry()

    @register_function(namespace="x", registry=mine)
    def f() -> int:
        return 1

    assert "f" in mine.functions


def test_call_history_is_bounded() -> None:
    reg = FunctionRegistry(config=FunctionRegistryConfig(max_call_history=5))

    @reg.register(namespace="x")
    def f() -> None:
        return None

    for _ in range(20):
        f()
    registered = reg.get("f")
    assert registered.call_count == 20
    assert len(registered._tracker.recent) == 5


def test_tracking_can_be_switched_off() -> None:
    reg = FunctionRegistry(config=FunctionRegistryConfig(track_execution=False))

    @reg.register(namespace="x")
    def f() -> None:
        return None

    f()
    assert reg.get("f").call_count == 0


# -- execution ------------------------------------------------------------------------------------
async def test_execute_checks_the_execute_permission(registry: XRegistry) -> None:
    @registry.functions.register(
        namespace="admin.operations",
        permissions={"admin": {"execute", "modify"}, "user": {"view"}},
    )
    def reset_user_password(user_id: str, new_password: str) -> bool:
        """Reset user password - admin only"""
        return bool(user_id and new_password)

    assert await registry.execute("reset_user_password", ["u1", "pw"], principal=ADMIN) is True
    with pytest.raises(RegistryPermissionError) as exc:
        await registry.execute("reset_user_password", ["u1", "pw"], principal=USER)
    assert "may not execute" in str(exc.value)
    assert isinstance(exc.value, PermissionError)
    with pytest.raises(RegistryPermissionError):
        await registry.execute("reset_user_password", ["u1", "pw"])  # anonymous
    denied = registry.audit.events(action=AuditAction.DENIED, name="reset_user_password")
    assert [e.principal for e in denied] == ["bob", "anonymous"]
    assert all(not e.allowed for e in denied)
    # VIEW is enough to see it, and execute implies view.
    assert registry.functions.get("reset_user_password", principal=USER).metadata.name
    assert registry.functions.find_by_namespace("ns.functions.admin.*", principal="guest") == []
    assert len(registry.functions.find_by_namespace("ns.functions.admin.*", principal=ADMIN)) == 1


async def test_execute_by_namespace_path_and_role_name(function_registry: FunctionRegistry) -> None:
    @function_registry.register(namespace="finance", permissions={"accountant": ["execute"]})
    def tax(amount: float, rate: float = 0.2) -> float:
        return amount * rate

    result = await function_registry.execute(
        "ns.functions.finance.tax", kwargs={"amount": 50}, principal="accountant"
    )
    assert result == pytest.approx(10.0)


async def test_execute_coerces_and_validates_arguments(function_registry: FunctionRegistry) -> None:
    @function_registry.register(namespace="math")
    def add(a: int, b: int) -> int:
        return a + b

    assert await function_registry.execute("add", ["2"], {"b": "3"}) == 5
    with pytest.raises(RegistryValidationError) as exc:
        await function_registry.execute("add", ["two"], {"b": 3})
    assert "arguments of ns.functions.math.add" in str(exc.value)
    assert exc.value.errors
    assert exc.value.errors[0]["loc"] == "0"
    with pytest.raises(RegistryValidationError):
        await function_registry.execute("add", "12")  # a string is not an argument list
    with pytest.raises(RegistryValidationError):
        await function_registry.execute("add", [1])  # missing argument


async def test_function_that_raises_is_wrapped_and_counted(
    function_registry: FunctionRegistry,
) -> None:
    @function_registry.register(namespace="bad")
    def explode(token: str) -> None:
        raise RuntimeError(f"cannot log in: password={token}")

    with pytest.raises(FunctionExecutionError) as exc:
        await function_registry.execute("explode", ["hunter2"])
    assert isinstance(exc.value.__cause__, RuntimeError)
    assert "ns.functions.bad.explode raised RuntimeError" in str(exc.value)
    assert "hunter2" not in str(exc.value)
    stats = function_registry.stats("explode")
    assert (stats.call_count, stats.error_count) == (1, 1)
    with pytest.raises(RuntimeError):
        explode("x")  # the decorator's wrapper re-raises the original
    assert function_registry.stats("explode").error_count == 2


async def test_execute_times_out(function_registry: FunctionRegistry) -> None:
    @function_registry.register(namespace="slow")
    async def wait() -> None:
        await asyncio.sleep(5)

    @function_registry.register(namespace="slow")
    def block() -> None:
        time.sleep(0.5)

    with pytest.raises(FunctionTimeoutError) as exc:
        await function_registry.execute("wait", timeout=0.05)
    assert isinstance(exc.value, TimeoutError)
    with pytest.raises(FunctionTimeoutError):
        await function_registry.execute("block", timeout=0.05)


async def test_sync_functions_run_off_the_event_loop(function_registry: FunctionRegistry) -> None:
    @function_registry.register(namespace="io")
    def blocking() -> float:
        time.sleep(0.5)
        return 1.0

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(100):
            await asyncio.sleep(0.01)
            ticks += 1

    async def run() -> int:
        await function_registry.execute("blocking")
        return ticks  # how often the loop ticked while the function slept

    ticking = asyncio.create_task(ticker())
    ticked_meanwhile = await run()
    ticking.cancel()
    # Had the function run on the loop, the ticker could not have run at all meanwhile.
    assert ticked_meanwhile >= 3


# -- bad input ------------------------------------------------------------------------------------
def test_duplicate_names_conflict_unless_overridden(function_registry: FunctionRegistry) -> None:
    def f() -> int:
        return 1

    def g() -> int:
        return 2

    function_registry.register(f, namespace="a")
    with pytest.raises(RegistryConflictError) as exc:
        function_registry.register(f, namespace="b")
    assert "already registered" in str(exc.value)
    with pytest.raises(RegistryConflictError):
        function_registry.register(g, name="f", namespace="a")
    replaced = function_registry.register(g, name="f", namespace="b", override=True)
    assert function_registry.get("f") is replaced
    assert function_registry.find_by_namespace("ns.functions.a.*") == []
    assert "ns.functions.a.f" not in function_registry.namespace_map


def test_unknown_names_are_clear_errors(function_registry: FunctionRegistry) -> None:
    @function_registry.register(namespace="math")
    def average(values: list[float]) -> float:
        return sum(values) / len(values)

    with pytest.raises(RegistryNotFoundError) as exc:
        function_registry.get("averag")
    assert "did you mean average" in str(exc.value)
    assert isinstance(exc.value, KeyError)
    assert isinstance(exc.value, XRegistryError)
    with pytest.raises(RegistryNotFoundError):
        function_registry.get_by_namespace("ns.functions.math.median")
    with pytest.raises(RegistryNotFoundError):
        function_registry.unregister("nope")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "has space"}, "not usable"),
        ({"name": "dot.ted"}, "not usable"),
        ({"namespace": "bad..ns"}, "empty segment"),
        ({"namespace": "drop table;"}, "may hold only"),
        ({"permissions": {"admin": {"launch"}}}, "unknown FunctionPermission"),
        ({"permissions": ["execute"]}, "must map role names"),
        ({"tags": {""}}, "tags must be non-empty"),
    ],
)
def test_bad_registrations_are_refused(
    function_registry: FunctionRegistry, kwargs: dict[str, object], message: str
) -> None:
    def f() -> None:
        return None

    with pytest.raises(RegistryValidationError) as exc:
        function_registry.register(f, **kwargs)  # type: ignore[arg-type]
    assert message in str(exc.value)
    assert function_registry.functions == {}


def test_non_callables_and_bad_patterns_are_refused(function_registry: FunctionRegistry) -> None:
    with pytest.raises(RegistryValidationError):
        function_registry.register(42)  # type: ignore[call-overload]
    with pytest.raises(RegistryValidationError):
        function_registry.find_by_namespace("")
    with pytest.raises(RegistryValidationError):
        function_registry.get(None)  # type: ignore[arg-type]


def test_callables_without_a_name_need_one(function_registry: FunctionRegistry) -> None:
    import functools

    part = functools.partial(pow, 2)
    with pytest.raises(RegistryValidationError):
        function_registry.register(part)
    registered = function_registry.register(part, name="pow2", namespace="math")
    assert registered(10) == 1024


def test_unregister_needs_modify(function_registry: FunctionRegistry) -> None:
    @function_registry.register(namespace="x", permissions={"admin": ["modify"], "*": ["execute"]})
    def f() -> None:
        return None

    with pytest.raises(RegistryPermissionError):
        function_registry.unregister("f", principal=USER)
    function_registry.unregister("f", principal=ADMIN)
    assert "f" not in function_registry.functions
    assert function_registry.find_by_namespace("ns.functions.x.*") == []


def test_registrations_are_audited(registry: XRegistry) -> None:
    @registry.functions.register(namespace="x")
    def f() -> None:
        return None

    events = registry.audit.events(kind="function", action="register")
    assert [(e.name, e.details["ns_path"]) for e in events] == [("f", "ns.functions.x.f")]
    assert events[0].timestamp.tzinfo is not None


def test_secret_defaults_are_not_kept_in_metadata(function_registry: FunctionRegistry) -> None:
    def connect(host: str = "db", password: str = "hunter2") -> None:
        return None

    registered = function_registry.register(connect, namespace="db")
    assert registered.metadata.parameters["password"].default is None
    assert registered.metadata.parameters["host"].default == "db"
    assert "hunter2" not in registered.model_dump_json()


_SEGMENTS = st.sampled_from(["math", "basic", "adv", "io", "a1", "x_y", "v2", "util"])


@settings(max_examples=40, deadline=None)
@given(
    namespaces=st.lists(st.lists(_SEGMENTS, min_size=1, max_size=3), min_size=1, max_size=25),
    pattern=st.sampled_from(
        [
            "ns.functions.math.*",
            "*.f3",
            "ns.functions.*.basic.*",
            "ns.functions.?o.*",
            "ns.functions.[a-m]*",
            "ns.*",
            "*",
            "ns.functions.util.f*",
            "ns.functions.v2.*.f1?",
        ]
    ),
)
def test_find_by_namespace_agrees_with_a_linear_fnmatch_scan(
    namespaces: list[list[str]], pattern: str
) -> None:
    registry = FunctionRegistry()
    for i, parts in enumerate(namespaces):
        registry.register(lambda: None, name=f"f{i}", namespace=".".join(parts))
    expected = sorted(p for p in registry.namespace_map if fnmatch.fnmatchcase(p, pattern))
    assert [f.metadata.ns_path for f in registry.find_by_namespace(pattern)] == expected
