"""Profiling: the streaming profiler, the HyperLogLog sketch, pushdown for SQL and MongoDB."""
