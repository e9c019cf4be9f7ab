"""The coordinated-release script (``nox -s release``) on a throw-away copy of the packages."""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import release  # noqa: E402


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for package in release.PACKAGES:
        src = ROOT / "packages" / package
        dst = tmp_path / "packages" / package
        (dst / "src" / package.replace("-", "_")).mkdir(parents=True)
        shutil.copy(src / "pyproject.toml", dst / "pyproject.toml")
        about = f"src/{package.replace('-', '_')}/__about__.py"
        (dst / about).write_text('"""v"""\n\n__version__ = "0.1.0"\n')
        (dst / "CHANGELOG.md").write_text(
            f"# Changelog of {package}\n\n## Unreleased\n\n- A change.\n"
        )
    return tmp_path


def _git_calls() -> tuple[list[tuple[Any, ...]], Any]:
    calls: list[tuple[Any, ...]] = []

    def run(*args: Any, **_: Any) -> None:
        calls.append(args)

    return calls, run


def test_coordinated_minor_release_raises_sibling_ranges_and_tags(workspace: Path) -> None:
    calls, run = _git_calls()
    bumps = release.release(
        workspace,
        ["xobj-prototype=minor", "xresource=minor"],
        today=date(2026, 11, 21),
        dry_run=False,
        run=run,
    )
    assert [b.version for b in bumps] == ["0.2.0", "0.2.0"]
    about = workspace / "packages/xobj-prototype/src/xobj_prototype/__about__.py"
    assert '__version__ = "0.2.0"' in about.read_text()
    changelog = (workspace / "packages/xresource/CHANGELOG.md").read_text()
    assert "## Unreleased\n\n## 0.2.0 - 2026-11-21\n" in changelog
    assert "- A change." in changelog
    inspector = (workspace / "packages/xinspector/pyproject.toml").read_text()
    assert '"xobj-prototype>=0.2,<0.3"' in inspector
    assert '"xresource>=0.2,<0.3"' in inspector
    # extras survive the rewrite
    assert '"xresource[all]"' in inspector or "xresource[all]>=0.2,<0.3" in inspector
    assert ("git", "tag", "xobj-prototype-v0.2.0") in calls
    assert ("git", "tag", "xresource-v0.2.0") in calls


def test_patch_release_keeps_ranges_that_still_admit_it(workspace: Path) -> None:
    _calls, run = _git_calls()
    release.release(
        workspace, ["xobj-prototype=patch"], today=date(2026, 1, 1), dry_run=False, run=run
    )
    assert (
        '"xobj-prototype>=0.1,<0.2"'
        in (workspace / "packages/xresource/pyproject.toml").read_text()
    )


def test_dry_run_writes_nothing(workspace: Path) -> None:
    calls, run = _git_calls()
    before = (workspace / "packages/xrepo/CHANGELOG.md").read_text()
    release.release(workspace, ["xrepo=major"], today=date(2026, 1, 1), dry_run=True, run=run)
    assert (workspace / "packages/xrepo/CHANGELOG.md").read_text() == before
    assert calls == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch=minor"], "unknown package 'nosuch'"),
        (["xrepo=sideways"], "is not major, minor, patch or X.Y.Z"),
        (["xrepo=0.0.9"], "is not above 0.1.0"),
    ],
)
def test_bad_requests_are_refused(workspace: Path, args: list[str], message: str) -> None:
    _calls, run = _git_calls()
    with pytest.raises(release.ReleaseError, match=message):
        release.release(workspace, args, today=date(2026, 1, 1), dry_run=False, run=run)


def test_release_without_changelog_entry_is_refused(workspace: Path) -> None:
    (workspace / "packages/xrepo/CHANGELOG.md").write_text("# Changelog\n\n## Unreleased\n\n")
    _calls, run = _git_calls()
    with pytest.raises(release.ReleaseError, match="Unreleased section is empty"):
        release.release(workspace, ["xrepo=minor"], today=date(2026, 1, 1), dry_run=False, run=run)
