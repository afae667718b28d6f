"""The embedded engine's deduplication logs, made true again after a crash.

A MergeTree table with ``non_replicated_deduplication_window`` remembers the block ids of
its recent inserts in ``deduplication_logs/deduplication_log_<n>.txt``, one record a line
(``<op>\\t<part name>\\t<block id>``; op 1 adds, 2 drops), and drops any later block whose
id it holds.  The engine writes a block's record *before* it renames the block's part
from ``tmp_insert_*`` into place (ClickHouse's ``MergeTreeDeduplicationLog::addPart``, then
``renameTempPartAndAdd``).  Killed between the two, it comes back holding the id of a part
that does not exist, and drops the journal's replay of that block as a repeat: the rows
are lost, or a materialized view's rows are, and the journal's shipment receipt
(``samtycke.journal.receipts``) never appears.  With chDB the engine runs inside samtycke's
process, so every ``kill -9`` or power cut of samtycke can leave this state.

``repair`` runs before the engine opens a data path.  For every table, it reads the
logs and appends a drop record for each block id whose part is neither on disk nor covered
by a part on disk (a merge of it, or a mutation), so that the engine forgets exactly the
blocks it never stored, and a replay stores them once.  A block whose part is on disk
keeps its id, so a true replay is still dropped.  A log it cannot read is left as it is.

Reference: https://clickhouse.com/docs/operations/settings/merge-tree-settings#non_replicated_deduplication_window
"""

from __future__ import annotations

import bisect
import fcntl
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

LOGS = "deduplication_logs"
ADD, DROP = "1", "2"
# partition id, min block, max block, level, optional mutation version: ClickHouse's part name
# (MergeTreePartInfo) for tables with custom partitioning, the only format samtycke creates.
_PART = re.compile(r"^([^_/]+)_(\d+)_(\d+)_(\d+)(?:_(\d+))?$")
_LOG = re.compile(r"^deduplication_log_(\d+)\.txt$")


class UnreadableLog(Exception):
    """A deduplication log holds a line this module does not understand."""


@dataclass(frozen=True)
class BlockRange:
    partition: str
    first: int
    last: int


class StoredBlocks:
    """The block numbers that the parts on disk hold, per partition, as sorted disjoint
    spans: a logged block is looked up in logarithmic time, not against every part.  An
    insert's part holds one block number, so a logged block inside a span is inside a part."""

    def __init__(self, parts: Iterable[BlockRange]) -> None:
        spans: dict[str, list[tuple[int, int]]] = {}
        for part in sorted(parts, key=lambda p: (p.partition, p.first)):
            merged = spans.setdefault(part.partition, [])
            if merged and part.first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], part.last))
            else:
                merged.append((part.first, part.last))
        self._firsts = {partition: [first for first, _ in merged] for partition, merged in spans.items()}
        self._spans = spans

    def hold(self, blocks: BlockRange) -> bool:
        firsts = self._firsts.get(blocks.partition)
        if not firsts:
            return False
        at = bisect.bisect_right(firsts, blocks.first) - 1
        return at >= 0 and self._spans[blocks.partition][at][1] >= blocks.last


@dataclass(frozen=True)
class Repair:
    """One table's repair: its folder, and the block ids dropped from its log."""

    table: Path
    forgotten: int


def part_range(name: str) -> BlockRange | None:
    """The blocks a part's name says it holds; None for anything that is not a part."""
    match = _PART.match(name)
    if match is None:
        return None
    return BlockRange(match.group(1), int(match.group(2)), int(match.group(3)))


def repair(data_path: Path) -> list[Repair]:
    """Forget, in every table under ``data_path``, the block ids of parts never stored.

    Only while no engine has the path open: the engine's ``status`` lock, when the file
    is there, is held throughout, and nothing is done when another holder has it.
    """
    try:
        # The engine locks this file while it runs, and removes it when it stops cleanly.
        handle = open(data_path / "status", "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return _repair_tables(data_path)
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return []  # an engine has the path open, and its logs in memory
        try:
            return _repair_tables(data_path)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _repair_tables(data_path: Path) -> list[Repair]:
    repairs = []
    for table in _tables(data_path):
        try:
            forgotten = repair_table(table)
        except UnreadableLog:
            continue  # left to the engine, which reports it itself
        if forgotten:
            repairs.append(Repair(table, forgotten))
    return repairs


def repair_table(table: Path) -> int:
    """Append a drop record for each logged block whose part is not on disk; how many."""
    logs = _logs(table / LOGS)
    if not logs:
        return 0
    stored = StoredBlocks(r for r in (part_range(e.name) for e in os.scandir(table) if e.is_dir()) if r)
    missing = [
        (part, block_id)
        for block_id, (part, blocks) in _logged_blocks(logs).items()
        if not stored.hold(blocks)
    ]
    if missing:
        records = "".join(f"{DROP}\t{part}\t{block_id}\n" for part, block_id in missing)
        with open(logs[-1], "ab") as out:
            out.write(records.encode())
            out.flush()
            os.fsync(out.fileno())
    return len(missing)


def _tables(data_path: Path) -> Iterator[Path]:
    """Table folders that keep a deduplication log.  samtycke's databases are Atomic (the
    engine's default), whose tables live in ``store/<xyz>/<uuid>``; ``data/<database>/``
    holds only symbolic links to them."""
    for table in sorted(data_path.glob("store/*/*")):
        if (table / LOGS).is_dir():
            yield table


def _logs(folder: Path) -> list[Path]:
    numbered = []
    for entry in os.scandir(folder):
        match = _LOG.match(entry.name)
        if match is not None:
            numbered.append((int(match.group(1)), Path(entry.path)))
    return [path for _, path in sorted(numbered)]


def _logged_blocks(logs: list[Path]) -> dict[str, tuple[str, BlockRange]]:
    """Each block id the logs still hold, with the part it was logged for."""
    logged: dict[str, tuple[str, BlockRange]] = {}
    for log in logs:
        data = log.read_bytes()
        if data and not data.endswith(b"\n"):
            raise UnreadableLog(f"{log.name} ends inside a record")
        try:
            text = data.decode()
        except UnicodeDecodeError as exc:
            raise UnreadableLog(f"{log.name} is not text") from exc
        for line in text.splitlines():
            fields = line.split("\t")
            blocks = part_range(fields[1]) if len(fields) == 3 else None
            if blocks is None or fields[0] not in (ADD, DROP):
                raise UnreadableLog(line[:200])
            op, part, block_id = fields
            if op == ADD:
                logged[block_id] = (part, blocks)
            else:
                logged.pop(block_id, None)
    return logged
