"""Shared fixtures of the xobj-prototype unit tests."""

from __future__ import annotations

import pytest

from xobj_prototype import NamespaceIndex

# The registry document's own examples, plus neighbours that a sloppy glob would wrongly return.
REGISTRY_PATHS = (
    "ns.functions.math.basic.add",
    "ns.functions.math.basic.subtract",
    "ns.functions.math.advanced.power",
    "ns.functions.mathematics.add",
    "ns.functions.text.format.add",
    "ns.functions.perf.test5.func_1",
    "ns.functions.perf.test5.func_2",
    "ns.functions.perf.test50.func_1",
    "ns.models.user.User",
    "ns.models.users.User",
    "ns.models.shop.orders.Order",
    "ns.types.geo.Coord",
    "ns.types.geo.Zip",
)


@pytest.fixture
def registry_paths() -> tuple[str, ...]:
    return REGISTRY_PATHS


@pytest.fixture
def index() -> NamespaceIndex[str]:
    """An index holding REGISTRY_PATHS, each value being the path's last segment."""
    idx: NamespaceIndex[str] = NamespaceIndex()
    for path in REGISTRY_PATHS:
        idx.register(path, path.rsplit(".", 1)[-1])
    return idx
