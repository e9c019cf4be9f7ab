"""xobj-prototype: the Pydantic v2 base of the xstack packages.

- :class:`XObjPrototype`, the base class of every abstraction and generated model;
- :class:`NamespaceIndex` / :class:`MemoryNamespace`, dot-path namespaces with indexed glob lookup;
- :func:`load_settings`, typed settings on Dynaconf;
- :class:`XError` and its first children, the root of every package's errors;
- :func:`redact`, the one place that masks secrets;
- :class:`Principal`, who is acting, and :class:`AuditRecord`, the one audit record shape.
"""

from xobj_prototype.__about__ import __version__
from xobj_prototype.audit import AuditOutcome, AuditRecord
from xobj_prototype.base import FuzzyField, ModelMeta, SecretField, XObjPrototype
from xobj_prototype.errors import (
    XConfigurationError,
    XConflictError,
    XError,
    XNotFoundError,
    XValidationError,
)
from xobj_prototype.lazy import MissingExtraError, lazy_exports
from xobj_prototype.namespace import (
    FuzzyMatch,
    MemoryNamespace,
    NamespaceBackend,
    NamespaceIndex,
    compile_glob,
    segment_for,
    validate_path,
    validate_pattern,
)
from xobj_prototype.principal import (
    ANONYMOUS,
    ANONYMOUS_ROLE,
    EVERYONE,
    SYSTEM,
    Principal,
    check_roles,
)
from xobj_prototype.redaction import MASK, is_secret_key, redact, redact_text, redact_url
from xobj_prototype.settings import load_settings, read_settings

__all__ = [
    "ANONYMOUS",
    "ANONYMOUS_ROLE",
    "EVERYONE",
    "MASK",
    "SYSTEM",
    "AuditOutcome",
    "AuditRecord",
    "FuzzyField",
    "FuzzyMatch",
    "MemoryNamespace",
    "MissingExtraError",
    "ModelMeta",
    "NamespaceBackend",
    "NamespaceIndex",
    "Principal",
    "SecretField",
    "XConfigurationError",
    "XConflictError",
    "XError",
    "XNotFoundError",
    "XObjPrototype",
    "XValidationError",
    "__version__",
    "check_roles",
    "compile_glob",
    "is_secret_key",
    "lazy_exports",
    "load_settings",
    "read_settings",
    "redact",
    "redact_text",
    "redact_url",
    "segment_for",
    "validate_path",
    "validate_pattern",
]
