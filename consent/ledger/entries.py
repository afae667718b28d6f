"""Log entries: their canonical bytes, and the rows that store them.

An entry is a JSON object; its leaf data is the canonical encoding (sorted keys, no
whitespace, UTF-8), so anyone holding the object can recompute its leaf hash.  Every
entry carries its own ``index``, so a line moved within an export names itself.

Entry types:
  receipt    a consent choice; the subject appears only as a salted commitment
  tombstone  covers index ranges whose subject was erased or whose payload was purged
  notice     a notice version: site, version, language, sha256 of the exact text, the text
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson


def canonical(entry: dict[str, Any]) -> bytes:
    """The reference encoding: what the verifier recomputes, in any version."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# Without the passthrough options orjson would encode datetimes and dataclasses itself,
# differently from ``json``; with them it refuses, and the ``json`` encoding is used.
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def canonical_fast(entry: dict[str, Any]) -> bytes:
    """``canonical`` at a tenth of the cost, for the entries and receipts samtycke writes.

    orjson with sorted keys gives the same bytes as ``canonical`` for every value those
    hold (strings, 64-bit integers, booleans, null, lists, objects with string keys; tests
    check every code point).  It differs only for floats, which no entry or receipt holds,
    and it refuses integers past 64 bits and non-string keys, for which the reference
    encoding is used.
    """
    try:
        return orjson.dumps(entry, option=_CANONICAL)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return canonical(entry)


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is UTC and moment.year >= 1000:
        # The same text: isoformat costs half of strftime, and a receipt formats four times.
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"  # without "+00:00"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def rfc3339_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ch_time(moment: datetime) -> str:
    """DateTime64(3) as the journal's JSONEachRow rows carry it."""
    if moment.tzinfo is UTC and moment.year >= 1000:  # as in rfc3339
        return moment.isoformat(" ", timespec="milliseconds")[:-6]
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def parse_time(text: str) -> datetime:
    """RFC 3339 (a trailing Z allowed); naive times are UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ranges(indices: list[int]) -> list[list[int]]:
    """Sorted indices as half-open [start, end) ranges."""
    out: list[list[int]] = []
    for index in sorted(set(indices)):
        if out and out[-1][1] == index:
            out[-1][1] = index + 1
        else:
            out.append([index, index + 1])
    return out


def covered(ranges_: list[list[int]], index: int) -> bool:
    return any(start <= index < end for start, end in ranges_)
