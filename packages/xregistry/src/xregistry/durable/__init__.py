"""A registry that remembers: model versions, drift, compatibility and the audit trail in a
registry store, shared by every instance on the same store.

Example:
    >>> from xregistry import XRegistry
    >>> from xregistry.durable import DurableRegistry
    >>> durable = DurableRegistry(XRegistry())  # no store: versions kept in memory only
    >>> durable.store is None
    True
"""

from xregistry.durable._durable import DurableRegistry, memory_history, model_document
from xregistry.durable._follow import Follower

__all__ = ["DurableRegistry", "Follower", "memory_history", "model_document"]
