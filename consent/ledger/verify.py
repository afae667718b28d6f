"""Offline verification of a log export: every leaf, the index sequence, tombstones, the root.

An export is JSON lines: one ``{"index", "leaf_hash", "kind", "entry"}`` per entry in
index order (``entry`` null when its payload was purged), optionally one ``{"outside":
{"a-b": hex}}`` line with the subtree hashes outside a partial range, and last
``{"checkpoint": "<signed note>"}``.  The verifier trusts nothing in the file but the
public keys it is given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from consent.ledger import note
from consent.ledger.entries import canonical, covered
from consent.ledger.keys import PublicKey
from consent.ledger.merkle import leaf_hash, root_from_range


@dataclass
class Report:
    entries: int = 0
    tree_size: int = 0
    key_id: str = ""
    problems: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_index(self) -> int | None:
        indices = [i for i, _ in self.problems if i is not None]
        return min(indices) if indices else None

    def add(self, index: int | None, message: str) -> None:
        self.problems.append((index, message))

    def text(self) -> str:
        if self.ok:
            return f"OK: {self.entries} entries verify against the checkpoint at tree size {self.tree_size}"
        lines = []
        first = self.first_bad_index
        if first is not None:
            lines.append(f"FAILED: first bad index {first}")
        else:
            lines.append("FAILED")
        lines.extend(f"  index {i}: {m}" if i is not None else f"  {m}" for i, m in self.problems[:50])
        return "\n".join(lines)


def verify_export(lines: Iterable[str], keys: Sequence[PublicKey]) -> Report:
    report = Report()
    leaves: list[bytes] = []
    redacted: list[int] = []
    tombstoned: list[list[int]] = []
    outside: dict[str, bytes] = {}
    checkpoint_note: str | None = None
    start: int | None = None
    expected = 0
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            report.add(expected if start is not None else None, f"line {number} is not JSON")
            continue
        if not isinstance(line, dict):
            report.add(None, f"line {number} is not a JSON object")
            continue
        if "checkpoint" in line:
            checkpoint_note = str(line["checkpoint"])
            continue
        if "outside" in line:
            try:
                outside = {str(k): bytes.fromhex(str(v)) for k, v in dict(line["outside"]).items()}
            except (ValueError, TypeError):
                report.add(None, f"line {number}: the outside subtree hashes are malformed")
            continue
        index, claimed = line.get("index"), line.get("leaf_hash")
        if start is None:
            start = expected = index if isinstance(index, int) and index >= 0 else 0
        if index != expected:
            if isinstance(index, int) and index > expected:
                report.add(expected, f"index {expected} is missing (the next line has index {index})")
            else:
                report.add(expected, f"line {number} has index {index!r} where {expected} was expected")
        try:
            stored = bytes.fromhex(str(claimed))
            if len(stored) != 32:
                raise ValueError
        except ValueError:
            report.add(expected, "the leaf hash is not 32 bytes of hex")
            stored = b"\x00" * 32
        entry = line.get("entry")
        if entry is None:
            redacted.append(expected)
        elif not isinstance(entry, dict):
            report.add(expected, "the entry is not a JSON object")
        else:
            if entry.get("index") != expected:
                report.add(expected, f"the entry says it is index {entry.get('index')!r}")
            if leaf_hash(canonical(entry)) != stored:
                report.add(expected, "the entry does not match its leaf hash (it was changed)")
            if entry.get("type") == "tombstone" and isinstance(entry.get("covers"), list):
                tombstoned.extend(r for r in entry["covers"] if isinstance(r, list) and len(r) == 2)
        leaves.append(stored)
        expected += 1
    report.entries = len(leaves)
    for index in redacted:
        if not covered(tombstoned, index):
            report.add(index, "the payload is missing and no tombstone covers it")
    if checkpoint_note is None:
        report.add(None, "the export has no checkpoint line")
        return report
    try:
        checkpoint, kid = note.verify(checkpoint_note, keys)
    except note.NoteError as exc:
        report.add(None, f"checkpoint: {exc}")
        return report
    report.tree_size, report.key_id = checkpoint.size, kid
    first = start or 0
    if first + len(leaves) > checkpoint.size:
        report.add(
            checkpoint.size, f"the export has entries past the checkpoint's tree size {checkpoint.size}"
        )
        return report
    if first + len(leaves) < checkpoint.size and not outside:
        report.add(first + len(leaves), f"entries from index {first + len(leaves)} are missing")
        return report
    root = root_from_range(leaves, first, checkpoint.size, outside)
    if root != checkpoint.root:
        report.add(None, "the recomputed root hash does not match the signed checkpoint")
    return report
