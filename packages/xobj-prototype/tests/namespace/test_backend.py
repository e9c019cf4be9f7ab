"""MemoryNamespace: the async namespace interface on a NamespaceIndex."""

from __future__ import annotations

from typing import Any

import pytest

from xobj_prototype import (
    MemoryNamespace,
    NamespaceBackend,
    NamespaceIndex,
    XConflictError,
    XNotFoundError,
    XValidationError,
)


@pytest.fixture
async def ns() -> MemoryNamespace:
    backend = MemoryNamespace()
    await backend.register("ns.functions.math.basic.add", "add")
    await backend.register("ns.functions.math.advanced.power", "power")
    await backend.register("ns.models.user.User", {"name": "User"})
    return backend


async def test_register_and_get(ns: MemoryNamespace) -> None:
    assert await ns.get("ns.functions.math.basic.add") == "add"
    assert await ns.get("ns.models.user.User") == {"name": "User"}


async def test_get_missing_without_default_raises_not_found(ns: MemoryNamespace) -> None:
    with pytest.raises(XNotFoundError, match=r"ns\.functions\.math\.basic\.ad"):
        await ns.get("ns.functions.math.basic.ad")


async def test_get_missing_with_a_default_returns_it(ns: MemoryNamespace) -> None:
    assert await ns.get("ns.nothing.here", None) is None
    assert await ns.get("ns.nothing.here", "fallback") == "fallback"


async def test_get_with_a_malformed_path_raises_even_with_a_default(ns: MemoryNamespace) -> None:
    with pytest.raises(XValidationError):
        await ns.get("ns..here", None)
    with pytest.raises(XValidationError):
        await ns.get(42)  # type: ignore[arg-type]


async def test_duplicate_register_conflicts_unless_override(ns: MemoryNamespace) -> None:
    with pytest.raises(XConflictError):
        await ns.register("ns.functions.math.basic.add", "other")
    assert await ns.get("ns.functions.math.basic.add") == "add"
    await ns.register("ns.functions.math.basic.add", "other", override=True)
    assert await ns.get("ns.functions.math.basic.add") == "other"


async def test_register_rejects_malformed_paths(ns: MemoryNamespace) -> None:
    with pytest.raises(XValidationError):
        await ns.register("ns.functions.", "x")
    assert await ns.find("*") == [
        "ns.functions.math.advanced.power",
        "ns.functions.math.basic.add",
        "ns.models.user.User",
    ]


async def test_find_uses_fnmatch_semantics_unless_segments(ns: MemoryNamespace) -> None:
    assert await ns.find("ns.functions.math.*") == [
        "ns.functions.math.advanced.power",
        "ns.functions.math.basic.add",
    ]
    assert await ns.find("ns.functions.math.*", segments=True) == []
    assert await ns.find("ns.functions.math.*.add", segments=True) == [
        "ns.functions.math.basic.add"
    ]
    assert await ns.find("*.User") == ["ns.models.user.User"]


async def test_find_rejects_bad_patterns(ns: MemoryNamespace) -> None:
    with pytest.raises(XValidationError):
        await ns.find("")


async def test_unregister_removes_the_path_and_its_keys(ns: MemoryNamespace) -> None:
    await ns.register_indirect("user", "ns.models.user.User")
    assert await ns.get_by_key("user") == {"name": "User"}
    await ns.unregister("ns.models.user.User")
    assert await ns.find("ns.models.*") == []
    with pytest.raises(XNotFoundError):
        await ns.resolve("user")
    with pytest.raises(XNotFoundError):
        await ns.unregister("ns.models.user.User")


async def test_list_prefix(ns: MemoryNamespace) -> None:
    assert await ns.list_prefix("ns.functions") == [
        "ns.functions.math.advanced.power",
        "ns.functions.math.basic.add",
    ]
    assert await ns.list_prefix("ns.function") == []


async def test_register_indirect_to_a_missing_path_fails(ns: MemoryNamespace) -> None:
    with pytest.raises(XNotFoundError):
        await ns.register_indirect("k", "ns.nothing")
    with pytest.raises(XValidationError):
        await ns.register_indirect("", "ns.models.user.User")


async def test_fuzzy_search_passes_arguments_through(ns: MemoryNamespace) -> None:
    hits = await ns.fuzzy_search("power")
    assert [h.path for h in hits] == ["ns.functions.math.advanced.power"]
    hits = await ns.fuzzy_search("math", "ns.functions.*", limit=1, cutoff=1.0)
    assert [h.path for h in hits] == ["ns.functions.math.advanced.power"]
    with pytest.raises(XValidationError):
        await ns.fuzzy_search("math", limit=0)


async def test_memory_namespace_shares_a_given_index() -> None:
    index: NamespaceIndex[Any] = NamespaceIndex()
    index.register("ns.shared", 1)
    backend = MemoryNamespace(index)
    assert await backend.get("ns.shared") == 1
    await backend.register("ns.shared2", 2)
    assert index.get("ns.shared2") == 2
    await backend.close()
    assert await backend.get("ns.shared2") == 2  # close() of the memory backend loses nothing


async def test_an_empty_index_passed_in_is_used_not_replaced() -> None:
    index: NamespaceIndex[Any] = NamespaceIndex()  # empty: falsy len, must still be kept
    backend = MemoryNamespace(index)
    await backend.register("ns.a", 1)
    assert index.get("ns.a") == 1


def test_the_backend_interface_is_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        NamespaceBackend()  # type: ignore[abstract]


class _DictBackend(NamespaceBackend):
    """The smallest possible backend, to check the interface's own default methods."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.keys: dict[str, str] = {}

    async def register(self, path: str, value: Any, *, override: bool = False) -> None:
        self.data[path] = value

    async def get(self, path: str, default: Any = None) -> Any:
        return self.data[path]

    async def unregister(self, path: str) -> None:
        del self.data[path]

    async def find(self, pattern: str, *, segments: bool = False) -> list[str]:
        return sorted(self.data)

    async def list_prefix(self, prefix: str) -> list[str]:
        return sorted(p for p in self.data if p.startswith(prefix + "."))

    async def register_indirect(self, key: str, path: str) -> None:
        self.keys[key] = path

    async def resolve(self, key: str) -> str:
        return self.keys[key]

    async def fuzzy_search(
        self, term: str, pattern: str = "*", *, limit: int = 10, cutoff: float = 0.6
    ) -> list[Any]:
        return []


async def test_default_get_by_key_resolves_then_gets() -> None:
    backend = _DictBackend()
    await backend.register("ns.a", "A")
    await backend.register_indirect("alias", "ns.a")
    assert await backend.get_by_key("alias") == "A"
    await backend.close()
