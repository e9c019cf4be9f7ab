"""A catastrophic ``$regex`` ends in a clear error within its bound, without holding the event
loop, where xrepo evaluates patterns itself: memory, SQLite (its ``xr_regexp`` function) and a
JSON file repository (the memory engine over the file)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from xobj_prototype import XObjPrototype
from xrepo import (
    ConnectedFileRepo,
    ConnectedSQLRepo,
    MaterializedRepo,
    XRepo,
    XRepoQueryError,
    XRepoValidationError,
)
from xrepo.compile import BoundedPattern, compile_filter
from xrepo.query import FilterLimits, RegexBoundExceeded, parse_filter
from xresource import ResourceFactory

#: Exponential backtracking for Python's re and the regex module alike: (a+)+$ on "aaa...!".
CATASTROPHIC = "(a+)+$"
VICTIM = "a" * 5000 + "!"
LIMITS = FilterLimits(regex_timeout=0.2)


class Doc(XObjPrototype):
    id: int | None = None
    name: str
    tags: list[str] = []


ROWS = [
    {"id": 1, "name": "Alice", "tags": ["x"]},
    {"id": 2, "name": VICTIM, "tags": [VICTIM]},
    {"id": 3, "name": "bob", "tags": []},
]


@contextlib.asynccontextmanager
async def open_repo(kind: str, tmp_path: Path) -> AsyncIterator[XRepo[Any]]:
    if kind == "memory":
        yield MaterializedRepo(model_class=Doc, data=ROWS, name="docs", limits=LIMITS)
        return
    if kind == "json":
        resource = ResourceFactory.create(
            "json", path=str(tmp_path / "docs.json"), create_if_missing=True
        )
    else:
        resource = ResourceFactory.from_url(f"sqlite:///{tmp_path / 'docs.db'}")
        await resource.connect()
        await resource.execute(  # type: ignore[attr-defined]
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, name TEXT, tags TEXT)"
        )
    try:
        # The constructors take limits= (XRepoFactory.create(..., limits=) passes it on too).
        repo: XRepo[Any]
        if kind == "json":
            repo = ConnectedFileRepo(resource=resource, model_class=Doc, name="docs", limits=LIMITS)
        else:
            repo = ConnectedSQLRepo(
                resource=resource, model_class=Doc, table="docs", name="docs", limits=LIMITS
            )
        await repo.bulk_create(ROWS)
        yield repo
    finally:
        with contextlib.suppress(Exception):
            await resource.disconnect()


@pytest.fixture(params=["memory", "sqlite", "json"])
async def repo(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[XRepo[Any]]:
    async with open_repo(request.param, tmp_path) as r:
        yield r


async def _while_ticking(work: Any) -> tuple[BaseException | None, int]:
    """Run ``work`` (a coroutine) while another task ticks every 10 ms: the ticks show the
    event loop went on (a deadline of 10 s makes a hang a failure)."""
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    error: BaseException | None = None
    try:
        await asyncio.wait_for(work, 10)
    except XRepoQueryError as exc:
        error = exc
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    return error, ticks


@pytest.mark.parametrize("operation", ["list", "count", "distinct", "aggregate"])
async def test_catastrophic_regex_is_a_clear_error_and_the_loop_runs(
    repo: XRepo[Any], operation: str
) -> None:
    flt = {"name": {"$regex": CATASTROPHIC}}
    work = {
        "list": lambda: repo.list(filters=flt),
        "count": lambda: repo.count(filters=flt),
        "distinct": lambda: repo.distinct("name", filters=flt),
        "aggregate": lambda: repo.aggregate([{"$match": flt}]),
    }[operation]()
    error, ticks = await _while_ticking(work)
    assert isinstance(error, RegexBoundExceeded), error
    assert error.field == "name"
    assert error.bound == 0.2
    assert "$regex '(a+)+$' on field 'name'" in str(error)
    assert "0.2 s" in str(error)
    assert "[repo 'docs']" in str(error)
    assert ticks > 0
    # The repository answers the next query as before.
    assert await asyncio.wait_for(repo.count(filters={"name": {"$regex": "^b"}}), 10) == 1


async def test_catastrophic_regex_on_a_list_field(repo: XRepo[Any]) -> None:
    error, ticks = await _while_ticking(repo.list(filters={"tags": {"$regex": CATASTROPHIC}}))
    assert isinstance(error, RegexBoundExceeded), error
    assert error.field == "tags"
    assert ticks > 0


async def test_ordinary_regexes_still_match(repo: XRepo[Any]) -> None:
    found = await repo.list(filters={"name": {"$regex": "^al", "$options": "i"}})
    assert [r.id for r in found] == [1]
    found = await repo.list(filters={"name": {"$regex": "b$"}})
    assert [r.id for r in found] == [3]


def test_bounded_pattern_gives_up_and_names_field_and_bound() -> None:
    pattern = BoundedPattern("title", CATASTROPHIC, "", 0.05)
    with pytest.raises(RegexBoundExceeded, match=r"field 'title'.*0\.05 s") as info:
        pattern.search(VICTIM)
    assert isinstance(info.value, XRepoQueryError)
    assert info.value.details["bound"] == 0.05
    assert pattern.search("xaaa") is not None


def test_a_long_pattern_is_shortened_in_the_message() -> None:
    long = "(a+)+" + "b?" * 100 + "$"
    with pytest.raises(RegexBoundExceeded) as info:
        BoundedPattern("f", long, "", 0.05).search(VICTIM)
    assert long not in str(info.value)
    assert "..." in str(info.value)


def test_compiled_filter_uses_the_bound() -> None:
    node = parse_filter({"f": {"$regex": CATASTROPHIC}})
    run = compile_filter(node, regex_timeout=0.05)
    with pytest.raises(RegexBoundExceeded):
        run([{"f": VICTIM}])
    assert run([{"f": "xa"}, {"f": "b"}]) == [{"f": "xa"}]


def test_regex_semantics_stay_re_compatible() -> None:
    """VERSION0: simple case folding (no ß -> ss expansion), re's \\w and inline flags."""
    run = compile_filter(parse_filter({"f": {"$regex": "^STRASSE$", "$options": "i"}}))
    assert run([{"f": "straße"}, {"f": "strasse"}]) == [{"f": "strasse"}]
    run = compile_filter(parse_filter({"f": {"$regex": "^\u03c3+$", "$options": "i"}}))
    assert run([{"f": "ΣσΣ"}]) == [{"f": "ΣσΣ"}]
    run = compile_filter(parse_filter({"f": {"$regex": r"^\w+$"}}))
    assert run([{"f": "héllo_1"}, {"f": "a-b"}]) == [{"f": "héllo_1"}]


@pytest.mark.parametrize("bad", [0, -1, "1", None, True, float("nan")])
def test_regex_timeout_must_be_a_positive_number(bad: Any) -> None:
    with pytest.raises(XRepoValidationError, match="regex_timeout"):
        FilterLimits(regex_timeout=bad)
