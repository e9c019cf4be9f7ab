"""File resources: CSV, Excel, JSON / JSON Lines, Parquet and YAML files as records.

:class:`FileResource` is their base (streaming reads in chunks, atomic writes);
:class:`ColumnarFileResource` the base of those a columnar engine reads where they lie (CSV,
JSON, Parquet: ``engine()``, the ``duckdb`` extra). The classes are imported on first access, so
that importing this package needs neither openpyxl, PyYAML nor DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xobj_prototype import lazy_exports

if TYPE_CHECKING:
    from xresource.files.base import FileResource
    from xresource.files.columnar import ColumnarFileResource
    from xresource.files.csv import CSVResource
    from xresource.files.excel import ExcelResource
    from xresource.files.json import JSONResource
    from xresource.files.parquet import ParquetColumn, ParquetResource
    from xresource.files.yaml import YAMLResource

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "FileResource": "xresource.files.base",
        "ColumnarFileResource": "xresource.files.columnar",
        "CSVResource": "xresource.files.csv",
        "ExcelResource": "xresource.files.excel",
        "JSONResource": "xresource.files.json",
        "ParquetResource": "xresource.files.parquet",
        "ParquetColumn": "xresource.files.parquet",
        "YAMLResource": "xresource.files.yaml",
    },
    extras={
        "xresource.files.excel": "xresource[excel]",
        "xresource.files.yaml": "xresource[yaml]",
        "xresource.files.parquet": "xresource[duckdb]",
    },
)

__all__ = [
    "CSVResource",
    "ColumnarFileResource",
    "ExcelResource",
    "FileResource",
    "JSONResource",
    "ParquetColumn",
    "ParquetResource",
    "YAMLResource",
]
