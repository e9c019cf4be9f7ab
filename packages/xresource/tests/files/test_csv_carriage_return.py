"""A text value holding a bare carriage return survives a CSV write and read.

``csv.writer`` quotes only the characters of its line terminator: with the default ``\\n``
lines, ``"0\\r"`` went out unquoted and came back as a ragged row (found by the engine's
property test, which writes with CSVResource and reads with both paths).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xresource import CSVResource

CASES = [
    [{"a": "0\r"}],
    [{"a": "", "aa": "\r0"}],
    [{"a": "x\r\ny", "b": "\r"}, {"a": "plain", "b": "line\nfeed"}],
]


@pytest.mark.parametrize("rows", CASES)
@pytest.mark.parametrize("terminator", ["\n", "\r\n"])
async def test_carriage_return_round_trip(rows, terminator: str, tmp_path: Path) -> None:
    resource = CSVResource(
        path=str(tmp_path / "cr.csv"), line_terminator=terminator, create_if_missing=True
    )
    await resource.write(rows)
    assert await resource.read() == rows
    await resource.write(rows, mode="append")
    assert await resource.read() == rows + rows
    # Lines still end as configured: only the row with the carriage return is quoted.
    data = (tmp_path / "cr.csv").read_bytes()
    assert data.endswith(terminator.encode())
