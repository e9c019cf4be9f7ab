"""The in-process cache backend: LRU bound, per-entry TTL on a fake clock, generations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xrepo.cache import MISSING, MemoryCacheBackend, XRepoCacheError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_least_recently_used_entry_is_evicted(clock: FakeClock) -> None:
    cache = MemoryCacheBackend(3, clock=clock)
    for name in "abc":
        await cache.store("r", 0, name, name.upper(), 60)
    assert (await cache.lookup("r", "a"))[1] == "A"  # "a" is now the most recent
    await cache.store("r", 0, "d", "D", 60)
    assert (await cache.lookup("r", "b"))[1] is MISSING
    assert [(await cache.lookup("r", k))[1] for k in "acd"] == ["A", "C", "D"]
    stats = cache.stats()
    assert (stats.entries, stats.evictions, stats.expirations) == (3, 1, 0)


async def test_each_entry_has_its_own_ttl(clock: FakeClock) -> None:
    cache = MemoryCacheBackend(10, clock=clock)
    await cache.store("r", 0, "short", 1, 5)
    await cache.store("r", 0, "long", 2, 50)
    clock.now += 5  # exactly at the deadline: expired
    assert (await cache.lookup("r", "short"))[1] is MISSING
    assert (await cache.lookup("r", "long"))[1] == 2
    clock.now += 100
    assert (await cache.lookup("r", "long"))[1] is MISSING
    assert cache.stats().expirations == 2
    assert len(cache) == 0


async def test_expired_entries_pushed_out_by_the_bound_count_as_expirations(
    clock: FakeClock,
) -> None:
    cache = MemoryCacheBackend(1, clock=clock)
    await cache.store("r", 0, "a", 1, 1)
    clock.now += 2
    await cache.store("r", 0, "b", 2, 1)
    assert (cache.stats().evictions, cache.stats().expirations) == (0, 1)


async def test_invalidate_drops_only_that_scope_and_bumps_its_generation(
    clock: FakeClock,
) -> None:
    cache = MemoryCacheBackend(10, clock=clock)
    await cache.store("users", 0, "q1", "u", 60)
    await cache.store("orders", 0, "q1", "o", 60)
    assert await cache.invalidate("users") == 1
    assert await cache.lookup("users", "q1") == (1, MISSING)
    assert await cache.lookup("orders", "q1") == (0, "o")
    assert len(cache) == 1


async def test_a_value_loaded_before_an_invalidation_is_not_stored(clock: FakeClock) -> None:
    cache = MemoryCacheBackend(10, clock=clock)
    generation, _ = await cache.lookup("users", "q")
    await cache.invalidate("users")  # a write happened while the value was being loaded
    await cache.store("users", generation, "q", "stale", 60)
    assert (await cache.lookup("users", "q"))[1] is MISSING


async def test_values_are_copies_by_default(clock: FakeClock) -> None:
    cache = MemoryCacheBackend(10, clock=clock)
    rows = [{"id": 1}]
    await cache.store("r", 0, "k", rows, 60)
    rows.append({"id": 2})
    got = (await cache.lookup("r", "k"))[1]
    got[0]["id"] = 99
    assert (await cache.lookup("r", "k"))[1] == [{"id": 1}]


async def test_copy_values_false_shares_the_object(clock: FakeClock) -> None:
    cache = MemoryCacheBackend(10, clock=clock, copy_values=False)
    marker = object()  # not even serializable: stored as is
    await cache.store("r", 0, "k", marker, 60)
    assert (await cache.lookup("r", "k"))[1] is marker


async def test_delete_drop_local_and_clear(clock: FakeClock) -> None:
    cache = MemoryCacheBackend(10, clock=clock)
    await cache.store("r", 0, "a", 1, 60)
    await cache.store("r", 0, "b", 2, 60)
    await cache.store("s", 0, "a", 3, 60)
    assert await cache.delete("r", "a") is True
    assert await cache.delete("r", "a") is False
    cache.drop_local("r", "b")
    assert (await cache.lookup("r", "b"))[1] is MISSING
    cache.drop_local("s", None)
    assert len(cache) == 0
    await cache.store("s", 1, "z", 1, 60)
    await cache.clear()
    assert len(cache) == 0


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "10", None])
def test_a_bad_bound_is_refused(bad: object) -> None:
    with pytest.raises(XRepoCacheError, match="max_entries"):
        MemoryCacheBackend(bad)  # type: ignore[arg-type]


def test_repr_shows_size_only() -> None:
    assert repr(MemoryCacheBackend(5)) == "MemoryCacheBackend(0/5 entries)"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["get", "set", "tick", "invalidate"]),
            st.integers(0, 5),
            st.integers(1, 5),
        ),
        max_size=60,
    )
)
def test_behaves_like_a_reference_lru_with_ttl(ops: list[tuple[str, int, int]]) -> None:
    """Model-based: the backend against a plain list-ordered reference implementation."""
    clock = FakeClock()
    cache = MemoryCacheBackend(3, clock=clock)
    model: dict[int, tuple[int, float]] = {}  # key -> (value, expires), insertion = LRU order
    for op, k, n in ops:
        if op == "tick":
            clock.now += n
        elif op == "invalidate":
            cache.drop_local("r", None)
            model.clear()
        elif op == "set":
            cache.store_now("r", cache._generations.get("r", 0), str(k), n, n)
            model.pop(k, None)
            model[k] = (n, clock.now + n)
            while len(model) > 3:
                del model[next(iter(model))]
        else:
            _, got = cache.lookup_now("r", str(k))
            entry = model.get(k)
            if entry is None or entry[1] <= clock.now:
                model.pop(k, None)
                assert got is MISSING
            else:
                assert got == entry[0]
                model[k] = model.pop(k)  # most recently used
