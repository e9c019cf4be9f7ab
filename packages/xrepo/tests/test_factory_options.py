"""``XRepoFactory.create`` options: an option nothing reads is an error naming it (and the
closest known one), and the repositories' constructor options (``limits=FilterLimits(...)``,
``ns=``) reach the repository whichever strategy builds it: memory data, a JSON or CSV file, an
SQLite table, a snapshot of one (``materialized=True``), ``create_from_resource`` and
``ConnectedRepo``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from xobj_prototype import XObjPrototype
from xrepo import (
    ConnectedRepo,
    MaterializedRepo,
    RepoCreationStrategy,
    RepoMetadata,
    XRepo,
    XRepoConfigurationError,
    XRepoFactory,
    XRepoValidationError,
)
from xrepo.cache import CacheManager
from xrepo.factory import CREATE_OPTIONS
from xrepo.query import FilterLimits, RegexBoundExceeded
from xrepo.secure import SecureRepo
from xresource import ResourceFactory


class Doc(XObjPrototype):
    id: int | None = None
    name: str
    tags: list[str] = []


ROWS = [{"id": i, "name": f"doc{i}", "tags": ["a"]} for i in range(1, 6)]
#: Tighter than the defaults (500 characters, 10,000 $in values): a repository built without
#: these limits accepts the filters below.
LIMITS = FilterLimits(max_regex_length=8, max_in_values=3)
LONG_REGEX = {"name": {"$regex": "^doc[0-9]+$"}}  # 11 characters
MANY_IN = {"id": {"$in": [1, 2, 3, 4]}}


@contextlib.asynccontextmanager
async def sqlite_table(tmp_path: Path) -> AsyncIterator[Any]:
    db = ResourceFactory.from_url(f"sqlite:///{tmp_path / 'docs.db'}")
    await db.connect()
    try:
        await db.execute(  # type: ignore[attr-defined]
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, name TEXT, tags TEXT)"
        )
        seed = await XRepoFactory.create(resource=db, model_class=Doc, collection="docs")
        await seed.bulk_create(ROWS)
        yield db
    finally:
        await db.disconnect()


def subdir(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


@contextlib.asynccontextmanager
async def built(kind: str, tmp_path: Path, **options: Any) -> AsyncIterator[XRepo[Any]]:
    """A repository of ``ROWS`` built by ``XRepoFactory.create`` through the strategy ``kind``
    names, with ``options``."""
    if kind == "memory":
        yield await XRepoFactory.create(data=ROWS, model_class=Doc, name="docs", **options)
        return
    if kind == "inferred":  # no model_class: the model is generated from the data
        yield await XRepoFactory.create(data=ROWS, name="docs", **options)
        return
    if kind in ("json", "csv"):
        resource = ResourceFactory.create(
            kind, path=str(tmp_path / f"docs.{kind}"), create_if_missing=True
        )
        repo = await XRepoFactory.create(resource=resource, model_class=Doc, name="docs", **options)
        await repo.bulk_create(ROWS)
        yield repo
        return
    async with sqlite_table(tmp_path) as db:
        if kind == "sqlite":
            yield await XRepoFactory.create(
                resource=db, model_class=Doc, collection="docs", **options
            )
        elif kind == "sqlite-snapshot":
            yield await XRepoFactory.create(
                resource=db, model_class=Doc, collection="docs", materialized=True, **options
            )
        else:  # create_from_resource: XInspector discovers the schema
            yield await XRepoFactory.create_from_resource(
                db, model_class=Doc, collection="docs", **options
            )


KINDS = ["memory", "inferred", "json", "csv", "sqlite", "sqlite-snapshot", "from-resource"]


# -- limits= reaches the repository --------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
async def test_limits_reach_the_repository(kind: str, tmp_path: Path) -> None:
    async with built(kind, subdir(tmp_path, "default")) as default:
        # The defaults accept both filters: what follows is the limits' doing.
        assert await default.count(LONG_REGEX) == 5
        assert await default.count(MANY_IN) == 4
    async with built(kind, subdir(tmp_path, "limited"), limits=LIMITS) as repo:
        with pytest.raises(XRepoValidationError, match="regex longer than 8 characters"):
            await repo.list(LONG_REGEX)
        with pytest.raises(XRepoValidationError, match="limit of 3"):
            await repo.count(MANY_IN)
        assert await repo.count({"name": {"$regex": "^doc1$"}}) == 1


async def test_regex_timeout_from_the_factory_bounds_a_catastrophic_pattern() -> None:
    # The documented use of limits=: the time bound of one $regex evaluation (memory engine).
    victim = {"id": 99, "name": "a" * 5000 + "!"}
    repo = await XRepoFactory.create(
        data=[*ROWS, victim],
        model_class=Doc,
        name="docs",
        limits=FilterLimits(regex_timeout=0.05),
    )
    with pytest.raises(RegexBoundExceeded, match=r"bound of 0\.05 s") as info:
        await asyncio.wait_for(repo.list({"name": {"$regex": "(a+)+$"}}), 10)
    assert info.value.bound == 0.05


async def test_limits_stay_with_a_secure_repo() -> None:
    repo = await XRepoFactory.create(
        data=ROWS,
        model_class=Doc,
        name="docs",
        limits=LIMITS,
        cache=CacheManager.memory(),
        ns="app.repos.docs",
    )
    assert isinstance(repo, SecureRepo)
    with pytest.raises(XRepoValidationError, match="regex longer than 8"):
        await repo.list(LONG_REGEX)
    assert repo.get_ns() == "app.repos.docs"
    assert repo.inner.get_ns() == "app.repos.docs"


@pytest.mark.parametrize("kind", ["memory", "json", "sqlite"])
async def test_ns_reaches_the_repository(kind: str, tmp_path: Path) -> None:
    async with built(kind, tmp_path, ns="app.repos.docs") as repo:
        assert repo.get_ns() == "app.repos.docs"


@pytest.mark.parametrize("bad", [{"max_regex_length": 8}, "max_regex_length=8", 8, FilterLimits])
async def test_limits_of_the_wrong_type_are_refused(bad: Any, tmp_path: Path) -> None:
    with pytest.raises(XRepoConfigurationError, match="limits must be a FilterLimits"):
        await XRepoFactory.create(data=ROWS, model_class=Doc, limits=bad)
    async with sqlite_table(tmp_path) as db:
        with pytest.raises(XRepoConfigurationError, match="limits must be a FilterLimits"):
            await XRepoFactory.create(resource=db, model_class=Doc, collection="docs", limits=bad)


# -- an option nothing reads is an error ----------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "meant"),
    [
        ("cache_tll", "cache_ttl"),
        ("soft_delet", "soft_delete"),
        ("limit", "limits"),
        ("modelclass", "model_class"),
        ("enable_audits", "enable_audit"),
        ("colection", "collection"),
    ],
)
@pytest.mark.parametrize("kind", ["memory", "json", "sqlite", "sqlite-snapshot", "from-resource"])
async def test_unknown_option_names_it_and_the_closest_one(
    kind: str, option: str, meant: str, tmp_path: Path
) -> None:
    with pytest.raises(XRepoConfigurationError) as info:
        async with built(kind, tmp_path, **{option: 5}):
            pass
    message = str(info.value)
    assert f"unknown option(s) of XRepoFactory.create(): {option!r} (did you mean {meant!r}?)" in (
        message
    )
    assert "limits" in message  # the known options are listed


@pytest.mark.parametrize("option", ["völlig_unbekannt", " ", "", "x" * 300, "cache ttl"])
async def test_hostile_option_names_are_refused_by_name(option: str) -> None:
    with pytest.raises(XRepoConfigurationError, match="unknown option") as info:
        await XRepoFactory.create(data=ROWS, model_class=Doc, **{option: True})
    assert repr(option) in str(info.value)


async def test_every_documented_option_is_accepted(tmp_path: Path) -> None:
    # Each RepoMetadata field but name/collection/indexes is also a keyword of create().
    assert {*RepoMetadata.model_fields} - {"name", "collection", "indexes"} <= CREATE_OPTIONS
    assert {"limits", "ns", "acl", "audit", "cache", "cache_ttl"} <= CREATE_OPTIONS
    repo = await XRepoFactory.create(
        data=ROWS, model_class=Doc, name="docs", max_limit=2, description="the docs"
    )
    assert len(await repo.list()) == 2  # max_limit was dropped before
    assert repo.metadata.description == "the docs"


async def test_a_metadata_keyword_beside_metadata_is_an_error() -> None:
    # Before, soft_delete=False next to metadata= was silently ignored.
    with pytest.raises(XRepoConfigurationError, match=r"\['soft_delete'\] given both"):
        await XRepoFactory.create(
            data=ROWS, model_class=Doc, metadata=RepoMetadata(name="docs"), soft_delete=False
        )


async def test_create_from_resource_with_metadata_takes_its_id_field(tmp_path: Path) -> None:
    # The schema's primary key fills in id_field only when no metadata= says it.
    async with sqlite_table(tmp_path) as db:
        repo = await XRepoFactory.create_from_resource(
            db, model_class=Doc, collection="docs", metadata=RepoMetadata(name="docs")
        )
        assert repo.id_field == "id"
        assert await repo.count() == 5


async def test_connected_repo_refuses_unknown_options(tmp_path: Path) -> None:
    async with sqlite_table(tmp_path) as db:
        with pytest.raises(XRepoConfigurationError, match=r"'tabel' \(did you mean 'table'\?\)"):
            ConnectedRepo(None, db, Doc, tabel="docs")
        with pytest.raises(XRepoConfigurationError, match="'acl'"):
            ConnectedRepo(None, db, Doc, table="docs", acl=[])  # securing is the factory's
        repo = ConnectedRepo(None, db, Doc, table="docs", limits=LIMITS)
        with pytest.raises(XRepoValidationError, match="regex longer than 8"):
            await repo.list(LONG_REGEX)


async def test_secure_refuses_unknown_options() -> None:
    plain = MaterializedRepo(model_class=Doc, data=ROWS)
    with pytest.raises(XRepoConfigurationError, match=r"'acls' \(did you mean 'acl'\?\)"):
        XRepoFactory.secure(plain, acls=[])


# -- strategies of one's own -----------------------------------------------------------------------
class _Fixtures(RepoCreationStrategy):
    """A strategy as the specification writes one: it reads what it likes."""

    priority = 1000

    def can_handle(self, **inputs: Any) -> bool:
        return inputs.get("fixture") is not None

    async def create_repo(self, **inputs: Any) -> XRepo[Any]:
        return MaterializedRepo(model_class=Doc, data=ROWS[: inputs.get("size", 5)])


class _Declared(_Fixtures):
    """A strategy that names its options: create() refuses the others."""

    options = CREATE_OPTIONS | {"fixture", "size"}


async def test_a_strategy_without_declared_options_reads_any() -> None:
    strategy = _Fixtures()
    XRepoFactory.register_strategy(strategy)
    try:
        repo = await XRepoFactory.create(fixture="docs", size=2)
        assert await repo.count() == 2
        # Not this strategy's inputs: the built-in ones check theirs.
        with pytest.raises(XRepoConfigurationError, match="'size'"):
            await XRepoFactory.create(data=ROWS, model_class=Doc, size=2)
    finally:
        XRepoFactory.unregister_strategy(strategy)


async def test_a_strategy_with_declared_options_gets_only_those() -> None:
    strategy = _Declared()
    XRepoFactory.register_strategy(strategy)
    try:
        assert await (await XRepoFactory.create(fixture="docs", size=3)).count() == 3
        with pytest.raises(XRepoConfigurationError, match=r"'sise' \(did you mean 'size'\?\)"):
            await XRepoFactory.create(fixture="docs", sise=3)
    finally:
        XRepoFactory.unregister_strategy(strategy)
