"""Without the ``api`` extra: ``xregistry token`` works, the HTTP API names the extra to install.

The real check runs in a virtual environment that holds xregistry and its declared dependencies
only (no FastAPI, Starlette or uvicorn), built once per test session with uv from the local
packages. uv installs from its cache when it can (no network); a machine without uv skips those
tests and says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from xregistry.api import verify_token_hash

PACKAGES = Path(__file__).resolve().parents[3]
# The package and the siblings its pyproject declares, without any extra.
LOCAL = ["xobj-prototype", "xresource", "xinspector", "xregistry"]
TIMEOUT = 120  # seconds for one command in the bare environment; a deadline, not a measurement
EXTRA = "xregistry[api]"


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False
    )


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a venv with xregistry and its declared dependencies, no extras."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed: it builds the environment without xregistry[api]")
    missing = [name for name in LOCAL if not (PACKAGES / name / "pyproject.toml").is_file()]
    if missing:
        pytest.skip(f"the sibling packages {missing} are not beside {PACKAGES / 'xregistry'}")
    venv = tmp_path_factory.mktemp("bare") / "venv"
    made = _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
    assert made.returncode == 0, made.stderr
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = [uv, "pip", "install", "--quiet", "--python", str(python)]
    for name in LOCAL:
        install += ["-e", str(PACKAGES / name)]
    done = _run([*install, "--offline"])
    if done.returncode != 0:  # not everything in uv's cache: fetch it
        done = _run(install)
    assert done.returncode == 0, done.stderr
    probe = _run([str(python), "-c", "import importlib.util as u; print(u.find_spec('fastapi'))"])
    assert probe.stdout.strip() == "None", "fastapi must not be in the bare environment"
    return python


def _script(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    return _run([str(python), "-c", textwrap.dedent(code)])


def test_token_command_works_without_fastapi(bare_python: Path) -> None:
    script = bare_python.parent / ("xregistry.exe" if os.name == "nt" else "xregistry")
    for scheme in ("sha256", "scrypt"):
        done = _run([str(script), "token", "--scheme", scheme])
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        token = lines[0].split()[-1]
        stored = lines[1].split('"')[1]
        assert stored.startswith(f"{scheme}:")
        assert verify_token_hash(token, stored)
        assert not verify_token_hash(token + "x", stored)


def test_the_api_names_its_extra_without_fastapi(bare_python: Path) -> None:
    done = _script(
        bare_python,
        """
        import json, sys
        import xregistry, xregistry.api
        from xobj_prototype import MissingExtraError
        out = {"fastapi_loaded": "fastapi" in sys.modules, "errors": {}}
        for name in ("create_app", "serve", "prepare", "ApiError", "ApiState", "web_dir"):
            try:
                getattr(xregistry.api, name)
            except MissingExtraError as exc:
                out["errors"][name] = str(exc)
        try:
            from xregistry.api import create_app
        except ImportError as exc:
            out["from_import"] = [type(exc).__name__, str(exc)]
        # What needs no web framework still works.
        from xregistry.api import ApiConfig, TokenAuthenticator, hash_token
        from xregistry.permissions import Principal
        auth = TokenAuthenticator()
        auth.add(hash_token("s3cret"), Principal(id="ada", roles=frozenset({"admin"})))
        out["authenticated"] = auth.authenticate("s3cret").id
        out["port"] = ApiConfig().port
        print(json.dumps(out))
        """,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["fastapi_loaded"] is False
    assert sorted(out["errors"]) == [
        "ApiError",
        "ApiState",
        "create_app",
        "prepare",
        "serve",
        "web_dir",
    ]
    for name, message in out["errors"].items():
        assert message.startswith(f"{name} needs the extra {EXTRA}: pip install '{EXTRA}'")
        assert "fastapi" in message
    assert out["from_import"][0] == "MissingExtraError"
    assert EXTRA in out["from_import"][1]
    assert (out["authenticated"], out["port"]) == ("ada", 8000)


def test_serve_command_names_the_extra_without_fastapi(bare_python: Path) -> None:
    script = bare_python.parent / ("xregistry.exe" if os.name == "nt" else "xregistry")
    done = _run([str(script), "serve", "--port", "0"])
    assert done.returncode == 2
    assert f"pip install '{EXTRA}'" in done.stderr
    # Both are missing here; the message names the first one the command looked for.
    assert "(uvicorn is missing)" in done.stderr or "(fastapi is missing)" in done.stderr
    assert "Traceback" not in done.stderr


# In this environment (the extra installed), a module set to None in sys.modules fails to import
# as if it were not installed: the checks below need no second environment.


def test_token_command_does_not_import_the_web_framework() -> None:
    done = _script(
        Path(sys.executable),
        """
        import sys
        sys.modules["fastapi"] = sys.modules["starlette"] = sys.modules["uvicorn"] = None
        from xregistry.cli import main
        assert main(["token"]) == 0
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("token:")


def test_serve_without_uvicorn_names_the_extra() -> None:
    pytest.importorskip("fastapi", reason="fastapi (xregistry[api]) is not installed")
    done = _script(
        Path(sys.executable),
        """
        import asyncio, sys
        sys.modules["uvicorn"] = None
        from xobj_prototype import MissingExtraError
        from xregistry.api import ApiConfig, serve
        from xregistry.cli import main
        assert main(["serve", "--port", "0"]) == 2
        try:
            asyncio.run(serve(ApiConfig(port=0)))
        except MissingExtraError as exc:
            print(exc)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "xregistry serve needs the api extra (uvicorn is missing)" in done.stderr
    assert done.stdout.startswith(f"serve needs the extra {EXTRA}: pip install '{EXTRA}'")


def test_sample_command_works_without_fastapi(bare_python: Path, tmp_path: Path) -> None:
    script = bare_python.parent / ("xregistry.exe" if os.name == "nt" else "xregistry")
    done = _run([str(script), "sample", "--data-dir", str(tmp_path)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tmp_path / "shop.db"), str(tmp_path / "reviews.csv")]
    assert (tmp_path / "shop.db").stat().st_size > 100_000
