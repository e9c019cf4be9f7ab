"""``nox -s affected`` on synthetic changes in a scratch clone (scripts/affected.py's rules).

Each test clones the committed repository, commits (or leaves uncommitted) one change, and checks
which packages, sessions and integration modules the change selects; the last ones run the real
``nox -s affected -- <base> --dry-run`` in the clone and check that every name it selects is a
session ``nox -l`` lists.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import affected  # noqa: E402

ALL = ["xobj-prototype", "xresource", "xinspector", "xrepo", "xregistry"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of the committed repository with an identity to commit as; HEAD is the base."""
    repo = tmp_path / "repo"
    subprocess.run(
        ["git", "clone", "-q", str(ROOT), str(repo)], check=True, timeout=120, capture_output=True
    )
    git(repo, "config", "user.name", "Affected Test")
    git(repo, "config", "user.email", "affected-test@example.org")
    git(repo, "config", "commit.gpgsign", "false")
    return repo


def change(
    repo: Path, rel: str, text: str = "\n# a synthetic change\n", commit: bool = True
) -> None:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)
    if commit:
        git(repo, "add", rel)
        git(repo, "commit", "-q", "-m", f"change {rel}")


def selection(repo: Path, base: str) -> affected.Selection:
    return affected.select(repo, affected.changed_files(repo, base))


def base_of(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def test_a_change_in_xobj_prototype_selects_everything_that_depends_on_it(clone: Path) -> None:
    base = base_of(clone)
    change(clone, "packages/xobj-prototype/src/xobj_prototype/namespace.py")
    sel = selection(clone, base)
    assert sel.packages == ALL
    assert not sel.everything
    names = sel.session_names()
    for package in ALL:
        assert f"typecheck({package})" in names
        assert f"tests({package})" in names
        assert f"matrix({package}, lowest)" in names
        assert f"matrix({package}, highest)" in names
    assert names[0] == "lint"
    assert names[-1] == "integration"
    assert sel.integration  # the modules that reach xobj_prototype, named one by one
    assert "tests-integration/xresource/test_streams_redis.py" in sel.integration


def test_a_leaf_package_selects_only_itself_and_the_modules_that_import_it(clone: Path) -> None:
    base = base_of(clone)
    change(clone, "packages/xregistry/src/xregistry/cli.py")
    sel = selection(clone, base)
    assert sel.packages == ["xregistry"]
    names = sel.session_names()
    assert "tests(xregistry)" in names
    assert "tests(xrepo)" not in names
    assert "typecheck(xobj-prototype)" not in names
    assert sel.integration is not None
    assert "tests-integration/xregistry/test_registry_drift.py" in sel.integration
    # A module that only talks to xresource is not the registry's concern.
    assert "tests-integration/xresource/test_streams_redis.py" not in sel.integration
    # The README tour runs every package, so any package change runs it.
    assert "tests-integration/tooling/test_readme.py" in sel.integration


def test_dependents_through_an_extra_are_selected(clone: Path) -> None:
    base = base_of(clone)
    change(clone, "packages/xrepo/src/xrepo/query/__init__.py")
    sel = selection(clone, base)
    # xregistry needs xrepo only through its `repo` extra: still a dependent.
    assert sel.packages == ["xrepo", "xregistry"]


def test_a_unit_test_in_a_subpackage_folder_selects_its_package(clone: Path) -> None:
    # Unit tests mirror the source subpackages (docs/architecture.md): a test two folders down,
    # committed or new and untracked, is the package's change like its source.
    base = base_of(clone)
    change(clone, "packages/xrepo/tests/compile/sql/test_mysql.py")
    assert selection(clone, base).packages == ["xrepo", "xregistry"]
    base = base_of(clone)
    change(clone, "packages/xinspector/tests/profílíng/test_new_case.py", "X = 1\n", commit=False)
    sel = selection(clone, base)
    assert sel.packages == ["xinspector", "xrepo", "xregistry"]
    assert "tests(xinspector)" in sel.session_names()


@pytest.mark.parametrize("rel", ["noxfile.py", ".ci/run", "pyproject.toml", "scripts/floors.py"])
def test_workflow_and_workspace_changes_select_everything(clone: Path, rel: str) -> None:
    base = base_of(clone)
    change(clone, rel)
    sel = selection(clone, base)
    assert sel.everything
    assert sel.packages == ALL
    assert sel.integration == []  # [] is the whole suite
    assert any(rel in reason for reason in sel.reasons)
    names = sel.session_names()
    assert len(names) == 1 + 5 + 5 + 10 + 1


def test_docs_only_selects_the_docs_build_and_lint_a_changelog_lint(clone: Path) -> None:
    base = base_of(clone)
    change(clone, "mkdocs.yml", "\n# a comment\n")
    assert selection(clone, base).session_names() == ["docs"]
    # ruff formats the Python blocks of Markdown pages: a page also needs lint.
    change(clone, "docs/xrepo.md", "\nA sentence.\n")
    assert selection(clone, base).session_names() == ["lint", "docs"]
    base = base_of(clone)
    change(clone, "packages/xresource/CHANGELOG.md", "\n- A line.\n")
    assert selection(clone, base).session_names() == ["lint"]


def test_suite_changes_select_their_modules_or_the_whole_suite(clone: Path) -> None:
    base = base_of(clone)
    change(clone, "tests-integration/differential/cases.py")
    sel = selection(clone, base)
    assert sel.packages == []
    assert sel.integration == ["tests-integration/xrepo/test_repo_differential.py"]
    assert sel.session_names() == ["lint", "integration"]
    change(clone, "tests-integration/conftest.py")
    assert selection(clone, base).integration == []
    base = base_of(clone)
    change(clone, "scripts/test_servers.py")
    assert selection(clone, base).integration == []


def test_readme_and_tooling_scripts_select_the_tests_that_read_them(clone: Path) -> None:
    base = base_of(clone)
    change(clone, "README.md", "\nOne more line.\n")
    assert selection(clone, base).integration == ["tests-integration/tooling/test_readme.py"]
    base = base_of(clone)
    change(clone, "scripts/release.py")
    sel = selection(clone, base)
    assert sel.lint
    assert "tests-integration/tooling/test_tooling_release.py" in (sel.integration or [])
    assert sel.packages == []


def test_benchmarks_select_lint_only_and_housekeeping_nothing(clone: Path) -> None:
    base = base_of(clone)
    change(clone, "benchmarks/bench_api.py")
    assert selection(clone, base).session_names() == ["lint"]
    base = base_of(clone)
    change(clone, ".gitignore", "\n/tmp-affected/\n")
    assert selection(clone, base).session_names() == []


def test_an_unknown_path_selects_everything(clone: Path) -> None:
    base = base_of(clone)
    change(clone, "tools/new-thing.cfg", "x = 1\n")
    sel = selection(clone, base)
    assert sel.everything
    assert any("tools/new-thing.cfg" in r and "no rule" in r for r in sel.reasons)


def test_uncommitted_and_untracked_changes_count(clone: Path) -> None:
    base = base_of(clone)
    change(clone, "packages/xinspector/src/xinspector/cli.py", commit=False)
    assert selection(clone, base).packages == ["xinspector", "xrepo", "xregistry"]
    git(clone, "checkout", "-q", "--", ".")
    (clone / "packages/xresource/src/xresource/brand_new_módulo.py").write_text("X = 1\n")
    assert selection(clone, base).packages[:1] == ["xresource"]


def test_an_empty_change_selects_nothing(clone: Path) -> None:
    sel = selection(clone, "HEAD")
    assert sel.session_names() == []
    assert sel.packages == []


@pytest.mark.parametrize("base", ["", "   ", "--all", "no-such-ref", "main~9999", "brånch ü"])
def test_a_bad_base_is_named(clone: Path, base: str) -> None:
    with pytest.raises(ValueError, match="affected") as info:
        affected.changed_files(clone, base)
    assert repr(base) in str(info.value)


def _nox() -> str:
    nox = shutil.which("nox")
    assert nox is not None, "nox must be on PATH (python -m pip install nox), as .ci/run does"
    return nox


def test_the_session_selects_names_that_nox_lists(clone: Path) -> None:
    """The real session, in the clone, on a change in xinspector: dry run, then the names."""
    base = base_of(clone)
    change(clone, "packages/xinspector/src/xinspector/cli.py")
    done = subprocess.run(
        [_nox(), "-f", "noxfile.py", "-s", "affected", "--", base, "--dry-run"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    selected = [
        line.split("selected: ", 1)[1].split(" (")[0]
        for line in out.splitlines()
        if "selected: " in line
    ]
    expected = affected.select(clone, affected.changed_files(clone, base)).session_names()
    assert selected == expected
    assert "tests(xinspector)" in selected
    assert "tests(xresource)" not in selected
    listed = subprocess.run(
        [_nox(), "-f", "noxfile.py", "-l"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    # "* name [tags] -> description" (in the default run) or "- name -> description".
    names = {
        line[2:].split(" ->")[0].split(" [")[0]
        for line in listed.stdout.splitlines()
        if line[:2] in ("* ", "- ")
    }
    everything = [*affected.Selection(everything=True).session_names(), "docs"]
    assert set(everything) <= names, set(everything) - names


def test_the_session_refuses_a_missing_base(clone: Path) -> None:
    done = subprocess.run(
        [_nox(), "-f", "noxfile.py", "-s", "affected", "--", "does-not-exist"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert "'does-not-exist' is not a commit" in done.stdout + done.stderr
