"""``samtycke visitor export|delete``: data requests for a consented visitor id.

With a ClickHouse server configured the command opens storage itself.  With the embedded
engine it must not while ``samtycke serve`` holds the data directory (one process per data
directory), so it asks the running server's HTTP API, authenticated with an admin token from
``--token`` or ``SAMTYCKE_TOKEN``; ``--server URL`` asks a server in any case
(``samtycke.cli_server``).  When no server holds the embedded data directory, it opens it
directly.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from samtycke.cli import add_config_option, command, load_settings, storage_failures
from samtycke.cli_server import TOKEN_ENV, ask_server, here_or_on_server
from samtycke.settings import Settings


def register(subparsers: Any) -> None:
    visitor = command(
        subparsers,
        "visitor",
        "Export or delete what is stored under a consented visitor id (GDPR Art. 15, 17, 20).",
        "samtycke visitor export 0123456789abcdef --site 1 > visitor.json",
    )
    actions = visitor.add_subparsers(dest="visitor_command", metavar="ACTION", required=True)
    export = command(
        actions,
        "export",
        "Print the visitor's events as JSON.",
        "samtycke visitor export 0123456789abcdef --site 1 --server http://127.0.0.1:8000",
    )
    delete = command(
        actions,
        "delete",
        "Delete the visitor's events.",
        "samtycke visitor delete 0123456789abcdef --site 1 --yes",
    )
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    for parser in (export, delete):
        add_config_option(parser)
        parser.add_argument("visitor_id", help="the tracker's _id, uid or cid the visitor consented with")
        parser.add_argument("--site", type=int, required=True, help="site id (idsite)")
        parser.add_argument(
            "--server",
            help="URL of the running samtycke (default: http://server.host:server.port from the config)",
        )
        parser.add_argument("--token", help=f"admin bearer token (default: ${TOKEN_ENV})")
        parser.set_defaults(run=run_visitor)


def run_visitor(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    if settings.site(args.site) is None:
        print(f"Site {args.site} is not in the configuration; check --site.", file=sys.stderr)
        return 2
    if args.visitor_command == "delete" and not args.yes and not _confirm(args):
        print("Nothing deleted.", file=sys.stderr)
        return 1
    from samtycke.services import storage_target
    from samtycke.storage import in_use

    target = storage_target(settings)
    # With a ClickHouse server the command works on it even while samtycke serves; only the
    # embedded engine is one process's at a time.
    held = target.embedded and in_use(target.path)
    return here_or_on_server(
        args, settings, lambda: _direct(args, settings), lambda base: _on_server(args, base), held=held
    )


def _data_dir(settings: Settings) -> Path:
    return Path(settings.storage.data_dir).resolve()


def _direct(args: argparse.Namespace, settings: Settings) -> int:
    from analytics import visitor_data
    from samtycke.services import storage_target
    from samtycke.storage import Layout, Storage

    target = storage_target(settings)
    storage = Storage(target)
    try:
        with storage_failures("ClickHouse failed"):
            visitor = visitor_data.check_visitor(args.visitor_id)
            if args.visitor_command == "export":
                _print(visitor_data.export(storage, args.site, visitor))
            else:
                layout = Layout(target.database, settings.storage.cluster)
                journal = _data_dir(settings) / "journal"  # its quarantined segments are erased too
                count = visitor_data.delete(storage, layout, args.site, visitor, journal)
                _print({"site_id": args.site, "visitor_id": args.visitor_id, "deleted": count})
    finally:
        storage.close()
    return 0


def _on_server(args: argparse.Namespace, base: str) -> int:
    path = f"/api/v1/visitors/{quote(args.visitor_id, safe='')}"
    method = "GET" if args.visitor_command == "export" else "DELETE"
    _print(ask_server(args, base, method, path, params={"site_id": args.site}, timeout=120))
    return 0


def _confirm(args: argparse.Namespace) -> bool:
    if not sys.stdin.isatty():
        print("Refusing to delete without --yes when not on a terminal.", file=sys.stderr)
        return False
    answer = input(f"Delete everything stored for visitor {args.visitor_id} on site {args.site}? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _print(document: Any) -> None:
    json.dump(document, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")
