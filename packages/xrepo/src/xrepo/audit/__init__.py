"""Audit logging for repositories: :class:`AuditEntry`, the :class:`AuditLogger` and its sinks.

A repository keeps its recent operations in an :class:`AuditRing` (bounded, in memory) unless
it is given an :class:`AuditLogger`. Sinks: :class:`MemoryAuditSink` (bounded),
:class:`JSONLinesAuditSink` (append-only file), :class:`SQLAuditSink` (a table in any xresource
SQL database, can join a transaction), :class:`MongoAuditSink` (a MongoDB collection, optional
session). Every sink answers ``get_audit_log(filters)``.
"""

from xrepo.audit._errors import XRepoAuditError
from xrepo.audit._jsonl import FsyncPolicy, JSONLinesAuditSink
from xrepo.audit._logger import AuditLogger, AuditLoggerStats, FailurePolicy
from xrepo.audit._memory import MemoryAuditSink
from xrepo.audit._models import (
    AuditAction,
    AuditEntry,
    AuditFilter,
    AuditOutcome,
    diff_changes,
    parse_filter,
    timestamp_us,
)
from xrepo.audit._mongo import MongoAuditSink
from xrepo.audit._ring import DEFAULT_AUDIT_ENTRIES, AuditRing
from xrepo.audit._sink import AuditSink
from xrepo.audit._sql import SQLAuditSink

__all__ = [
    "DEFAULT_AUDIT_ENTRIES",
    "AuditAction",
    "AuditEntry",
    "AuditFilter",
    "AuditLogger",
    "AuditLoggerStats",
    "AuditOutcome",
    "AuditRing",
    "AuditSink",
    "FailurePolicy",
    "FsyncPolicy",
    "JSONLinesAuditSink",
    "MemoryAuditSink",
    "MongoAuditSink",
    "SQLAuditSink",
    "XRepoAuditError",
    "diff_changes",
    "parse_filter",
    "timestamp_us",
]
