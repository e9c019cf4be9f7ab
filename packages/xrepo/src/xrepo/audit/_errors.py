"""Errors of the audit layer, derived from :class:`xrepo.errors.XRepoError`."""

from __future__ import annotations

from xrepo.errors import XRepoError

__all__ = ["XRepoAuditError"]


class XRepoAuditError(XRepoError):
    """An audit entry could not be recorded (policy ``"fail"``) or an audit sink is misused.

    Under the ``"fail"`` policy this error makes the audited operation fail: an operation that
    must be audited does not happen unaudited.
    """
