"""load_settings / read_settings: Dynaconf files, environments and variables into Pydantic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from xobj_prototype import XConfigurationError, XObjPrototype, load_settings, read_settings

PREFIX = "XTESTCFG"
PASSWORD = "hunter2-Sup3r-S3cret"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No variable of this prefix, nor a global Dynaconf switch, leaks in from the machine."""
    for name in list(os.environ):
        if name.startswith(f"{PREFIX}_") or name.endswith("_FOR_DYNACONF"):
            monkeypatch.delenv(name)


class Postgres(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=5432, ge=1, le=65535)
    pool_size: int = 10
    password: SecretStr | None = None


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    postgres: Postgres = Field(default_factory=Postgres)


class AppSettings(XObjPrototype):
    model_config = ConfigDict(extra="forbid")

    name: str = "app"
    debug: bool = False
    resources: Resources = Field(default_factory=Resources)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def flat(tmp_path: Path) -> Path:
    write(
        tmp_path,
        "settings.toml",
        'name = "shop"\ndebug = true\n[resources.postgres]\nhost = "db"\npool_size = 5\n',
    )
    write(tmp_path, ".secrets.toml", f'[resources.postgres]\npassword = "{PASSWORD}"\n')
    return tmp_path


@pytest.fixture
def sectioned(tmp_path: Path) -> Path:
    write(
        tmp_path,
        "settings.toml",
        """
[default]
name = "shop"
[default.resources.postgres]
host = "db"
pool_size = 10

[development.resources.postgres]
pool_size = 2

[production]
debug = false
[production.resources.postgres]
host = "db.prod"
pool_size = 50
""",
    )
    write(
        tmp_path,
        ".secrets.toml",
        f'[default.resources.postgres]\npassword = "{PASSWORD}"\n',
    )
    return tmp_path


# -- files ------------------------------------------------------------------------------------
def test_flat_files_are_read_from_their_top_level(flat: Path) -> None:
    settings = load_settings(AppSettings, PREFIX, root=flat)
    assert settings.name == "shop"
    assert settings.debug is True
    pg = settings.resources.postgres
    assert (pg.host, pg.port, pg.pool_size) == ("db", 5432, 5)
    assert pg.password is not None
    assert pg.password.get_secret_value() == PASSWORD


def test_secrets_from_the_secrets_file_stay_masked(flat: Path) -> None:
    settings = load_settings(AppSettings, PREFIX, root=flat)
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in settings.model_dump_json()
    assert PASSWORD not in str(settings.model_dump())


def test_the_working_directory_is_the_default_root(
    flat: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(flat)
    assert load_settings(AppSettings, PREFIX).name == "shop"


def test_missing_files_give_the_model_defaults(tmp_path: Path) -> None:
    settings = load_settings(AppSettings, PREFIX, root=tmp_path / "nowhere")
    assert settings == AppSettings()


def test_later_files_win(tmp_path: Path) -> None:
    first = write(tmp_path, "a.toml", 'name = "first"\ndebug = true\n')
    second = write(tmp_path, "b.toml", 'name = "second"\n')
    settings = load_settings(AppSettings, PREFIX, settings_files=[first, second])
    assert settings.name == "second"
    assert settings.debug is True  # untouched by the later file


def test_relative_files_are_looked_up_in_root(tmp_path: Path) -> None:
    write(tmp_path, "custom.toml", 'name = "custom"\n')
    assert (
        load_settings(AppSettings, PREFIX, root=tmp_path, settings_files=["custom.toml"]).name
        == "custom"
    )


def test_json_files_are_read_too(tmp_path: Path) -> None:
    write(
        tmp_path,
        "settings.json",
        '{"name": "from-json", "resources": {"postgres": {"port": 6543}}}',
    )
    settings = load_settings(AppSettings, PREFIX, root=tmp_path, settings_files=["settings.json"])
    assert settings.name == "from-json"
    assert settings.resources.postgres.port == 6543


def test_read_settings_lower_cases_keys_and_hides_dynaconf_internals(flat: Path) -> None:
    data = read_settings(PREFIX, root=flat)
    assert data["name"] == "shop"
    assert data["resources"]["postgres"]["host"] == "db"
    assert not any(key.isupper() for key in data)
    assert not {"load_dotenv", "env", "environments", "merge_enabled"} & set(data)
    assert not any(key.endswith("_for_dynaconf") for key in data)


# -- environments -----------------------------------------------------------------------------
def test_default_environment_is_development(sectioned: Path) -> None:
    settings = load_settings(AppSettings, PREFIX, root=sectioned)
    pg = settings.resources.postgres
    assert settings.name == "shop"
    assert (pg.host, pg.pool_size) == ("db", 2)
    assert pg.password is not None
    assert pg.password.get_secret_value() == PASSWORD


def test_production_section_is_merged_over_default(sectioned: Path) -> None:
    settings = load_settings(AppSettings, PREFIX, root=sectioned, environment="production")
    pg = settings.resources.postgres
    assert settings.name == "shop"  # from [default]
    assert (pg.host, pg.pool_size) == ("db.prod", 50)
    assert pg.password is not None  # from [default] of .secrets.toml


def test_environment_variable_switches_the_environment(
    sectioned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{PREFIX}_ENV", "production")
    # extra="forbid": the switch itself must not arrive as a setting called "env".
    settings = load_settings(AppSettings, PREFIX, root=sectioned)
    assert settings.resources.postgres.host == "db.prod"
    assert "env" not in read_settings(PREFIX, root=sectioned)


def test_explicit_environment_beats_the_variable(
    sectioned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{PREFIX}_ENV", "production")
    settings = load_settings(AppSettings, PREFIX, root=sectioned, environment="development")
    assert settings.resources.postgres.pool_size == 2


def test_an_environment_without_a_section_gets_default(sectioned: Path) -> None:
    settings = load_settings(AppSettings, PREFIX, root=sectioned, environment="staging")
    assert settings.resources.postgres.pool_size == 10


def test_plain_values_beside_environment_sections_are_an_error(tmp_path: Path) -> None:
    write(tmp_path, "settings.toml", '[default]\nname = "x"\n')
    write(tmp_path, ".secrets.toml", f'password = "{PASSWORD}"\n')
    with pytest.raises(XConfigurationError) as info:
        load_settings(AppSettings, PREFIX, root=tmp_path)
    message = str(info.value)
    assert ".secrets.toml" in message
    assert "password" in message
    assert "[default]" in message
    assert PASSWORD not in message
    assert PASSWORD not in repr(info.value.details)


# -- environment variables --------------------------------------------------------------------
def test_variables_override_files_with_double_underscore_nesting(
    sectioned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{PREFIX}_RESOURCES__POSTGRES__POOL_SIZE", "20")
    monkeypatch.setenv(f"{PREFIX}_DEBUG", "true")
    settings = load_settings(AppSettings, PREFIX, root=sectioned, environment="production")
    pg = settings.resources.postgres
    assert pg.pool_size == 20
    assert pg.host == "db.prod"  # the rest of the nested table is kept
    assert settings.debug is True


def test_variables_work_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}_NAME", "from-env")
    monkeypatch.setenv(f"{PREFIX}_RESOURCES__POSTGRES__PASSWORD", PASSWORD)
    settings = load_settings(AppSettings, PREFIX, root=tmp_path)
    assert settings.name == "from-env"
    assert settings.resources.postgres.password is not None
    assert settings.resources.postgres.password.get_secret_value() == PASSWORD


def test_variables_of_another_prefix_are_ignored(
    flat: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XOTHERCFG_NAME", "not-mine")
    monkeypatch.setenv(f"{PREFIX}X_NAME", "not-mine-either")
    assert load_settings(AppSettings, PREFIX, root=flat).name == "shop"


def test_an_unconvertible_variable_is_reported_without_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{PREFIX}_RESOURCES__POSTGRES__PORT", f"@int {PASSWORD}")
    with pytest.raises(XConfigurationError) as info:
        load_settings(AppSettings, PREFIX, root=tmp_path)
    assert PREFIX in str(info.value)
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in repr(info.value.details)
    assert info.value.__cause__ is None  # the third-party error, which quotes it, is not chained


# -- sections ---------------------------------------------------------------------------------
def test_section_selects_a_sub_tree(sectioned: Path) -> None:
    pg = load_settings(Postgres, PREFIX, root=sectioned, section="resources.postgres")
    assert (pg.host, pg.pool_size) == ("db", 2)


def test_section_is_case_insensitive(sectioned: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}_RESOURCES__POSTGRES__PORT", "6000")
    pg = load_settings(Postgres, PREFIX, root=sectioned, section="Resources.POSTGRES")
    assert pg.port == 6000


def test_a_missing_section_gives_defaults(sectioned: Path) -> None:
    assert load_settings(Postgres, PREFIX, root=sectioned, section="resources.mysql") == Postgres()


def test_a_section_that_is_a_single_value_is_an_error(flat: Path) -> None:
    with pytest.raises(XConfigurationError, match=r"\[name\] must be a table"):
        load_settings(Postgres, PREFIX, root=flat, section="name")


def test_overrides_win_and_merge_into_nested_tables(sectioned: Path) -> None:
    settings = load_settings(
        AppSettings,
        PREFIX,
        root=sectioned,
        overrides={"name": "override", "resources": {"postgres": {"port": 7000}}},
    )
    pg = settings.resources.postgres
    assert settings.name == "override"
    assert pg.port == 7000
    assert pg.host == "db"  # kept from the files: overrides merge, they don't replace tables
    assert pg.password is not None


# -- bad values -------------------------------------------------------------------------------
def test_a_bad_value_names_the_key_and_its_variable_without_the_value(tmp_path: Path) -> None:
    write(tmp_path, "settings.toml", '[resources.postgres]\nport = "not-a-port"\npool_size = -1\n')
    with pytest.raises(XConfigurationError) as info:
        load_settings(AppSettings, PREFIX, root=tmp_path)
    message = str(info.value)
    assert "resources.postgres.port" in message
    assert f"{PREFIX}_RESOURCES__POSTGRES__PORT" in message
    assert "not-a-port" not in message
    assert [e["loc"] for e in info.value.details["errors"]] == ["resources.postgres.port"]


def test_a_bad_value_inside_a_section_names_the_full_key(tmp_path: Path) -> None:
    write(tmp_path, "settings.toml", "[resources.postgres]\nport = 70000\n")
    with pytest.raises(XConfigurationError, match=r"resources\.postgres\.port") as info:
        load_settings(Postgres, PREFIX, root=tmp_path, section="resources.postgres")
    assert "70000" not in str(info.value).replace("65535", "")


def test_a_secret_of_the_wrong_shape_is_never_echoed(tmp_path: Path) -> None:
    class Strict(BaseModel):
        password: SecretStr = Field(min_length=64)
        port: int = 0

    write(tmp_path, ".secrets.toml", f'password = "{PASSWORD}"\nport = "{PASSWORD}"\n')
    with pytest.raises(XConfigurationError) as info:
        load_settings(Strict, PREFIX, root=tmp_path)
    err = info.value
    assert "password" in str(err)
    assert "port" in str(err)
    for text in (str(err), repr(err), repr(err.details)):
        assert PASSWORD not in text


def test_unknown_keys_are_reported_when_the_model_forbids_them(tmp_path: Path) -> None:
    write(tmp_path, "settings.toml", "[resources.postgres]\nhots = 'typo'\n")
    with pytest.raises(XConfigurationError, match=r"resources\.postgres\.hots"):
        load_settings(AppSettings, PREFIX, root=tmp_path)


def test_a_missing_required_value_is_named(tmp_path: Path) -> None:
    class Needs(BaseModel):
        dsn: str

    with pytest.raises(XConfigurationError, match=rf"dsn: Field required .*{PREFIX}_DSN"):
        load_settings(Needs, PREFIX, root=tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        f'password = "{PASSWORD}\n',  # unclosed string
        "[resources\nport = 1\n",
        "name = \n",
        f'name = "a"\nname = "{PASSWORD}"\n',  # duplicate key
    ],
)
def test_unparsable_toml_names_the_file_and_line_not_the_content(tmp_path: Path, text: str) -> None:
    write(tmp_path, "settings.toml", text)
    with pytest.raises(XConfigurationError) as info:
        load_settings(AppSettings, PREFIX, root=tmp_path)
    message = str(info.value)
    assert "settings.toml" in message
    assert "line" in message
    assert "fix the file" in message
    assert PASSWORD not in message


@pytest.mark.parametrize("text", ['{"name": ', "[1, 2]"])
def test_unparsable_json_is_a_configuration_error(tmp_path: Path, text: str) -> None:
    write(tmp_path, "settings.json", text)
    with pytest.raises(XConfigurationError, match=r"settings\.json is not valid JSON"):
        load_settings(AppSettings, PREFIX, root=tmp_path, settings_files=["settings.json"])


def test_a_directory_in_place_of_a_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").mkdir()
    with pytest.raises(XConfigurationError, match=r"settings\.toml is not a regular file"):
        load_settings(AppSettings, PREFIX, root=tmp_path)


@pytest.mark.parametrize("prefix", ["", "X Y", "1ABC", "X-Y", None, 5])
def test_a_bad_prefix_is_a_configuration_error(tmp_path: Path, prefix: object) -> None:
    with pytest.raises(XConfigurationError, match="prefix"):
        read_settings(prefix, root=tmp_path)  # type: ignore[arg-type]


def test_dynaconfs_own_switch_does_not_pick_the_environment(
    sectioned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another library's ENV_FOR_DYNACONF must not move this package to production.
    monkeypatch.setenv("ENV_FOR_DYNACONF", "production")
    assert load_settings(AppSettings, PREFIX, root=sectioned).resources.postgres.pool_size == 2


def test_a_single_file_name_is_not_read_letter_by_letter(tmp_path: Path) -> None:
    write(tmp_path, "custom.toml", 'name = "custom"\n')
    settings = load_settings(AppSettings, PREFIX, root=tmp_path, settings_files="custom.toml")
    assert settings.name == "custom"


@pytest.mark.parametrize("environment", ["prod env", "../x", 5])
def test_a_bad_environment_name_is_a_configuration_error(
    sectioned: Path, environment: object
) -> None:
    with pytest.raises(XConfigurationError, match="environment"):
        load_settings(AppSettings, PREFIX, root=sectioned, environment=environment)  # type: ignore[arg-type]


def test_a_bad_environment_variable_value_names_the_variable(
    sectioned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{PREFIX}_ENV", "prod;rm -rf")
    with pytest.raises(XConfigurationError, match=f"{PREFIX}_ENV"):
        load_settings(AppSettings, PREFIX, root=sectioned)


def test_a_non_string_section_is_a_configuration_error(sectioned: Path) -> None:
    with pytest.raises(XConfigurationError, match="section"):
        load_settings(Postgres, PREFIX, root=sectioned, section=["resources"])  # type: ignore[arg-type]
