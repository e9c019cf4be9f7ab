"""The ``xregistry`` console script.

xregistry serve                       the embedded sample on http://127.0.0.1:8000/
xregistry serve --resource URL ...    your own sources instead (repeatable)
xregistry serve --config settings.toml
xregistry serve --store URL           keep versions in sqlite:///file.db or postgresql://...
xregistry token                       a new token and the hash to put in the settings
xregistry sample --data-dir DIR       write the sample data and print where it is
xregistry --version                   the installed version
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from xobj_prototype import XError
from xregistry.__about__ import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the console script."""
    parser = argparse.ArgumentParser(
        prog="xregistry", description="Registries of functions, models and types over HTTP."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the HTTP API and web page",
        description="Serve the HTTP API and the web page. With no source, the embedded sample "
        "(a SQLite shop and a CSV of reviews, generated on first run) is served.",
    )
    serve.add_argument(
        "--resource",
        action="append",
        metavar="URL",
        default=[],
        help="a source URL (sqlite:///file.db, postgresql://..., a .csv path); repeatable",
    )
    serve.add_argument("--config", metavar="SETTINGS", help="a settings.toml to read [api] from")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000; 0 = any free port)")
    serve.add_argument("--data-dir", help="where the sample data (and the default store) live")
    serve.add_argument(
        "--store",
        metavar="URL",
        help="the registry store: sqlite:///file.db or postgresql://... (default: registry.db "
        "in the data directory; 'memory' keeps nothing across restarts)",
    )
    serve.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument(
        "--no-local-admin",
        action="store_true",
        help="do not create a local admin token (only configured tokens work)",
    )
    token = commands.add_parser("token", help="print a new token and its hash for the settings")
    token.add_argument("--scheme", choices=["sha256", "scrypt"], default="sha256")
    sample = commands.add_parser("sample", help="write the sample data and print its location")
    sample.add_argument("--data-dir", help="target directory")
    return parser


def _api_config(args: argparse.Namespace) -> tuple[Any, Any]:
    from xregistry.api._config import load_api_config
    from xregistry.api._server import default_registry_config
    from xregistry.config import load_config

    files = [args.config] if args.config else []
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if args.log_level is not None:
        overrides["log_level"] = args.log_level
    if args.no_local_admin:
        overrides["local_admin"] = False
    if args.resource:
        overrides["resources"] = [{"url": url} for url in args.resource]
    config = load_api_config(settings_files=files, overrides=overrides)
    registry_config = load_config(settings_files=files) if args.config else None
    if registry_config is None:
        registry_config = default_registry_config(config.admin_roles)
    if args.store is not None:
        store = registry_config.store.model_copy(update={"url": args.store})
        registry_config = registry_config.model_copy(update={"store": store})
    return config, registry_config


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "token":
        # Not through xregistry.api: issuing a token needs no web framework (no extra).
        from xregistry._tokens import generate_token, hash_token

        value = generate_token()
        print(f"token:      {value}")
        print(f'token_hash = "{hash_token(value, args.scheme)}"')
        return 0
    if args.command == "sample":
        from xregistry.sample import ensure_sample

        files = asyncio.run(ensure_sample(args.data_dir))
        print(files.database)
        print(files.csv)
        return 0
    try:
        # serve() imports uvicorn only when called: check it here, before any work is done.
        import uvicorn  # noqa: F401

        from xregistry.api._server import run
    except ImportError as exc:
        print(
            f"xregistry serve needs the api extra ({exc.name} is missing): "
            "pip install 'xregistry[api]'",
            file=sys.stderr,
        )
        return 2
    try:
        config, registry_config = _api_config(args)
        run(config, registry_config)
    except XError as exc:
        print(f"xregistry serve: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
