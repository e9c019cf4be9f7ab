"""The options of ``XRepoFactory.create()`` and of ``ConnectedRepo(...)``, checked in one place.

Below the factory and the connected repositories alike: both read the same option names, build
the same :class:`RepoMetadata` from keywords, and refuse an option nobody reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from xrepo.errors import XRepoConfigurationError
from xrepo.repos._metadata import RepoMetadata, unknown_options

__all__ = [
    "CREATE_OPTIONS",
    "SECURE_OPTIONS",
    "check_options",
    "id_field_of",
    "metadata_for",
    "repo_options",
    "resource_kind",
]

_REST_TYPES = frozenset({"rest", "rest_api", "api", "http"})
_STREAM_TYPES = frozenset(
    {"websocket", "sse", "event_stream", "redis", "kafka", "rabbitmq", "mqtt"}
)
_SQL_TYPES = frozenset({"postgresql", "mysql", "sqlite", "duckdb"})
_FILE_TYPES = frozenset({"csv", "json", "jsonl", "yaml", "excel", "parquet"})


def resource_kind(resource: Any) -> str:
    """``"sql"``, ``"mongodb"``, ``"file"``, ``"rest"``, ``"stream"`` or ``"unknown"``."""
    rtype = getattr(resource, "resource_type", None) or getattr(resource, "connection_type", "")
    rtype = str(rtype).lower()
    if rtype in _SQL_TYPES or (hasattr(resource, "dialect") and hasattr(resource, "transaction")):
        return "sql"
    if rtype in ("mongodb", "mongo"):
        return "mongodb"
    if rtype in _FILE_TYPES or (
        hasattr(resource, "read") and hasattr(resource, "write") and hasattr(resource, "path")
    ):
        return "file"
    if rtype in _REST_TYPES:
        return "rest"
    if rtype in _STREAM_TYPES:
        return "stream"
    return "unknown"


#: RepoMetadata fields ``create()`` also takes as keywords (when no ``metadata=`` is given).
#: ``name`` and ``collection`` also name the model and the table, and ``indexes=`` means the
#: fields of a memory or file repository's hash indexes: the factory reads those three itself.
_METADATA_OPTIONS = tuple(
    k for k in RepoMetadata.model_fields if k not in ("name", "collection", "indexes")
)

#: Options of the repositories' constructors, passed to the repository built.
_REPO_OPTIONS = ("limits", "ns")

#: Options of ``create()`` that wrap the repository in a ``SecureRepo``.
SECURE_OPTIONS = ("acl", "audit", "cache", "cache_ttl")

#: Everything ``create()`` and its built-in strategies read.
CREATE_OPTIONS = frozenset(
    {
        "data",
        "resource",
        "model_class",
        "schema",
        "materialized",
        "metadata",
        "name",
        "collection",
        "table",
        "db_schema",
        "indexes",
        "related",
        "path",
        "data_key",
        "engine",
        *_METADATA_OPTIONS,
        *_REPO_OPTIONS,
        *SECURE_OPTIONS,
    }
)


def check_options(inputs: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    """Refuse an option nobody reads: a typo (``cache_tll=5``) must not pass as a default."""
    unknown = [k for k in inputs if k not in known]
    if unknown:
        raise XRepoConfigurationError(
            f"unknown option(s) of {where}: {unknown_options(unknown, known)}"
        )


def id_field_of(inputs: Mapping[str, Any]) -> str:
    """The id field of a model generated from data: the metadata's when it names one."""
    metadata = inputs.get("metadata")
    if isinstance(metadata, RepoMetadata):
        return metadata.id_field
    if isinstance(metadata, Mapping) and isinstance(metadata.get("id_field"), str):
        return str(metadata["id_field"])
    return str(inputs.get("id_field", "id"))


def repo_options(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor options (``limits=``, ``ns=``) among ``inputs``, for the repository."""
    return {k: inputs[k] for k in _REPO_OPTIONS if inputs.get(k) is not None}


def _invalid_metadata(exc: ValidationError) -> XRepoConfigurationError:
    listed = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())) or 'metadata'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    )
    return XRepoConfigurationError(f"invalid repository metadata: {listed}")


def metadata_for(inputs: Mapping[str, Any], model: type[Any]) -> RepoMetadata:
    """The repository's metadata: ``metadata=`` (a ``RepoMetadata`` or a dict), else built from
    the keyword options (``name``, ``collection``/``table``, ``enable_audit``...)."""
    metadata = inputs.get("metadata")
    if metadata is not None:
        both = sorted(k for k in _METADATA_OPTIONS if k in inputs)
        if both:
            raise XRepoConfigurationError(
                f"option(s) {both} given both to create() and in metadata=; set them in the "
                "metadata only"
            )
        if isinstance(metadata, Mapping):
            # The same validation as RepoMetadata(...): an unknown key is an error.
            try:
                return RepoMetadata.model_validate(dict(metadata))
            except ValidationError as exc:
                raise _invalid_metadata(exc) from None
        if not isinstance(metadata, RepoMetadata):
            raise XRepoConfigurationError(
                f"metadata must be a RepoMetadata or a dict, got {type(metadata).__name__}"
            )
        return metadata
    name = (
        inputs.get("name")
        or inputs.get("collection")
        or inputs.get("table")
        or model.__name__.lower()
    )
    options: dict[str, Any] = {
        "name": name,
        "model_name": model.__name__,
        "collection": inputs.get("collection") or inputs.get("table"),
    }
    options.update((k, inputs[k]) for k in _METADATA_OPTIONS if k in inputs)
    try:
        return RepoMetadata(**options)
    except ValidationError as exc:
        raise _invalid_metadata(exc) from None
