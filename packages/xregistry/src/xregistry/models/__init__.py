"""The model registry: registration, UI schemas, versions and external schemas."""

from xregistry.models._compatibility import (
    CompatibilityMode,
    breaking_changes,
    classify,
    classify_change,
)
from xregistry.models._external import model_from_json_schema
from xregistry.models._registry import ModelMetadata, ModelRegistry, ModelSource, RegisteredModel
from xregistry.models._ui_schema import detect_widget, generate_ui_schema
from xregistry.models._versioning import (
    MigrationRegistry,
    ModelEvolution,
    ModelVersion,
    bump_version,
    diff_fields,
    fingerprint,
    model_fields_schema,
    next_version,
)

__all__ = [
    "CompatibilityMode",
    "MigrationRegistry",
    "ModelEvolution",
    "ModelMetadata",
    "ModelRegistry",
    "ModelSource",
    "ModelVersion",
    "RegisteredModel",
    "breaking_changes",
    "bump_version",
    "classify",
    "classify_change",
    "detect_widget",
    "diff_fields",
    "fingerprint",
    "generate_ui_schema",
    "model_fields_schema",
    "model_from_json_schema",
    "next_version",
]
