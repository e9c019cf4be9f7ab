"""``lazy_exports``: names imported on first use, cached, listed by ``dir()``, and a missing
optional dependency reported as the extra to install."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from xobj_prototype import MissingExtraError, lazy_exports


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throw-away package ``lazypkg`` with a plain module and one needing a missing driver."""
    root = tmp_path / "lazypkg"
    (root / "drivers").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "plain.py").write_text("LOADS = []\nclass Thing:\n    pass\nLOADS.append(1)\n")
    (root / "drivers" / "__init__.py").write_text("")
    (root / "drivers" / "db.py").write_text("import no_such_driver_ünï\nclass Db: ...\n")
    (root / "broken.py").write_text("import lazypkg.not_there\nclass Broken: ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazypkg"
    for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
        del sys.modules[name]


def _package(name: str) -> types.ModuleType:
    __import__(name)
    return sys.modules[name]


def test_a_name_is_imported_on_first_use_and_then_cached(tree: str) -> None:
    pkg = _package(tree)
    get, listing = lazy_exports(tree, {"Thing": "lazypkg.plain"})
    assert "lazypkg.plain" not in sys.modules
    assert "Thing" in listing()
    thing = get("Thing")
    assert thing is sys.modules["lazypkg.plain"].Thing
    assert vars(pkg)["Thing"] is thing  # cached: the module __getattr__ is not asked again
    assert sys.modules["lazypkg.plain"].LOADS == [1]


def test_an_unknown_name_is_an_attribute_error_naming_it(tree: str) -> None:
    _package(tree)
    get, _ = lazy_exports(tree, {"Thing": "lazypkg.plain"})
    with pytest.raises(AttributeError, match="'lazypkg' has no attribute 'Thng'"):
        get("Thng")


def test_a_missing_driver_names_the_extra(tree: str) -> None:
    _package(tree)
    get, _ = lazy_exports(
        tree, {"Db": "lazypkg.drivers.db"}, extras={"lazypkg.drivers.": "lazypkg[db]"}
    )
    with pytest.raises(MissingExtraError) as info:
        get("Db")
    assert "Db needs the extra lazypkg[db]: pip install 'lazypkg[db]'" in str(info.value)
    assert "no_such_driver_ünï" in str(info.value)
    assert isinstance(info.value, ImportError)


def test_a_missing_module_of_the_package_itself_is_not_blamed_on_an_extra(tree: str) -> None:
    _package(tree)
    get, _ = lazy_exports(tree, {"Broken": "lazypkg.broken"}, extras={"lazypkg.": "lazypkg[all]"})
    with pytest.raises(ModuleNotFoundError) as info:
        get("Broken")
    assert not isinstance(info.value, MissingExtraError)


def test_without_an_extra_the_import_error_is_unchanged(tree: str) -> None:
    _package(tree)
    get, _ = lazy_exports(tree, {"Db": "lazypkg.drivers.db"})
    with pytest.raises(ModuleNotFoundError) as info:
        get("Db")
    assert not isinstance(info.value, MissingExtraError)


def test_an_extras_key_that_names_nothing_is_refused_where_it_is_written() -> None:
    with pytest.raises(ValueError, match=r"extras key 'pkg\.mod_' is neither"):
        lazy_exports("pkg", {"X": "pkg.mod"}, extras={"pkg.mod_": "pkg[x]"})
