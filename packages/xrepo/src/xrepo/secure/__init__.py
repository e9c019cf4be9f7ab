"""Secured repositories: :class:`SecureRepo` composes access control, audit, caching and
statistics around any :class:`~xrepo.XRepo`, each a layer in its own module:

- who the caller is, resolved once per call (``_call``);
- access control: row scope, hidden and read-only fields (``_access``);
- the read cache, keyed by the caller's access (``_cache``);
- the audit entry of every write and refusal, in the write's transaction (``_audit``);
- latency per operation, and :func:`metadata_components`: what ``RepoMetadata`` asks for
  when no logger, cache or recorder is given (``_components``).
"""

from xrepo.secure._components import metadata_components
from xrepo.secure._repo import SecureRepo

__all__ = ["SecureRepo", "metadata_components"]
