"""The floors of the ``lowest`` matrix leg (scripts/floors.py) on a scratch clone.

A sibling's floor is the lowest version the dependent's range admits: its release tag when one
exists, else the oldest commit whose ``__about__.py`` had that version, else the working tree.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import floors  # noqa: E402

ABOUT = "packages/xobj-prototype/src/xobj_prototype/__about__.py"
XRESOURCE = "packages/xresource/pyproject.toml"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    subprocess.run(
        ["git", "clone", "-q", str(ROOT), str(repo)], check=True, timeout=120, capture_output=True
    )
    git(repo, "config", "user.name", "Floors Test")
    git(repo, "config", "user.email", "floors-test@example.org")
    git(repo, "config", "commit.gpgsign", "false")
    git(repo, "config", "tag.gpgsign", "false")
    for tag in git(repo, "tag", "--list").split():
        git(repo, "tag", "-d", tag)
    return repo


def set_version(repo: Path, version: str) -> None:
    path = repo / ABOUT
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'__version__ = "[^"]*"', f'__version__ = "{version}"', text))


def set_range(repo: Path, spec: str) -> None:
    path = repo / XRESOURCE
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'"xobj-prototype[^"]*"', f'"xobj-prototype{spec}"', text, count=1))


def commit(repo: Path, message: str) -> str:
    git(repo, "commit", "-q", "-am", message)
    return git(repo, "rev-parse", "HEAD")


def xobj_floor(repo: Path) -> floors.Floor:
    (floor,) = floors.floors(repo, "xresource", {"all", "test"})
    assert floor.package == "xobj-prototype"
    return floor


def test_the_floor_is_the_oldest_commit_with_the_lowest_admitted_version(clone: Path) -> None:
    set_version(clone, "0.1.7")
    first = commit(clone, "xobj-prototype 0.1.7")
    (clone / "packages/xobj-prototype/src/xobj_prototype/later.py").write_text("LATER = 1\n")
    git(clone, "add", "packages/xobj-prototype/src/xobj_prototype/later.py")
    commit(clone, "a later change, same version")
    set_range(clone, ">=0.1.7,<0.2")
    floor = xobj_floor(clone)
    assert str(floor.version) == "0.1.7"
    assert floor.commit == first
    assert floor.origin.startswith(f"commit {first[:12]}")
    # The exported source is that commit's: the version file says 0.1.7, the later file is absent.
    source = floors.export(clone, floor, clone.parent / "export")
    about = (source / "src/xobj_prototype/__about__.py").read_text(encoding="utf-8")
    assert '__version__ = "0.1.7"' in about
    assert not (source / "src/xobj_prototype/later.py").exists()
    assert (source / "pyproject.toml").is_file()


def test_a_release_tag_wins_over_the_oldest_commit(clone: Path) -> None:
    set_version(clone, "0.1.7")
    commit(clone, "xobj-prototype 0.1.7")
    (clone / "packages/xobj-prototype/README.md").write_text("# released\n", encoding="utf-8")
    released = commit(clone, "the release itself")
    git(clone, "tag", "xobj-prototype-v0.1.7", released)
    set_range(clone, ">=0.1.7,<0.2")
    floor = xobj_floor(clone)
    assert floor.commit == released
    assert floor.origin == "tag xobj-prototype-v0.1.7"


def test_the_lowest_admitted_version_not_the_newest(clone: Path) -> None:
    set_version(clone, "0.1.7")
    low = commit(clone, "0.1.7")
    set_version(clone, "0.1.9")
    commit(clone, "0.1.9")
    set_range(clone, ">=0.1.5,<0.2")
    assert xobj_floor(clone).commit == low
    set_range(clone, ">=0.1.8,<0.2")
    assert str(xobj_floor(clone).version) == "0.1.9"


def test_an_uncommitted_version_is_the_working_tree(clone: Path) -> None:
    set_version(clone, "0.1.8")
    set_range(clone, ">=0.1.8,<0.2")
    floor = xobj_floor(clone)
    assert floor.commit is None
    assert "working tree" in floor.origin
    assert floors.export(clone, floor, clone.parent / "x") == clone / "packages/xobj-prototype"


def test_a_range_that_nothing_holds_names_the_sibling_and_the_fix(clone: Path) -> None:
    set_range(clone, ">=0.5,<0.6")
    with pytest.raises(ValueError, match=r"xresource needs xobj-prototype.*0\.5.*bump") as info:
        floors.floors(clone, "xresource", {"all", "test"})
    current = re.search(r'__version__ = "([^"]+)"', (clone / ABOUT).read_text(encoding="utf-8"))
    assert current is not None
    assert current.group(1) in str(info.value)  # what is known, to choose from


def test_a_malformed_version_in_history_is_skipped(clone: Path) -> None:
    set_version(clone, "not a version")
    commit(clone, "a broken version file")
    set_version(clone, "0.1.9")
    good = commit(clone, "fixed")
    set_range(clone, ">=0.1.9,<0.2")
    assert xobj_floor(clone).commit == good


def test_every_sibling_of_the_top_package_gets_a_floor_in_dependency_order(clone: Path) -> None:
    chosen = floors.floors(clone, "xregistry", {"all", "test"})
    assert [f.package for f in chosen] == ["xobj-prototype", "xresource", "xinspector", "xrepo"]
    assert floors.floors(clone, "xobj-prototype", {"all", "test"}) == []


@pytest.mark.parametrize("name", ["", "xres", "XResource", "xresource ", "пакет"])
def test_an_unknown_package_is_named(clone: Path, name: str) -> None:
    with pytest.raises(ValueError, match="is not one of") as info:
        floors.floors(clone, name, {"all"})
    assert repr(name) in str(info.value)
