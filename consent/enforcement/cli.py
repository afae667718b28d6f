"""``samtycke proxy``: put samtycke in front of an existing website.

    samtycke proxy --upstream http://127.0.0.1:8080 --config samtycke.toml --site 1 --port 8000

Visitors reach the site through the proxy; samtycke's endpoints are under ``/_samtycke/``.
``python -m consent.enforcement.cli`` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from samtycke import cli
from samtycke.cli import add_config_option, command, load_settings, server_options

EXAMPLE = "samtycke proxy --upstream http://127.0.0.1:8080 --config samtycke.toml --site 1 --port 8000"


def register(subparsers: Any) -> None:
    parser = command(
        subparsers,
        "proxy",
        "Serve an existing website through samtycke: banner injected, cookies enforced on the server.",
        EXAMPLE,
    )
    add_config_option(parser)
    parser.add_argument(
        "--upstream", required=True, metavar="URL", help="the website to put samtycke in front of"
    )
    parser.add_argument(
        "--site", type=int, metavar="ID", help="site id in the configuration (default: the first)"
    )
    parser.add_argument("--host", help="address to listen on (default: server.host)")
    parser.add_argument("--port", type=int, help="port to listen on (default: server.port)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from consent.enforcement.proxy import create_proxy
    from samtycke import logs

    settings = load_settings(args)
    logs.configure(settings.server.log_level)
    try:
        app = create_proxy(settings, args.upstream, args.site)
    except ValueError as exc:
        print(f"{exc}. Check --upstream (an http:// or https:// URL) and --site.", file=sys.stderr)
        return 2
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    print(f"samtycke proxy: http://{host}:{port}/ -> {args.upstream}", file=sys.stderr, flush=True)
    uvicorn.run(app, **server_options(host, port, settings.server.max_header_bytes))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(["proxy", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
