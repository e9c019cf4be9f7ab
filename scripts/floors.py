"""The lowest sibling versions a package's ranges admit, and where their source is.

The ``lowest`` matrix leg (``nox -s "matrix(<pkg>, lowest)"``) installs a package with each sibling
it needs at the lowest version its ranges admit, the way independently versioned monorepos test
their floors. The candidates for a sibling's versions are, in order of preference:

1. its release tags ``<sibling>-v<version>`` (the tagged commit is the release);
2. the versions its ``src/<module>/__about__.py`` has held, each at the oldest commit that had it
   (a version never tagged was never released: its oldest commit is the most it can promise);
3. the working tree's version, when it is not committed yet.

A floor that points at a version lacking what the dependent uses fails the leg: the fix is to raise
the dependent's range (or to bump the sibling's version first, so that a higher floor exists).
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

PACKAGES = ["xobj-prototype", "xresource", "xinspector", "xrepo", "xregistry"]
_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.M)


@dataclass(frozen=True)
class Floor:
    """One sibling at the lowest version a package's ranges admit."""

    package: str
    version: Version
    #: The commit that holds that version, or ``None`` for the uncommitted working tree.
    commit: str | None
    #: Where the version comes from, for the log: ``tag ...``, ``commit ...``, ``working tree``.
    origin: str


def module_of(package: str) -> str:
    """The import name of a distribution: ``xobj-prototype`` -> ``xobj_prototype``."""
    return package.replace("-", "_")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout


def _parse_version(text: str) -> Version | None:
    match = _VERSION.search(text)
    if match is None:
        return None
    try:
        return Version(match.group(1))
    except InvalidVersion:
        # An old commit with a malformed version cannot be a floor; it is skipped, not fatal.
        return None


def about_path(package: str) -> str:
    """The version file of ``package``, relative to the repository root."""
    return f"packages/{package}/src/{module_of(package)}/__about__.py"


def known_versions(root: Path, package: str) -> dict[Version, Floor]:
    """Every version of ``package`` that can be installed from this checkout, with its source."""
    found: dict[Version, Floor] = {}
    prefix = f"{package}-v"
    for tag in _git(root, "tag", "-l", f"{prefix}*").split():
        try:
            version = Version(tag.removeprefix(prefix))
        except InvalidVersion:
            continue
        commit = _git(root, "rev-list", "-n", "1", tag).strip()
        found[version] = Floor(package, version, commit, f"tag {tag}")
    about = about_path(package)
    for commit in _git(root, "log", "--reverse", "--format=%H", "--", about).split():
        try:
            text = _git(root, "show", f"{commit}:{about}")
        except subprocess.CalledProcessError:
            continue  # the commit deleted the file
        version = _parse_version(text)
        if version is not None and version not in found:
            found[version] = Floor(package, version, commit, f"commit {commit[:12]}, first with it")
    current = root / about
    if current.is_file():
        version = _parse_version(current.read_text(encoding="utf-8"))
        if version is not None and version not in found:
            found[version] = Floor(package, version, None, "working tree, not committed yet")
    return found


def _requirements(project: dict[str, object], name: str, extras: set[str]) -> list[Requirement]:
    """The project's dependencies plus those of ``extras``, self-references expanded."""
    optional = project.get("optional-dependencies", {})
    assert isinstance(optional, dict)
    raw = list(project.get("dependencies", []))  # type: ignore[call-overload]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen or extra not in optional:
            continue
        seen.add(extra)
        for text in optional[extra]:
            req = Requirement(text)
            if req.name == name:
                todo += list(req.extras)
            else:
                raw.append(text)
    reqs = []
    for text in raw:
        try:
            reqs.append(Requirement(text))
        except InvalidRequirement as exc:
            raise ValueError(f"{name}: the requirement {text!r} is not valid: {exc}") from exc
    return reqs


def _project(root: Path, package: str) -> dict[str, object]:
    path = root / "packages" / package / "pyproject.toml"
    project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    assert isinstance(project, dict)
    return project


def sibling_ranges(root: Path, package: str, extras: set[str]) -> dict[str, SpecifierSet]:
    """The ranges ``package`` (with ``extras``) declares on its siblings, transitive ones added.

    A sibling reached only through another sibling gets the ranges the siblings of the working
    tree declare on it (the package itself says nothing about it).
    """
    ranges: dict[str, SpecifierSet] = {}
    reach: dict[str, set[str]] = {}
    for req in _requirements(_project(root, package), package, extras):
        if req.name in PACKAGES:
            ranges[req.name] = ranges.get(req.name, SpecifierSet()) & req.specifier
            reach[req.name] = set(req.extras) | {"all"}
    direct = set(ranges)
    todo = list(reach)
    while todo:
        sibling = todo.pop()
        for req in _requirements(_project(root, sibling), sibling, reach[sibling]):
            if req.name not in PACKAGES or req.name == package or req.name in direct:
                continue
            ranges[req.name] = ranges.get(req.name, SpecifierSet()) & req.specifier
            if req.name not in reach:
                reach[req.name] = set(req.extras) | {"all"}
                todo.append(req.name)
    return {p: ranges[p] for p in PACKAGES if p in ranges}


def floors(root: Path, package: str, extras: set[str]) -> list[Floor]:
    """Each sibling of ``package`` at the lowest version its ranges admit, in dependency order.

    Raises ``ValueError`` naming the sibling and the range when no tag, commit or working tree
    holds a version the range admits.
    """
    if package not in PACKAGES:
        raise ValueError(f"floors: {package!r} is not one of {', '.join(PACKAGES)}")
    chosen = []
    for sibling, spec in sibling_ranges(root, package, extras).items():
        versions = known_versions(root, sibling)
        admitted = sorted(spec.filter(versions))
        if not admitted:
            have = ", ".join(str(v) for v in sorted(versions)) or "none"
            raise ValueError(
                f"{package} needs {sibling}{spec}, but no tag, commit or working tree of this "
                f"checkout holds such a version (known: {have}); fix the range or bump {sibling}"
            )
        chosen.append(versions[admitted[0]])
    return chosen


def export(root: Path, floor: Floor, dest: Path) -> Path:
    """The source tree of ``floor``'s package at its commit, unpacked under ``dest``.

    Returns the package directory (holding its ``pyproject.toml``), ready for a wheel build.
    The working tree's own directory is returned as is for an uncommitted version.
    """
    if floor.commit is None:
        return root / "packages" / floor.package
    archive = subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "archive",
            "--format=tar",
            floor.commit,
            f"packages/{floor.package}",
        ],
        capture_output=True,
        check=True,
    ).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "packages" / floor.package
