"""Small durable files: concurrent writers of one file never trip over each other's side file."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from samtycke import durable


def test_concurrent_writers_of_one_file_all_succeed_and_leave_one_whole_value(tmp_path: Path) -> None:
    target = tmp_path / "consent-log.checkpoint"
    values = [f"{n} {'ab' * 32}\n".encode() for n in range(400)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda data: durable.write(target, data), values))  # re-raises any writer's error
    assert target.read_bytes() in values
    assert sorted(p.name for p in tmp_path.iterdir()) == ["consent-log.checkpoint"]
