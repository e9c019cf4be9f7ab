"""Without the ``redis`` package, ``xrepo.cache`` imports and its memory classes work; each Redis
class names the extra to install (issue 18)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.modules["redis"] = None  # as if the redis package were not installed
    import xrepo.cache
    from xobj_prototype import MissingExtraError
    assert xrepo.cache.MemoryCacheBackend is not None
    for name in ("RedisCacheBackend", "RedisInvalidationBus", "RedisNamespace", "ObjectRef"):
        try:
            getattr(xrepo.cache, name)
        except MissingExtraError as exc:
            assert "xrepo[redis]" in str(exc), exc
            assert name in str(exc), exc
        else:
            raise AssertionError(name + " imported without redis")
    print("ok")
    """
)


@pytest.mark.parametrize("python", [sys.executable])
def test_redis_classes_name_their_extra(python: str) -> None:
    result = subprocess.run([python, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
