"""Fixtures shared by the xresource unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xresource import ResourceFactory


@pytest.fixture
def isolated_factory() -> Iterator[None]:
    """The test starts with the built-in registry and empty settings, and leaves them so.

    Modules that register resource types or configure settings use it for every test
    (``pytestmark = pytest.mark.usefixtures("isolated_factory")``).
    """
    registry = dict(ResourceFactory._registry)
    loaded = ResourceFactory._entry_points_loaded
    ResourceFactory.settings.configure({})
    yield
    ResourceFactory._registry.clear()
    ResourceFactory._registry.update(registry)
    ResourceFactory._entry_points_loaded = loaded
    ResourceFactory.settings.reset()
