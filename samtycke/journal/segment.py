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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

HEADER = struct.Struct("<II")
MAX_RECORD = 16 * 1024 * 1024


class Record(NamedTuple):
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


# Records decoded between two pauses of a background reader (see ``scan``).
PAUSE_EVERY = 256


def scan(data: bytes, pause: Callable[[], None] | None = None) -> tuple[list[str], list[bytes], int]:
    """Decode ``data``: each record's table and row, and the length of the valid prefix.

    ``pause``, when given, is called every ``PAUSE_EVERY`` records.  The shipper passes one
    that lets go of the GIL: decoding a segment takes milliseconds, and without pauses the
    event loop would wait that long for the GIL, which shows in request latency.
    """
    # The shipper reads every record through here, so the loop makes no per-record objects
    # beyond the row itself, and decodes each table name once.
    unpack, crc32, find = HEADER.unpack_from, zlib.crc32, data.find
    view = memoryview(data)
    names: dict[bytes, str] = {}
    tables: list[str] = []
    rows: list[bytes] = []
    offset, end = 0, len(data)
    while offset + HEADER.size <= end:
        length, crc = unpack(data, offset)
        start = offset + HEADER.size
        stop = start + length
        if length > MAX_RECORD or stop > end or crc32(view[start:stop]) != crc:
            break
        nul = find(b"\x00", start, stop)
        if nul < 0:
            break
        key = data[start:nul]
        table = names.get(key)
        if table is None:
            table = names[key] = key.decode()
        tables.append(table)
        rows.append(data[nul + 1 : stop])
        offset = stop
        if pause is not None and len(rows) % PAUSE_EVERY == 0:
            pause()
    return tables, rows, offset


def read(path: Path) -> list[Record]:
    tables, rows, _ = scan(path.read_bytes())
    return [Record(table, row) for table, row in zip(tables, rows, strict=True)]


def read_by_table(path: Path, pause: Callable[[], None] | None = None) -> dict[str, list[bytes]]:
    """Rows grouped by table, each group in journal order (``pause``: see ``scan``)."""
    tables, rows, _ = scan(path.read_bytes(), pause)
    groups: dict[str, list[bytes]] = {}
    for table, row in zip(tables, rows, strict=True):
        group = groups.get(table)
        if group is None:
            group = groups[table] = []
        group.append(row)
    return groups


def count(path: Path) -> int:
    return len(scan(path.read_bytes())[0])


def repair(path: Path) -> int:
    """Truncate a torn tail; returns the number of bytes dropped."""
    data = path.read_bytes()
    valid = scan(data)[2]
    dropped = len(data) - valid
    if dropped:
        with open(path, "r+b") as handle:
            handle.truncate(valid)
            handle.flush()
            os.fsync(handle.fileno())
    return dropped
