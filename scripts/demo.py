"""``nox -s demo``: the project's main job, ``xregistry serve``, on its embedded default.

With no arguments it serves the sample (a SQLite shop and a CSV of reviews, generated on first
run into ~/.local/share/xregistry/sample) on http://127.0.0.1:8000/ and prints a link with a
token for the local admin. Arguments pass through: ``nox -s demo -- --port 0``,
``nox -s demo -- --resource sqlite:///my.db``, ``nox -s demo -- token``.
"""

from __future__ import annotations

import sys

COMMANDS = {"serve", "token", "sample", "-h", "--help"}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        args = ["serve", *args]
    from xregistry.cli import main as xregistry

    return xregistry(args)


if __name__ == "__main__":
    sys.exit(main())
