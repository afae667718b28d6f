"""The named date ranges the dashboard and the stats API offer, counted in a site's local days."""

from __future__ import annotations

from datetime import date, timedelta

RANGES = ("day", "7d", "30d", "month", "6mo", "12mo", "year", "all")
# Before anything samtycke could have recorded; "all" starts here.
EPOCH = date(2000, 1, 1)


def range_start(name: str, today: date) -> date:
    """The first day of the range called ``name`` (one of ``RANGES``) that ends ``today``."""
    month = today.replace(day=1)
    starts = {
        "day": today,
        "7d": today - timedelta(days=6),
        "30d": today - timedelta(days=29),
        "month": month,
        "6mo": months_before(month, 5),
        "12mo": months_before(month, 11),
        "year": today.replace(month=1, day=1),
        "all": EPOCH,
    }
    return starts[name]


def months_before(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)
