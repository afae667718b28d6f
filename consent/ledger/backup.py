"""The consent log inside a backup verifies against the backup's own keys.

A backup carries the log's entries (the ``consent_log`` table), its signed checkpoints and
the signing keys.  The newest checkpoint the backed-up entries reach must verify, by the
same offline verifier an auditor runs on an audit export, against the public halves of
the backed-up keys: then a restore brings back a log whose receipts still prove their
place in it.  Entries past that checkpoint (signed after the copy began) are checked on
restart, when the log rebuilds its tree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from consent import schema
from consent.ledger.keys import KEY_DIR, PublicKey, parse_public_keys
from consent.ledger.verify import verify_export
from samtycke.backup.manifest import FILES, Manifest
from samtycke.backup.reader import TableFiles


def check(folder: Path, tables: TableFiles, manifest: Manifest) -> list[str]:
    files = {table.name: table.file for table in manifest.tables if not table.is_view}
    if schema.LOG not in files:
        return []
    count = tables.count(files[schema.LOG])
    if count == 0:
        return []
    if schema.CHECKPOINTS not in files:
        return [f"the backup holds {count} consent log entries but no checkpoints"]
    newest = tables.rows(
        files[schema.CHECKPOINTS],
        f"SELECT tree_size, note FROM {{table}} WHERE tree_size <= {count} ORDER BY tree_size DESC LIMIT 1",
    )
    if not newest:
        return [f"the backup holds {count} consent log entries but no checkpoint signed over them"]
    keys = _keys(folder / FILES / KEY_DIR)
    if not keys:
        return ["the backup holds a consent log but none of its signing keys"]
    size = int(newest[0]["tree_size"])
    rows = tables.rows(
        files[schema.LOG],
        f"SELECT idx, leaf_hash, kind, entry FROM {{table}} WHERE idx < {size} ORDER BY idx",
    )
    report = verify_export(_lines(rows, str(newest[0]["note"])), keys)
    if report.ok:
        return []
    return [f"consent log: {line.strip()}" for line in report.text().splitlines()]


def _keys(folder: Path) -> list[PublicKey]:
    keys: list[PublicKey] = []
    for path in sorted(folder.glob("*.pem")):
        keys.extend(parse_public_keys(path.read_text(encoding="utf-8")))
    return keys


def _lines(rows: list[dict[str, Any]], checkpoint: str) -> Iterator[str]:
    """The rows as the audit export's JSON lines, which is what the verifier reads."""
    for row in rows:
        text = str(row["entry"])
        yield json.dumps(
            {
                "index": int(row["idx"]),
                "leaf_hash": str(row["leaf_hash"]),
                "kind": str(row["kind"]),
                "entry": json.loads(text) if text else None,
            }
        )
    yield json.dumps({"checkpoint": checkpoint})
