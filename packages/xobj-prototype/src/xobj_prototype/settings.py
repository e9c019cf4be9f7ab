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

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from xobj_prototype.errors import XConfigurationError, XValidationError

__all__ = ["load_settings", "read_settings"]

M = TypeVar("M", bound=BaseModel)

DEFAULT_FILES = ("settings.toml", ".secrets.toml")


def _lower_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


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
            ``<PREFIX>_ENV`` picks the environment when ``environment`` is not given.
        settings_files: files to read, later ones winning; defaults to ``settings.toml`` and
            ``.secrets.toml`` in ``root`` (default: the working directory). Missing files are fine.
        root: where relative ``settings_files`` are looked up.
        environment: the ``[development]``/``[production]``... section to apply over ``[default]``.
            When the files use no environment sections their top level is read as is.
    """
    from dynaconf import Dynaconf  # imported here: Dynaconf start-up is not free

    base = Path(root) if root is not None else Path.cwd()
    files = [str(Path(f) if Path(f).is_absolute() else base / f)
             for f in (settings_files if settings_files is not None else DEFAULT_FILES)]
    env = environment or os.environ.get(f"{prefix}_ENV") or "development"
    try:
        raw = Dynaconf(
            envvar_prefix=prefix,
            settings_files=files,
            environments=True,
            env=env,
            env_switcher=f"{prefix}_ENV",
            load_dotenv=False,
            merge_enabled=True,
        )
        data = raw.as_dict()
    except Exception as exc:  # Dynaconf raises many parser types; the message names the file
        raise XConfigurationError(
            f"could not read settings for {prefix} from {', '.join(files)}: {exc}",
            details={"files": files},
        ) from exc
    data = _lower_keys(data)
    for internal in ("envvar_prefix_for_dynaconf", "env_for_dynaconf", "settings_files_for_dynaconf"):
        data.pop(internal, None)
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
        overrides: values applied last (arguments given in code win over files and environment).

    Raises:
        XConfigurationError: a file cannot be parsed or the values do not fit ``model``; the message
            lists each bad key without echoing its value (values may be secrets).
    """
    data: Any = read_settings(prefix, settings_files=settings_files, root=root,
                              environment=environment)
    if section:
        for key in section.lower().split("."):
            data = data.get(key, {}) if isinstance(data, Mapping) else {}
    merged = {**(data if isinstance(data, Mapping) else {}), **(overrides or {})}
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        err = XValidationError.from_pydantic(exc, subject=f"{prefix} settings"
                                             + (f" [{section}]" if section else ""))
        raise XConfigurationError(err.message, details={"errors": err.errors}) from None
