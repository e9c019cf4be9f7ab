"""The embedded sample that ``xregistry serve`` serves when given no source of its own.

:func:`ensure_sample` writes, once per data directory, a SQLite shop database (customers,
products, orders, order lines) and a CSV of product reviews. The data is synthetic and
deterministic: a seeded random generator written for this project, so two machines get the same
rows and a test can pin them.
"""

from xregistry.sample.generate import (
    SAMPLE_SEED,
    SAMPLE_VERSION,
    SampleFiles,
    default_data_dir,
    ensure_sample,
    write_sample,
)

__all__ = [
    "SAMPLE_SEED",
    "SAMPLE_VERSION",
    "SampleFiles",
    "default_data_dir",
    "ensure_sample",
    "write_sample",
]
