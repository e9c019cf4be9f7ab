"""xrepo: Async repositories over any xresource: CRUD, Mongo-style queries pushed down, ACL, audit, caching, views."""

from xrepo.__about__ import __version__

__all__ = ["__version__"]
