"""xinspector: schema discovery, data profiling and Pydantic model generation for xresource
resources.

- :class:`XInspector` — ``discover_schema()``, ``inspect()``, ``profile_data()``,
  ``preview_data()``, ``generate_model()`` for SQL databases, MongoDB, files, REST endpoints and
  event streams;
- :class:`CollectionSchema` / :class:`FieldSchema` — the schema dict format, typed;
- :func:`generate_model`, :func:`generate_joined_model` — ``XObjPrototype`` models from schemas;
- :func:`model_to_source`, :func:`schema_to_source` — the same models as Python source;
- :func:`diff_schemas` / :class:`SchemaChange` — what changed between two schemas;
- :func:`render_report` — one self-contained HTML page of an inspection;
  :func:`quality_alerts` / :class:`QualityAlert` — what to look at first in a profile;
- the :class:`XInspectorError` hierarchy (rooted in ``xobj_prototype.XError``).
"""

from xinspector.__about__ import __version__
from xinspector._diff import SchemaChange, diff_schemas, type_relation
from xinspector._errors import (
    XInspectorConnectionError,
    XInspectorError,
    XInspectorNotFoundError,
    XInspectorSchemaError,
    XInspectorUnsupportedError,
)
from xinspector._inspector import XInspector
from xinspector._schema import CollectionSchema, FieldSchema, ForeignKey, IndexSchema
from xinspector.discovery._samples import RecordSchemaBuilder, schema_from_records
from xinspector.models._generate import generate_joined_model, generate_model, joined_schema
from xinspector.models._source_model import model_to_source
from xinspector.models._source_spec import schema_to_source
from xinspector.profiling._hll import HyperLogLog
from xinspector.profiling._options import ProfileOptions
from xinspector.profiling._stats import (
    CategoricalField,
    DataQuality,
    FieldStatistics,
    HistogramBin,
    InspectionResult,
    ValueCount,
)
from xinspector.profiling._streaming import StreamingProfiler
from xinspector.report import AlertThresholds, QualityAlert, quality_alerts, render_report

__all__ = [
    "AlertThresholds",
    "CategoricalField",
    "CollectionSchema",
    "DataQuality",
    "FieldSchema",
    "FieldStatistics",
    "ForeignKey",
    "HistogramBin",
    "HyperLogLog",
    "IndexSchema",
    "InspectionResult",
    "ProfileOptions",
    "QualityAlert",
    "RecordSchemaBuilder",
    "SchemaChange",
    "StreamingProfiler",
    "ValueCount",
    "XInspector",
    "XInspectorConnectionError",
    "XInspectorError",
    "XInspectorNotFoundError",
    "XInspectorSchemaError",
    "XInspectorUnsupportedError",
    "__version__",
    "diff_schemas",
    "generate_joined_model",
    "generate_model",
    "joined_schema",
    "model_to_source",
    "quality_alerts",
    "render_report",
    "schema_from_records",
    "schema_to_source",
    "type_relation",
]
