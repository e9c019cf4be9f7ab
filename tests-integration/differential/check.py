"""Running one query on the oracle and on a backend, and judging the backend's answer.

An answer is right when it equals mongod's after the normalisations of
:mod:`differential.compare`, on the records that the documented case-folding deviations
(:mod:`differential.deviations`) leave in. A backend may refuse instead, with an
``XRepoValidationError`` or ``XRepoQueryError`` (counted per backend and reported); any other
exception — a raw driver error — is a mismatch.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from differential.backends import Loaded
from differential.compare import Tolerance, canon, canon_rows, row_diff, show
from differential.deviations import excluded_ids
from differential.queries import Pipeline, oracle_filter, oracle_pipeline, with_source
from xrepo import XRepoQueryError, XRepoValidationError

REPORT = os.environ.get("XTEST_DIFFERENTIAL_REPORT")  # collect mismatches there, do not fail
REFUSALS: dict[str, Counter[str]] = defaultdict(Counter)
REFUSAL_SAMPLES: dict[tuple[str, str], str] = {}
CHECKED: Counter[str] = Counter()


@dataclass
class Finding:
    """A backend's answer that differs from mongod's."""

    backend: str
    operation: str
    query: Any
    oracle_query: Any
    expected: Any
    got: Any
    detail: str = ""
    culprits: Any = None

    def text(self) -> str:
        return (
            f"[{self.backend}] {self.operation} differs from mongod\n"
            f"  query:        {show(self.query)}\n"
            f"  mongod query: {show(self.oracle_query)}\n"
            f"  mongod:       {show(self.expected)}\n"
            f"  {self.backend + ':':<13} {show(self.got)}\n"
            + (f"  {self.detail}\n" if self.detail else "")
        )


def _key(query: Any) -> str:
    """The operators, stages and accumulators of ``query``: what a refusal is counted under."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k.startswith("$"):
                    found.add(k)
                elif "__" in k:
                    found.add("__" + k.rsplit("__", 1)[1])
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(query)
    return " ".join(sorted(found)) or "{}"


async def _ours(call: Any) -> tuple[str, Any]:
    try:
        return "ok", await call
    except (XRepoValidationError, XRepoQueryError) as exc:
        return "refused", str(exc)
    except Exception as exc:  # a raw driver error for a valid query: a finding
        return "raised", f"{type(exc).__name__}: {exc}"


def _refused(backend: str, query: Any, message: str) -> None:
    key = _key(query)
    REFUSALS[backend][key] += 1
    REFUSAL_SAMPLES.setdefault((backend, key), message[:300])


def _names(token: str, message: str) -> bool:
    """Whether ``message`` names the operator ``token`` (``$regex``, ``__icontains``...)."""
    if token in message:
        return True
    word = token.lstrip("_")
    return (
        token.startswith("__") and len(word) > 4 and re.search(rf"\b{word}\b", message) is not None
    )


def _judge(backend: str, op: str, query: Any, oq: Any, status: str, got: Any,
           expected: Any, same: Any) -> Finding | None:  # fmt: skip
    CHECKED[backend] += 1
    if status == "refused":
        # A refusal must say which operator it refuses; a driver's message wrapped in an
        # XRepoQueryError ("operator does not exist: jsonb ~ unknown") is not a refusal.
        if any(_names(token, got) for token in _key(query).split()):
            _refused(backend, query, got)
            return None
        return Finding(backend, op, query, oq, expected, got,
                       "refused without naming an operator of the query")  # fmt: skip
    if status == "raised":
        return Finding(backend, op, query, oq, expected, got, "a raw exception, not XRepo*Error")
    return None if same(got) else Finding(backend, op, query, oq, expected, got)


def _record_detail(loaded: Loaded, want: list[Any], got: list[Any]) -> str:
    diff = sorted(set(map(repr, want)) ^ set(map(repr, got)))
    recs = [r for r in loaded.data if repr(r.get("id")) in diff][:4]
    return f"records in one answer only: {show(recs)}" if recs else ""


async def check_filter(
    loaded: Loaded, backend: str, flt: dict[str, Any], sort: list[tuple[str, int]],
    skip: int, limit: int | None, distinct_field: str | None,
) -> list[Finding]:  # fmt: skip
    """list() (sorted, paged), count() and distinct() of ``flt`` on ``backend`` vs mongod."""
    repo = loaded.repos[backend]
    flt = _without(flt, excluded_ids(backend, flt, loaded.data))
    oflt = oracle_filter(flt)
    findings: list[Finding] = []
    full_sort = [*sort, *([("id", 1)] if "id" not in dict(sort) else [])]
    cursor = loaded.oracle.find(oflt, {"id": 1, "_id": 0}).sort(full_sort).skip(skip)
    want = [d["id"] for d in cursor.limit(limit or 0)]
    status, got = await _ours(repo.list(flt, sort=sort or None, skip=skip, limit=limit))
    if status == "ok":
        got = [m.id for m in got]
    query = {"filter": flt, "sort": sort, "skip": skip, "limit": limit}
    oq = {"filter": oflt, "sort": full_sort, "skip": skip, "limit": limit}
    f = _judge(backend, "list", query, oq, status, got, want, lambda g: g == want)
    if f:
        if status == "ok":
            f.detail = _record_detail(loaded, want, got)
        findings.append(f)
    want_n = loaded.oracle.count_documents(oflt)
    status, got = await _ours(repo.count(flt))
    f = _judge(backend, "count", flt, oflt, status, got, want_n, lambda g: g == want_n)
    if f:
        findings.append(f)
    if distinct_field:
        raw = loaded.oracle.distinct(distinct_field, oflt)
        want_d = sorted({canon(v) for v in raw if v is not None}, key=repr)
        status, got = await _ours(repo.distinct(distinct_field, flt))
        query = {"distinct": distinct_field, "filter": flt}
        f = _judge(backend, "distinct", query, {"distinct": distinct_field, "filter": oflt},
                   status, got, raw,
                   lambda g: sorted(map(canon, g), key=repr) == want_d)  # fmt: skip
        if f:
            findings.append(f)
    return findings


def _without(flt: dict[str, Any], ids: set[Any]) -> dict[str, Any]:
    """``flt`` restricted to the records not in ``ids`` (a documented deviation's records)."""
    if not ids:
        return flt
    rest = {"id": {"$nin": sorted(ids)}}
    return {"$and": [flt, rest]} if flt else rest


def _restricted(p: Pipeline, backend: str, loaded: Loaded) -> Pipeline:
    """``p`` with its leading $match (the only stage with case-insensitive operators) restricted
    to the records the case-folding deviations leave in."""
    if not p.stages or "$match" not in p.stages[0]:
        return p
    first = p.stages[0]["$match"]
    body = _without(first, excluded_ids(backend, first, loaded.data))
    if body is first:
        return p
    return Pipeline([{"$match": body}, *p.stages[1:]], p.ordered, p.sets, p.bags, p.exact)


async def check_pipeline(loaded: Loaded, backend: str, p: Pipeline) -> list[Finding]:
    """aggregate() of ``p`` on ``backend`` vs mongod."""
    repo = loaded.repos[backend]
    p = _restricted(p, backend, loaded)
    oracle_p = Pipeline(with_source(p, f"{loaded.oracle.name}_orders"), p.ordered, p.sets,
                        p.bags, p.exact)  # fmt: skip
    ostages = oracle_pipeline(oracle_p)
    raw = list(loaded.oracle.aggregate(ostages))
    kw: dict[str, Any] = {"sets": frozenset(p.sets), "bags": frozenset(p.bags),
                          "approx": frozenset(p.approx)}  # fmt: skip
    want = canon_rows(raw, p.ordered, **kw)
    tolerance = Tolerance.for_data(loaded.data)
    status, got = await _ours(repo.aggregate(with_source(p, loaded.orders[backend])))

    def same(g: Any) -> bool:
        return tolerance.same_rows(want, canon_rows(g, p.ordered, **kw), p.ordered)

    f = _judge(backend, "aggregate", p.stages, ostages, status, got, raw, same)
    if f and status == "ok":
        f.detail = row_diff(want, canon_rows(got, p.ordered, **kw), p.ordered, tolerance)
    return [f] if f else []


def leaves(flt: Any) -> list[dict[str, Any]]:
    """The single conditions of a filter tree (for reports: which one is wrong)."""
    out: list[dict[str, Any]] = []
    if isinstance(flt, dict):
        for key, cond in flt.items():
            if key in ("$and", "$or", "$nor"):
                for c in cond:
                    out += leaves(c)
            else:
                out.append({key: cond})
    return out


async def culprits(loaded: Loaded, backend: str, flt: dict[str, Any]) -> list[dict[str, Any]]:
    """The conditions of ``flt`` that are wrong on their own on ``backend`` (report mode)."""
    found = []
    for leaf in leaves(flt):
        if await check_filter(loaded, backend, leaf, [], 0, None, None):
            found.append(leaf)
    return found


def settle(findings: list[Finding], label: str) -> None:
    """Fail with every finding, or (with XTEST_DIFFERENTIAL_REPORT) record them and go on."""
    if not findings:
        return
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as fh:
            for f in findings:
                fh.write(json.dumps({"label": label, "backend": f.backend, "operation": f.operation,
                                     "query": show(f.query), "oracle_query": show(f.oracle_query),
                                     "expected": show(f.expected), "got": show(f.got),
                                     "detail": f.detail, "culprits": show(f.culprits)},
                                    ensure_ascii=False) + "\n")  # fmt: skip
        return
    raise AssertionError("\n".join(f.text() for f in findings))


def refusal_summary() -> list[str]:
    """One line per backend: how many queries it refused, by operator set, with a sample."""
    lines = [f"differential: queries checked per backend: {dict(CHECKED)}"]
    for backend, counts in sorted(REFUSALS.items()):
        lines.append(f"differential: {backend} refused {sum(counts.values())}:")
        for key, n in counts.most_common(12):
            lines.append(f"    {n:4d}  {key}: {REFUSAL_SAMPLES[(backend, key)]}")
    return lines
