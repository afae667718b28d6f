"""Daily salts: rotation at Stockholm midnight, 48 h deletion, agreement between instances.

ClickHouse applies the salts table's TTL by its own clock, which neither time_machine nor
anything else in this process moves.  So every travelled moment here is computed from the
real now and stays within 48 hours of it, unless a test is about the two clocks disagreeing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from analytics.ingestion.salts import COLUMNS, Salts, identified_hash, visitor_hash
from analytics.schema import MIGRATIONS, SALTS
from samtycke.settings import Site
from samtycke.storage import Layout, Storage
from samtycke.storage import migrations as migrations_module

STOCKHOLM = Site(id=1, name="Demo", domains=["localhost"], timezone="Europe/Stockholm")
ZONE = ZoneInfo(STOCKHOLM.timezone)


def prepared(storage: Storage) -> Storage:
    migrations_module.apply(storage, Layout(storage.database), MIGRATIONS)
    return storage


def clock() -> datetime:
    return datetime.now(UTC)


def next_midnight(after: datetime) -> datetime:
    """The first midnight in Stockholm after a moment, in UTC (23:00 in winter, 22:00 in summer)."""
    day = after.astimezone(ZONE).date() + timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=ZONE).astimezone(UTC)


def stored_days(storage: Storage) -> list[date]:
    return [row[0] for row in storage.query(f"SELECT DISTINCT day FROM {SALTS} ORDER BY day")]


def created(storage: Storage) -> list[datetime]:
    return [row[0].replace(tzinfo=UTC) for row in storage.query(f"SELECT created_at FROM {SALTS}")]


class TTLOnArrival:
    """Storage whose engine applies the TTL the moment a row arrives.

    ClickHouse drops expired rows in a merge it schedules itself, often within milliseconds
    of the insert and sometimes later; forcing that merge makes the moment deterministic.
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)

    def insert_rows(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        self.storage.insert_rows(table, rows, columns)
        self.storage.command(f"OPTIMIZE TABLE {table} FINAL")


def test_salt_rotates_at_midnight_in_stockholm_and_old_ones_go(storage: Storage) -> None:
    prepared(storage)
    salts = Salts(storage, [STOCKHOLM], clock)
    midnight = next_midnight(datetime.now(UTC))
    with time_machine.travel(midnight - timedelta(minutes=30), tick=False) as traveller:
        salts.rotate()
        before = asyncio.run(salts.current(1))
        first_day = (midnight - timedelta(minutes=30)).astimezone(ZONE).date()
        assert before.day == first_day
        same = visitor_hash(before, 1, "81.230.1.1", "UA")

        traveller.move_to(midnight - timedelta(seconds=1))
        assert asyncio.run(salts.current(1)) == before

        traveller.move_to(midnight + timedelta(seconds=1))  # 00:00:01 in Stockholm
        assert salts.cached(1) is None  # the hot path sees that the day changed
        after = asyncio.run(salts.current(1))
        assert after.day == first_day + timedelta(days=1)
        assert after.key != before.key
        assert visitor_hash(after, 1, "81.230.1.1", "UA") != same
        salts.rotate()
        assert stored_days(storage) == [first_day, first_day + timedelta(days=1)]  # current + previous

        traveller.move_to(next_midnight(midnight + timedelta(seconds=1)) + timedelta(seconds=1))
        salts.rotate()
        assert stored_days(storage) == [first_day + timedelta(days=1), first_day + timedelta(days=2)]


def test_salts_older_than_48_hours_are_never_used_and_are_deleted(storage: Storage) -> None:
    prepared(storage)
    real = datetime.now(UTC)
    # This instance's clock runs ten hours ahead of the engine's: a salt for today written 40
    # hours ago (by an instance with a wrong clock) is 50 hours old here, and only 40 to the
    # table's TTL, so it is up to the code alone to pass it over and delete it.
    with time_machine.travel(real + timedelta(hours=10), tick=False):
        salts = Salts(storage, [STOCKHOLM], clock)
        today = salts.local_day(1)
        storage.insert_rows(SALTS, [(1, today, "00" * 32, real - timedelta(hours=40))], COLUMNS)
        assert asyncio.run(salts.current(1)).key != bytes(32)  # the earliest, but expired
        salts.rotate()
        assert stored_days(storage) == [today]
        assert min(created(storage)) > real


def test_the_ttl_keeps_a_salt_for_as_long_as_its_day_lasts(storage: Storage) -> None:
    prepared(storage)
    real = datetime.now(UTC)
    # The longest day is 25 hours, and a salt is created during its day: while it is current
    # it is at most 25 hours old.  The TTL, by the engine's clock, removes it after 48.
    rows = [(1, date(2000, 1, 1), f"{hours:02x}" * 32, real - timedelta(hours=hours)) for hours in (25, 49)]
    storage.insert_rows(SALTS, rows, COLUMNS)
    storage.command(f"OPTIMIZE TABLE {SALTS} FINAL")  # applies the TTL now
    assert [row[0] for row in storage.query(f"SELECT salt FROM {SALTS}")] == ["19" * 32]


def test_a_salt_the_ttl_drops_on_arrival_gives_a_local_salt_for_the_day(
    storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    prepared(storage)
    # A month behind the engine's clock: every salt this instance writes is long expired there.
    with (
        time_machine.travel(datetime.now(UTC) - timedelta(days=30), tick=False),
        caplog.at_level(logging.WARNING, logger="samtycke.analytics.salts"),
    ):
        salts = Salts(TTLOnArrival(storage), [STOCKHOLM], clock)  # type: ignore[arg-type]
        salt = asyncio.run(salts.current(1))
        assert salt.day == salts.local_day(1)
        assert len(salt.key) == 32 and visitor_hash(salt, 1, "81.230.1.1", "UA") > 0
        for _ in range(3):  # the background refresh keeps the same salt, and says so once
            salts.rotate()
            assert asyncio.run(salts.current(1)) == salt
        assert stored_days(storage) == []
    warnings = [record for record in caplog.records if record.name == "samtycke.analytics.salts"]
    assert [record.getMessage() for record in warnings] == [
        "salt not kept by storage (clocks disagree?); using a local salt for the day"
    ]
    assert vars(warnings[0])["site_id"] == 1 and vars(warnings[0])["day"] == salt.day.isoformat()


def test_two_instances_agree_on_the_salt(storage: Storage) -> None:
    prepared(storage)
    with time_machine.travel(datetime.now(UTC), tick=False):
        first = Salts(storage, [STOCKHOLM], clock)
        second = Salts(storage, [STOCKHOLM], clock)
        assert asyncio.run(first.current(1)).key == asyncio.run(second.current(1)).key


def test_consented_ids_are_stable_and_per_site() -> None:
    assert identified_hash(1, "0123456789abcdef") == identified_hash(1, "0123456789abcdef")
    assert identified_hash(1, "0123456789abcdef") != identified_hash(2, "0123456789abcdef")
