"""The journal: durable before acknowledged, torn tails dropped, full disks refused."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from samtycke.journal import Journal, JournalClosed, JournalFull, record
from samtycke.journal import segment as seg
from samtycke.web.errors import from_unavailable


def rows_on_disk(root: Path) -> list[dict[str, object]]:
    rows = []
    for path in sorted(root.glob("lane-*/*.seg")):
        rows.extend(json.loads(r.row) for r in seg.read(path))
    return rows


def test_appended_records_are_on_disk_when_append_returns(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.open()
    try:
        journal.append_sync([record("events", {"n": 1}), record("events", {"n": 2})])
        # Read through a fresh file handle: what another process would see after a crash.
        assert rows_on_disk(tmp_path) == [{"n": 1}, {"n": 2}]
        assert journal.backlog()[0] == 2
    finally:
        journal.close()


def test_concurrent_appends_share_group_commits(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.open()

    async def load() -> None:
        await asyncio.gather(*(journal.append([record("events", {"n": i})]) for i in range(2000)))

    try:
        asyncio.run(load())
        assert sorted(r["n"] for r in rows_on_disk(tmp_path)) == list(range(2000))  # type: ignore[type-var]
        # Appends made in one event-loop turn reach the writer as one group: one fsync.
        assert journal.commits <= 2, journal.commits
    finally:
        journal.close()


@pytest.mark.parametrize(
    ("damage", "kept"),
    [
        pytest.param(lambda data: data[:-3], [0, 1], id="short-payload"),
        pytest.param(lambda data: data + seg.HEADER.pack(100, 0)[:5], [0, 1, 2], id="short-header"),
        pytest.param(lambda data: data[:-1] + bytes([data[-1] ^ 0xFF]), [0, 1], id="bad-crc"),
    ],
)
def test_a_torn_last_record_is_dropped_and_the_rest_kept(
    tmp_path: Path, damage: object, kept: list[int]
) -> None:
    journal = Journal(tmp_path)
    journal.open()
    journal.append_sync([record("events", {"n": i}) for i in range(3)])
    journal.close()
    (path,) = tmp_path.glob("lane-0/*.seg")
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]

    reopened = Journal(tmp_path)
    reopened.open()
    try:
        assert reopened.repaired_bytes > 0
        assert [r["n"] for r in rows_on_disk(tmp_path)] == kept
        reopened.append_sync([record("events", {"n": 9})])
        assert [r["n"] for r in rows_on_disk(tmp_path)][-1] == 9
    finally:
        reopened.close()


def test_backlog_over_the_limit_is_refused_not_acknowledged(tmp_path: Path) -> None:
    journal = Journal(tmp_path, max_bytes=400)
    journal.open()
    try:
        journal.append_sync([record("events", {"n": 1})])
        with pytest.raises(JournalFull) as refused:
            journal.append_sync([record("events", {"pad": "x" * 500})])
        # The journal knows no HTTP; the web boundary answers it with 503.
        assert from_unavailable(refused.value).status == 503
        assert rows_on_disk(tmp_path) == [{"n": 1}]
    finally:
        journal.close()


def test_a_full_disk_refuses_writes_and_leaves_no_partial_record(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes the kernel refuse writes past a size, exactly as a full disk
    # refuses them, without needing root to mount a small file system.
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from samtycke.journal import Journal, JournalFull, record
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        journal = Journal(Path({str(tmp_path)!r}))
        journal.open()
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        acknowledged = 0
        refused = 0
        for i in range(200):
            try:
                journal.append_sync([record("events", {{"n": i, "pad": "x" * 40}})])
                acknowledged += 1
            except JournalFull:
                refused += 1
        journal.close()
        print(acknowledged, refused)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    acknowledged, refused = map(int, result.stdout.split())
    assert refused > 0 and acknowledged > 0
    on_disk = rows_on_disk(tmp_path)
    assert [r["n"] for r in on_disk] == list(range(acknowledged)), "exactly the acknowledged records"


def test_closed_journal_refuses_writes(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.open()
    journal.close()
    with pytest.raises(JournalClosed):
        journal.append_sync([record("events", {"n": 1})])
    with pytest.raises(JournalClosed):
        asyncio.run(journal.append([record("events", {"n": 2})]))
    assert rows_on_disk(tmp_path) == []


def test_two_processes_get_separate_lanes_and_orphans_are_found(tmp_path: Path) -> None:
    first = Journal(tmp_path)
    first.open()
    second = Journal(tmp_path)
    second.open()
    try:
        assert first.lane is not None and second.lane is not None
        assert first.lane.path != second.lane.path
        assert list(second.orphans()) == [], "a held lane is nobody's orphan"
        first.append_sync([record("events", {"n": 1})])
        first.close()
        orphans = list(second.orphans())
        assert [o.path.name for o in orphans] == ["lane-0"]
        assert [json.loads(r.row) for r in seg.read(orphans[0].segments()[0])] == [{"n": 1}]
        for orphan in orphans:
            orphan.release()
    finally:
        second.close()


def test_segments_roll_over_at_the_size_limit(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_bytes=1024)
    journal.open()
    try:
        for i in range(100):
            journal.append_sync([record("events", {"n": i, "pad": "y" * 20})])
        assert len(journal.sealed()) >= 3
        assert [r["n"] for r in rows_on_disk(tmp_path)] == list(range(100))
    finally:
        journal.close()


def test_records_with_newlines_cannot_corrupt_json_lines() -> None:
    with pytest.raises(ValueError):
        seg.encode([seg.Record("events", b'{"a":\n1}')])
    # json.dumps escapes newlines inside strings, so ordinary rows are always one line.
    assert b"\n" not in record("events", {"text": "two\nlines"}).row


def test_a_paused_scan_decodes_the_same_records_and_pauses_every_slice(tmp_path: Path) -> None:
    records = [record("events" if i % 3 else "receipts", {"n": i}) for i in range(1000)]
    path = tmp_path / "0001.seg"
    path.write_bytes(seg.encode(records))
    pauses: list[int] = []
    paused = seg.read_by_table(path, pause=lambda: pauses.append(1))
    assert paused == seg.read_by_table(path)
    assert [json.loads(row)["n"] for row in paused["receipts"]] == list(range(0, 1000, 3))
    assert len(pauses) == 1000 // seg.PAUSE_EVERY
