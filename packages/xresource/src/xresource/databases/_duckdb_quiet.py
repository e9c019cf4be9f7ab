"""Every DuckDB connection of the package is opened here, quiet.

DuckDB draws a progress bar on the process's stdout during a query that runs for more than two
seconds, even when stdout is a pipe. A library must never write there: it would corrupt the
output of the program that uses it (a CLI printing JSON, a child reporting its figures). The
setting is per connection (a cursor is a connection of its own), so each one gets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

__all__ = ["PROGRESS_BAR", "quiet_connect", "set_progress_bar"]

#: The DuckDB setting; an ``options`` entry of that name turns the bar back on.
PROGRESS_BAR = "enable_progress_bar"


def set_progress_bar(con: duckdb.DuckDBPyConnection, on: Any = False) -> None:
    """Turn the progress bar of ``con`` on (``True``, ``"true"``, ``"1"``...) or off."""
    wanted = str(on).strip().lower() in ("1", "true", "yes", "on")
    con.execute(f"SET {PROGRESS_BAR} = {'true' if wanted else 'false'}")


def quiet_connect(
    path: str = ":memory:", *, read_only: bool = False, config: Mapping[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` without the progress bar (unless ``config`` turns it on)."""
    import duckdb

    settings = dict(config or {})
    bar = settings.pop(PROGRESS_BAR, False)  # a session setting: connect() refuses it
    con = duckdb.connect(path, read_only=read_only, config=settings)
    try:
        set_progress_bar(con, bar)
    except BaseException:
        con.close()
        raise
    return con
