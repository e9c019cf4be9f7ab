"""The CLI's progress line: what it says, how often it redraws, in place on a terminal and as
plain lines elsewhere (a clock of our own: no sleeping, no timing)."""

from __future__ import annotations

import asyncio
import io

import pytest

from xinspector._progress import ProgressLine, wants_progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_counts_total_rate_and_elapsed() -> None:
    clock = Clock()
    line = ProgressLine(io.StringIO(), "inspect orders.csv", clock=clock)
    assert line.text() == "inspect orders.csv · 0.0 s"
    clock.now += 2
    line.update(120_000, 1_000_000)
    assert line.text() == (
        "inspect orders.csv · 120,000 / 1,000,000 records (12.0%) · 60,000 records/s · 2.0 s"
    )
    clock.now += 100
    line.update(1_000_000, None)  # the total stays known
    assert line.text().endswith("1,000,000 / 1,000,000 records (100.0%) · 9,804 records/s · 1:42")
    clock.now += 3600
    assert line.text().endswith("· 1:01:42")


def test_unknown_total_and_more_than_announced() -> None:
    clock = Clock()
    line = ProgressLine(io.StringIO(), "p", clock=clock)
    clock.now += 1
    line.update(5, None)
    assert line.text() == "p · 5 records · 5 records/s · 1.0 s"
    line.update(15, 10)  # an estimate can be exceeded: never more than 100%
    assert "15 / 10 records (100.0%)" in line.text()


def test_redraws_are_throttled() -> None:
    clock = Clock()
    out = io.StringIO()
    line = ProgressLine(out, "p", interval=0.5, clock=clock)
    for i in range(1, 41):
        clock.now += 0.125  # a chunk every 1/8 s for five seconds
        line.update(i * 1000, None)
    drawn = out.getvalue().splitlines()
    # The first chunk, then one in four (0.5 s apart): 10 lines for 40 chunks.
    assert len(drawn) == 10
    assert drawn[0] == "p · 1,000 records · 8,000 records/s · 0.1 s"
    assert drawn[1].startswith("p · 5,000 records")
    assert drawn[-1].startswith("p · 37,000 records")


async def test_in_place_on_a_terminal_and_final_state_kept() -> None:
    clock = Clock()
    out = Terminal()
    line = ProgressLine(out, "p", interval=0, clock=clock)
    line.start()
    clock.now += 1
    line(50, 100)
    await line.finish()
    await line.finish()  # idempotent
    line.update(99, 100)  # after the end: nothing
    assert out.getvalue() == (
        "\r\x1b[Kp · 0.0 s"
        "\r\x1b[Kp · 50 / 100 records (50.0%) · 50 records/s · 1.0 s"
        "\r\x1b[Kp · 50 / 100 records (50.0%) · 50 records/s · 1.0 s\n"
    )


async def test_elapsed_time_moves_while_nothing_reports() -> None:
    clock = Clock()
    out = io.StringIO()
    line = ProgressLine(out, "p", interval=0.01, clock=clock)
    line.start()
    clock.now += 7
    # The ticker redraws by itself (every 0.25 s here); wait for it, however long it takes.
    for _ in range(200):
        if len(out.getvalue().splitlines()) >= 2:
            break
        await asyncio.sleep(0.05)
    await line.finish("done")
    drawn = out.getvalue().splitlines()
    assert drawn[0] == "p · 0.0 s"
    assert drawn[-1] == "done"
    assert len(drawn) >= 3  # start, at least one tick, the end
    assert drawn[1] == "p · 7.0 s"


def test_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval must not be negative"):
        ProgressLine(io.StringIO(), "p", interval=-1)


def test_wants_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    assert wants_progress(Terminal()) is True
    assert wants_progress(io.StringIO()) is False
    assert wants_progress(io.StringIO(), forced=True) is True
    assert wants_progress(Terminal(), forced=False) is False
    monkeypatch.setenv("TERM", "dumb")
    assert wants_progress(Terminal()) is False
    closed = io.StringIO()
    closed.close()
    assert wants_progress(closed) is False


def test_the_line_fits_the_terminal() -> None:
    clock = Clock()
    label = "inspect /data/" + "very-long-folder-name/" * 8 + "orders.csv"
    line = ProgressLine(Terminal(), label, clock=clock, width=60)
    clock.now += 2
    line.update(1_000_000, None)
    fitted = line.fitted()
    assert len(fitted) == 59  # one column spare: the cursor never wraps
    assert fitted.startswith("…")
    assert fitted.endswith("orders.csv · 1,000,000 records · 500,000 records/s · 2.0 s")
    # Too narrow even for the numbers: cut at the end.
    narrow = ProgressLine(Terminal(), label, clock=clock, width=30)
    narrow.update(5, 10)
    assert len(narrow.fitted()) == 29
    assert narrow.fitted().endswith("…")
    # A short line is left alone.
    assert ProgressLine(Terminal(), "p", clock=clock, width=60).fitted() == "p · 0.0 s"


async def test_a_pipe_gets_the_whole_line() -> None:
    clock = Clock()
    out = io.StringIO()
    label = "x" * 300
    line = ProgressLine(out, label, clock=clock, width=40)
    await line.finish()
    assert out.getvalue() == label + " · 0.0 s\n"
