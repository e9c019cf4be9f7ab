"""``FunctionRegistry``: functions (sync or async) with metadata, namespaces, tags, permissions per
role and call statistics; :func:`xregistry.register_function` is the decorator of the document.

Examples:
    >>> registry = FunctionRegistry()
    >>> @registry.register(namespace="finance.tax", tags={"finance"})
    ... def calculate_tax(amount: float, rate: float) -> float:
    ...     '''Tax for an amount at a rate.'''
    ...     return amount * rate
    >>> [f.metadata.name for f in registry.find_by_namespace("ns.functions.finance.*")]
    ['calculate_tax']
    >>> calculate_tax(100, 0.2)
    20.0
    >>> registry.get("calculate_tax").call_count
    1
"""

from xregistry.functions._registered import (
    CallStats,
    FunctionMetadata,
    ParameterInfo,
    RegisteredFunction,
)
from xregistry.functions._registry import FunctionRegistry

__all__ = [
    "CallStats",
    "FunctionMetadata",
    "FunctionRegistry",
    "ParameterInfo",
    "RegisteredFunction",
]
