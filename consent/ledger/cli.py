"""``samtycke log ...``: verify the consent log offline or online, rotate its signing key.

    samtycke log verify EXPORT.jsonl --public-key keys.json     offline, from an audit export
    samtycke log verify --url https://consent.example.se         online, consistency over time
    samtycke log rotate-key --config samtycke.toml               a new signing key

Exit codes: 0 verified, 1 verification failed (the report names the first bad index),
2 usage or input errors.  On a terminal, offline verification counts the export's lines
as it reads them (``samtycke.progress``); piped, it prints the report alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from samtycke.cli import add_config_option, command, load_settings

DEFAULT_STATE = ".samtycke-log-state.json"


def register(subparsers: Any) -> None:
    parser = command(
        subparsers,
        "log",
        "Verify the consent log, or rotate its signing key.",
        "samtycke log verify consent-log.jsonl --public-key keys.json",
    )
    actions = parser.add_subparsers(dest="log_command", metavar="ACTION")
    verify = command(
        actions,
        "verify",
        "Verify an audit export offline, or a running log's checkpoints online.",
        "samtycke log verify consent-log.jsonl --public-key keys.json\n"
        "  samtycke log verify --url https://consent.example.se --state log-state.json",
    )
    verify.add_argument("export", nargs="?", help="JSONL from GET /api/v1/audit/export (offline mode)")
    verify.add_argument("--public-key", metavar="KEYFILE", help="JWKS (GET /api/v1/log/keys) or PEM")
    verify.add_argument("--url", metavar="BASE_URL", help="check a running samtycke (online mode)")
    verify.add_argument(
        "--state",
        metavar="FILE",
        default=DEFAULT_STATE,
        help=f"checkpoints seen (default {DEFAULT_STATE})",
    )
    verify.set_defaults(run=run_verify)
    rotate = command(
        actions,
        "rotate-key",
        "Make a new log signing key in data_dir; restart the server to sign with it.",
        "samtycke log rotate-key --config samtycke.toml",
    )
    add_config_option(rotate)
    rotate.set_defaults(run=run_rotate)
    parser.set_defaults(run=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_verify(args: argparse.Namespace) -> int:
    from consent.ledger.keys import parse_public_keys

    keys = []
    if args.public_key:
        try:
            keys = parse_public_keys(Path(args.public_key).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            print(f"cannot read public keys from {args.public_key}: {exc}", file=sys.stderr)
            return 2
        if not keys:
            print(f"{args.public_key} holds no Ed25519 public key (JWKS or PEM expected)", file=sys.stderr)
            return 2
    if args.url:
        from consent.ledger.online import verify_online

        return verify_online(args.url, Path(args.state), keys)
    if not args.export:
        print("give an export file (offline) or --url (online); see --help", file=sys.stderr)
        return 2
    if not keys:
        print("offline verification needs --public-key (JWKS from /api/v1/log/keys, or PEM)", file=sys.stderr)
        return 2
    from consent.ledger.verify import verify_export
    from samtycke.progress import Progress

    try:
        with open(args.export, encoding="utf-8") as handle, Progress(f"reading {args.export}") as progress:
            report = verify_export(progress.track(handle), keys)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {args.export}: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    return 0 if report.ok else 1


def run_rotate(args: argparse.Namespace) -> int:
    from consent.ledger.keys import KeyRing

    settings = load_settings(args)
    ring = KeyRing.load_or_create(Path(settings.storage.data_dir).resolve())
    key = ring.rotate()
    print(json.dumps({"active_key_id": key.kid, "keys": sorted(ring.keys)}))
    print("restart samtycke to sign with the new key; older keys keep verifying", file=sys.stderr)
    return 0
