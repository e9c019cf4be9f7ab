"""The command line end to end in a subprocess: ``xinspector report`` writes the page, and
progress goes to stderr only when stderr is a terminal (a pseudo-terminal here) or is forced;
stdout stays clean either way."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from xinspector.cli import main

ROWS = 45_000  # a few chunks of the streaming profiler (20,000 rows each)


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "orders.csv"
    lines = ["id,amount,status,note"]
    for i in range(ROWS):
        note = "<script>alert('x')</script>" if i % 1000 == 7 else ("" if i % 3 else "Zürich ✓")
        lines.append(f"{i},{(i * 37) % 1000 / 10},{'paid' if i % 4 else 'open'},{note}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(args: list[str], *, tty: bool, columns: int = 400) -> tuple[int, str, str]:
    """Run the CLI; stderr on a pseudo-terminal ``columns`` wide when ``tty``, else on a
    pipe."""
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    cmd = [sys.executable, "-m", "xinspector.cli", *args]
    if not tty:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        err = bytearray()
        assert proc.stdout is not None
        out = proc.stdout.read()  # the CLI writes stdout once, at the end
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            err += chunk
        code = proc.wait(timeout=300)
    finally:
        os.close(master)
    return code, out.decode(), err.decode()


def test_progress_on_a_terminal(orders: Path) -> None:
    code, out, err = run(["inspect", str(orders), "--format", "json"], tty=True)
    assert code == 0, err
    assert json.loads(out)["total_count"] == ROWS  # stdout untouched by the progress line
    assert "\r\x1b[K" in err  # redrawn in place
    final = err.rsplit("\r\x1b[K", 1)[-1]
    assert re.fullmatch(
        # The total is known when the columnar engine counts first, else only the count.
        rf"inspect {re.escape(str(orders))} · 45,000( / 45,000)? records( \(100\.0%\))? · "
        r"[\d,]+ records/s · [\d.]+ s\r?\n",
        final,
    ), final


@pytest.mark.parametrize("columns", [80, 30])
def test_progress_fits_a_narrow_terminal(orders: Path, columns: int) -> None:
    code, out, err = run(["report", str(orders)], tty=True, columns=columns)
    assert code == 0, err
    assert out.startswith("<!doctype html>")
    drawn = [d.rstrip("\r\n") for d in err.split("\r\x1b[K") if d]
    assert drawn
    # Never wider than the terminal less one column: the line never wraps.
    assert all(len(d) <= columns - 1 for d in drawn), drawn
    if columns == 80:  # the path gives way, the numbers stay
        assert drawn[-1].startswith("…")
        assert re.search(r"45,000( / 45,000)? records", drawn[-1]), drawn[-1]
    else:  # too narrow even for the numbers: cut at the end
        assert drawn[-1].endswith("…")


def test_no_progress_on_a_pipe(orders: Path) -> None:
    code, out, err = run(["inspect", str(orders), "--format", "table"], tty=False)
    assert code == 0
    assert err == ""
    assert out.startswith("csv 'csv' / orders: 45000 records")


def test_forced_on_a_pipe_plain_lines(orders: Path) -> None:
    code, _, err = run(["schema", str(orders), "--progress"], tty=False)
    assert code == 0
    assert "\x1b" not in err
    assert "\r" not in err
    lines = err.splitlines()
    assert lines[0].startswith(f"schema {orders} · ")
    assert "45,000 records" in lines[-1]


def test_forced_off_on_a_terminal(orders: Path) -> None:
    code, out, err = run(["report", str(orders), "--no-progress"], tty=True)
    assert code == 0
    assert err == ""
    assert out.startswith("<!doctype html>")


def test_report_writes_the_page(orders: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "profile.html"
    code, out, err = run(
        ["report", str(orders), "-o", str(target), "--title", "Orders <2024>"], tty=False
    )
    assert code == 0, err
    assert out.startswith("wrote the profile of orders (45,000 records, 4 columns, ")
    assert out.endswith(f" to {target}\n")
    html = target.read_text(encoding="utf-8")
    assert "<title>Profile of Orders &lt;2024&gt;</title>" in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert html.count('<section class="field"') == 4
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert [p.name for p in target.parent.iterdir()] == ["profile.html"]  # no temporary left


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_report_errors_are_named(
    tmp_path: Path, orders: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.csv"
    assert main(["report", str(missing), "-o", str(tmp_path / "p.html"), "--no-progress"]) == 1
    assert f"file '{missing}' does not exist" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["report", str(orders), "-o", str(blocker / "p.html"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    target = blocker / "p.html"
    assert err == f"xinspector: error: cannot write {target}: {blocker} is a file, not a folder\n"
    assert main(["report", str(orders), "-o", str(tmp_path), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err == f"xinspector: error: cannot write {tmp_path}: it is a folder; give a file name\n"
    with pytest.raises(SystemExit) as usage:
        main(["report"])
    assert usage.value.code == 2
