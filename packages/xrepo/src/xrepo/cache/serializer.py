"""Safe serialization of cached values: JSON with type tags, never pickle.

Decoding a pickle runs code chosen by whoever wrote the bytes; a cache shared through Redis must
never do that. This encoder writes plain JSON and tags the few Python types JSON lacks::

    {"$t": "dt", "v": "2026-01-02T03:04:05+00:00"}      datetime
    {"$t": "d", "v": "2026-01-02"}                       date
    {"$t": "tm", "v": "03:04:05"}                        time
    {"$t": "td", "v": 1.5}                               timedelta (seconds)
    {"$t": "dec", "v": "1.10"}                           Decimal (exact)
    {"$t": "uuid", "v": "..."}                           UUID
    {"$t": "b", "v": "<base64>"}                         bytes / bytearray
    {"$t": "f", "v": "nan" | "inf" | "-inf"}             non-finite floats
    {"$t": "tuple" | "set" | "fset", "v": [...]}         tuple, set, frozenset
    {"$t": "map", "v": [[k, v], ...]}                    a dict with non-string keys, or
                                                         one that holds the key "$t" itself
Pydantic models are dumped as dicts (``model_dump()``) and come back as dicts; enums as their
value. Anything else (functions, classes, open files, secrets) raises
:class:`~xrepo.cache.XRepoSerializationError` instead of being cached half-right.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import enum
import json
import math
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, Secret, SecretBytes, SecretStr

from xrepo.cache._errors import XRepoSerializationError

__all__ = ["MAX_DEPTH", "canonical_json", "decode", "dumps", "encode", "loads"]

TAG = "$t"
MAX_DEPTH = 64


def _tagged(tag: str, value: Any) -> dict[str, Any]:
    return {TAG: tag, "v": value}


def encode(value: Any, _depth: int = 0) -> Any:
    """Turn ``value`` into JSON-compatible data with type tags (see the module docstring).

    Raises:
        XRepoSerializationError: an unsupported type, a secret, or nesting deeper than
            :data:`MAX_DEPTH` (which also stops a container that holds itself).
    """
    if _depth > MAX_DEPTH:
        raise XRepoSerializationError(
            f"value is nested deeper than {MAX_DEPTH} levels (or holds itself); it is not cached"
        )
    # Fast path for the exact built-in types that make up most rows; subclasses (an IntEnum,
    # a str subclass, an OrderedDict) take the general path below.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        if TAG not in value and all(type(k) is str for k in value):
            return {k: encode(v, _depth + 1) for k, v in value.items()}
    elif kind is list:
        return [encode(v, _depth + 1) for v in value]
    if isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return encode(value.value, _depth + 1)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return _tagged("f", "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if isinstance(value, SecretStr | SecretBytes | Secret):
        raise XRepoSerializationError(
            "secret values (SecretStr/SecretBytes) are never written to the cache; "
            "exclude the field from what you cache"
        )
    if isinstance(value, _dt.datetime):
        return _tagged("dt", value.isoformat())
    if isinstance(value, _dt.date):
        return _tagged("d", value.isoformat())
    if isinstance(value, _dt.time):
        return _tagged("tm", value.isoformat())
    if isinstance(value, _dt.timedelta):
        return _tagged("td", value.total_seconds())
    if isinstance(value, Decimal):
        return _tagged("dec", str(value))
    if isinstance(value, uuid.UUID):
        return _tagged("uuid", str(value))
    if isinstance(value, bytes | bytearray | memoryview):
        return _tagged("b", base64.b64encode(bytes(value)).decode("ascii"))
    if isinstance(value, BaseModel):
        return encode(value.model_dump(), _depth + 1)
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: encode(v, _depth + 1) for k, v in value.items()}
        return _tagged(
            "map", [[encode(k, _depth + 1), encode(v, _depth + 1)] for k, v in value.items()]
        )
    if isinstance(value, list):
        return [encode(v, _depth + 1) for v in value]
    if isinstance(value, tuple):
        return _tagged("tuple", [encode(v, _depth + 1) for v in value])
    if isinstance(value, set | frozenset):
        items = [encode(v, _depth + 1) for v in value]
        # Sorted by their JSON text so that equal sets encode (and hash) identically.
        items.sort(key=lambda x: json.dumps(x, sort_keys=True))
        return _tagged("set" if isinstance(value, set) else "fset", items)
    raise XRepoSerializationError(
        f"values of type {type(value).__module__}.{type(value).__qualname__} cannot be cached; "
        "cache plain data (dicts, lists, str, numbers, datetimes, Decimal, UUID, bytes, "
        "Pydantic models)"
    )


def _hashable(value: Any) -> Any:
    """A decoded value made usable as a dict key or set member (lists -> tuples)."""
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _bad(tag: str, detail: str) -> XRepoSerializationError:
    return XRepoSerializationError(f"malformed cache entry: tag {tag!r}: {detail}")


def decode(data: Any, _depth: int = 0) -> Any:
    """The inverse of :func:`encode`.

    Raises:
        XRepoSerializationError: an unknown tag or a malformed tagged value.
    """
    if _depth > MAX_DEPTH + 1:
        raise XRepoSerializationError(f"cache entry is nested deeper than {MAX_DEPTH} levels")
    if isinstance(data, list):
        return [decode(v, _depth + 1) for v in data]
    if not isinstance(data, dict):
        return data
    if TAG not in data:
        return {k: decode(v, _depth + 1) for k, v in data.items()}
    tag, raw = data[TAG], data.get("v")
    try:
        return _decode_tagged(tag, raw, _depth)
    except XRepoSerializationError:
        raise
    except (ValueError, TypeError, InvalidOperation, binascii.Error) as exc:
        raise _bad(str(tag), type(exc).__name__) from None


def _decode_tagged(tag: Any, raw: Any, depth: int, *, nested: bool = True) -> Any:
    """One tagged value; ``nested=False`` when its contents are already decoded."""
    if tag == "dt":
        return _dt.datetime.fromisoformat(raw)
    if tag == "d":
        return _dt.date.fromisoformat(raw)
    if tag == "tm":
        return _dt.time.fromisoformat(raw)
    if tag == "td":
        return _dt.timedelta(seconds=float(raw))
    if tag == "dec":
        if not isinstance(raw, str):
            raise _bad(tag, "expected a string")
        return Decimal(raw)
    if tag == "uuid":
        return uuid.UUID(raw)
    if tag == "b":
        return base64.b64decode(raw, validate=True)
    if tag == "f":
        if raw not in ("nan", "inf", "-inf"):
            raise _bad(tag, "expected nan, inf or -inf")
        return float(raw)
    if tag in ("tuple", "set", "fset", "map"):
        if not isinstance(raw, list):
            raise _bad(tag, "expected a list")
        items = [decode(v, depth + 1) for v in raw] if nested else raw
        if tag == "tuple":
            return tuple(items)
        if tag == "set":
            return {_hashable(v) for v in items}
        if tag == "fset":
            return frozenset(_hashable(v) for v in items)
        if not all(isinstance(p, list) and len(p) == 2 for p in items):
            raise _bad(tag, "expected [key, value] pairs")
        return {_hashable(k): v for k, v in items}
    raise _bad(str(tag), "unknown tag")


def dumps(value: Any) -> bytes:
    """Encode ``value`` to compact JSON bytes (UTF-8)."""
    return json.dumps(encode(value), separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes | str) -> Any:
    """Decode bytes written by :func:`dumps`.

    Raises:
        XRepoSerializationError: the bytes are not JSON or hold a malformed tagged value.
    """
    try:
        # object_hook runs inside the C parser, innermost objects first: a tagged value's
        # contents are already decoded when its own tag is read.
        return json.loads(data, object_hook=_object_hook)
    except XRepoSerializationError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise XRepoSerializationError(
            f"cache entry is not valid JSON ({type(exc).__name__})"
        ) from None


def _object_hook(obj: dict[str, Any]) -> Any:
    if TAG not in obj:
        return obj
    tag, raw = obj[TAG], obj.get("v")
    try:
        return _decode_tagged(tag, raw, 0, nested=False)
    except XRepoSerializationError:
        raise
    except (ValueError, TypeError, InvalidOperation, binascii.Error) as exc:
        raise _bad(str(tag), type(exc).__name__) from None


def canonical_json(value: Any) -> str:
    """Deterministic JSON of ``value`` (keys sorted, tags applied): equal inputs, equal text."""
    return json.dumps(encode(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
