"""Which CI sessions a change needs (``nox -s affected -- <base-ref>``).

The rules, in order (the first that applies to a changed path wins for that path):

- ``noxfile.py``, anything under ``.ci/``, the workspace ``pyproject.toml``, ``uv.lock`` and the
  files this module reads its rules from (``scripts/affected.py``, ``scripts/floors.py``) select
  **everything**: they change how every session runs.
- ``packages/<pkg>/...`` selects ``<pkg>`` and every package that depends on it, directly or
  through another sibling, in its dependencies or its extras (read from each ``pyproject.toml``).
  Each selected package gets ``typecheck``, ``tests`` and both ``matrix`` legs; ``lint`` runs.
  A package's ``CHANGELOG.md`` alone selects ``lint`` only: no code, test or metadata reads it.
- The integration suite runs the modules of ``tests-integration/`` that import a selected package
  (directly or through a helper module of the suite), plus every changed module of the suite. A
  change to a shared part of the suite (``conftest.py``, a helper imported by no module found,
  ``scripts/test_servers.py``, ``scripts/kafka_mock_broker.py``) runs the whole suite.
- ``README.md`` (its tour and commands are tested) runs
  ``tests-integration/tooling/test_readme.py``; other scripts run the tooling tests
  (``test_tooling_*.py``) and lint.
- ``benchmarks/`` selects ``lint`` only (benchmarks never run in CI; ruff checks their code).
- Documentation only (``docs/``, ``mkdocs.yml``, other top-level Markdown) selects the ``docs``
  session (the strict mkdocs build, which checks links and references) and ``lint`` (ruff formats
  the Python blocks of Markdown pages); no test reads those pages.
- Repository housekeeping (``.gitignore``, ``.gitattributes``, ``LICENSE``) selects nothing.
- Any other path selects everything: an unknown input is never silently untested.

Pure functions over file lists and the checkout, so that tests call them on a scratch clone.
"""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ["xobj-prototype", "xresource", "xinspector", "xrepo", "xregistry"]
EVERYTHING_FILES = {
    "noxfile.py",
    "pyproject.toml",
    "uv.lock",
    "scripts/affected.py",
    "scripts/floors.py",
}
EVERYTHING_DIRS = (".ci/",)
WHOLE_SUITE_FILES = {"scripts/test_servers.py", "scripts/kafka_mock_broker.py"}
HOUSEKEEPING = {".gitignore", ".gitattributes", "LICENSE"}
SUITE = "tests-integration"
#: Suite modules that reach packages without importing them: the README tour runs in a subprocess.
SUITE_RUNS_PACKAGES = {f"{SUITE}/tooling/test_readme.py": set(PACKAGES)}


def module_of(package: str) -> str:
    """The import name of a distribution: ``xobj-prototype`` -> ``xobj_prototype``."""
    return package.replace("-", "_")


@dataclass
class Selection:
    """What a change needs: the packages to check, lint, the integration modules, docs."""

    packages: list[str] = field(default_factory=list)
    lint: bool = False
    #: ``None``: no integration; ``[]``: the whole suite; else these modules (paths from the root).
    integration: list[str] | None = None
    docs: bool = False
    everything: bool = False
    reasons: list[str] = field(default_factory=list)

    def session_names(self) -> list[str]:
        """The nox sessions to run, named as ``nox -l`` lists them, in the suite's order."""
        if self.everything:
            return (
                ["lint"]
                + [f"{kind}({p})" for kind in ("typecheck", "tests") for p in PACKAGES]
                + [f"matrix({p}, {leg})" for leg in ("lowest", "highest") for p in PACKAGES]
                + ["integration"]
            )
        names = ["lint"] if self.lint else []
        names += [f"typecheck({p})" for p in self.packages]
        names += [f"tests({p})" for p in self.packages]
        names += [f"matrix({p}, {leg})" for leg in ("lowest", "highest") for p in self.packages]
        if self.integration is not None:
            names.append("integration")
        if self.docs:
            names.append("docs")
        return names


def changed_files(root: Path, base: str) -> list[str]:
    """Paths changed since ``base``: ``git diff base...HEAD``, uncommitted and untracked files.

    Raises ``ValueError`` naming the ref when ``base`` is not a commit of the checkout.
    """
    if not base.strip() or base.startswith("-"):
        raise ValueError(f"affected: the base must be a git ref such as origin/main, not {base!r}")
    probe = _git(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}", check=False)
    if probe.returncode != 0:
        raise ValueError(f"affected: {base!r} is not a commit of {root} (fetch it, or name a ref)")
    # -z: paths verbatim (git quotes non-ASCII names in its default output).
    diffs = [
        ("diff", "-z", "--name-only", "--no-renames", f"{base}...HEAD"),
        ("diff", "-z", "--name-only", "--no-renames", "HEAD"),
        ("ls-files", "-z", "--others", "--exclude-standard"),
    ]
    files = {f for args in diffs for f in _git(root, *args).stdout.split("\0")}
    return sorted(f for f in files if f)


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=check
    )


def sibling_requirements(root: Path) -> dict[str, set[str]]:
    """For each package, the siblings it names in its dependencies or any of its extras."""
    needs: dict[str, set[str]] = {}
    for package in PACKAGES:
        path = root / "packages" / package / "pyproject.toml"
        if not path.is_file():
            needs[package] = set()
            continue
        project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
        reqs = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            reqs.extend(extra)
        names = {re.split(r"[\s\[<>=!~;@]", r, maxsplit=1)[0].strip() for r in reqs}
        needs[package] = {n for n in names if n in PACKAGES and n != package}
    return needs


def dependents_closure(root: Path, changed: Iterable[str]) -> list[str]:
    """The changed packages and every package that depends on one of them, in package order."""
    needs = sibling_requirements(root)
    selected = set(changed)
    grew = True
    while grew:
        grew = False
        for package, deps in needs.items():
            if package not in selected and deps & selected:
                selected.add(package)
                grew = True
    return [p for p in PACKAGES if p in selected]


def suite_imports(root: Path) -> dict[str, tuple[set[str], set[str]]]:
    """For each module of the integration suite: the packages it imports and the suite files it
    reads them through (itself and its helper modules, followed transitively)."""
    suite = root / SUITE
    local = {p.stem for p in suite.glob("*.py")} | {
        p.name for p in suite.iterdir() if (p / "__init__.py").is_file()
    }
    direct: dict[str, tuple[set[str], set[str]]] = {}
    for path in sorted(suite.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        tops: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                tops.add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.level:
                # A relative import inside a helper package (differential/) stays inside it.
                tops.add(path.parent.name)
        packages = {p for p in PACKAGES if module_of(p) in tops}
        direct[rel] = (packages, {t for t in tops if t in local})

    def helper_files(name: str) -> list[str]:
        return [r for r in direct if Path(r).stem == name or f"/{name}/" in f"/{r}"]

    resolved: dict[str, tuple[set[str], set[str]]] = {}
    for rel in direct:
        seen: set[str] = set()
        todo = [rel]
        packages: set[str] = set()
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            pkgs, helpers = direct[current]
            packages |= pkgs
            for helper in helpers:
                todo += helper_files(helper)
        resolved[rel] = (packages, seen)
    return resolved


def _is_doc(path: str) -> bool:
    return (
        path.startswith("docs/")
        or path == "mkdocs.yml"
        or ("/" not in path and path.endswith(".md"))
    )


def select(root: Path, files: Iterable[str]) -> Selection:
    """The sessions that ``files`` (paths relative to ``root``) need, by the module's rules."""
    sel = Selection()
    changed_packages: set[str] = set()
    suite_changed: list[str] = []
    whole_suite = False
    for path in files:
        if path in EVERYTHING_FILES or path.startswith(EVERYTHING_DIRS):
            sel.everything = True
            sel.reasons.append(f"{path}: workflow or workspace configuration, everything runs")
            continue
        parts = path.split("/")
        if parts[0] == "packages" and len(parts) > 2 and parts[1] in PACKAGES:
            if parts[2:] == ["CHANGELOG.md"]:
                sel.lint = True  # ruff formats the Python blocks of Markdown files
                sel.reasons.append(f"{path}: a changelog, lint only")
                continue
            changed_packages.add(parts[1])
            if parts[2:] == ["pyproject.toml"]:
                # The release tool and this selection read the package metadata.
                suite_changed += [
                    p.relative_to(root).as_posix()
                    for p in sorted((root / SUITE).rglob("test_tooling_*.py"))
                ]
            continue
        if parts[0] == SUITE:
            sel.lint = True
            suite_changed.append(path)
            continue
        if path in WHOLE_SUITE_FILES:
            sel.lint = True
            whole_suite = True
            sel.reasons.append(f"{path}: starts the test servers, the integration suite runs")
            continue
        if path == "README.md":
            sel.lint = True
            suite_changed.append(f"{SUITE}/tooling/test_readme.py")
            continue
        if parts[0] == "scripts":
            sel.lint = True
            suite_changed += sorted(
                p.relative_to(root).as_posix() for p in (root / SUITE).rglob("test_tooling_*.py")
            ) or [path]
            continue
        if parts[0] == "benchmarks":
            sel.lint = True
            continue
        if _is_doc(path):
            sel.docs = True
            sel.lint = path.endswith(".md") or sel.lint
            continue
        if path in HOUSEKEEPING:
            continue
        sel.everything = True
        sel.reasons.append(f"{path}: no rule names it, everything runs")
    if sel.everything:
        sel.packages = list(PACKAGES)
        sel.lint = True
        sel.integration = []
        return sel
    sel.packages = dependents_closure(root, changed_packages)
    if changed_packages:
        sel.lint = True
        sel.reasons.append(
            f"changed: {', '.join(sorted(changed_packages))}; with dependents: "
            f"{', '.join(sel.packages)}"
        )
    imports = suite_imports(root) if (root / SUITE).is_dir() else {}
    modules: set[str] = set()
    for path in suite_changed:
        users = {rel for rel, (_, files) in imports.items() if path in files}
        tests = {u for u in users if Path(u).name.startswith("test_")}
        if tests:
            modules |= tests
        elif path.startswith(f"{SUITE}/") and not (root / path).exists():
            # A deleted module: nothing imports it any more, so nothing else needs to run for it.
            sel.reasons.append(f"{path}: removed")
        else:
            # conftest.py, data files, helpers no test module names: they reach every test.
            whole_suite = True
            sel.reasons.append(f"{path}: shared by the integration suite, all of it runs")
    if whole_suite:
        sel.integration = []
        return sel
    selected = set(sel.packages)
    modules |= {
        rel
        for rel, (pkgs, _) in imports.items()
        if Path(rel).name.startswith("test_")
        and (pkgs | SUITE_RUNS_PACKAGES.get(rel, set())) & selected
    }
    if modules:
        sel.integration = sorted(modules)
    return sel
