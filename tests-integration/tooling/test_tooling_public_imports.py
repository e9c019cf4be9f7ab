"""scripts/check_public_imports.py: suites, benchmarks and scripts import the packages through
their public faces (the forbidden modules of the "public faces" import-linter contracts)."""

from __future__ import annotations

from pathlib import Path

import check_public_imports
import pytest

ROOT = Path(__file__).resolve().parents[2]

CONTRACTS = """
[tool.importlinter]
root_packages = ["xresource"]

[[tool.importlinter.contracts]]
name = "other packages import xresource through its public faces"
type = "forbidden"
source_modules = ["xrepo"]
forbidden_modules = ["xresource.*.*", "xresource.base"]
allow_indirect_imports = true

[[tool.importlinter.contracts]]
name = "layers, not a face rule"
type = "forbidden"
source_modules = ["xrepo"]
forbidden_modules = ["xresource"]
"""


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "pyproject.toml").write_text(CONTRACTS, encoding="utf-8")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_repository_imports_only_public_faces() -> None:
    assert check_public_imports.offences(ROOT) == []


def test_internal_modules_are_reported_with_their_line(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "tests-integration/xresource/test_é.py": (
                "import os\n"
                "from xresource import SQLITE\n"
                "from xresource.databases.dialect import SQLITE as S\n"
                "import xresource.base\n"
                "from xresource.databases import raise_alone\n"
            ),
            "benchmarks/bench_x.py": "def f():\n    from xresource.streams.kafka import K\n",
            "scripts/tool.py": "import xresource.network.rest as r  # private on purpose: hook\n",
            "docs/not_checked.py": "from xresource.base import XResource\n",
        },
    )
    assert check_public_imports.offences(root) == [
        "tests-integration/xresource/test_é.py:3: xresource.databases.dialect",
        "tests-integration/xresource/test_é.py:4: xresource.base",
        "benchmarks/bench_x.py:2: xresource.streams.kafka",
    ]
    assert check_public_imports.main(["check", str(root)]) == 1


def test_a_clean_tree_passes_and_a_tree_without_the_contracts_is_refused(
    tmp_path: Path,
) -> None:
    root = tree(tmp_path, {"scripts/ok.py": "from xresource import XResource\n"})
    assert check_public_imports.main(["check", str(root)]) == 0
    (root / "pyproject.toml").write_text("[tool.importlinter]\ncontracts = []\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="no 'public faces' contracts"):
        check_public_imports.offences(root)
