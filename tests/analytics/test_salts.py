"""Daily salts: rotation at Stockholm midnight, 48 h deletion, agreement between instances."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import time_machine

from analytics.salts import Salts, identified_hash, visitor_hash
from analytics.schema import MIGRATIONS, SALTS
from samtycke.settings import Site
from samtycke.storage import Layout, Storage
from samtycke.storage import migrations as migrations_module

STOCKHOLM = Site(id=1, name="Demo", domains=["localhost"], timezone="Europe/Stockholm")


def prepared(storage: Storage) -> Storage:
    migrations_module.apply(storage, Layout(storage.database), MIGRATIONS)
    return storage


def clock() -> datetime:
    return datetime.now(UTC)


def stored_days(storage: Storage) -> list[date]:
    return [row[0] for row in storage.query(f"SELECT DISTINCT day FROM {SALTS} ORDER BY day")]


def test_salt_rotates_at_midnight_in_stockholm_and_old_ones_go(storage: Storage) -> None:
    prepared(storage)
    salts = Salts(storage, [STOCKHOLM], clock)
    # 22:30 UTC on 20 November is 23:30 in Stockholm (UTC+1 in winter).
    with time_machine.travel(datetime(2026, 11, 20, 22, 30, tzinfo=UTC), tick=False) as traveller:
        salts.rotate()
        before = asyncio.run(salts.current(1))
        assert before.day == date(2026, 11, 20)
        same = visitor_hash(before, 1, "81.230.1.1", "UA")

        traveller.move_to(datetime(2026, 11, 20, 22, 59, 59, tzinfo=UTC))
        assert asyncio.run(salts.current(1)) == before

        traveller.move_to(datetime(2026, 11, 20, 23, 0, 1, tzinfo=UTC))  # 00:00:01 in Stockholm
        assert salts.cached(1) is None  # the hot path sees that the day changed
        after = asyncio.run(salts.current(1))
        assert after.day == date(2026, 11, 21)
        assert after.key != before.key
        assert visitor_hash(after, 1, "81.230.1.1", "UA") != same
        salts.rotate()
        assert stored_days(storage) == [date(2026, 11, 20), date(2026, 11, 21)]  # current + previous

        traveller.move_to(datetime(2026, 11, 21, 23, 0, 1, tzinfo=UTC))
        salts.rotate()
        assert stored_days(storage) == [date(2026, 11, 21), date(2026, 11, 22)]


def test_salts_older_than_48_hours_are_deleted(storage: Storage) -> None:
    prepared(storage)
    salts = Salts(storage, [STOCKHOLM], clock)
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False) as traveller:
        salts.rotate()
        # A salt for today, written long ago by an instance with a wrong clock.
        storage.insert_rows(
            SALTS,
            [(1, date(2026, 11, 20), "00" * 32, datetime(2026, 11, 18, 11, 0, tzinfo=UTC))],
            ("site_id", "day", "salt", "created_at"),
        )
        traveller.move_to(datetime(2026, 11, 20, 12, 1, tzinfo=UTC))
        salts.delete_expired(1, date(2026, 11, 20))
        created = storage.query(f"SELECT min(created_at) FROM {SALTS}")[0][0]
        assert created.replace(tzinfo=UTC) > datetime(2026, 11, 19, 12, 0, tzinfo=UTC)


def test_two_instances_agree_on_the_salt(storage: Storage) -> None:
    prepared(storage)
    with time_machine.travel(datetime(2026, 11, 21, 9, 0, tzinfo=UTC), tick=False):
        first = Salts(storage, [STOCKHOLM], clock)
        second = Salts(storage, [STOCKHOLM], clock)
        assert asyncio.run(first.current(1)).key == asyncio.run(second.current(1)).key


def test_consented_ids_are_stable_and_per_site() -> None:
    assert identified_hash(1, "0123456789abcdef") == identified_hash(1, "0123456789abcdef")
    assert identified_hash(1, "0123456789abcdef") != identified_hash(2, "0123456789abcdef")
