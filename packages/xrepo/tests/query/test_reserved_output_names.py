"""Output names the SQL compilers could mistake for their own helper columns: ``__`` and
``__rn_f`` are ordinary names on every backend; ``__xr_...`` is reserved and refused everywhere
(the same answer on every backend, never a silently dropped field)."""

from __future__ import annotations

import pytest

from xobj_prototype import XObjPrototype
from xrepo import MaterializedRepo, XRepoQueryError, XRepoValidationError
from xrepo.query import RESERVED_PREFIX, parse_pipeline


class Row(XObjPrototype):
    id: int
    g: str
    v: int


ROWS = [{"id": i, "g": "ab"[i % 2], "v": i} for i in range(6)]


@pytest.mark.parametrize("name", ["__", "__rn_f", "__push0", "__u1", "_", "FALSE"])
async def test_names_like_helper_columns_are_ordinary_outputs(name: str) -> None:
    repo = MaterializedRepo(model_class=Row, data=ROWS)
    got = await repo.aggregate(
        [{"$group": {"_id": "$g", name: {"$sum": "$v"}}}, {"$sort": {"_id": 1}}]
    )
    assert got == [{"_id": "a", name: 6}, {"_id": "b", name: 9}]


@pytest.mark.parametrize(
    "stage",
    [
        {"$group": {"_id": "$g", f"{RESERVED_PREFIX}x": {"$sum": "$v"}}},
        {"$project": {f"{RESERVED_PREFIX}rn_f": "$v"}},
        {"$count": f"{RESERVED_PREFIX}n"},
    ],
)
def test_the_reserved_prefix_is_refused_by_name(stage: dict[str, object]) -> None:
    with pytest.raises((XRepoValidationError, XRepoQueryError), match="reserved"):
        parse_pipeline([stage])
