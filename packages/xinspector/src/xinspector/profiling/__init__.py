"""Profiling: statistics of every field in one pass, bounded memory.

Rows arrive in chunks (a CSV read in blocks, a database cursor, sampled documents). Each chunk is
turned into columns and each column is folded into a :class:`ColumnProfiler` with C-level
operations only where it matters: a ``Counter`` per chunk (which also gives the null count and the
distinct values), a regular-expression pass per surviving type candidate over the *distinct*
values, weighted sums for mean and variance. Distinct values are counted exactly up to
``exact_distinct_limit`` and by a :class:`HyperLogLog` sketch beyond; the most frequent values
are kept in a capped counter. Memory is therefore bounded by the chunk size and the limits, not
by the input.

- :class:`StreamingProfiler` — a table-shaped source chunk by chunk; :func:`profile_records`
  for an in-memory iterable;
- :class:`ColumnProfiler` — one column, fed text cells or Python values;
- :class:`ProfileOptions` — the knobs; ``ProgressCallback`` — ``callback(done, total_or_None)``;
- :class:`HyperLogLog` — the distinct-count sketch;
- :func:`profile_sql_table`, :func:`profile_mongodb_collection` — profiling pushed down to the
  database (aggregate scans, ``$group``/``$facet`` pipelines).
"""

from xinspector.profiling._column import ColumnProfiler
from xinspector.profiling._hll import HyperLogLog
from xinspector.profiling._mongodb import profile_mongodb_collection
from xinspector.profiling._options import ProfileOptions, ProgressCallback
from xinspector.profiling._sql import profile_sql_table
from xinspector.profiling._streaming import StreamingProfiler, profile_records

__all__ = [
    "ColumnProfiler",
    "HyperLogLog",
    "ProfileOptions",
    "ProgressCallback",
    "StreamingProfiler",
    "profile_mongodb_collection",
    "profile_records",
    "profile_sql_table",
]
