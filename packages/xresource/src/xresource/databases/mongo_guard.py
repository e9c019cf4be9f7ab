"""The guard that keeps server-side JavaScript out of every MongoDB request.

MongoDB runs JavaScript for three operators: ``$where`` (in a filter), ``$function`` (in any
aggregation expression: ``$expr`` in a filter, a projection, an update pipeline, a
``$lookup`` sub-pipeline...) and ``$accumulator`` (in ``$group``, ``$bucket``...), and for values
of BSON's code type (:class:`bson.code.Code`). A projection such as
``{"x": {"$function": {...}}}`` is an aggregation expression too, so the guard is not a property
of filters: :func:`check_request` looks at every document an operation sends (filter,
projection, sort, hint, update, pipeline, ``let`` variables, options) at any depth, and
:class:`~xresource.databases.mongodb.MongoDBResource` calls it once per operation, before
anything reaches the server.

Inserted documents are data, stored and never evaluated, so they are not checked (a document
may hold a key named ``$where``). The raw driver handles (``resource.db``,
``resource.collection(name)``, ``resource.client``) bypass the resource's methods and this guard:
code that hands them user input must call :func:`check_request` itself.

Examples:
    >>> check_request("fetch", projection={"x": {"$function": {"body": "..."}}})
    Traceback (most recent call last):
    ValueError: projection of fetch uses $function, which runs JavaScript on the server and is ...
    >>> check_request("fetch", filter={"$expr": {"$gt": ["$a", 1]}}, sort=[("a", 1)])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bson.code import Code

__all__ = ["FORBIDDEN_OPERATORS", "MAX_DEPTH", "check_no_server_js", "check_request"]

#: Operators that run JavaScript on the server: refused in every part of every request.
FORBIDDEN_OPERATORS = frozenset({"$where", "$function", "$accumulator"})
#: Deeper documents are refused (the server's own limit is 100 levels of nesting for BSON).
MAX_DEPTH = 100


def check_no_server_js(value: Any, *, where: str = "filter", _depth: int = 0) -> None:
    """Raise ``ValueError`` when ``value`` holds a server-side JavaScript operator (or a BSON
    code value) at any depth: as a key of any mapping, inside lists and tuples.

    >>> check_no_server_js({"$and": [{"a": 1}, {"$where": "sleep(100)"}]})
    Traceback (most recent call last):
    ValueError: filter uses $where, which runs JavaScript on the server and is not allowed
    """
    if _depth > MAX_DEPTH:
        raise ValueError(f"{where} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, Code):
        # Code is a str subclass: test it before any text handling.
        raise ValueError(
            f"{where} holds a JavaScript code value, which the server may run; not allowed"
        )
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and key in FORBIDDEN_OPERATORS:
                raise ValueError(
                    f"{where} uses {key}, which runs JavaScript on the server and is not allowed"
                )
            check_no_server_js(item, where=where, _depth=_depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            check_no_server_js(item, where=where, _depth=_depth + 1)


def check_request(operation: str, /, **parts: Any) -> None:
    """Refuse a request any of whose ``parts`` holds server-side JavaScript.

    Args:
        operation: the resource operation (``fetch``, ``update``...), named in the error.
        **parts: every argument that reaches the server, by name (``filter``, ``projection``,
            ``sort``, ``hint``, ``update``, ``pipeline``, ``let``, ``options``...); ``None``
            parts are skipped. A list projection (field names) is checked as the mapping the
            driver sends.

    Raises:
        ValueError: naming the part, the operation and the operator.
    """
    for name, value in parts.items():
        if value is None:
            continue
        if name in ("projection", "sort", "hint"):
            # The driver sends "a", ["a", "b"] and [("a", 1)] as documents: the names are keys.
            value = _as_keys(value)
        check_no_server_js(value, where=f"{name} of {operation}")


def _as_keys(value: Any) -> Any:
    """A key spec (``"a"``, ``["a", "b"]``, ``[("a", 1)]``) as the document the driver sends."""
    if isinstance(value, str) and not isinstance(value, Code):
        return {value: 1}
    if isinstance(value, list | tuple):
        out: list[Any] = []
        for item in value:
            if isinstance(item, str) and not isinstance(item, Code):
                out.append({item: 1})
            elif isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str):
                out.append({item[0]: item[1]})
            else:
                out.append(item)
        return out
    return value
