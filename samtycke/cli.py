"""The ``samtycke`` command.  The only module that reads the environment.

    samtycke serve     run the service (embedded ClickHouse unless configured otherwise)
    samtycke migrate   apply schema migrations and exit
    samtycke init      write a commented example configuration
    samtycke token     make a bearer token and the config lines that hold its hash
    samtycke hash-password   hash a dashboard password for the config
    samtycke settings  print every setting with its default and help
    samtycke backup / restore   back up everything, verify a backup, restore one

Domains add their own commands (``log verify``, ``visitor export`` ...) through a
``register(subparsers)`` function in their ``cli`` module.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import importlib
import os
import secrets
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samtycke import heap, runtime
from samtycke.component import optional_module
from samtycke.settings import Settings, loading
from samtycke.settings.loading import ConfigError
from samtycke.storage import DataDirInUse, EngineMissing, StorageError, StorageUnavailable

if TYPE_CHECKING:  # the CLI imports the service's parts only when a command needs them
    from samtycke.services import Services

EXAMPLES = {
    "serve": "samtycke serve --config /etc/samtycke.toml --port 8000",
    "migrate": "samtycke migrate --config /etc/samtycke.toml",
    "init": "samtycke init samtycke.toml",
    "token": "samtycke token --name 'marketing team' --role marketer",
    "hash-password": "samtycke hash-password",
    "settings": "samtycke settings --markdown",
}

APP_CONFIG_ENV = "SAMTYCKE_CONFIG"

# Modules that add commands with a `register(subparsers)` function.
DOMAIN_COMMANDS = (
    "samtycke.sessions_cli",
    "samtycke.accounts.cli",
    "samtycke.backup.cli",
    "consent.ledger.cli",
    "consent.enforcement.cli",
    "consent.scan.cli",
    "analytics.cli",
)


class CommandFailed(Exception):
    """Ends a command: ``main`` prints the message, one paragraph on stderr, and exits with ``code``."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@contextlib.contextmanager
def storage_failures(failed: str, code: int = 1) -> Iterator[None]:
    """ClickHouse failing inside the block ends the command with "<failed>: <reason>" and ``code``.

    ``DataDirInUse`` passes through: ``main`` prints its own explanation (which process
    holds the embedded data directory) with exit code 2, unless the command handles it.
    """
    try:
        yield
    except (StorageError, StorageUnavailable) as exc:
        raise CommandFailed(f"{failed}: {exc}", code) from exc


def config_path(args: argparse.Namespace) -> Path | None:
    given = getattr(args, "config", None) or os.environ.get(APP_CONFIG_ENV)
    return Path(given) if given else None


def load_settings(args: argparse.Namespace) -> Settings:
    return loading.load(config_path(args), os.environ)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"TOML configuration (default: ${APP_CONFIG_ENV}, else the built-in demo)",
    )


def command(subparsers: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="samtycke",
        description="Cookie consent manager and privacy-first analytics collector.",
        epilog="example:\n  samtycke serve    # runs the demo site at http://127.0.0.1:8000/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = command(subparsers, "serve", "Run the service.", EXAMPLES["serve"])
    add_config_option(serve)
    serve.add_argument("--host", help="address to listen on (default: server.host)")
    serve.add_argument("--port", type=int, help="port to listen on (default: server.port)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes; more than one needs a ClickHouse server, not chDB",
    )
    serve.set_defaults(run=run_serve)

    migrate = command(subparsers, "migrate", "Apply schema migrations and exit.", EXAMPLES["migrate"])
    add_config_option(migrate)
    migrate.add_argument("--status", action="store_true", help="only list migrations and whether applied")
    migrate.set_defaults(run=run_migrate)

    init = command(subparsers, "init", "Write a commented example configuration.", EXAMPLES["init"])
    init.add_argument("path", nargs="?", default="samtycke.toml", help="where to write it")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(run=run_init)

    token = command(
        subparsers, "token", "Make a bearer token; prints it once, and the config lines.", EXAMPLES["token"]
    )
    token.add_argument("--name", required=True, help="who holds the token")
    token.add_argument("--role", required=True, choices=("marketer", "auditor", "admin"))
    token.set_defaults(run=run_token)

    password = command(
        subparsers, "hash-password", "Hash a password for a [[users]] entry.", EXAMPLES["hash-password"]
    )
    password.set_defaults(run=run_hash_password)

    listing = command(
        subparsers, "settings", "Print every setting with its default and help.", EXAMPLES["settings"]
    )
    listing.add_argument("--markdown", action="store_true", help="as the README's Markdown table")
    listing.add_argument("--update-readme", metavar="README", help="rewrite the table in this README")
    listing.set_defaults(run=run_settings)

    for name in DOMAIN_COMMANDS:
        module = optional_module(name)
        if module is not None:
            module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        return run(args)
    except ConfigError as exc:
        print(exc.explain(), file=sys.stderr)
        return 2
    except (DataDirInUse, EngineMissing) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except CommandFailed as exc:
        print(exc.message, file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from samtycke import logs
    from samtycke.accounts.first_run import FirstRun
    from samtycke.services import build
    from samtycke.web.app import create_app

    # Before the embedded engine is loaded and the worker threads start: both read it once.
    heap.keep_level()
    settings = load_settings(args)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    logs.configure(settings.server.log_level)
    services = build(settings)
    if services.embedded:
        if args.workers != 1:
            print(
                "Embedded ClickHouse (chDB) allows one process per data directory, so "
                "`--workers` must be 1; configure storage.clickhouse_url with a ClickHouse "
                "server for more workers.",
                file=sys.stderr,
            )
            return 2
        with storage_failures("The embedded ClickHouse could not start", 2):
            services.storage.ensure_database()
    options = server_options(host, port, settings.server.max_header_bytes, services)
    address = f"http://{_display(host)}:{port}"
    print(f"samtycke: {services.storage.target.describe()}; open {address}/", file=sys.stderr, flush=True)
    # Once ClickHouse is up, and only if nobody can administer samtycke: a one-time link, here only.
    services.first_run = FirstRun(address, announce=_announce_setup)
    if args.workers > 1:
        os.environ["SAMTYCKE_SERVE_CONFIG"] = str(config_path(args) or "")
        uvicorn.run("samtycke.cli:worker_app", factory=True, workers=args.workers, **options)
    else:
        app = create_app(settings, services=services)
        runtime.tune_for_serving()
        uvicorn.run(app, **options)
    return 0


def _announce_setup(link: str) -> None:
    print(
        f"samtycke: no admin account yet; create one at {link} "
        "(works once, for 24 hours, until samtycke restarts)",
        file=sys.stderr,
        flush=True,
    )


def server_options(
    host: str, port: int, max_header_bytes: int, services: Services | None = None
) -> dict[str, Any]:
    """How samtycke runs uvicorn: no access log and no proxy-header rewriting, because both
    would put client addresses in logs; samtycke logs requests itself, without them.  A
    request head over ``max_header_bytes`` is refused before it is buffered whole, and, with
    ``services``, a network over its budget of refusals before its request is parsed."""
    from samtycke.web.headerlimit import REQUEST_LINE_ALLOWANCE

    http: Any = "h11"  # h11 stops at its incomplete-event size by itself
    if _available("httptools"):
        from samtycke.web.server import head_limited_protocol

        http = head_limited_protocol(
            max_header_bytes,
            services.client_ip if services is not None else None,
            services.refusals if services is not None else None,
        )
    return {
        "host": host,
        "port": port,
        "access_log": False,
        "proxy_headers": False,
        "log_config": None,
        "server_header": False,
        "timeout_graceful_shutdown": 15,
        "loop": "uvloop" if _available("uvloop") else "asyncio",
        "http": http,
        "h11_max_incomplete_event_size": max_header_bytes + REQUEST_LINE_ALLOWANCE,
    }


def worker_app() -> Any:
    """The app in each of several worker processes (server mode only)."""
    from samtycke import logs
    from samtycke.web.app import create_app

    heap.keep_level()
    path = os.environ.get("SAMTYCKE_SERVE_CONFIG") or None
    settings = loading.load(Path(path) if path else None, os.environ)
    logs.configure(settings.server.log_level)
    app = create_app(settings)
    runtime.tune_for_serving()
    return app


def run_migrate(args: argparse.Namespace) -> int:
    from samtycke.services import build
    from samtycke.storage import migrations as migrations_module
    from samtycke.web.app import components

    settings = load_settings(args)
    services = build(settings)
    wanted = [m for part in components(services) for m in part.migrations]
    try:
        with storage_failures("Migrations failed"):
            if args.status:
                for item in migrations_module.status(services.storage, services.layout, wanted):
                    mark = "applied" if item.applied else "pending"
                    changed = " (changed since applied!)" if item.changed else ""
                    print(f"{mark:8} {item.id}  {item.description}{changed}")
                return 0
            applied = migrations_module.apply(services.storage, services.layout, wanted)
    finally:
        services.storage.close()
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else "; up to date"))
    return 0


def run_init(args: argparse.Namespace) -> int:
    from samtycke.settings.example import EXAMPLE_CONFIG

    path = Path(args.path)
    if path.exists() and not args.force:
        print(f"{path} exists; pass --force to overwrite it.", file=sys.stderr)
        return 2
    path.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    print(f"wrote {path}; start with: samtycke serve --config {path}")
    return 0


def run_token(args: argparse.Namespace) -> int:
    from samtycke.auth import hash_token

    token = secrets.token_urlsafe(32)
    print(f"token (shown once, give it to {args.name}): {token}\n")
    print("[[tokens]]")
    print(f'name = "{args.name}"')
    print(f'role = "{args.role}"')
    print(f'sha256 = "{hash_token(token)}"')
    return 0


def run_hash_password(args: argparse.Namespace) -> int:
    from argon2 import PasswordHasher

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass()
    if len(password) < 10:
        print("Use at least 10 characters.", file=sys.stderr)
        return 2
    print(PasswordHasher().hash(password))
    return 0


def run_settings(args: argparse.Namespace) -> int:
    from samtycke.settings.table import markdown_table, rows, update_readme

    if args.update_readme:
        path = Path(args.update_readme)
        path.write_text(update_readme(path.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    if args.markdown:
        print(markdown_table())
    else:
        for row in rows():
            print(f"{row.key} = {row.default}\n    {row.help}")
    return 0


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _display(host: str) -> str:
    return f"[{host}]" if ":" in host else host
