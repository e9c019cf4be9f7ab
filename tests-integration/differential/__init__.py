"""Helpers of the differential suite (``test_repo_differential.py``): a real ``mongod`` collection
is the oracle, every xrepo backend must give its answer.

- :mod:`differential.model`: the record model, the DDL of every SQL backend, BSON conversion;
- :mod:`differential.data`: hypothesis strategies for hostile records, and a fixed hostile dataset;
- :mod:`differential.queries`: filter and pipeline strategies, and their oracle translation;
- :mod:`differential.compare`: canonical forms of answers and the comparison;
- :mod:`differential.backends`: loading the same records into the oracle and every backend.
"""
