"""The on-disk record format of journal segments.

A segment is a file of records, each framed as::

    u32 little-endian  payload length
    u32 little-endian  CRC-32 of the payload
    payload            table name, NUL, one JSON row

A power cut or ``kill -9`` can leave the last record torn: short, or with a CRC that does
not match.  Such a record was never fsynced, so never acknowledged; ``scan`` stops at it
and ``repair`` truncates the file there.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

HEADER = struct.Struct("<II")
MAX_RECORD = 16 * 1024 * 1024


@dataclass(frozen=True)
class Record:
    table: str
    row: bytes  # one JSON object, no newline


def encode(records: Sequence[Record]) -> bytes:
    parts: list[bytes] = []
    for record in records:
        if "\x00" in record.table or b"\n" in record.row:
            raise ValueError("a record's table has a NUL or its row a newline")
        payload = record.table.encode() + b"\x00" + record.row
        parts.append(HEADER.pack(len(payload), zlib.crc32(payload)))
        parts.append(payload)
    return b"".join(parts)


def scan(data: bytes) -> tuple[list[Record], int]:
    """Decode the records in ``data``; returns them and the length of the valid prefix."""
    records: list[Record] = []
    offset = 0
    end = len(data)
    while offset + HEADER.size <= end:
        length, crc = HEADER.unpack_from(data, offset)
        start = offset + HEADER.size
        if length > MAX_RECORD or start + length > end:
            break
        payload = data[start : start + length]
        if zlib.crc32(payload) != crc:
            break
        table, sep, row = payload.partition(b"\x00")
        if not sep:
            break
        records.append(Record(table.decode(), row))
        offset = start + length
    return records, offset


def read(path: Path) -> list[Record]:
    return scan(path.read_bytes())[0]


def iter_tables(records: Sequence[Record]) -> Iterator[tuple[str, list[bytes]]]:
    """Rows grouped by table, each group in journal order; table order is first appearance."""
    groups: dict[str, list[bytes]] = {}
    for record in records:
        groups.setdefault(record.table, []).append(record.row)
    yield from groups.items()


def repair(path: Path) -> int:
    """Truncate a torn tail; returns the number of bytes dropped."""
    data = path.read_bytes()
    _, valid = scan(data)
    dropped = len(data) - valid
    if dropped:
        with open(path, "r+b") as handle:
            handle.truncate(valid)
            handle.flush()
            os.fsync(handle.fileno())
    return dropped
