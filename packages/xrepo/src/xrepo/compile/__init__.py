"""Compilers of the query language: Python predicates, SQL per dialect, MongoDB queries."""
