"""Release one package, or several together: versions, changelogs, sibling ranges, commit, tags.

Used by ``nox -s release -- xresource=minor xinspector=minor``. Each argument is
``<package>=<major|minor|patch|VERSION>``, where VERSION is a PEP 440 release ``X.Y.Z`` or
pre-release ``X.Y.Zrc1`` (also ``a1``, ``b1``). For every package released this:

1. writes the new version into ``src/<module>/__about__.py``;
2. turns the changelog's ``## Unreleased`` heading into ``## <version> - <date>`` and opens a new,
   empty ``Unreleased`` section above it (a release with nothing under Unreleased is refused:
   every release says what changed);
3. raises the range by which every *other* package depends on it when the new version falls
   outside (``xobj-prototype>=0.1,<0.2`` becomes ``>=0.2,<0.3`` on a minor release of a 0.x
   package). A dependent whose range is raised has new metadata, so it is released too: with the
   bump named for it, or else a patch release, which gets a changelog line saying which range
   moved. A dependent that is not named but has unreleased changes of its own is refused: a patch
   number would misdescribe them, so name it with the bump they need;
4. builds each released package (sdist, then the wheel from it) and runs its tests, and only then
5. commits exactly the files it wrote and tags ``<package>-v<version>``.

It refuses a working tree with uncommitted changes to tracked files (untracked files are left
alone and stay untracked) and a tag that already exists. ``--dry-run`` prints the full diff and the
tags it would make, and writes nothing. ``--skip-tests`` builds but does not run the tests.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

# Dependency order: a package may depend only on those before it.
PACKAGES = ["xobj-prototype", "xresource", "xinspector", "xrepo", "xregistry"]
BUMPS = ("major", "minor", "patch")
_VERSION_LINE = re.compile(r'^__version__\s*=\s*"(?P<version>[^"]*)"', re.M)
# What this tool releases: three numbers and at most a pre-release tag (PEP 440, normalized).
_RELEASE_FORM = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(?:(?:a|b|rc)[0-9]+)?")
_UNRELEASED = re.compile(r"^## Unreleased[ \t]*\n(?P<body>.*?)(?=^## |\Z)", re.M | re.S)
# The name and extras of a requirement string, kept verbatim when its specifier is rewritten.
_REQ_HEAD = re.compile(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?")

TestCommand = Callable[[str], Sequence[str]]


class ReleaseError(RuntimeError):
    """The release cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class Bump:
    """One package's release: from ``old`` to ``new``, and why it is released."""

    package: str
    old: Version
    new: Version
    reason: str = "named"

    @property
    def version(self) -> str:
        """The new version as written into ``__about__.py`` and the tag."""
        return str(self.new)

    @property
    def tag(self) -> str:
        """The git tag of this release: ``<package>-v<version>``."""
        return f"{self.package}-v{self.new}"


@dataclass(frozen=True)
class RangeChange:
    """``dependent`` now requires ``new`` instead of ``old`` (requirement strings)."""

    dependent: str
    sibling: str
    old: str
    new: str


@dataclass
class Plan:
    """Everything a release does, computed before anything is written."""

    bumps: list[Bump]
    ranges: list[RangeChange]
    # Path relative to the root -> (text before, text after); only files that change.
    files: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def tags(self) -> list[str]:
        """The tags the release makes, in dependency order."""
        return [b.tag for b in self.bumps]

    @property
    def message(self) -> str:
        """The commit message."""
        return "Release " + ", ".join(f"{b.package} {b.version}" for b in self.bumps)

    def diff(self) -> str:
        """The unified diff of every file the release writes (``git apply`` reads it)."""
        chunks: list[str] = []
        for rel, (before, after) in self.files.items():
            chunks.extend(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=f"a/{rel}",
                    tofile=f"b/{rel}",
                )
            )
        return "".join(chunks)


# -- versions --------------------------------------------------------------------------------
def parse_release(text: str, where: str) -> Version:
    """A version this tool can release: ``X.Y.Z`` or ``X.Y.Z{a,b,rc}N``, normalized (PEP 440)."""
    try:
        version = Version(text)
    except InvalidVersion:
        raise ReleaseError(
            f"{where}: {text!r} is not a PEP 440 version; write X.Y.Z or a pre-release "
            "such as 1.0.0rc1"
        ) from None
    if not _RELEASE_FORM.fullmatch(str(version)):
        raise ReleaseError(
            f"{where}: {text!r} is not a release this tool makes; write X.Y.Z or a "
            "pre-release X.Y.Za1 / X.Y.Zb1 / X.Y.Zrc1 (no epoch, .post, .dev or +local)"
        )
    return version


def read_version(root: Path, package: str) -> Version:
    """The current version of ``package``, from its ``__about__.py``."""
    about = _about_path(root, package)
    m = _VERSION_LINE.search(about.read_text(encoding="utf-8"))
    if not m:
        raise ReleaseError(f'{about} has no __version__ = "X.Y.Z" line')
    return parse_release(m["version"], str(about))


def next_version(old: Version, how: str) -> Version:
    """The version after ``old`` for ``how``: ``major``, ``minor``, ``patch`` or a version.

    From a pre-release, the bump that its final release already is gives that final release
    (``1.0.0rc1`` + ``major`` = ``1.0.0``; ``1.1.0rc1`` + ``patch`` = ``1.1.0``), as Poetry and
    hatch do.
    """
    major, minor, patch = old.release
    if how in BUMPS:
        if old.is_prerelease:
            final = Version(f"{major}.{minor}.{patch}")
            already = {"patch": True, "minor": patch == 0, "major": minor == patch == 0}
            if already[how]:
                return final
        if how == "major":
            return Version(f"{major + 1}.0.0")
        if how == "minor":
            return Version(f"{major}.{minor + 1}.0")
        return Version(f"{major}.{minor}.{patch + 1}")
    # ASCII only: str.isdigit() and \d would take other scripts' digits for version numbers.
    if not re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", how.strip()):
        raise ReleaseError(
            f"bump {how!r} is not major, minor, patch or a version (X.Y.Z, or X.Y.Zrc1)"
        )
    new = parse_release(how.strip(), "requested version")
    if new <= old:
        raise ReleaseError(f"new version {new} is not above {old}")
    return new


def compatible_range(version: Version) -> str:
    """The range a sibling should declare: same minor for 0.x, same major after 1.0.

    The floor of a pre-release is the pre-release itself: a specifier that names a pre-release
    is what lets pip and uv choose one (PEP 440).
    """
    major, minor, _ = version.release
    floor = str(version) if version.is_prerelease else f"{major}.{minor}"
    ceiling = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={floor},<{ceiling}"


# -- files -----------------------------------------------------------------------------------
def _about_path(root: Path, package: str) -> Path:
    return root / "packages" / package / "src" / package.replace("-", "_") / "__about__.py"


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def unreleased_body(text: str, where: str) -> str:
    """The text under ``## Unreleased`` (up to the next ``## `` heading)."""
    m = _UNRELEASED.search(text)
    if not m:
        raise ReleaseError(f"{where} has no '## Unreleased' section")
    return m["body"]


def released_changelog(
    text: str, where: str, version: str, today: date, extra: Sequence[str] = ()
) -> str:
    """``text`` with its Unreleased section released as ``version``; ``extra`` lines first
    join that section under ``### Changed``."""
    m = _UNRELEASED.search(text)
    if not m:
        raise ReleaseError(f"{where} has no '## Unreleased' section")
    body, rest = m["body"], text[m.end() :]
    if extra:
        body = _with_changed_lines(body, extra)
        if rest and not body.endswith("\n\n"):
            body += "\n"  # keep a blank line before the next release's heading
    if not body.strip():
        raise ReleaseError(
            f"{where}: the Unreleased section is empty; say what this release changes"
        )
    # The section's own text is kept byte for byte: the release diff shows only the headings.
    return (
        text[: m.start()]
        + "## Unreleased\n\n"
        + f"## {version} - {today.isoformat()}\n"
        + ("" if body.startswith("\n") else "\n")
        + body
        + rest
    )


def _with_changed_lines(body: str, lines: Sequence[str]) -> str:
    """Append ``lines`` to the body's ``### Changed`` subsection, opening one when absent."""
    block = "".join(f"{line}\n" for line in lines)
    changed = re.search(r"^### Changed[ \t]*\n(?P<items>.*?)(?=^### |\Z)", body, re.M | re.S)
    if changed:
        end = changed.start("items") + len(changed["items"].rstrip("\n")) + 1
        if not changed["items"].strip():
            end = changed.start("items")
        return body[:end] + block + body[end:]
    stripped = body.rstrip("\n")
    return (stripped + "\n\n" if stripped.strip() else "\n") + "### Changed\n" + block


def _requirements(pyproject_text: str, where: str) -> list[str]:
    try:
        project = tomllib.loads(pyproject_text).get("project", {})
    except tomllib.TOMLDecodeError as exc:
        raise ReleaseError(f"{where} is not valid TOML: {exc}") from None
    reqs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    return reqs


def _ranged(req_text: str, package: str, where: str) -> Requirement | None:
    """``req_text`` parsed when it names ``package`` with a range; else None."""
    try:
        req = Requirement(req_text)
    except InvalidRequirement as exc:
        raise ReleaseError(f"{where}: requirement {req_text!r} does not parse: {exc}") from None
    if canonicalize_name(req.name) != package or not req.specifier:
        return None
    return req


def _respecified(req_text: str, specifier: str, where: str) -> str:
    """``req_text`` with ``specifier`` in place of its own, name, extras and marker kept."""
    head = _REQ_HEAD.match(req_text)
    if head is None:  # Requirement() accepted it, so this would be a bug in _REQ_HEAD
        raise ReleaseError(f"{where}: cannot find the name in requirement {req_text!r}")
    _, semicolon, marker = req_text.partition(";")
    return head[0].strip() + specifier + (f";{marker}" if semicolon else "")


def _raised(req_text: str, package: str, new: Version, where: str) -> str | None:
    """The rewritten requirement when ``req_text`` names ``package`` with a range that excludes
    ``new``; None when it does not name it, names no range, or already admits ``new``."""
    req = _ranged(req_text, package, where)
    # prereleases=True: a pre-release inside the numeric range is admitted (``>=0.1,<0.2`` admits
    # 0.1.1rc1); PEP 440 still keeps ``<0.2`` from admitting 0.2.0rc1, which is what we want.
    if req is None or req.specifier.contains(new, prereleases=True):
        return None
    return _respecified(req_text, compatible_range(new), where)


def _floor_raised(req_text: str, package: str, new: Version, where: str) -> str | None:
    """The rewritten requirement when ``req_text`` names ``package`` with a floor below ``new``:
    ``>=new`` and the ceiling of :func:`compatible_range`; None when it does not name it, names
    no range, or its floor is ``new`` or above."""
    req = _ranged(req_text, package, where)
    if req is None:
        return None
    floors = [Version(s.version) for s in req.specifier if s.operator in (">=", ">", "==", "~=")]
    if floors and max(floors) >= new:
        return None
    ceiling = compatible_range(new).partition(",")[2]
    return _respecified(req_text, f">={new},{ceiling}", where)


# -- the plan --------------------------------------------------------------------------------
def _parse_requests(args: Sequence[str]) -> dict[str, str]:
    requests: dict[str, str] = {}
    for arg in args:
        name, eq, how = arg.partition("=")
        if not eq or not name.strip():
            raise ReleaseError(
                f"argument {arg!r} is not <package>=<major|minor|patch|X.Y.Z>, e.g. xresource=minor"
            )
        package = canonicalize_name(name.strip())
        if package not in PACKAGES:
            raise ReleaseError(f"unknown package {name.strip()!r}; packages: {', '.join(PACKAGES)}")
        if package in requests:
            raise ReleaseError(f"{package} is named twice; name each package once")
        requests[package] = how
    if not requests:
        raise ReleaseError(
            "name what to release: nox -s release -- xresource=patch [package=minor ...]"
        )
    return requests


def plan(root: Path, args: Sequence[str], *, today: date) -> Plan:
    """Compute the release of ``args`` (``package=bump``) without writing anything."""
    requests = _parse_requests(args)
    texts: dict[str, str] = {}

    def current(path: Path) -> str:
        rel = _rel(root, path)
        if rel not in texts:
            try:
                texts[rel] = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise ReleaseError(f"{rel} is missing") from None
        return texts[rel]

    originals: dict[str, str] = {}
    bumps: dict[str, Bump] = {}
    for package in PACKAGES:
        if package in requests:
            old = read_version(root, package)
            bumps[package] = Bump(package, old, next_version(old, requests[package]))
    ranges: list[RangeChange] = []
    lines: dict[str, list[str]] = {}
    queue = list(bumps)

    def rewrite(dependent: str, sibling: str, raise_req: Callable[..., str | None]) -> bool:
        """Rewrite ``dependent``'s requirements on ``sibling`` that ``raise_req`` raises (and
        release ``dependent`` as a patch when it was not named); whether it was new to the
        release."""
        bump = bumps[sibling]
        path = root / "packages" / dependent / "pyproject.toml"
        rel = _rel(root, path)
        text = current(path)
        originals.setdefault(rel, text)
        added = False
        for req_text in _requirements(text, rel):
            new_req = raise_req(req_text, sibling, bump.new, rel)
            if new_req is None:
                continue
            quoted = f'"{req_text}"'
            if quoted not in text:
                raise ReleaseError(
                    f"{rel}: cannot find {quoted} to rewrite (write requirements in double quotes)"
                )
            text = text.replace(quoted, f'"{new_req}"')
            ranges.append(RangeChange(dependent, sibling, req_text, new_req))
            lines.setdefault(dependent, []).append(
                f"- Requires `{new_req}` (was `{req_text}`), for {sibling} {bump.version}."
            )
            if dependent not in bumps:
                changelog = root / "packages" / dependent / "CHANGELOG.md"
                if unreleased_body(current(changelog), _rel(root, changelog)).strip():
                    why = "is outside" if raise_req is _raised else "raises the floor of"
                    raise ReleaseError(
                        f"{sibling} {bump.version} {why} {dependent}'s range `{req_text}`, so "
                        f"{dependent} must be released with the range raised; its changelog has "
                        f"unreleased changes that a patch release would not describe: name it "
                        f"with the bump they need, e.g. {dependent}=minor"
                    )
                old = read_version(root, dependent)
                bumps[dependent] = Bump(
                    dependent,
                    old,
                    next_version(old, "patch"),
                    reason=f"its range on {sibling} is raised",
                )
                added = True
        texts[rel] = text
        return added

    while queue:
        sibling = queue.pop(0)
        for dependent in PACKAGES:
            if dependent != sibling and rewrite(dependent, sibling, _raised):
                queue.append(dependent)
    # A released package whose own requirements moved does not install with its older
    # versions: a dependent's floor on it rises to the new version, so that the lowest versions
    # a dependent admits install together (xregistry's `xrepo>=0.2` kept admitting xrepo 0.2.0,
    # which needs the xresource 0.2 that xregistry's own `xresource>=0.3` excludes). Floors only
    # look back in PACKAGES' order, so one pass in that order reaches every chain.
    for i, sibling in enumerate(PACKAGES):
        if sibling in bumps and any(r.dependent == sibling for r in ranges):
            for dependent in PACKAGES[i + 1 :]:
                rewrite(dependent, sibling, _floor_raised)

    ordered = [bumps[p] for p in PACKAGES if p in bumps]
    for bump in ordered:
        changelog = root / "packages" / bump.package / "CHANGELOG.md"
        rel = _rel(root, changelog)
        originals.setdefault(rel, current(changelog))
        texts[rel] = released_changelog(
            current(changelog), rel, bump.version, today, lines.get(bump.package, ())
        )
        about = _about_path(root, bump.package)
        rel = _rel(root, about)
        originals.setdefault(rel, current(about))
        texts[rel] = _VERSION_LINE.sub(f'__version__ = "{bump.version}"', current(about), count=1)

    result = Plan(ordered, ranges)
    for rel, before in originals.items():
        if texts[rel] != before:
            result.files[rel] = (before, texts[rel])
    return result


# -- running it ------------------------------------------------------------------------------
def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def dirty_files(root: Path) -> list[str]:
    """Tracked files with uncommitted changes, staged or not (untracked files do not count)."""
    out = _git(root, "status", "--porcelain", "--untracked-files=no")
    return [line[3:] for line in out.splitlines() if line.strip()]


def _few(paths: Sequence[str], limit: int = 10) -> str:
    more = len(paths) - limit
    return ", ".join(paths[:limit]) + (f" and {more} more" if more > 0 else "")


def default_builder() -> list[str]:
    """``uv build`` when uv is on the PATH, else ``python -m build`` (the ``build`` package)."""
    uv = shutil.which("uv")
    return [uv, "build"] if uv else [sys.executable, "-m", "build"]


def _check(cmd: Sequence[str], root: Path, what: str) -> None:
    print(f"release: {what}: {' '.join(cmd)}", flush=True)
    try:
        done = subprocess.run(list(cmd), cwd=root, check=False)
    except OSError as exc:
        raise ReleaseError(f"{what}: cannot run {cmd[0]!r}: {exc}") from None
    if done.returncode != 0:
        raise ReleaseError(f"{what} failed (exit status {done.returncode}): {' '.join(cmd)}")


def build_and_test(
    root: Path, result: Plan, builder: Sequence[str], test_command: TestCommand | None
) -> None:
    """Build every released package (sdist, then the wheel from it) and run its tests."""
    with tempfile.TemporaryDirectory(prefix="xstack-release-") as tmp:
        for bump in result.bumps:
            out = Path(tmp) / bump.package
            package_dir = root / "packages" / bump.package
            _check([*builder, "-o", str(out), str(package_dir)], root, f"build {bump.package}")
            # The artifacts must carry the version just written, or __about__ is not what the
            # build backend reads.
            stem = f"{bump.package.replace('-', '_')}-{bump.version}"
            built = sorted(p.name for p in out.iterdir())
            if f"{stem}.tar.gz" not in built or not any(
                n.startswith(f"{stem}-") and n.endswith(".whl") for n in built
            ):
                raise ReleaseError(
                    f"build {bump.package}: expected {stem}.tar.gz and a {stem} wheel, got {built}"
                )
    if test_command is not None:
        for bump in result.bumps:
            _check(test_command(bump.package), root, f"tests of {bump.package}")


def release(
    root: Path,
    args: Sequence[str],
    *,
    today: date,
    dry_run: bool = False,
    test_command: TestCommand | None,
    builder: Sequence[str] | None = None,
) -> Plan:
    """Release ``args`` (``package=bump``) in the git checkout at ``root``.

    ``test_command(package)`` is the command that runs a package's tests (from ``root``);
    None skips them. ``builder`` is the build front end, given ``-o OUTDIR PACKAGE_DIR``.
    """
    result = plan(root, args, today=today)
    if dry_run:
        print(result.diff(), end="")
        for bump in result.bumps:
            why = "" if bump.reason == "named" else f" ({bump.reason})"
            print(f"would release {bump.package} {bump.old} -> {bump.version}{why}")
        print(
            "would build"
            + (" and test" if test_command else "")
            + ": "
            + ", ".join(b.package for b in result.bumps)
        )
        print(f"would commit: {result.message}")
        print("would tag: " + " ".join(result.tags))
        dirty = dirty_files(root)
        if dirty:
            print(f"note: a real release would refuse: uncommitted changes in {_few(dirty)}")
        return result

    dirty = dirty_files(root)
    if dirty:
        raise ReleaseError(
            f"the working tree has uncommitted changes ({_few(dirty)}); commit or stash them "
            "first, so that the release commit holds only the release"
        )
    existing = set(_git(root, "tag", "--list").split())
    taken = [tag for tag in result.tags if tag in existing]
    if taken:
        raise ReleaseError(f"tag {', '.join(taken)} already exists; choose another version")

    for rel, (_, after) in result.files.items():
        (root / rel).write_text(after, encoding="utf-8")
    try:
        build_and_test(root, result, builder or default_builder(), test_command)
    except BaseException:
        # Nothing is committed yet: put every file back, so a failed release leaves no trace.
        for rel, (before, _) in result.files.items():
            (root / rel).write_text(before, encoding="utf-8")
        raise
    paths = list(result.files)
    _git(root, "add", "--", *paths)
    _git(root, "commit", "-q", "-m", result.message, "--", *paths)
    for bump in result.bumps:
        _git(root, "tag", "-a", bump.tag, "-m", f"{bump.package} {bump.version}")
    for bump in result.bumps:
        print(f"released {bump.package} {bump.version}, tagged {bump.tag}")
    return result


def nox_tests(root: Path) -> TestCommand:
    """Run a package's tests as CI does: ``nox -s "tests(<package>)"``, an environment holding
    only that package and what it declares."""

    def command(package: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "nox",
            "-f",
            str(root / "noxfile.py"),
            "-s",
            f"tests({package})",
        ]

    return command


def main(argv: Sequence[str], *, root: Path, today: date) -> Plan:
    """The command line of ``nox -s release -- ...``."""
    parser = argparse.ArgumentParser(
        prog="nox -s release --",
        description="Release packages: version, changelog, sibling ranges, build, tests, tags.",
    )
    parser.add_argument("bumps", nargs="*", help="<package>=<major|minor|patch|X.Y.Z[rcN]>")
    parser.add_argument("--dry-run", action="store_true", help="print the diff and tags only")
    parser.add_argument(
        "--skip-tests", action="store_true", help="build, but do not run the packages' tests"
    )
    options = parser.parse_args(list(argv))
    return release(
        root,
        options.bumps,
        today=today,
        dry_run=options.dry_run,
        test_command=None if options.skip_tests else nox_tests(root),
    )


if __name__ == "__main__":
    try:
        main(sys.argv[1:], root=Path(__file__).resolve().parent.parent, today=date.today())
    except ReleaseError as exc:
        sys.exit(f"release: {exc}")
