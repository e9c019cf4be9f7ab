"""``xregistry --version`` answers like ``xinspector --version``: the program and its version."""

from __future__ import annotations

import subprocess
import sys

import pytest

from xregistry.__about__ import __version__
from xregistry.cli import main


def test_version_flag_prints_program_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"xregistry {__version__}\n"


def test_version_flag_needs_no_command_and_no_web_framework() -> None:
    # A fresh interpreter: the flag must answer before any subcommand is required, and without
    # importing the api extra (fastapi), which a core install does not have.
    code = (
        "import sys\n"
        "from xregistry.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "finally:\n"
        "    sys.stderr.write(str('fastapi' in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"xregistry {__version__}\n"
    assert result.stderr == "False"


def test_module_entry_point_answers_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "xregistry.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"xregistry {__version__}"


def test_missing_command_still_fails_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "usage: xregistry" in capsys.readouterr().err
