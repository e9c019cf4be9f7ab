"""The curated public API: the top level and the subpackage faces."""

from __future__ import annotations

import importlib

import pytest

import xregistry

FACES = [
    "xregistry",
    "xregistry.audit",
    "xregistry.config",
    "xregistry.enrichment",
    "xregistry.errors",
    "xregistry.functions",
    "xregistry.imports",
    "xregistry.models",
    "xregistry.permissions",
    "xregistry.types",
    "xregistry.api",
]

# Where the names that left the top level live now (the changelog's list).
MOVED = {
    "xregistry.config": [
        "AuditConfig",
        "EnrichmentConfig",
        "FunctionRegistryConfig",
        "ImportControlConfig",
        "ModelRegistryConfig",
        "TypeRegistryConfig",
    ],
    "xregistry.enrichment": ["DiscoveryResult", "ModelEnrichment", "SyncResult"],
    "xregistry.functions": ["CallStats", "FunctionMetadata", "ParameterInfo"],
    "xregistry.imports": ["AccessRecord", "ModelAccessControl"],
    "xregistry.models": [
        "MigrationRegistry",
        "ModelEvolution",
        "ModelMetadata",
        "ModelVersion",
        "bump_version",
        "detect_widget",
        "diff_fields",
        "generate_ui_schema",
        "model_fields_schema",
        "model_from_json_schema",
    ],
    "xregistry.permissions": ["as_principal"],
    "xregistry.types": ["RegisteredValidator", "TypeMetadata"],
}


@pytest.mark.parametrize("face", FACES)
def test_every_public_name_is_importable_and_documented(face: str) -> None:
    module = importlib.import_module(face)
    names = list(module.__all__)
    assert len(names) == len(set(names)), f"{face}.__all__ has duplicates"
    for name in names:
        obj = getattr(module, name)
        if name.isupper() or name.startswith("__"):
            continue  # constants and dunders carry the docs of their type
        assert (getattr(obj, "__doc__", None) or "").strip(), f"{face}.{name} has no docstring"


def test_the_top_level_holds_what_a_user_needs() -> None:
    assert 20 <= len(xregistry.__all__) <= 40
    for name in ("XRegistry", "Principal", "FunctionRegistry", "ModelRegistry", "TypeRegistry"):
        assert name in xregistry.__all__


@pytest.mark.parametrize(("face", "names"), sorted(MOVED.items()))
def test_moved_names_live_in_their_face(face: str, names: list[str]) -> None:
    module = importlib.import_module(face)
    for name in names:
        assert name in module.__all__, f"{name} is missing from {face}"
        assert name not in xregistry.__all__


def test_faces_export_no_private_module_names() -> None:
    for face in FACES:
        module = importlib.import_module(face)
        assert not [n for n in module.__all__ if n.startswith("_") and n != "__version__"]
