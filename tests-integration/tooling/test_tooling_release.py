"""The release tool (``nox -s release``, ``scripts/release.py``) on a scratch clone of the repo.

Each test clones the repository into ``tmp_path`` and releases there with real git, real builds
(``uv build``, or ``python -m build``) and real commands for the tests, so what is checked is what
a maintainer gets: the commit, the tags, the files on disk and what stays untracked.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import release  # noqa: E402

TODAY = date(2026, 12, 5)
DEPENDENTS_OF_XRESOURCE = ["xinspector", "xrepo", "xregistry"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of the committed repository, with an identity to commit as."""
    repo = tmp_path / "repo"
    subprocess.run(
        ["git", "clone", "-q", str(ROOT), str(repo)], check=True, timeout=120, capture_output=True
    )
    git(repo, "config", "user.name", "Release Test")
    git(repo, "config", "user.email", "release-test@example.org")
    git(repo, "config", "commit.gpgsign", "false")
    git(repo, "config", "tag.gpgsign", "false")
    # Start from a known state, whatever the repository holds today: every package at 0.1.0 with
    # something to release, and every range on a sibling `>=0.1,<0.2`.
    for package in release.PACKAGES:
        about = repo / "packages" / package / "src" / package.replace("-", "_") / "__about__.py"
        about.write_text('"""Version."""\n\n__version__ = "0.1.0"\n', encoding="utf-8")
        set_unreleased(repo, package, f"### Added\n- A change of {package}.\n")
        pyproject = repo / "packages" / package / "pyproject.toml"
        text = pyproject.read_text(encoding="utf-8")
        for req in release._requirements(text, package):
            parsed = Requirement(req)
            if parsed.name in release.PACKAGES and parsed.specifier:
                extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
                text = text.replace(f'"{req}"', f'"{parsed.name}{extras}>=0.1,<0.2"')
        pyproject.write_text(text, encoding="utf-8")
    git(repo, "commit", "-q", "-am", "test baseline")
    # The clone carries no release tags of its own.
    for tag in git(repo, "tag", "--list").split():
        git(repo, "tag", "-d", tag)
    return repo


def set_unreleased(repo: Path, package: str, body: str) -> None:
    (repo / "packages" / package / "CHANGELOG.md").write_text(
        f"# Changelog of {package}\n\n## Unreleased\n\n{body}\n## 0.1.0 - 2026-11-21\n\n- First.\n",
        encoding="utf-8",
    )


def commit_all(repo: Path, message: str) -> None:
    git(repo, "commit", "-q", "-am", message)


def read(repo: Path, rel: str) -> str:
    return (repo / rel).read_text(encoding="utf-8")


def recording_tests(log: Path) -> release.TestCommand:
    """A test command that records, for each package, the version on disk and the tags present
    when it ran: proof that the tests run on the new files and before any tag exists."""
    code = textwrap.dedent(
        """
        import pathlib, re, subprocess, sys
        log, package = pathlib.Path(sys.argv[1]), sys.argv[2]
        about = pathlib.Path("packages", package, "src", package.replace("-", "_"), "__about__.py")
        version = re.search(r'__version__ = "(.*)"', about.read_text()).group(1)
        listed = subprocess.run(["git", "tag", "--list"], capture_output=True, text=True)
        tags = listed.stdout.split()
        with log.open("a") as fh:
            fh.write(f"{package} {version} tags={','.join(tags)}\\n")
        """
    )

    def command(package: str) -> list[str]:
        return [sys.executable, "-c", code, str(log), package]

    return command


# -- a release and its dependents ------------------------------------------------------------
def test_raising_a_dependents_range_releases_the_dependent_as_a_patch(
    clone: Path, tmp_path: Path
) -> None:
    # The dependents have nothing else unreleased: the raised range is their whole release.
    for package in DEPENDENTS_OF_XRESOURCE:
        set_unreleased(clone, package, "")
    commit_all(clone, "nothing unreleased in the dependents")
    head = git(clone, "rev-parse", "HEAD").strip()
    log = tmp_path / "tests.log"

    result = release.release(
        clone, ["xresource=minor"], today=TODAY, test_command=recording_tests(log)
    )

    assert [(b.package, b.version) for b in result.bumps] == [
        ("xresource", "0.2.0"),
        ("xinspector", "0.1.1"),
        ("xrepo", "0.1.1"),
        ("xregistry", "0.1.1"),
    ]
    assert sorted(git(clone, "tag", "--list").split()) == [
        "xinspector-v0.1.1",
        "xregistry-v0.1.1",
        "xrepo-v0.1.1",
        "xresource-v0.2.0",
    ]
    # One commit on top of the baseline, tagged by every release.
    assert git(clone, "rev-parse", "HEAD~1").strip() == head
    for tag in result.tags:
        assert (
            git(clone, "rev-list", "-n", "1", tag).strip()
            == git(clone, "rev-parse", "HEAD").strip()
        )
    assert git(clone, "log", "-1", "--format=%s").strip() == (
        "Release xresource 0.2.0, xinspector 0.1.1, xrepo 0.1.1, xregistry 0.1.1"
    )
    assert git(clone, "status", "--porcelain") == ""
    # The ranges moved, extras and the untouched siblings kept.
    inspector = read(clone, "packages/xinspector/pyproject.toml")
    assert '"xresource>=0.2,<0.3"' in inspector
    assert '"xobj-prototype>=0.1,<0.2"' in inspector
    assert '"xresource[postgres]"' in inspector
    # xinspector 0.1.0 needs xresource 0.1: xrepo's floor on it rises to 0.1.1, which fits.
    assert '"xinspector>=0.1.1,<0.2"' in read(clone, "packages/xrepo/pyproject.toml")
    # Each dependent's changelog says why it was released.
    changelog = read(clone, "packages/xinspector/CHANGELOG.md")
    assert changelog.startswith(
        "# Changelog of xinspector\n\n## Unreleased\n\n## 0.1.1 - 2026-12-05\n\n### Changed\n"
        "- Requires `xresource>=0.2,<0.3` (was `xresource>=0.1,<0.2`), for xresource 0.2.0.\n"
        "\n## 0.1.0 - 2026-11-21\n"
    )
    assert '__version__ = "0.1.1"' in read(clone, "packages/xrepo/src/xrepo/__about__.py")
    # The tests ran for every released package, on the new versions, before any tag existed.
    assert log.read_text().splitlines() == [
        "xresource 0.2.0 tags=",
        "xinspector 0.1.1 tags=",
        "xrepo 0.1.1 tags=",
        "xregistry 0.1.1 tags=",
    ]


def test_a_dependent_with_unreleased_changes_must_be_named(clone: Path, tmp_path: Path) -> None:
    head = git(clone, "rev-parse", "HEAD").strip()
    with pytest.raises(release.ReleaseError) as refused:
        release.release(
            clone, ["xresource=minor"], today=TODAY, test_command=recording_tests(tmp_path / "l")
        )
    message = str(refused.value)
    assert "xresource 0.2.0 is outside xinspector's range `xresource>=0.1,<0.2`" in message
    assert "name it with the bump they need, e.g. xinspector=minor" in message
    # Refused before anything was written, built, tested, committed or tagged.
    assert git(clone, "status", "--porcelain") == ""
    assert git(clone, "rev-parse", "HEAD").strip() == head
    assert git(clone, "tag", "--list") == ""
    assert not (tmp_path / "l").exists()


def test_named_dependents_take_their_own_bump_and_the_range_line(
    clone: Path, tmp_path: Path
) -> None:
    release.release(
        clone,
        ["xresource=minor", "xinspector=minor", "xrepo=minor", "xregistry=patch"],
        today=TODAY,
        test_command=recording_tests(tmp_path / "tests.log"),
    )
    assert sorted(git(clone, "tag", "--list").split()) == [
        "xinspector-v0.2.0",
        "xregistry-v0.1.1",
        "xrepo-v0.2.0",
        "xresource-v0.2.0",
    ]
    # xrepo's range on xinspector moved too, because xinspector went to 0.2.0 in the same release.
    xrepo = read(clone, "packages/xrepo/pyproject.toml")
    assert '"xinspector>=0.2,<0.3"' in xrepo
    assert '"xresource>=0.2,<0.3"' in xrepo
    # xregistry's optional extra on xrepo is a range too.
    assert '"xrepo>=0.2,<0.3"' in read(clone, "packages/xregistry/pyproject.toml")
    changelog = read(clone, "packages/xregistry/CHANGELOG.md")
    released = changelog.split("## 0.1.1 - 2026-12-05\n", 1)[1].split("\n## ", 1)[0]
    assert "- A change of xregistry." in released
    assert "- Requires `xrepo>=0.2,<0.3` (was `xrepo>=0.1,<0.2`), for xrepo 0.2.0." in released
    assert "- Requires `xresource>=0.2,<0.3` (was `xresource>=0.1,<0.2`)" in released


def test_a_dependents_floor_rises_to_a_release_whose_own_ranges_moved(
    clone: Path, tmp_path: Path
) -> None:
    # xrepo 0.1.1 admits only xresource 0.2; xrepo 0.1.0 required xresource 0.1. xregistry's
    # `xrepo>=0.1,<0.2` would keep admitting 0.1.0 next to its own `xresource>=0.2`: no lowest
    # versions that install together (the floor leg of CI failed on exactly that).
    release.release(
        clone,
        ["xresource=minor", "xinspector=minor", "xrepo=patch", "xregistry=patch"],
        today=TODAY,
        test_command=recording_tests(tmp_path / "tests.log"),
    )
    xrepo = read(clone, "packages/xrepo/pyproject.toml")
    assert '"xresource>=0.2,<0.3"' in xrepo
    xregistry = read(clone, "packages/xregistry/pyproject.toml")
    assert '"xrepo>=0.1.1,<0.2"' in xregistry
    assert '"xresource>=0.2,<0.3"' in xregistry
    changelog = read(clone, "packages/xregistry/CHANGELOG.md")
    released = changelog.split("## 0.1.1 - 2026-12-05\n", 1)[1].split("\n## ", 1)[0]
    assert "- Requires `xrepo>=0.1.1,<0.2` (was `xrepo>=0.1,<0.2`), for xrepo 0.1.1." in released
    # xobj-prototype was not released: nobody's floor on it moves.
    assert '"xobj-prototype>=0.1,<0.2"' in xregistry


def test_a_patch_inside_every_range_releases_only_the_named_package_with_its_real_tests(
    clone: Path,
) -> None:
    # The real unit tests of xobj-prototype, run from the clone's sources.
    src = clone / "packages" / "xobj-prototype" / "src"

    def real_tests(package: str) -> list[str]:
        return [
            "env",
            f"PYTHONPATH={src}",
            sys.executable,
            "-m",
            "pytest",
            f"packages/{package}/tests",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "-c",
            "pyproject.toml",
            "--rootdir",
            ".",
        ]

    result = release.release(clone, ["xobj-prototype=patch"], today=TODAY, test_command=real_tests)
    assert result.tags == ["xobj-prototype-v0.1.1"]
    assert result.ranges == []
    assert sorted(result.files) == [
        "packages/xobj-prototype/CHANGELOG.md",
        "packages/xobj-prototype/src/xobj_prototype/__about__.py",
    ]
    assert '"xobj-prototype>=0.1,<0.2"' in read(clone, "packages/xresource/pyproject.toml")


def test_failing_tests_stop_the_release_and_restore_every_file(clone: Path) -> None:
    for package in DEPENDENTS_OF_XRESOURCE:
        set_unreleased(clone, package, "")
    commit_all(clone, "nothing unreleased in the dependents")
    head = git(clone, "rev-parse", "HEAD").strip()

    def failing(package: str) -> list[str]:
        return [sys.executable, "-c", f"raise SystemExit({package!r} + ' tests failed')"]

    with pytest.raises(release.ReleaseError, match=r"tests of xresource failed \(exit status 1\)"):
        release.release(clone, ["xresource=minor"], today=TODAY, test_command=failing)
    assert git(clone, "status", "--porcelain") == ""
    assert git(clone, "rev-parse", "HEAD").strip() == head
    assert git(clone, "tag", "--list") == ""


# -- the working tree ------------------------------------------------------------------------
def test_a_dirty_tree_is_refused(clone: Path) -> None:
    readme = clone / "packages" / "xresource" / "README.md"
    readme.write_text(readme.read_text() + "\nwork in progress\n", encoding="utf-8")
    staged = clone / "packages" / "xrepo" / "README.md"
    staged.write_text(staged.read_text() + "\nstaged\n", encoding="utf-8")
    git(clone, "add", str(staged))
    head = git(clone, "rev-parse", "HEAD").strip()

    with pytest.raises(release.ReleaseError) as refused:
        release.release(clone, ["xregistry=patch"], today=TODAY, test_command=None)
    message = str(refused.value)
    assert "uncommitted changes" in message
    assert "packages/xresource/README.md" in message
    assert "packages/xrepo/README.md" in message
    assert git(clone, "rev-parse", "HEAD").strip() == head
    assert '"0.1.0"' in read(clone, "packages/xregistry/src/xregistry/__about__.py")
    assert git(clone, "tag", "--list") == ""


def test_only_the_files_it_wrote_are_staged_and_committed(clone: Path) -> None:
    (clone / "notes.txt").write_text("mine, not the release's\n", encoding="utf-8")
    # Inside the released package: `git add -A packages` would have swept this one in.
    (clone / "packages" / "xregistry" / "scratch.py").write_text("x = 1\n", encoding="utf-8")

    result = release.release(clone, ["xregistry=patch"], today=TODAY, test_command=None)

    committed = git(clone, "show", "--name-only", "--format=", "HEAD").split()
    assert (
        sorted(committed)
        == sorted(result.files)
        == [
            "packages/xregistry/CHANGELOG.md",
            "packages/xregistry/src/xregistry/__about__.py",
        ]
    )
    assert sorted(git(clone, "status", "--porcelain").splitlines()) == [
        "?? notes.txt",
        "?? packages/xregistry/scratch.py",
    ]


def test_an_existing_tag_is_refused(clone: Path) -> None:
    git(clone, "tag", "xregistry-v0.1.1")
    with pytest.raises(release.ReleaseError, match=r"tag xregistry-v0\.1\.1 already exists"):
        release.release(clone, ["xregistry=patch"], today=TODAY, test_command=None)
    assert git(clone, "status", "--porcelain") == ""


# -- pre-releases ----------------------------------------------------------------------------
def test_pre_release_raises_ranges_to_admit_it_and_final_release_follows(clone: Path) -> None:
    release.release(clone, ["xrepo=0.2.0rc1", "xregistry=minor"], today=TODAY, test_command=None)
    assert sorted(git(clone, "tag", "--list").split()) == ["xregistry-v0.2.0", "xrepo-v0.2.0rc1"]
    assert '__version__ = "0.2.0rc1"' in read(clone, "packages/xrepo/src/xrepo/__about__.py")
    # `<0.2` never admits 0.2.0rc1 (PEP 440); a floor naming the pre-release lets pip choose it.
    assert '"xrepo>=0.2.0rc1,<0.3"' in read(clone, "packages/xregistry/pyproject.toml")
    assert "## 0.2.0rc1 - 2026-12-05\n" in read(clone, "packages/xrepo/CHANGELOG.md")

    # The final release of the same version: the range admits it already, nobody else moves.
    set_unreleased(clone, "xrepo", "### Fixed\n- What the release candidate found.\n")
    commit_all(clone, "a fix after the release candidate")
    result = release.release(clone, ["xrepo=minor"], today=TODAY, test_command=None)
    assert result.tags == ["xrepo-v0.2.0"]
    assert result.ranges == []


def test_pre_release_spelled_loosely_is_normalized(clone: Path) -> None:
    result = release.release(clone, ["xregistry=1.0.0-RC.1"], today=TODAY, test_command=None)
    assert result.tags == ["xregistry-v1.0.0rc1"]
    assert '__version__ = "1.0.0rc1"' in read(
        clone, "packages/xregistry/src/xregistry/__about__.py"
    )


# -- dry run ---------------------------------------------------------------------------------
def test_dry_run_prints_the_full_diff_and_the_tags_and_changes_nothing(
    clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for package in DEPENDENTS_OF_XRESOURCE:
        set_unreleased(clone, package, "")
    commit_all(clone, "nothing unreleased in the dependents")
    (clone / "notes.txt").write_text("untracked\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in (clone / "packages").rglob("*") if p.is_file()}

    release.main(["xresource=minor", "--dry-run"], root=clone, today=TODAY)
    out = capsys.readouterr().out

    after = {p: p.read_bytes() for p in (clone / "packages").rglob("*") if p.is_file()}
    assert after == before
    assert git(clone, "status", "--porcelain") == "?? notes.txt\n"
    assert git(clone, "tag", "--list") == ""
    assert "--- a/packages/xresource/src/xresource/__about__.py\n" in out
    assert '-__version__ = "0.1.0"\n+__version__ = "0.2.0"\n' in out
    assert '-    "xresource>=0.1,<0.2",\n+    "xresource>=0.2,<0.3",\n' in out
    assert "+## 0.1.1 - 2026-12-05\n" in out
    assert "would tag: xresource-v0.2.0 xinspector-v0.1.1 xrepo-v0.1.1 xregistry-v0.1.1\n" in out
    assert "would build and test: xresource, xinspector, xrepo, xregistry\n" in out
    assert "would release xinspector 0.1.0 -> 0.1.1 (its range on xresource is raised)\n" in out

    # The diff is the whole release: applied to the tree, it gives exactly what the release writes.
    diff = out.split("would release", 1)[0]
    subprocess.run(
        ["git", "-C", str(clone), "apply", "-"], input=diff, text=True, check=True, timeout=60
    )
    applied = {rel: read(clone, rel) for rel in git(clone, "diff", "--name-only").split()}
    git(clone, "checkout", "-q", "--", ".")
    result = release.release(clone, ["xresource=minor"], today=TODAY, test_command=None)
    assert applied == {rel: read(clone, rel) for rel in result.files}


def test_dry_run_notes_a_dirty_tree_and_the_skipped_tests(
    clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = clone / "README.md"
    readme.write_text(readme.read_text() + "\nedit\n", encoding="utf-8")
    release.main(["xregistry=patch", "--dry-run", "--skip-tests"], root=clone, today=TODAY)
    out = capsys.readouterr().out
    assert "would build: xregistry\n" in out
    assert "note: a real release would refuse: uncommitted changes in README.md" in out


# -- the command line and the pure parts -----------------------------------------------------
def test_by_default_the_tests_run_as_ci_runs_them() -> None:
    command = release.nox_tests(ROOT)("xresource")
    assert command[1:] == ["-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", "tests(xresource)"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name what to release"),
        (["xresource"], "argument 'xresource' is not <package>=<major|minor|patch|X.Y.Z>"),
        (["=minor"], "argument '=minor' is not"),
        (["nosuch=minor"], "unknown package 'nosuch'"),
        (["xrésource=minor"], "unknown package 'xrésource'"),
        (["xrepo=sideways"], "bump 'sideways' is not major, minor, patch or a version"),
        (["xrepo="], "bump '' is not major, minor, patch or a version"),
        (["xrepo=  "], "bump '  ' is not major, minor, patch or a version"),
        (["xrepo=\uff11.\uff10.\uff10"], "is not major, minor, patch or a version"),
        (["xrepo=0.0.9"], "new version 0.0.9 is not above 0.1.0"),
        (["xrepo=0.1.0"], "new version 0.1.0 is not above 0.1.0"),
        (["xrepo=1.0"], "'1.0' is not a release this tool makes"),
        (["xrepo=1.0.0.dev1"], "'1.0.0.dev1' is not a release this tool makes"),
        (["xrepo=1.0.0+local"], "'1.0.0\\+local' is not a release this tool makes"),
        (["xrepo=1.0.0.post1"], "is not a release this tool makes"),
        (["xrepo=1.x.0"], "'1.x.0' is not a PEP 440 version"),
        (["xrepo=minor", "xrepo=patch"], "xrepo is named twice"),
    ],
)
def test_bad_requests_are_refused(clone: Path, args: list[str], message: str) -> None:
    with pytest.raises(release.ReleaseError, match=message):
        release.plan(clone, args, today=TODAY)
    assert git(clone, "status", "--porcelain") == ""


def test_package_names_are_read_as_pip_reads_them(clone: Path) -> None:
    result = release.plan(clone, ["XOBJ_Prototype=patch"], today=TODAY)
    assert [b.package for b in result.bumps] == ["xobj-prototype"]


@pytest.mark.parametrize(
    ("old", "how", "new"),
    [
        ("0.1.0", "patch", "0.1.1"),
        ("0.1.3", "minor", "0.2.0"),
        ("0.9.2", "major", "1.0.0"),
        ("1.0.0rc1", "major", "1.0.0"),
        ("1.0.0rc1", "minor", "1.0.0"),
        ("1.0.0rc1", "patch", "1.0.0"),
        ("1.1.0rc2", "major", "2.0.0"),
        ("1.1.0rc2", "minor", "1.1.0"),
        ("1.1.1b1", "minor", "1.2.0"),
        ("1.0.0rc1", "1.0.0rc2", "1.0.0rc2"),
        ("0.1.0", "1.0.0a1", "1.0.0a1"),
    ],
)
def test_next_version(old: str, how: str, new: str) -> None:
    assert release.next_version(Version(old), how) == Version(new)


@pytest.mark.parametrize(
    ("version", "spec"),
    [
        ("0.2.0", ">=0.2,<0.3"),
        ("1.4.2", ">=1.4,<2"),
        ("1.0.0rc1", ">=1.0.0rc1,<2"),
        ("0.3.0b2", ">=0.3.0b2,<0.4"),
    ],
)
def test_compatible_range_admits_the_version_and_not_the_next_break(
    version: str, spec: str
) -> None:
    assert release.compatible_range(Version(version)) == spec
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(spec).contains(version)  # pre-releases too, without --pre


def test_the_released_section_keeps_its_text_byte_for_byte() -> None:
    text = "# Changelog\n\n## Unreleased\n\n### Added\n- One.\n  continued\n\n"
    assert release.released_changelog(text, "CHANGELOG.md", "0.2.0", TODAY) == (
        "# Changelog\n\n## Unreleased\n\n## 0.2.0 - 2026-12-05\n"
        "\n### Added\n- One.\n  continued\n\n"
    )


def test_range_lines_join_an_existing_changed_subsection() -> None:
    text = (
        "# C\n\n## Unreleased\n\n### Changed\n- Old.\n\n### Fixed\n- Bug.\n\n"
        "## 0.1.0 - 2026-11-21\n\n- First.\n"
    )
    out = release.released_changelog(text, "C", "0.1.1", TODAY, ["- Requires `x>=0.2,<0.3`."])
    assert out == (
        "# C\n\n## Unreleased\n\n## 0.1.1 - 2026-12-05\n\n### Changed\n- Old.\n"
        "- Requires `x>=0.2,<0.3`.\n\n### Fixed\n- Bug.\n\n## 0.1.0 - 2026-11-21\n\n- First.\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# C\n\n## 0.1.0 - 2026-11-21\n\n- First.\n", "C has no '## Unreleased' section"),
        ("# C\n\n## Unreleased\n\n## 0.1.0\n- First.\n", "the Unreleased section is empty"),
        ("# C\n\n## Unreleased\n   \n\t\n", "the Unreleased section is empty"),
    ],
)
def test_a_changelog_without_anything_to_release_is_refused(text: str, message: str) -> None:
    with pytest.raises(release.ReleaseError, match=message):
        release.released_changelog(text, "C", "0.2.0", TODAY)
