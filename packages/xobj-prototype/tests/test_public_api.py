"""The curated public API and the examples in its docstrings."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

import xobj_prototype

MODULES = [
    "xobj_prototype",
    "xobj_prototype.audit",
    "xobj_prototype.base",
    "xobj_prototype.errors",
    "xobj_prototype.principal",
    "xobj_prototype.redaction",
    "xobj_prototype.settings",
    "xobj_prototype.namespace",
    "xobj_prototype.namespace.path",
    "xobj_prototype.namespace.glob",
    "xobj_prototype.namespace.index",
    "xobj_prototype.namespace.backend",
]


def test_every_name_in_all_is_importable_and_documented() -> None:
    for name in xobj_prototype.__all__:
        obj = getattr(xobj_prototype, name)
        # A constant and a type alias carry their documentation in a #: comment.
        if name not in {"__version__", "MASK", "AuditOutcome"}:
            assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_all_has_no_duplicates() -> None:
    names = list(xobj_prototype.__all__)
    assert len(names) == len(set(names))


def test_version_is_a_release_number() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc)?\d*", xobj_prototype.__version__)


def test_the_package_ships_type_information() -> None:
    assert (Path(xobj_prototype.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
