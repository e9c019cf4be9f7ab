"""xregistry: Registries of functions, models and types with namespaces, permissions, versions, enrichment and an HTTP API."""

from xregistry.__about__ import __version__

__all__ = ["__version__"]
