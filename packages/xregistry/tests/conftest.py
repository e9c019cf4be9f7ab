"""Fixtures of the xregistry unit tests: fresh registries, no network."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xregistry import (
    FunctionRegistry,
    ModelRegistry,
    TypeRegistry,
    XRegistry,
    set_default_registry,
)


@pytest.fixture
def function_registry() -> FunctionRegistry:
    return FunctionRegistry()


@pytest.fixture
def model_registry() -> ModelRegistry:
    return ModelRegistry()


@pytest.fixture
def type_registry() -> TypeRegistry:
    return TypeRegistry()


@pytest.fixture
def registry() -> Iterator[XRegistry]:
    """A fresh registry that is also the process default for the test."""
    reg = XRegistry()
    set_default_registry(reg)
    yield reg
    set_default_registry(None)
