"""Date ranges in the site's time zone: resolved periods, comparison periods and time labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from analytics.stats.parser import DateRange
from samtycke.days import months_before, range_start

# Longest range shown by hour, and by day, when the query asks for plain "time".
HOURLY_UP_TO = timedelta(days=2)
DAILY_UP_TO = timedelta(days=92)


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; ``None`` bounds mean all time."""

    start: datetime | None
    end: datetime | None
    zone: ZoneInfo
    whole_days: bool = True

    def as_json(self) -> list[str] | str:
        if self.start is None or self.end is None:
            return "all"
        if self.whole_days:
            first = self.start.astimezone(self.zone).date()
            last = (self.end.astimezone(self.zone) - timedelta(microseconds=1)).date()
            return [first.isoformat(), last.isoformat()]
        return [self.start.astimezone(self.zone).isoformat(), self.end.astimezone(self.zone).isoformat()]

    @property
    def on_the_hour(self) -> bool:
        """Rollups are keyed by UTC hour: usable only when both bounds fall on one."""
        return all(
            b is None or (b.minute, b.second, b.microsecond) == (0, 0, 0) for b in (self.start, self.end)
        )


def resolve(date_range: DateRange, zone: ZoneInfo, now: datetime) -> Period:
    today = now.astimezone(zone).date()
    kind = date_range.kind
    if kind == "all":
        return Period(None, None, zone)
    if kind == "datetimes":
        assert date_range.start is not None and date_range.end is not None
        start, end = (_aware(moment, zone) for moment in (date_range.start, date_range.end))
        return Period(start, end, zone, whole_days=False)
    if kind == "custom":
        assert date_range.first is not None and date_range.last is not None
        first, last = date_range.first, date_range.last
    else:
        first, last = range_start(kind, today), today
    return days(first, last, zone)


def days(first: date, last: date, zone: ZoneInfo) -> Period:
    return Period(midnight(first, zone), midnight(last + timedelta(days=1), zone), zone)


def comparison(period: Period, mode: str) -> Period:
    """The previous period of the same length, or the same period a year earlier."""
    assert period.start is not None and period.end is not None
    zone = period.zone
    if period.whole_days:
        first = period.start.astimezone(zone).date()
        last = (period.end.astimezone(zone) - timedelta(microseconds=1)).date()
        if mode == "year_over_year":
            return days(_year_before(first), _year_before(last), zone)
        span = (last - first).days + 1
        return days(first - timedelta(days=span), first - timedelta(days=1), zone)
    if mode == "year_over_year":
        start, end = (_year_before_moment(b.astimezone(zone)) for b in (period.start, period.end))
        return Period(start.astimezone(UTC), end.astimezone(UTC), zone, whole_days=False)
    duration = period.end - period.start
    return Period(period.start - duration, period.start, zone, whole_days=False)


def granularity(dimension: str, period: Period) -> str:
    """``time`` becomes hour, day or month by the period's length."""
    if dimension != "time":
        return dimension
    if period.start is None or period.end is None:
        return "time:month"
    length = period.end - period.start
    return "time:hour" if length <= HOURLY_UP_TO else "time:day" if length <= DAILY_UP_TO else "time:month"


def labels(dimension: str, period: Period, limit: int = 10_000) -> list[str]:
    """Every bucket of a time dimension in the period, formatted as the builder formats them."""
    if period.start is None or period.end is None:
        return []
    zone = period.zone
    start = period.start.astimezone(zone)
    last = (period.end - timedelta(microseconds=1)).astimezone(zone)
    out: list[str] = []
    if dimension == "time:hour":
        moment = period.start.replace(minute=0, second=0, microsecond=0)
        while moment < period.end and len(out) < limit:
            local = moment.astimezone(zone)
            text = local.strftime("%Y-%m-%d %H:00:00")
            if not out or out[-1] != text:
                out.append(text)
            moment += timedelta(hours=1)
        return out
    day = start.date()
    if dimension == "time:week":
        day -= timedelta(days=day.weekday())
    elif dimension == "time:month":
        day = day.replace(day=1)
    while day <= last.date() and len(out) < limit:
        if dimension == "time:day":
            out.append(day.isoformat())
            day += timedelta(days=1)
        elif dimension == "time:week":
            out.append(day.isoformat())
            day += timedelta(days=7)
        else:
            out.append(day.strftime("%Y-%m"))
            day = months_before(day, -1)
    return out


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _year_before_moment(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:
        return moment.replace(year=moment.year - 1, day=28)
