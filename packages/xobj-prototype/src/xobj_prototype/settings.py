"""Settings from Dynaconf (``settings.toml``, ``.secrets.toml``, environment), read into Pydantic.

Each package has its own environment prefix (``XRESOURCE_``, ``XREPO_``, ``XREGISTRY_``...) and its
own typed model; this loader is the one place that knows how Dynaconf is driven.

Example ``settings.toml`` with environments::

    [default.resources.postgres]
    pool_size = 10

    [production.resources.postgres]
    pool_size = 50

and in the environment ``XRESOURCE_RESOURCES__POSTGRES__POOL_SIZE=20`` overrides both.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from xobj_prototype.errors import XConfigurationError
from xobj_prototype.redaction import MASK, redact_text

__all__ = ["load_settings", "read_settings"]

M = TypeVar("M", bound=BaseModel)

DEFAULT_FILES = ("settings.toml", ".secrets.toml")
DEFAULT_ENVIRONMENT = "development"
# Section names that mark a file as split by environment (plus the selected environment's own).
ENVIRONMENT_SECTIONS = frozenset({"default", "global", "development", "production", "testing"})

_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Settings Dynaconf adds on its own: they are not the caller's.
_INTERNAL = frozenset(
    {"load_dotenv", "merge_enabled", "environments", "envvar_prefix", "force_env", "env_switcher"}
)
# Quoted literals in a third-party error message may be setting values (Dynaconf quotes the
# offending value of an environment variable): masked, since values may be secrets.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _lower_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = _deep_merge(old, value)
        else:
            merged[key] = value
    return merged


def _scrub(exc: BaseException) -> str:
    return _QUOTED.sub(f"'{MASK}'", redact_text(str(exc)))


def _top_level(file: Path) -> Mapping[str, Any] | None:
    """The parsed top level of a TOML or JSON settings file; ``None`` for other formats.

    Parsing here, before Dynaconf does, gives the caller an error that names the file and the
    line, and tells whether the file is split into environment sections.
    """
    suffix = file.suffix.lower()
    try:
        if suffix == ".toml":
            with file.open("rb") as fh:
                return tomllib.load(fh)
        if suffix == ".json":
            with file.open("rb") as fh:
                data = json.load(fh)
            if not isinstance(data, Mapping):
                raise ValueError("the top level is not an object")
            return data
    except OSError as exc:
        raise XConfigurationError(
            f"could not read settings file {file}: {exc.strerror or type(exc).__name__}; check "
            "that it is a readable file",
            details={"file": str(file)},
        ) from None
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        # tomllib and json name the line and column, never the value found there.
        where = str(exc) if isinstance(exc, tomllib.TOMLDecodeError) else _scrub(exc)
        raise XConfigurationError(
            f"settings file {file} is not valid {suffix[1:].upper()}: {where}; fix the file",
            details={"file": str(file)},
        ) from None
    return None


def _uses_environments(files: Sequence[Path], environment: str) -> bool:
    """Whether the files are split into ``[default]``/``[<environment>]`` sections.

    A file with such a section may not also hold plain values outside every section: Dynaconf
    would drop them without a word.
    """
    sections = ENVIRONMENT_SECTIONS | {environment.lower()}
    tops = {f: top for f in files if f.is_file() and (top := _top_level(f)) is not None}
    uses = any(
        isinstance(v, Mapping) and str(k).lower() in sections
        for top in tops.values()
        for k, v in top.items()
    )
    if uses:
        for file, top in tops.items():
            stray = sorted(str(k) for k, v in top.items() if not isinstance(v, Mapping))
            if stray:
                raise XConfigurationError(
                    f"settings file {file} sets {', '.join(stray)} outside any section while the "
                    "settings are split into environments ([default], [production]...); move "
                    "them under [default]",
                    details={"file": str(file), "keys": stray},
                )
    return uses


def read_settings(
    prefix: str,
    *,
    settings_files: Sequence[str | os.PathLike[str]] | None = None,
    root: str | os.PathLike[str] | None = None,
    environment: str | None = None,
) -> dict[str, Any]:
    """Read raw settings (lower-cased keys) for ``prefix`` from files and the environment.

    Args:
        prefix: the environment variable prefix without the trailing ``_`` (``"XRESOURCE"``).
            ``<PREFIX>_ENV`` picks the environment when ``environment`` is not given; other
            ``<PREFIX>_<KEY>`` variables override file values, ``__`` separating nested keys
            (``XRESOURCE_POOL__SIZE=20``).
        settings_files: files to read, later ones winning; defaults to ``settings.toml`` and
            ``.secrets.toml`` in ``root`` (default: the working directory). Missing files are fine.
        root: where relative ``settings_files`` are looked up.
        environment: the section (``[development]``, ``[production]``...) applied over
            ``[default]``; defaults to ``development``. Files split into such sections are read
            that way; files with no environment section at all are read from their top level.

    Raises:
        XConfigurationError: a file cannot be parsed, mixes sections and plain values, or an
            environment variable cannot be converted; the message never holds a setting's value.
    """
    from dynaconf import Dynaconf  # imported here: Dynaconf start-up is not free

    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise XConfigurationError(
            f"settings prefix must be a word such as 'XRESOURCE', got {prefix!r}"
        )
    base = Path(root) if root is not None else Path.cwd()
    if settings_files is None:
        settings_files = DEFAULT_FILES
    elif isinstance(settings_files, str | os.PathLike):
        settings_files = [settings_files]  # one file, not a sequence of one-letter names
    paths = [Path(f) if Path(f).is_absolute() else base / f for f in settings_files]
    files = [str(p) for p in paths]
    env = environment or os.environ.get(f"{prefix}_ENV") or DEFAULT_ENVIRONMENT
    if not isinstance(env, str) or not _PREFIX.fullmatch(env):
        raise XConfigurationError(
            f"settings environment must be a word such as 'production', got {env!r} (from the "
            f"environment argument or {prefix}_ENV)"
        )
    for path in paths:
        if path.exists() and not path.is_file():
            raise XConfigurationError(
                f"settings file {path} is not a regular file; remove it or name another file",
                details={"file": str(path)},
            )
    environments = _uses_environments(paths, env)
    try:
        raw = Dynaconf(
            envvar_prefix=prefix,
            settings_files=files,
            environments=environments,
            # Forced: the environment was chosen above (argument, then <PREFIX>_ENV), and
            # Dynaconf's own switch (ENV_FOR_DYNACONF) must not pick another one.
            force_env=env,
            env_switcher=f"{prefix}_ENV",
            load_dotenv=False,
            merge_enabled=True,
        )
        data: dict[str, Any] = _lower_keys(raw.as_dict())
    except Exception as exc:  # Dynaconf raises many types; the message is scrubbed of values
        raise XConfigurationError(
            f"could not read settings for {prefix} from {', '.join(files)} and the {prefix}_* "
            f"environment variables: {type(exc).__name__}: {_scrub(exc)}",
            details={"files": files},
        ) from None
    for key in list(data):
        if key in _INTERNAL or key.endswith("_for_dynaconf"):
            del data[key]
    if f"{prefix}_ENV" in os.environ:
        data.pop("env", None)  # the environment switch itself, not a setting
    return data


def load_settings(
    model: type[M],
    prefix: str,
    *,
    section: str | None = None,
    settings_files: Sequence[str | os.PathLike[str]] | None = None,
    root: str | os.PathLike[str] | None = None,
    environment: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> M:
    """Read settings with :func:`read_settings` and validate them into ``model``.

    Args:
        section: a dotted key (``"resources.postgres"``) whose sub-tree is the model's input.
        overrides: values applied last, merged into nested mappings (arguments given in code win
            over files and environment).

    Raises:
        XConfigurationError: a file cannot be parsed or the values do not fit ``model``; the message
            names each bad key (and the environment variable that would set it) without echoing
            its value (values may be secrets).

    Examples:
        >>> class Pool(BaseModel):
        ...     size: int = 10
        >>> load_settings(Pool, "XDOC", section="pool", settings_files=[], overrides={"size": 4})
        Pool(size=4)
    """
    data: Any = read_settings(
        prefix, settings_files=settings_files, root=root, environment=environment
    )
    if section is not None and not isinstance(section, str):
        raise XConfigurationError(
            f"settings section must be a dotted key such as 'resources.postgres', got "
            f"{type(section).__name__}"
        )
    keys = section.lower().split(".") if section else []
    for key in keys:
        data = data.get(key, {}) if isinstance(data, Mapping) else {}
    if not isinstance(data, Mapping):
        raise XConfigurationError(
            f"{prefix} settings [{section}] must be a table of values, got a single "
            f"{type(data).__name__}",
            details={"section": section},
        )
    merged = _deep_merge(data, overrides or {})
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        errors: list[dict[str, str]] = []
        problems: list[str] = []
        for err in exc.errors(include_input=False, include_url=False):
            parts = [*keys, *(str(p) for p in err.get("loc", ()))]
            loc = ".".join(parts) or "(root)"
            errors.append({"loc": loc, "msg": err["msg"]})
            hint = ""
            if parts and all(p.isidentifier() for p in parts):
                hint = f" (environment variable {prefix}_{'__'.join(parts).upper()})"
            problems.append(f"{loc}: {err['msg']}{hint}")
        listed = "; ".join(problems)
        raise XConfigurationError(
            f"invalid {prefix} settings: {listed}", details={"errors": errors}
        ) from None
