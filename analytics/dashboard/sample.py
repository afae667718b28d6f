"""Realistic synthetic traffic, generated inside ClickHouse, for tests, demos and benchmarks.

One ``INSERT … SELECT FROM numbers()`` makes visits and expands each into its hits with
``ARRAY JOIN``, carrying the same visit facts the collector writes (``is_entry``,
``bounce_delta``, ``duration_ms`` since the previous hit, ``entry_page`` on every hit,
the referrer on the entry hit only), so the rollups' materialized views fill exactly as
they do in production.  Choices are skewed (a few pages, sources and countries dominate)
and deterministic for a given seed.  Nothing here is user input: every literal in the SQL
comes from the constants below.

Besides page views, a visit's later actions are events (category, action and name from a
small hierarchy), goal conversions (goal 1 with revenue), site searches (one in eight finds
nothing, ``search_count=0``), outlinks and downloads.  Page views carry their page's title;
every hit carries the visit's browser language and the custom dimensions a Matomo tracker
would send: ``dimension1`` (visit scope: the kind of customer, on most visits),
``dimension2`` (action scope: the page's content group, on page views) and ``dimension3``
(an A/B test variant on some visits, which sites do not declare).  About a third of the
visitors consented to statistics and are counted under their tracker's id (``identified``),
so their visits can be linked, as funnels over a time window do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from analytics.schema import EVENTS
from samtycke.storage import Storage

PAGES = (
    "/", "/elavtal", "/elavtal/fastpris", "/elavtal/rorligt", "/elpris", "/kundservice", "/flytta",
    "/solceller", "/laddbox", "/om-oss", "/kontakt", "/tack", "/blogg/spara-el", "/blogg/elpris-vinter",
    "/faktura", "/jobb",
)  # fmt: skip
# The title and content group (custom dimension 2) of each page, in PAGES' order.
TITLES = (
    "Elbolaget", "Elavtal", "Fast elpris", "Rörligt elpris", "Dagens elpris", "Kundservice", "Flytta",
    "Solceller", "Laddbox", "Om oss", "Kontakt", "Tack för din beställning", "Spara el", "Elpriset i vinter",
    "Din faktura", "Jobba hos oss",
)  # fmt: skip
GROUPS = (
    "Start", "Elavtal", "Elavtal", "Elavtal", "Elavtal", "Kundservice", "Kundservice", "Produkter",
    "Produkter", "Företaget", "Kundservice", "Köp", "Blogg", "Blogg", "Kundservice", "Företaget",
)  # fmt: skip
# (category, action, name): the first is the price-list download that the demo's goal 2 counts.
EVENT_HIERARCHY = (
    ("download", "price-list", "elpris-2026.pdf"), ("video", "play", "solceller-intro"),
    ("form", "submit", "kontakt"), ("calculator", "calculate", "elpris"),
    ("download", "price-list", "elpris-foretag.pdf"), ("video", "complete", "solceller-intro"),
    ("video", "play", "laddbox-guide"), ("form", "submit", "offert-solceller"),
    ("chat", "open", "kundservice"), ("form", "error", "offert-solceller"),
    ("calculator", "calculate", "solceller"), ("menu", "click", "elavtal"),
)  # fmt: skip
# (keyword, category): Matomo's search and search_cat.
SEARCHES = (
    ("elpris", "Elavtal"), ("faktura", "Kundservice"), ("fastpris", "Elavtal"), ("flytta el", "Kundservice"),
    ("solceller pris", "Produkter"), ("laddbox", "Produkter"), ("timpris", "Elavtal"), ("uppsägning", ""),
    ("jobb", ""), ("elnätsavgift", ""), ("kontakt", ""), ("vindkraft", ""), ("fjärrvärme", ""),
)  # fmt: skip
OUTLINKS = (
    "https://elpriskollen.se/", "https://ei.se/konsument", "https://www.facebook.com/elbolaget",
    "https://www.linkedin.com/company/elbolaget", "https://www.energimyndigheten.se/solceller",
    "https://www.skatteverket.se/rotavdrag", "https://bankid.com/",
)  # fmt: skip
DOWNLOADS = (
    "https://demo.localhost/filer/prislista-2026.pdf", "https://demo.localhost/filer/avtalsvillkor.pdf",
    "https://demo.localhost/filer/solceller-broschyr.pdf", "https://demo.localhost/filer/laddbox-manual.pdf",
    "https://demo.localhost/filer/arsredovisning-2025.pdf",
)  # fmt: skip
LANGUAGES = ("sv-se", "sv", "en-us", "en-gb", "nb-no", "fi-fi", "da-dk", "de-de")
CUSTOMER_KINDS = ("privat", "företag", "bostadsrättsförening")  # custom dimension 1
VARIANTS = ("A", "B")  # custom dimension 3, undeclared
# (channel, source, referrer, utm_source, utm_medium, utm_campaign)
SOURCES = (
    ("Direct", "", "", "", "", ""),
    ("Organic Search", "Google", "https://www.google.com/", "", "", ""),
    ("Organic Search", "Bing", "https://www.bing.com/", "", "", ""),
    ("Referral", "elpriskollen.se", "https://elpriskollen.se/jamfor", "", "", ""),
    ("Paid Search", "Google", "https://www.google.com/", "google", "cpc", "fastpris-vinter"),
    ("Organic Social", "Facebook", "https://m.facebook.com/", "", "", ""),
    ("Email", "nyhetsbrev", "", "nyhetsbrev", "email", "nyhetsbrev-november"),
    ("Organic Social", "LinkedIn", "https://www.linkedin.com/", "", "", ""),
    ("Paid Social", "Facebook", "https://m.facebook.com/", "facebook", "paid-social", "solceller-host"),
    ("Organic Search", "DuckDuckGo", "https://duckduckgo.com/", "", "", ""),
    ("Referral", "ei.se", "https://ei.se/konsument", "", "", ""),
    ("Campaign", "tidning", "", "tidning", "print", "qr-kod-annons"),
)
COUNTRIES = (
    ("SE", "AB", "Stockholm"), ("SE", "O", "Göteborg"), ("SE", "M", "Malmö"), ("SE", "C", "Uppsala"),
    ("NO", "03", "Oslo"), ("FI", "18", "Helsinki"), ("DK", "84", "København"), ("DE", "BE", "Berlin"),
    ("GB", "ENG", "London"), ("US", "NY", "New York"), ("NL", "NH", "Amsterdam"), ("PL", "14", "Warszawa"),
    ("ES", "MD", "Madrid"), ("EE", "37", "Tallinn"), ("FR", "IDF", "Paris"),
)  # fmt: skip
DEVICES = ("desktop", "smartphone", "tablet")
BROWSERS = ("Chrome", "Safari", "Edge", "Firefox", "Samsung Internet")
SYSTEMS = ("Windows", "iOS", "Android", "Mac", "Linux")

COLUMNS = (
    "site_id", "timestamp", "kind", "visitor_id", "visit_id", "is_entry", "bounce_delta", "duration_ms",
    "entry_page", "hostname", "pathname", "referrer", "source", "channel", "utm_source", "utm_medium",
    "utm_campaign", "country", "region", "city", "browser", "os", "device", "event_category",
    "event_action", "goal_id", "retention_months", "title", "language", "event_name", "revenue",
    "search_keyword", "search_category", "search_count", "link", "dimensions", "identified",
)  # fmt: skip


@dataclass(frozen=True)
class Traffic:
    sites: Sequence[int]
    visits: int
    start: datetime  # UTC
    end: datetime  # UTC
    seed: int = 1
    timezone: str = "Europe/Stockholm"
    # Visits per returning visitor: visitor ids are drawn from visits / this many.
    visits_per_visitor: float = 1.6
    # The sites' retention, written into each event as the collector does: the TTL drops
    # raw events this many months after their timestamp, by ClickHouse's clock.
    retention_months: int = 13
    # Visitors who consented to statistics, counted under their tracker's id (``identified``).
    identified_percent: int = 35


def _literal(values: Sequence[object]) -> str:
    def one(value: object) -> str:
        if isinstance(value, tuple):
            return "(" + ", ".join(one(v) for v in value) + ")"
        if isinstance(value, int):
            return str(value)
        text = str(value).replace("\\", "\\\\").replace("'", "\\'")
        return f"'{text}'"

    return "[" + ", ".join(one(v) for v in values) + "]"


def _pick(array: str, salt: str, skew: float) -> str:
    """A skewed draw: low indexes (the popular items) come up far more often."""
    rand = f"(cityHash64(v, {salt}) % 1000003) / 1000003.0"
    return f"arrayElement({array}, 1 + toUInt32(floor(length({array}) * pow({rand}, {skew}))))"


def insert_sql(traffic: Traffic, first_visit: int, visits: int) -> str:
    span = int((traffic.end - traffic.start).total_seconds())
    pool = max(1, int(traffic.visits / traffic.visits_per_visitor))
    seed = int(traffic.seed)
    start = traffic.start.strftime("%Y-%m-%d %H:%M:%S")
    end = traffic.end.strftime("%Y-%m-%d %H:%M:%S")
    moment = f"toDateTime64('{start}', 3, 'UTC') + toIntervalSecond(cityHash64(v, {seed}, 3) % {span})"
    if span >= 86_400:
        # Visits start between local midnight and 22:00 and last under half an hour, so none
        # crosses midnight (where the collector would start a new visit).
        tz = traffic.timezone.replace("'", "")
        day_start = f"toDateTime64(toStartOfDay(toDateTime({moment}), '{tz}'), 3, 'UTC')"
        moment = (
            f"least({day_start} + toIntervalSecond(cityHash64(v, {seed}, 15) % 79200),"
            f" toDateTime64('{end}', 3, 'UTC') - toIntervalSecond(1800))"
        )
    visit_start = moment
    sites = _literal([int(s) for s in traffic.sites])
    pages = _literal(PAGES)
    step_rand = f"(cityHash64(v, step, {seed}, 100) % 1000003) / 1000003.0"

    def step_pick(values: Sequence[object], salt: int, skew: float) -> str:
        array = _literal(values)
        rand = f"(cityHash64(v, step, {seed}, {salt}) % 1000003) / 1000003.0"
        return f"arrayElement({array}, 1 + toUInt32(floor(length({array}) * pow({rand}, {skew}))))"

    return f"""
INSERT INTO {EVENTS} ({", ".join(COLUMNS)})
SELECT site_id,
    visit_start + toIntervalMillisecond(offsets[step + 1]) AS timestamp,
    multiIf(step > 0 AND cityHash64(v, step, 7) % 11 = 0, 'event',
            step > 0 AND cityHash64(v, step, 8) % 19 = 0, 'goal',
            step > 0 AND cityHash64(v, step, 16) % 14 = 0, 'search',
            step > 0 AND cityHash64(v, step, 17) % 25 = 0, 'outlink',
            step > 0 AND cityHash64(v, step, 18) % 33 = 0, 'download', 'pageview') AS kind,
    visitor_id, visit_id, toUInt8(step = 0), toInt8(multiIf(step = 0, 1, step = 1, -1, 0)),
    toUInt32(offsets[step + 1] - if(step = 0, 0, offsets[step])) AS duration_ms,
    entry_page, 'demo.localhost',
    if(step = 0, entry_page,
       arrayElement({pages}, 1 + toUInt32(floor(length({pages}) * pow({step_rand}, 2.2))))) AS pathname,
    if(step = 0, source.3, '') AS referrer, source.2, source.1, source.4, source.5, source.6,
    place.1, place.2, place.3, browser, os, device,
    if(kind = 'event', tupleElement({step_pick(EVENT_HIERARCHY, 19, 2.0)} AS event, 1), ''),
    if(kind = 'event', event.2, ''),
    toUInt32(if(kind = 'goal', 1 + cityHash64(v, step, 9) % 2, 0)) AS goal_id,
    toUInt16({int(traffic.retention_months)}),
    if(kind = 'pageview', arrayElement({_literal(TITLES)}, indexOf({pages}, pathname)), ''),
    language, if(kind = 'event', event.3, ''),
    if(goal_id = 1, toFloat64(500 + cityHash64(v, step, 21) % 4500), 0),
    if(kind = 'search', tupleElement({step_pick(SEARCHES, 20, 2.0)} AS search, 1), ''),
    if(kind = 'search', search.2, ''),
    if(kind = 'search', toNullable(toUInt32(if(cityHash64(v, step, 22) % 8 = 0, 0,
        1 + cityHash64(v, step, 23) % 40))), NULL),
    multiIf(kind = 'outlink', {step_pick(OUTLINKS, 24, 1.8)},
            kind = 'download', {step_pick(DOWNLOADS, 25, 1.8)}, ''),
    mapFilter((key, value) -> value != '', map(
        '1', customer_kind,
        '2', if(kind = 'pageview', arrayElement({_literal(GROUPS)}, indexOf({pages}, pathname)), ''),
        '3', variant)),
    toUInt8(cityHash64(visitor_id, {seed}, 31) % 100 < {int(traffic.identified_percent)})
FROM (
    SELECT number AS v,
        arrayElement({sites}, 1 + toUInt32(floor(length({sites}) * pow((cityHash64(v, {seed}, 1) % 1000003) / 1000003.0, 2.0)))) AS site_id,
        cityHash64({seed}, site_id, cityHash64(v, {seed}, 2) % {pool}) AS visitor_id,
        cityHash64({seed}, 'visit', v) AS visit_id,
        {visit_start} AS visit_start,
        if(cityHash64(v, {seed}, 4) % 100 < 42, 1, 2 + cityHash64(v, {seed}, 5) % 6) AS actions,
        arrayCumSum(arrayMap(k -> if(k = 0, 0, 4000 + cityHash64(v, k, {seed}) % 240000), range(actions))) AS offsets,
        {_pick(pages, f"{seed}, 6", 2.4)} AS entry_page,
        {_pick(_literal(SOURCES), f"{seed}, 10", 1.8)} AS source,
        {_pick(_literal(COUNTRIES), f"{seed}, 11", 2.6)} AS place,
        {_pick(_literal(DEVICES), f"{seed}, 12", 1.6)} AS device,
        {_pick(_literal(BROWSERS), f"{seed}, 13", 2.0)} AS browser,
        {_pick(_literal(SYSTEMS), f"{seed}, 14", 1.8)} AS os,
        {_pick(_literal(LANGUAGES), f"{seed}, 26", 2.8)} AS language,
        if(cityHash64(v, {seed}, 27) % 10 < 6, {_pick(_literal(CUSTOMER_KINDS), f"{seed}, 28", 2.0)}, '')
            AS customer_kind,
        if(cityHash64(v, {seed}, 29) % 10 < 3, {_pick(_literal(VARIANTS), f"{seed}, 30", 1.0)}, '') AS variant
    FROM numbers({int(first_visit)}, {int(visits)})
)
ARRAY JOIN range(actions) AS step
"""  # noqa: E501


def generate(storage: Storage, traffic: Traffic, chunk: int = 1_000_000) -> int:
    """Insert the traffic's visits in chunks; returns the number of events now stored for its sites."""
    for first in range(0, traffic.visits, chunk):
        storage.command(insert_sql(traffic, first, min(chunk, traffic.visits - first)))
    rows = storage.query(
        f"SELECT count() FROM {EVENTS} WHERE site_id IN {{sites:Array(UInt32)}}",
        {"sites": list(traffic.sites)},
    )
    return int(rows[0][0])
