"""Namespaces: dot paths to objects, with exact, glob, prefix, indirect and fuzzy lookup."""

from xobj_prototype.namespace.backend import MemoryNamespace, NamespaceBackend
from xobj_prototype.namespace.glob import compile_glob, tokenize
from xobj_prototype.namespace.index import FuzzyMatch, NamespaceIndex, fuzzy_score, fuzzy_text_of
from xobj_prototype.namespace.path import is_glob, segment_for, validate_path, validate_pattern

__all__ = [
    "FuzzyMatch",
    "MemoryNamespace",
    "NamespaceBackend",
    "NamespaceIndex",
    "compile_glob",
    "fuzzy_score",
    "fuzzy_text_of",
    "is_glob",
    "segment_for",
    "tokenize",
    "validate_path",
    "validate_pattern",
]
