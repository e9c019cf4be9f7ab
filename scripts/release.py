"""Release one package, or several together: version, changelog, sibling ranges, commit, tags.

Used by ``nox -s release -- xresource=minor xinspector=minor``. Each argument is
``<package>=<major|minor|patch|X.Y.Z>``. For every named package this:

1. writes the new version into ``src/<module>/__about__.py``;
2. turns the changelog's ``## Unreleased`` heading into ``## <version> - <date>`` and opens a new,
   empty ``Unreleased`` section above it (a release with an empty Unreleased section is refused:
   every release says what changed);
3. widens the range by which every *other* package depends on it when the new version falls
   outside (``xobj-prototype>=0.1,<0.2`` becomes ``>=0.2,<0.3`` on a minor bump of a 0.x release);
4. commits and tags ``<package>-v<version>``.

``--dry-run`` prints the plan and writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

PACKAGES = ["xobj-prototype", "xresource", "xinspector", "xrepo", "xregistry"]
_VERSION = re.compile(r'__version__\s*=\s*"(\d+)\.(\d+)\.(\d+)"')


class ReleaseError(RuntimeError):
    """The release cannot go ahead; the message says why."""


@dataclass(frozen=True)
class Bump:
    package: str
    old: tuple[int, int, int]
    new: tuple[int, int, int]

    @property
    def version(self) -> str:
        return ".".join(map(str, self.new))


def read_version(root: Path, package: str) -> tuple[int, int, int]:
    about = root / "packages" / package / "src" / package.replace("-", "_") / "__about__.py"
    m = _VERSION.search(about.read_text())
    if not m:
        raise ReleaseError(f'{about} has no __version__ = "X.Y.Z" line')
    return int(m[1]), int(m[2]), int(m[3])


def next_version(old: tuple[int, int, int], how: str) -> tuple[int, int, int]:
    major, minor, patch = old
    if how == "major":
        return (major + 1, 0, 0)
    if how == "minor":
        return (major, minor + 1, 0)
    if how == "patch":
        return (major, minor, patch + 1)
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", how)
    if not m:
        raise ReleaseError(f"bump {how!r} is not major, minor, patch or X.Y.Z")
    new = (int(m[1]), int(m[2]), int(m[3]))
    if new <= old:
        raise ReleaseError(f"new version {how} is not above {'.'.join(map(str, old))}")
    return new


def compatible_range(version: tuple[int, int, int]) -> str:
    """The range a sibling should declare: same minor for 0.x, same major after 1.0."""
    major, minor, _ = version
    if major == 0:
        return f">={major}.{minor},<{major}.{minor + 1}"
    return f">={major}.{minor},<{major + 1}"


def plan(root: Path, args: Sequence[str]) -> list[Bump]:
    bumps = []
    for arg in args:
        package, _, how = arg.partition("=")
        if package not in PACKAGES:
            raise ReleaseError(f"unknown package {package!r}; packages: {', '.join(PACKAGES)}")
        old = read_version(root, package)
        bumps.append(Bump(package, old, next_version(old, how)))
    return bumps


def update_changelog(path: Path, version: str, today: date, *, write: bool) -> None:
    text = path.read_text()
    m = re.search(r"^## Unreleased\s*$(?P<body>.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        raise ReleaseError(f"{path} has no '## Unreleased' section")
    if not m["body"].strip():
        raise ReleaseError(
            f"{path}: the Unreleased section is empty; say what this release changes"
        )
    new = (
        text[: m.start()]
        + "## Unreleased\n\n"
        + f"## {version} - {today.isoformat()}\n"
        + m["body"]
        + text[m.end() :]
    )
    if write:
        path.write_text(new)


def update_dependents(root: Path, bump: Bump, *, write: bool) -> list[str]:
    """Rewrite sibling ranges on ``bump.package`` that exclude the new version."""
    changed = []
    pattern = re.compile(rf'"{re.escape(bump.package)}(?P<extras>\[[^\]]*\])?(?P<spec>[^"]*)"')
    for other in PACKAGES:
        if other == bump.package:
            continue
        pp = root / "packages" / other / "pyproject.toml"
        text = pp.read_text()

        def repl(m: re.Match[str]) -> str:
            if _admits(m["spec"], bump.new):
                return m[0]
            return f'"{bump.package}{m["extras"] or ""}{compatible_range(bump.new)}"'

        new = pattern.sub(repl, text)
        if new != text:
            changed.append(other)
            if write:
                pp.write_text(new)
    return changed


def _admits(spec: str, version: tuple[int, int, int]) -> bool:
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        m = re.fullmatch(r"(>=|<=|<|>|==|!=)\s*(\d+(?:\.\d+)*)", clause)
        if not m:
            return False
        bound = tuple(int(x) for x in m[2].split("."))
        bound = bound + (0,) * (3 - len(bound))
        ok = {
            ">=": version >= bound,
            "<=": version <= bound,
            "<": version < bound,
            ">": version > bound,
            "==": version == bound,
            "!=": version != bound,
        }[m[1]]
        if not ok:
            return False
    return True


def release(
    root: Path, args: Sequence[str], *, today: date, dry_run: bool, run: Callable[..., Any]
) -> list[Bump]:
    bumps = plan(root, args)
    for bump in bumps:
        pkg_dir = root / "packages" / bump.package
        update_changelog(pkg_dir / "CHANGELOG.md", bump.version, today, write=not dry_run)
        dependents = update_dependents(root, bump, write=not dry_run)
        print(
            f"{bump.package}: {'.'.join(map(str, bump.old))} -> {bump.version}"
            + (f"; ranges raised in {', '.join(dependents)}" if dependents else "")
        )
        if not dry_run:
            about = pkg_dir / "src" / bump.package.replace("-", "_") / "__about__.py"
            about.write_text(_VERSION.sub(f'__version__ = "{bump.version}"', about.read_text()))
    if dry_run:
        return bumps
    names = ", ".join(f"{b.package} {b.version}" for b in bumps)
    run("git", "add", "-A", "packages", external=True)
    run("git", "commit", "-m", f"Release {names}", external=True)
    for bump in bumps:
        run("git", "tag", f"{bump.package}-v{bump.version}", external=True)
    return bumps
