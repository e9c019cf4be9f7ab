"""Differential suite (issue 14): every backend answers as a real ``mongod`` does.

What is compared
    The same records live in a plain MongoDB collection (the oracle: natural BSON inserted with
    pymongo, server-made ObjectId ``_id``s) and in every backend: memory, SQLite, PostgreSQL,
    MariaDB (a table with the server's default collation, as users create them), MongoDB through
    xrepo, DuckDB, a JSON file, and a JSON Lines and a Parquet file queried where they lie by
    the DuckDB engine. Three datasets: the fixed hostile one (``differential.data.HOSTILE``)
    and two drawn by hypothesis from a seed. Per backend and run: ``list()`` (sorted, paged),
    ``count()`` and ``distinct()`` of 300 generated filters (every operator and Django lookup,
    ``$and/$or/$nor/$not``), ``aggregate()`` of 200 generated pipelines (every stage and
    accumulator, ``$match`` before and after ``$group``), the fixed case of every bug class of
    issue 14 (``differential.cases``), the records read back by ``list()``/``aggregate()`` and
    through ``materialized=True``. An answer must equal mongod's, or be a refusal
    (``XRepoValidationError``/``XRepoQueryError``) whose message names an operator of the query;
    refusals are counted per backend and printed at the end of the module. A raw driver error,
    or a refusal that names no operator, is a mismatch.

Normalisations (each maps to a documented rule; nothing else is forgiven)
    - null == missing (docs/xrepo.md "The same answer everywhere": a missing field and ``null``
      are the same thing; ``$exists: true`` means present and not null): ``$exists``/``__isnull``
      become ``$ne``/``$eq`` null for mongod; ``$push``/``$addToSet`` and compound ``$group``
      keys read a missing field as null on the oracle (``$ifNull``); keys whose value is null
      are dropped from documents before comparing (``differential.queries``, ``.compare``);
    - typed values in (design rule 1): a leading ``$match``/filter on a typed field takes its
      JSON forms (ISO strings, decimal strings) for mongod as the model types them; a
      ``$match`` after ``$group`` is typed by the kinds at its point (a decimal string against
      a Decimal key or ``$sum``/``$avg``/``$min``... of a Decimal becomes a Decimal128), as
      ``xrepo.query.type_stages`` does on every backend;
    - numbers compare by value across int/float/Decimal/Decimal128, never with bool or str
      (design rule 1); a date equals the midnight-UTC datetime BSON stores for it, at any depth
      (design rule 2); a naive datetime out is a mismatch (design rule 2);
    - ``$avg``/``$sum`` results that mongod computes inexactly (doubles; Decimal128 with 34
      significant digits, where PostgreSQL keeps at least 16 and MariaDB 14 decimal places)
      compare to a relative 1e-9 or an absolute 1e-14 x the dataset's total magnitude (the
      error bound of a plain float sum); an integral result must be exact;
    - ``$addToSet`` arrays compare as sets, a ``$lookup``'s array as a multiset; rows compare
      as a multiset unless the pipeline ends with a total sort; ``distinct()`` as a set
      (mongod merges 10 and 10.0, so must the backend);
    - case folding (docs/xrepo.md, the clause quoted in ``differential.deviations``): records
      whose text holds a letter that a backend folds differently from mongod (dotted capital I
      and dotless i with Python's ``re``; dotted capital I, long s, final sigma, micro sign with
      ICU on PostgreSQL and with uca1400 on MariaDB; sharp s and the Kelvin sign too in
      PostgreSQL's regexes) are left out of the comparison of a case-insensitive condition
      whose operand holds a letter of the same class; the count is printed at the end.

Replaying and long runs
    The dataset seed is printed at the end of the module; ``XTEST_DIFFERENTIAL_SEED=<n>``
    replays its data (the queries are drawn by hypothesis with its own seed: pass
    ``--hypothesis-seed=<m>`` too to replay them exactly). ``XTEST_DIFFERENTIAL_EXAMPLES=<n>``
    runs ``n`` filters and ``2n/3`` pipelines per backend (at least 300/200).
    ``XTEST_DIFFERENTIAL_REPORT=<file>`` records every mismatch there (JSON lines: backend,
    operation, query, oracle query, expected, got, detail) instead of failing. For example::

        for s in 1 2 3 4 5; do
          XTEST_DIFFERENTIAL_SEED=$s XTEST_DIFFERENTIAL_EXAMPLES=3000 \\
          XTEST_DIFFERENTIAL_REPORT=/tmp/diff_s$s.jsonl \\
          pytest tests-integration/test_repo_differential.py -k mysql
        done

    Loading is the slow part, so every dataset is loaded once per module; the default run takes
    about 20 seconds on 2 cores.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from differential.backends import BACKENDS, Loaded, load_all
from differential.cases import CASES, Case
from differential.check import (
    REPORT,
    check_filter,
    check_pipeline,
    culprits,
    refusal_summary,
    settle,
)
from differential.compare import canon_rows, show
from differential.data import HOSTILE, datasets
from differential.deviations import exclusion_summary
from differential.model import FIELDS, Rec
from differential.queries import filters, pipelines, sorts
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from pymongo import MongoClient

from xrepo import XRepoFactory

FILTER_EXAMPLES = max(300, int(os.environ.get("XTEST_DIFFERENTIAL_EXAMPLES") or 300))
PIPELINE_EXAMPLES = max(200, FILTER_EXAMPLES * 2 // 3)
GENERATED_DATASETS = 2


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    loaded: list[Loaded]
    seed: int

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)


def generate_datasets(seed: int, n: int) -> list[list[dict[str, Any]]]:
    """``n`` datasets drawn by hypothesis from ``seed`` (the largest of a few draws)."""
    drawn: list[list[dict[str, Any]]] = []

    @hypothesis_seed(seed)
    @settings(max_examples=8, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(datasets())
    def draw(data: list[dict[str, Any]]) -> None:
        drawn.append(data)

    draw()
    return sorted(drawn, key=len, reverse=True)[:n]


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: str,
    mysql_url: str,
    mongodb_url: str,
) -> Iterator[World]:
    seed = int(os.environ.get("XTEST_DIFFERENTIAL_SEED") or random.randrange(2**32))
    data = [HOSTILE, *generate_datasets(seed, GENERATED_DATASETS)]
    urls = {"postgresql": postgres_url, "mysql": mysql_url, "mongodb": mongodb_url}
    loop = asyncio.new_event_loop()
    client: MongoClient[Any] = MongoClient(mongodb_url, tz_aware=True)
    loading = load_all(data, urls, tmp_path_factory.mktemp("differential"), client)
    try:
        loaded = loop.run_until_complete(loading.__aenter__())
        yield World(loop, loaded, seed)
    finally:
        loop.run_until_complete(loading.__aexit__(None, None, None))
        client.close()
        loop.close()
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(
                    f"\ndifferential: dataset seed {seed} (XTEST_DIFFERENTIAL_SEED)"
                )
                for line in [*refusal_summary(), *exclusion_summary()]:
                    reporter.write_line(line)


def _usable(world: World, backend: str) -> list[int]:
    return [k for k, ld in enumerate(world.loaded) if backend not in ld.load_errors]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_dataset_loads(world: World, backend: str) -> None:
    """bulk_create takes every generated record (a refusal here hides every later check)."""
    errors = {k: ld.load_errors[backend] for k, ld in enumerate(world.loaded)
              if backend in ld.load_errors}  # fmt: skip
    assert not errors, f"seed {world.seed}: {errors}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_records_read_back_as_stored(world: World, backend: str) -> None:
    """list() and aggregate() return every record with the values mongod holds (typed out)."""
    findings = []
    for k in _usable(world, backend):
        ld = world.loaded[k]
        want = canon_rows(list(ld.oracle.find({}, {"_id": 0}).sort("id", 1)), ordered=True)
        got = world.run(ld.repos[backend].list({}, limit=None))
        rows = canon_rows([m.model_dump() for m in got], ordered=True)
        if rows != want:
            findings.append(_first_diff("list", k, want, rows))
        try:
            agg = world.run(ld.repos[backend].aggregate([{"$sort": {"id": 1}}]))
        except Exception as exc:
            findings.append(f"dataset {k} aggregate: {type(exc).__name__}: {exc}")
        else:
            rows = canon_rows(agg, ordered=True)
            if rows != want:
                findings.append(_first_diff("aggregate", k, want, rows))
    settle_text(findings, backend, f"seed={world.seed} read back")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql", "mongodb", "duckdb"])
def test_materialized_snapshot_of_the_table(world: World, backend: str) -> None:
    """XRepoFactory.create(..., materialized=True) over the table holds the same records."""
    findings = []
    for k in _usable(world, backend):
        ld = world.loaded[k]
        try:
            repo = world.run(XRepoFactory.create(
                resource=ld.resources[backend], model_class=Rec,
                collection=ld.collections[backend], materialized=True, soft_delete=False,
            ))  # fmt: skip
            got = world.run(repo.list({}, limit=None))
        except Exception as exc:
            findings.append(f"dataset {k}: {type(exc).__name__}: {str(exc)[:400]}")
            continue
        want = canon_rows(list(ld.oracle.find({}, {"_id": 0}).sort("id", 1)), ordered=True)
        rows = canon_rows([m.model_dump() for m in got], ordered=True)
        if rows != want:
            findings.append(_first_diff("materialized list", k, want, rows))
    settle_text(findings, backend, f"seed={world.seed} materialized")


def _first_diff(op: str, k: int, want: list[Any], got: list[Any]) -> str:
    for w, g in zip(want, got, strict=False):
        if w != g and w[0] == g[0] == "doc":
            wd, gd = dict(w[1]), dict(g[1])
            keys = sorted(k_ for k_ in wd.keys() | gd.keys() if wd.get(k_) != gd.get(k_))
            return (
                f"dataset {k} {op}, record {wd.get('id')}: field(s) {keys}: mongod "
                f"{show([wd.get(k_) for k_ in keys])}, ours {show([gd.get(k_) for k_ in keys])}"
            )
        if w != g:
            return f"dataset {k} {op}: mongod {show(w)}\n    ours   {show(g)}"
    return f"dataset {k} {op}: mongod has {len(want)} records, ours {len(got)}"


def settle_text(findings: list[str], backend: str, label: str) -> None:
    if not findings:
        return
    if REPORT:
        import json

        with open(REPORT, "a", encoding="utf-8") as fh:
            for f in findings:
                fh.write(json.dumps({"label": label, "backend": backend, "operation": "read back",
                                     "detail": f}, ensure_ascii=False) + "\n")  # fmt: skip
        return
    raise AssertionError(f"[{backend}] {label}\n" + "\n".join(findings))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("backend", BACKENDS)
def test_issue14_case(world: World, backend: str, case: Case) -> None:
    """Every bug class of issue 14, on the hostile dataset, always checked."""
    if backend in world.loaded[0].load_errors:
        pytest.fail(f"the hostile dataset did not load: {world.loaded[0].load_errors[backend]}")
    ld = world.loaded[0]
    if case.pipeline is not None:
        findings = world.run(check_pipeline(ld, backend, case.pipeline))
    else:
        findings = world.run(check_filter(ld, backend, case.filter or {}, case.sort, 0, None,
                                          case.distinct))  # fmt: skip
    settle(findings, f"case {case.name}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_generated_filters(world: World, backend: str) -> None:
    """list()/count()/distinct() of generated filters, sorts and pages equal mongod's."""
    usable = _usable(world, backend)
    if not usable:
        pytest.fail(f"no dataset loaded on {backend}: {world.loaded[0].load_errors[backend]}")
    strategies = {k: filters(world.loaded[k].seen) for k in usable}

    @settings(max_examples=FILTER_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])  # fmt: skip
    @given(st.data())
    def check(data: st.DataObject) -> None:
        k = data.draw(st.sampled_from(usable), label="dataset")
        flt = data.draw(strategies[k], label="filter")
        sort = data.draw(sorts, label="sort")
        skip = data.draw(st.integers(0, 5), label="skip")
        limit = data.draw(st.none() | st.integers(1, 10), label="limit")
        field = data.draw(st.none() | st.sampled_from([*FIELDS[1:-1], "addr.city", "addr.zip"]),
                          label="distinct")  # fmt: skip
        findings = world.run(check_filter(world.loaded[k], backend, flt, sort, skip, limit, field))
        if findings and REPORT:  # name the conditions that are wrong on their own
            blamed = world.run(culprits(world.loaded[k], backend, flt))
            for f in findings:
                f.culprits = blamed
        settle(findings, f"seed={world.seed} dataset={k}")

    check()


@pytest.mark.parametrize("backend", BACKENDS)
def test_generated_pipelines(world: World, backend: str) -> None:
    """aggregate() of generated pipelines (every stage and accumulator) equals mongod's."""
    usable = _usable(world, backend)
    if not usable:
        pytest.fail(f"no dataset loaded on {backend}: {world.loaded[0].load_errors[backend]}")

    @settings(max_examples=PIPELINE_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])  # fmt: skip
    @given(st.data())
    def check(data: st.DataObject) -> None:
        k = data.draw(st.sampled_from(usable), label="dataset")
        p = data.draw(pipelines(world.loaded[k].seen), label="pipeline")
        findings = world.run(check_pipeline(world.loaded[k], backend, p))
        settle(findings, f"seed={world.seed} dataset={k}")

    check()
