"""The documented case-folding deviations, in one place: which records the suite leaves out of a
comparison because a backend folds some letters differently from ``mongod``, and why.

docs/xrepo.md (rule implemented here, proposed wording for "The same answer everywhere"):

    Case-insensitive operators (``__icontains``, ``__istartswith``, ``__iendswith``, ``$regex``
    with ``i``) fold by Unicode simple case folding, as MongoDB does, except: PostgreSQL folds
    through ICU (``und-x-icu``) case mapping, MariaDB/MySQL lowers through
    ``utf8mb4_uca1400_ai_ci``, and ``$regex`` with ``i`` in memory, on files and on SQLite uses
    Python's ``re``, which also matches capital I with dot above and dotless i with ``i``/``I``.
    These differ from MongoDB only for the letters listed per backend in
    ``tests-integration/differential/deviations.py``.

``mongod`` (PCRE, caseless) is the reference. Each :class:`Deviation` names the classes of letters
that a backend's operator family matches differently from ``mongod`` (measured against the
servers of CI: every letter of :data:`PROBE` as data and as operand). A record is left out of a
comparison when a case-insensitive condition of the query on that backend has an operand holding a
letter of a class and the record's value at the condition's path holds a letter of the same class;
every other record is compared. Left-out records are counted and printed at the end of the module,
so the exclusion is never silent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# Letters whose case mappings are not one-to-one (escaped: several look like ASCII letters).
DOTTED_I, DOTLESS_I = "\u0130", "\u0131"
LONG_S, KELVIN, SHARP_S, CAPITAL_SHARP_S = "\u017f", "\u212a", "\u00df", "\u1e9e"
SIGMAS, MICROS, DZ = "\u03c3\u03c2\u03a3", "\u00b5\u03bc\u039c", "\u01c4\u01c5\u01c6"
I_CLASS = "iI" + DOTTED_I + DOTLESS_I
# Every letter probed against the servers (as data and as operand) to find the classes below.
PROBE = I_CLASS + "sS" + LONG_S + "kK" + KELVIN + SIGMAS + MICROS + SHARP_S + CAPITAL_SHARP_S + DZ

LOOKUP_OPS = ("icontains", "istartswith", "iendswith")
REGEX_I = "$regex/i"


@dataclass(frozen=True)
class Deviation:
    """Letters that ``backends`` match differently from mongod in the operator ``family``."""

    backends: tuple[str, ...]
    family: str  # "lookup" (``__i*`` lookups) or REGEX_I (``$regex`` with the ``i`` option)
    classes: tuple[str, ...]  # each string: letters that fold together in one engine, not the other
    doc: str  # the docs/xrepo.md clause it implements


DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        ("memory", "json", "sqlite"), REGEX_I, (I_CLASS,),
        "`$regex` with `i` in memory, files and SQLite is Python's `re`: dotted capital I and "
        "dotless i match i and I",
    ),
    Deviation(
        ("postgresql",), "lookup", ("iI" + DOTTED_I, "sS" + LONG_S, SIGMAS, MICROS),
        "PostgreSQL folds through ICU case mapping: dotted capital I lowers to i + dot above; "
        "long s, final sigma and the micro sign stay apart from s, sigma and mu",
    ),
    Deviation(
        ("postgresql",), REGEX_I,
        (I_CLASS, "sS" + LONG_S, "kK" + KELVIN, SIGMAS, MICROS, SHARP_S + CAPITAL_SHARP_S, DZ),
        "PostgreSQL's regex engine folds through ICU case mapping (sharp s does not match "
        "capital sharp s, long s and the Kelvin sign match nothing else)",
    ),
    Deviation(
        ("mysql",), "lookup", ("iI" + DOTTED_I, "sS" + LONG_S, SIGMAS, MICROS),
        "MariaDB/MySQL lowers through utf8mb4_uca1400_ai_ci: dotted capital I is i; long s, "
        "final sigma and the micro sign stay apart from s, sigma and mu",
    ),
)  # fmt: skip

EXCLUDED: Counter[tuple[str, str]] = Counter()  # (backend, doc clause) -> records left out


def _conditions(flt: Any) -> Iterable[tuple[str, str, str]]:
    """``(path, family, operand)`` of every case-insensitive condition of an xrepo filter."""
    if isinstance(flt, list):
        for c in flt:
            yield from _conditions(c)
        return
    if not isinstance(flt, dict):
        return
    for key, cond in flt.items():
        if key in ("$and", "$or", "$nor"):
            yield from _conditions(cond)
            continue
        parts = key.split("__")
        if len(parts) > 1 and parts[-1] in LOOKUP_OPS and isinstance(cond, str):
            yield ".".join(parts[:-1]), "lookup", cond
            continue
        yield from _regexes(key.replace("__", "."), cond)


def _regexes(path: str, cond: Any) -> Iterable[tuple[str, str, str]]:
    if not isinstance(cond, dict):
        return
    if "i" in str(cond.get("$options", "")) and isinstance(cond.get("$regex"), str):
        yield path, REGEX_I, cond["$regex"]
    if "$not" in cond:
        yield from _regexes(path, cond["$not"])


def _texts(record: dict[str, Any], path: str) -> list[str]:
    node: Any = record
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    items = node if isinstance(node, list) else [node]
    return [t for t in items if isinstance(t, str)]


def excluded_ids(backend: str, flt: Any, data: Sequence[dict[str, Any]]) -> set[Any]:
    """Ids of the records of ``data`` that ``flt`` cannot compare on ``backend`` (documented
    case-folding deviations); counted in :data:`EXCLUDED`."""
    out: set[Any] = set()
    for path, family, operand in _conditions(flt):
        for dev in DEVIATIONS:
            if backend not in dev.backends or dev.family != family:
                continue
            for letters in dev.classes:
                if not any(c in operand for c in letters):
                    continue
                hit = {r["id"] for r in data
                       if any(c in t for t in _texts(r, path) for c in letters)}  # fmt: skip
                EXCLUDED[(backend, dev.doc)] += len(hit - out)
                out |= hit
    return out


def exclusion_summary() -> list[str]:
    """One line per backend and clause: how many record comparisons the deviations left out."""
    return [
        f"differential: {backend} left out {n} record(s) by a documented deviation: {doc}"
        for (backend, doc), n in sorted(EXCLUDED.items())
        if n
    ]
