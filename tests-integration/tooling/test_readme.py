"""The README stays true: its tour runs, and CI runs exactly its test command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", README, re.S)


def test_readme_opens_with_the_two_commands() -> None:
    run, test = _commands()[:2]
    assert run == "python -m pip install nox && nox -s demo"
    assert test == "python -m pip install nox uv && nox -t suite"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    last = [line for line in ci.splitlines() if line.strip() and not line.startswith("#")][-1]
    assert last == _commands()[1]


def test_the_tour_runs_and_prints_what_it_promises(tmp_path: Path) -> None:
    code = re.search(r"## A five-minute tour.*?```python\n(.*?)```", README, re.S)
    assert code is not None, "the README lost its tour"
    script = tmp_path / "tour.py"
    script.write_text(code.group(1), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "['ns.models.user.User']"
    assert lines[1] == "Ada ada@example.org"
    assert "Orders(id=3, customer='ada', status='open', total=99.9)" in out.stdout
    assert "{'_id': 'ada', 'spent': 130.4}" in out.stdout
    assert lines[-1] == "['ns.models.shop.orders']"
