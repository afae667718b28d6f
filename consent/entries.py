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

from consent.merkle import leaf_hash


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_leaf_hash(entry: dict[str, Any]) -> bytes:
    return leaf_hash(canonical(entry))


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def rfc3339_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ch_time(moment: datetime) -> str:
    """DateTime64(3) as the journal's JSONEachRow rows carry it."""
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
