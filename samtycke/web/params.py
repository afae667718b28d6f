"""Query-string parameters shared by the dashboard's GET endpoints, validated into values."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request

from samtycke.days import RANGES, range_start
from samtycke.numbers import is_whole_number
from samtycke.settings import Settings, Site
from samtycke.web.errors import BadRequest

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def site_of(request: Request, settings: Settings) -> Site:
    raw = request.query_params.get("site_id", "")
    if not is_whole_number(raw) or len(raw) > 10:
        raise BadRequest("site_id must be a whole number", field="site_id")
    site = settings.site(int(raw))
    if site is None:
        raise BadRequest(f"site {raw} is not configured", field="site_id")
    return site


def date_range_of(request: Request, today: date) -> tuple[date, date]:
    """``date_range`` is a relative range or ``YYYY-MM-DD,YYYY-MM-DD`` (site-local days)."""
    raw = request.query_params.get("date_range", "30d")
    if "," in raw:
        first_text, _, last_text = raw.partition(",")
        first, last = _day(first_text), _day(last_text)
        if last < first:
            raise BadRequest("date_range ends before it starts", field="date_range")
        return first, last
    if raw not in RANGES:
        raise BadRequest(f"date_range is one of {', '.join(RANGES)} or from,to", field="date_range")
    return range_start(raw, today), today


def _day(text: str) -> date:
    if not _ISO_DATE.fullmatch(text.strip()):
        raise BadRequest("dates are YYYY-MM-DD", field="date_range")
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise BadRequest(f"{text[:20]} is not a date", field="date_range") from exc


def local_today(now: datetime, site: Site) -> date:
    return now.astimezone(ZoneInfo(site.timezone)).date()
