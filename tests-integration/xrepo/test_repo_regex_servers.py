"""A catastrophic ``$regex`` on the databases that run regexes themselves: MariaDB's PCRE2 gives
up at its match limit (reported by the server only as a warning, the row silently not matching),
which must be a clear ``RegexBoundExceeded``; PostgreSQL and MongoDB answer in time. Each query has
a deadline: a hang is a failure."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from repo_backends import backend_urls, open_backend

from xrepo.query import RegexBoundExceeded

VICTIM = "a" * 150 + "!"  # the title column holds 200 characters on MariaDB
DOCS = [
    {"id": 1, "owner": "u1", "title": VICTIM},
    {"id": 2, "owner": "u2", "title": "aaa"},
]


async def test_mariadb_match_limit_is_a_clear_error(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
) -> None:
    async with open_backend(
        "mysql", name=unique_name, tmp_path=tmp_path, urls=backend_urls(request), docs=DOCS
    ) as (repo, _, _):
        for pattern in ("(a+)+$", "(a|aa)+$"):
            with pytest.raises(RegexBoundExceeded) as info:
                await asyncio.wait_for(repo.count(filters={"title": {"$regex": pattern}}), 30)
            error = info.value
            assert error.field == "title"
            assert error.pattern == pattern
            assert "MariaDB's regular expression match limit" in str(error)
            assert f"[repo {unique_name!r}] count:" in str(error)
        # An ordinary pattern on the same rows still answers.
        assert await asyncio.wait_for(repo.count(filters={"title": {"$regex": "^a+$"}}), 30) == 1


@pytest.mark.parametrize("kind", ["postgresql", "mongodb"])
async def test_server_side_engines_answer_catastrophic_patterns_in_time(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str, kind: str
) -> None:
    async with open_backend(
        kind, name=unique_name, tmp_path=tmp_path, urls=backend_urls(request), docs=DOCS
    ) as (repo, _, _):
        for pattern in ("(a+)+$", "(a|aa)+$", "(a|a)+$"):
            found = await asyncio.wait_for(repo.count(filters={"title": {"$regex": pattern}}), 30)
            assert found == 1  # "aaa" matches, the victim (ending in "!") does not
