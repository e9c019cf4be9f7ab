"""Numbers in a CSV column that DuckDB cannot hold: integers beyond 128 bits (HUGEINT, its widest
integer), decimals of more than 38 digits (its widest DECIMAL).

Before, the engine failed with DuckDB's conversion error when such an integer came after the
first rows, and (worse) reported such a value as a null, with a wrong maximum, when the first
rows suggested the type (always for decimals). Now ``engine=None`` streams such a file (the same
statistics as ``engine=False``) and ``engine=True`` refuses it, naming the column. Numbers up to
those bounds stay on the engine, exactly.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from file_profiles import inspect_file

from xinspector import XInspectorError

HUGE = 10**40  # beyond 2**127
LOW = -(2**127)  # HUGEINT's bounds
HIGH = 2**127 - 1


def write(path: Path, values: list[Any]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "n", "note"])
        for i, v in enumerate(values):
            w.writerow([i, v, "é ü" if i % 3 else ""])
    return path


CASES = {
    # a huge value after the 20,000 rows the engine guesses types from
    "late": [str(i) for i in range(21_000)] + [str(HUGE)],
    # in the first rows, beside an integer beyond 64 bits only
    "head": [str(-HUGE), "", str(2**64), *(str(i) for i in range(100)), "NULL"],
    # one more than HUGEINT's maximum, among values at its bounds
    "edge": [str(LOW), str(HIGH), str(HIGH + 1), "0"],
    # decimals: 40 digits after 20,000 short ones; in the first rows; 35 integer digits where
    # another value has 4 decimals (39 digits in DECIMAL(38, 4))
    "decimal_late": [f"{i}.5" for i in range(21_000)] + ["1" * 40 + ".5"],
    "decimal_head": ["-" + "9" * 39 + ".25", "N/A", *(f"{i}.75" for i in range(100))],
    "decimal_scale": ["1" * 35, "0.1234", "-2.5", ""],
}
BEYOND = {
    "late": "beyond 128 bits",
    "head": "beyond 128 bits",
    "edge": "beyond 128 bits",
    "decimal_late": "of more than 38 digits",
    "decimal_head": "of more than 38 digits",
    "decimal_scale": "of more than 38 digits",
}
NULLS = {"", "NULL", "N/A"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_default_streams_a_file_of_such_numbers(tmp_path: Path, case: str) -> None:
    path = write(tmp_path / f"{case}.csv", CASES[case])
    streamed = inspect_file(path, False)
    default = inspect_file(path, None)
    decimal = case.startswith("decimal")
    numbers = [Decimal(v) if decimal else int(v) for v in CASES[case] if v not in NULLS]
    for result in (streamed, default):
        fs = result.field_statistics["n"]
        assert fs.type == ("Decimal" if decimal else "int")
        assert fs.null_count == len(CASES[case]) - len(numbers)
        assert (fs.min, fs.max) == (min(numbers), max(numbers))
    for name, s in streamed.field_statistics.items():
        d = default.field_statistics[name]
        assert s.model_dump() == d.model_dump(), name


@pytest.mark.parametrize("case", sorted(CASES))
def test_engine_true_refuses_them_naming_the_column(tmp_path: Path, case: str) -> None:
    path = write(tmp_path / f"{case}.csv", CASES[case])
    with pytest.raises(XInspectorError, match=rf"column 'n'.*{BEYOND[case]}.*engine=False"):
        inspect_file(path, True)


def test_integers_at_hugeint_bounds_stay_on_the_engine(tmp_path: Path) -> None:
    values = [str(LOW), str(HIGH), str(2**64), "-5", "", *(str(i) for i in range(50))]
    path = write(tmp_path / "bounds.csv", values)
    engine = inspect_file(path, True).field_statistics["n"]
    streamed = inspect_file(path, False).field_statistics["n"]
    assert engine.type == streamed.type == "int"
    assert (engine.min, engine.max) == (streamed.min, streamed.max) == (LOW, HIGH)
    assert engine.null_count == streamed.null_count == 1
    assert engine.unique_count == streamed.unique_count == len(values) - 1


def test_decimals_of_38_digits_stay_on_the_engine(tmp_path: Path) -> None:
    # 38 digits at scale 2: 36 integer digits at most (the check of every cell runs, passes)
    values = ["9" * 36 + ".25", "-" + "1" * 35 + ".5", "0.01", "", "7"]
    path = write(tmp_path / "digits.csv", values)
    engine = inspect_file(path, True).field_statistics["n"]
    streamed = inspect_file(path, False).field_statistics["n"]
    assert engine.type == streamed.type == "Decimal"
    assert (engine.min, engine.max) == (streamed.min, streamed.max)
    assert engine.max == Decimal("9" * 36 + ".25")
    assert engine.null_count == streamed.null_count == 1
