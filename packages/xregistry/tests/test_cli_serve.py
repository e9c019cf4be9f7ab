"""The ``xregistry`` console script: argument parsing, settings, ``token`` and ``sample``."""

import argparse
from pathlib import Path

import pytest

from xregistry.api import hash_token, verify_token_hash
from xregistry.cli import _api_config, build_parser, main


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_serve_defaults() -> None:
    config, registry_config = _api_config(parse("serve"))
    assert (config.host, config.port) == ("127.0.0.1", 8000)
    assert config.resources == []
    assert config.sample
    assert config.local_admin
    # Everyone reads models; admins write them and run functions.
    assert registry_config.models.default_permissions["admin"] == [
        "create",
        "read",
        "update",
        "delete",
        "list",
    ]
    assert registry_config.functions.default_permissions["*"] == ["view"]


def test_serve_options() -> None:
    args = parse(
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        "--resource",
        "sqlite:///a.db",
        "--resource",
        "b.csv",
        "--data-dir",
        "/tmp/x",
        "--no-local-admin",
        "--log-level",
        "warning",
    )
    config, _ = _api_config(args)
    assert config.port == 0
    assert config.host == "0.0.0.0"
    assert [r.url for r in config.resources] == ["sqlite:///a.db", "b.csv"]
    assert config.data_dir == "/tmp/x"
    assert not config.local_admin
    assert config.log_level == "warning"


def test_serve_reads_a_settings_file(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        "[api]\nport = 9001\nadmin_roles = ['ops']\n"
        "[[api.resources]]\nurl = 'sqlite:///x.db'\nnamespace = 'x'\n"
        "[registry.functions]\nexecution_timeout = 3\n"
    )
    config, registry_config = _api_config(parse("serve", "--config", str(settings), "--port", "0"))
    assert config.port == 0  # the command line wins
    assert config.admin_roles == ["ops"]
    assert config.resources[0].namespace == "x"
    assert registry_config.functions.execution_timeout == 3


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "eighty"],
        ["serve", "--log-level", "loud"],
        ["nope"],
        [],
        ["token", "--scheme", "md5"],
    ],
)
def test_bad_arguments_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage: xregistry" in capsys.readouterr().err


def test_bad_settings_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text("[api]\nport = 'x'\n")
    assert main(["serve", "--config", str(settings)]) == 1
    assert "port" in capsys.readouterr().err


def test_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "70000"]) == 1
    assert "port" in capsys.readouterr().err


def test_token_command_prints_a_token_and_its_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token"]) == 0
    out = capsys.readouterr().out.splitlines()
    token = out[0].split()[-1]
    stored = out[1].split('"')[1]
    assert stored == hash_token(token)
    assert main(["token", "--scheme", "scrypt"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert verify_token_hash(lines[0].split()[-1], lines[1].split('"')[1])


def test_sample_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", "--data-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "shop.db"), str(tmp_path / "reviews.csv")]
    assert (tmp_path / "shop.db").stat().st_size > 100_000


def test_serve_fails_clearly_on_an_unreadable_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope" / "x.csv"
    assert main(["serve", "--port", "0", "--resource", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "xregistry serve:" in err
    assert "Traceback" not in err
