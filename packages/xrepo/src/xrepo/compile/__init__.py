"""Compilers of the query language, the layer under the repositories (internal to xrepo).

The parsed trees of :mod:`xrepo.query` are compiled once per backend:

- this package: the in-memory engine (filters compiled to Python functions, a pipeline executor;
  what ``MaterializedRepo``, file repositories and views run), user regular expressions under a
  time bound, Unicode case folding, and values decoded to the Python types of their fields;
- :mod:`xrepo.compile.sql`: SQL text with bound parameters, one compiler per dialect;
- :mod:`xrepo.compile.mongo`: MongoDB filters and pipelines (needs ``pymongo``: the
  ``xrepo[mongodb]`` extra).

Applications use repositories, not these functions; they are public to the other layers of xrepo.
"""

from xrepo.compile._casefold import fold
from xrepo.compile._decode import decode
from xrepo.compile._documents import freeze, get_path, sort_key, sort_rows, thaw
from xrepo.compile._patterns import (
    DEFAULT_REGEX_TIMEOUT,
    BoundedPattern,
    compile_pattern,
    regex_conditions,
)
from xrepo.compile._pipeline import run_pipeline
from xrepo.compile._predicates import compile_filter, compile_predicate

__all__ = [
    "DEFAULT_REGEX_TIMEOUT",
    "BoundedPattern",
    "compile_filter",
    "compile_pattern",
    "compile_predicate",
    "decode",
    "fold",
    "freeze",
    "get_path",
    "regex_conditions",
    "run_pipeline",
    "sort_key",
    "sort_rows",
    "thaw",
]
