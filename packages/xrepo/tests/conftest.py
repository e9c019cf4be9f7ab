"""Fixtures shared by xrepo's unit tests."""

from __future__ import annotations

import pytest

#: A JSON line exactly as xrepo wrote an audit entry before ``AuditEntry`` became an
#: ``xobj_prototype.AuditRecord`` (user_id, repo, entity, entity_id, metadata); generated with
#: that version's ``AuditEntry.for_operation(...).model_dump_json()``.
_LEGACY_AUDIT_PAYLOAD = (
    '{"id":"0123456789abcdef0123456789abcdef","timestamp":"2026-03-01T12:00:00.123456Z",'
    '"user_id":"u1","roles":["editor"],"action":"update","repo":"users","entity":"User",'
    '"entity_id":"7","before":{"n":1},"after":{"n":2,"password":"**********"},'
    '"changes":{"n":{"from":1,"to":2},"password":"**********"},"outcome":"success",'
    '"error":null,"request_id":"r-1","metadata":{"via":"api"}}'
)


@pytest.fixture
def legacy_audit_payload() -> str:
    """An audit entry stored in the previous layout (at 2026-03-01 12:00:00.123456 UTC)."""
    return _LEGACY_AUDIT_PAYLOAD
