"""``XRepoFactory.create(data=..., schema=...)`` as the specification writes it: no name needed."""

from __future__ import annotations

import pytest

from xrepo import MaterializedRepo, XRepoConfigurationError, XRepoFactory, XRepoValidationError

SCHEMA = {
    "fields": {
        "id": {"type": "int", "required": True},
        "name": {"type": "str", "required": True},
    }
}


async def test_a_schema_without_a_source_name_needs_no_name() -> None:
    repo = await XRepoFactory.create(
        data=[{"id": 1, "name": "Ådne "}, {"id": 2, "name": "bob"}], schema=SCHEMA
    )
    assert isinstance(repo, MaterializedRepo)
    assert repo.model_class.__name__ == "Record"
    assert [r.name for r in await repo.list({"name": "Ådne "})] == ["Ådne "]


async def test_the_schema_still_validates_the_data() -> None:
    with pytest.raises(
        XRepoValidationError, match=r"item 0\): id: Input should be a valid integer"
    ):
        await XRepoFactory.create(data=[{"id": "not a number", "name": "x"}], schema=SCHEMA)


async def test_a_schema_without_fields_is_a_clear_error() -> None:
    with pytest.raises(XRepoConfigurationError, match="'fields' mapping"):
        await XRepoFactory.create(data=[{"id": 1}], schema={"table": "t"})
