"""``samtycke proxy``: put samtycke in front of an existing website.

    samtycke proxy --upstream http://127.0.0.1:8080 --config samtycke.toml --site 1 --port 8000

Visitors reach the site through the proxy; samtycke's endpoints for them are under
``/_samtycke/``.  The dashboard, audit view and login are never served there; with
``--admin-port`` the same process serves them on samtycke's own origin, from the same
storage, journal and consent log (``samtycke.web.serving``).
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
ADMIN_EXAMPLE = f"{EXAMPLE} --admin-port 8001"
ADMIN_HOST = "127.0.0.1"


def register(subparsers: Any) -> None:
    parser = command(
        subparsers,
        "proxy",
        "Serve an existing website through samtycke: banner injected, cookies enforced on the server.",
        f"{EXAMPLE}\n"
        "  # the same, and the dashboard, audit and login at http://127.0.0.1:8001/ from the same data:\n"
        f"  {ADMIN_EXAMPLE}",
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
    parser.add_argument(
        "--admin-port",
        type=int,
        metavar="PORT",
        help="also serve samtycke's own origin (dashboard, audit, login, APIs, /metrics) on this "
        "port, from the same process and data (default: not served)",
    )
    parser.add_argument(
        "--admin-host",
        metavar="HOST",
        help=f"address for --admin-port (default: {ADMIN_HOST}, this machine only)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from consent.enforcement.proxy import create_proxy
    from samtycke import logs
    from samtycke.services import build
    from samtycke.web import serving
    from samtycke.web.app import beside, create_app
    from samtycke.web.surface import Surface

    if args.admin_host and args.admin_port is None:
        print(
            "--admin-host needs --admin-port, the port samtycke's own origin is served on.", file=sys.stderr
        )
        return 2
    settings = load_settings(args)
    logs.configure(settings.server.log_level)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    admin_host = args.admin_host or ADMIN_HOST
    try:
        sockets = [serving.bind(host, port)]
        if args.admin_port is not None:
            sockets.append(serving.bind(admin_host, args.admin_port))
    except OSError as exc:
        print(f"cannot listen: {exc.strerror}. Choose another --port or --admin-port.", file=sys.stderr)
        return 2
    visitors = create_app(settings, services=build(settings), surface=Surface.VISITOR)
    try:
        app = create_proxy(settings, args.upstream, args.site, samtycke=visitors)
    except ValueError as exc:
        print(f"{exc}. Check --upstream (an http:// or https:// URL) and --site.", file=sys.stderr)
        return 2
    limit = settings.server.max_header_bytes
    proxy = serving.Listener(uvicorn.Config(app, **server_options(host, port, limit)), sockets[0])
    print(f"samtycke proxy: {proxy.url} -> {args.upstream}", file=sys.stderr, flush=True)
    if args.admin_port is None:
        print("dashboard, audit and login: not served; add --admin-port PORT", file=sys.stderr, flush=True)
        serving.run(proxy)
        return 0
    # The proxy's lifespan starts and stops what both serve.
    options = {**server_options(admin_host, args.admin_port, limit), "lifespan": "off"}
    own = serving.Listener(uvicorn.Config(beside(visitors, Surface.OWN_ORIGIN), **options), sockets[1])
    print(f"dashboard, audit and login: {own.url}", file=sys.stderr, flush=True)
    serving.run(proxy, own)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(["proxy", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
