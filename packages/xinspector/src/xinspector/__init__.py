"""xinspector: Schema discovery, data profiling and Pydantic model generation for xresource resources."""

from xinspector.__about__ import __version__

__all__ = ["__version__"]
