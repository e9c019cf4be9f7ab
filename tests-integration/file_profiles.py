"""One file profiled by both paths, the streaming pass and the columnar engine, for the suites
that check that they give the same answers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from xinspector import FieldStatistics, InspectionResult, ProfileOptions, XInspector
from xresource import ResourceFactory


def inspect_file(
    path: Path, engine: bool | None, options: ProfileOptions | None = None
) -> InspectionResult:
    """``XInspector(engine=engine).inspect()`` of the file (``False``: the streaming pass)."""
    resource = ResourceFactory.from_url(str(path))
    return asyncio.run(XInspector(resource, engine=engine, options=options).inspect())


def assert_fields_agree(s: FieldStatistics, e: FieldStatistics, keys: Iterable[str]) -> None:
    """The statistics ``keys`` of one column are equal on both paths (named when not)."""
    for key in keys:
        assert getattr(s, key) == getattr(e, key), f"{s.name}.{key}"
