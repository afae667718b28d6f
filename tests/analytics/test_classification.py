"""Request parsing, channels, devices and visits, each on its own."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.ingestion import devices, sources
from analytics.ingestion.request import InvalidHit, parse_hit, parse_query
from analytics.ingestion.visits import Placement, Visits
from tests.analytics.conftest import CHROME, GOOGLEBOT, IPHONE

OWN = frozenset({"example.se"})


@pytest.mark.parametrize(
    ("page", "referrer", "channel", "source"),
    [
        ("https://example.se/", "", "Direct", ""),
        ("https://example.se/", "https://example.se/other", "Direct", ""),
        ("https://example.se/", "https://www.google.se/search?q=el", "Organic Search", "Google"),
        ("https://example.se/", "https://duckduckgo.com/", "Organic Search", "DuckDuckGo"),
        ("https://example.se/?gclid=x", "https://www.google.com/", "Paid Search", "Google"),
        ("https://example.se/?msclkid=x", "https://www.bing.com/", "Paid Search", "Bing"),
        ("https://example.se/?utm_source=google&utm_medium=cpc", "", "Paid Search", "google"),
        ("https://example.se/", "https://l.facebook.com/", "Organic Social", "Facebook"),
        ("https://example.se/?fbclid=x", "https://m.facebook.com/", "Organic Social", "Facebook"),
        ("https://example.se/?utm_source=facebook&utm_medium=paid-social", "", "Paid Social", "facebook"),
        ("https://example.se/?mtm_source=linkedin&mtm_medium=cpc", "", "Paid Social", "linkedin"),
        ("https://example.se/?pk_campaign=nyhetsbrev&pk_medium=email", "", "Email", ""),
        ("https://example.se/", "https://mail.google.com/", "Email", "Gmail"),
        ("https://example.se/?mtm_campaign=vinter", "", "Campaign", ""),
        ("https://example.se/?utm_campaign=vinter&utm_source=partner.se", "", "Campaign", "partner.se"),
        (
            "https://example.se/",
            "https://www.energimarknadsinspektionen.se/a?b=c",
            "Referral",
            "energimarknadsinspektionen.se",
        ),
    ],
)
def test_channels(page: str, referrer: str, channel: str, source: str) -> None:
    found = sources.classify(page, referrer, OWN)
    assert (found.channel, found.source) == (channel, source)
    assert found.channel in sources.CHANNELS


def test_referrer_keeps_no_query() -> None:
    assert (
        sources.classify("https://example.se/", "https://other.se/p?email=a@b.se", OWN).referrer
        == "other.se/p"
    )


def test_devices() -> None:
    assert devices.detect(CHROME) == devices.Device("Chrome", "120.0", "Windows", "10", "Desktop")
    assert devices.detect(IPHONE).device == "Mobile"
    assert devices.detect(GOOGLEBOT).is_bot
    ipad = (
        "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
    )
    assert devices.detect(ipad).device == "Tablet"
    hinted = devices.detect(CHROME, {"platform": "Windows", "platformVersion": "15.0.0", "mobile": False})
    assert hinted.os_version == "11"
    assert devices.detect(CHROME, {"mobile": True}).device == "Mobile"


def test_parse_hit_reads_matomo_parameters() -> None:
    hit = parse_hit(
        parse_query(
            "idsite=3&rec=1&url=https%3A%2F%2Fexample.se%2F&_id=0123456789ABCDEF&e_c=a&e_a=b&e_v=1.5"
            "&idgoal=2&revenue=10&dimension3=x&send_image=0&ping=1&res=1920x1080&cdt=1763700000"
        )
    )
    assert (hit.idsite, hit.rec, hit.url, hit.visitor_id) == (
        3,
        True,
        "https://example.se/",
        "0123456789abcdef",
    )
    assert (hit.event_value, hit.idgoal, hit.revenue, hit.dimensions) == (1.5, 2, 10.0, {"3": "x"})
    assert (hit.send_image, hit.ping, hit.resolution) == (False, True, "1920x1080")
    assert hit.cdt == datetime.fromtimestamp(1763700000, UTC)
    assert parse_hit({"idsite": "1", "_id": "short"}).visitor_id == ""  # informative only: ignored


@pytest.mark.parametrize(
    "raw",
    [
        b"idsite=1&url=%C3%28",  # percent-encoded invalid UTF-8
        b"idsite=1&url=\xc3\x28",  # raw invalid UTF-8
        b"idsite=1&" + b"a=b&" * 300,
        b"idsite=1&action_name=a%00b",
        b"idsite=1&url=" + b"%C3%A5" * 4097,  # 8,194 bytes once decoded
        b"idsite=1&dimension1000=x",
        b"idsite=1&%5Fid=0123456789abcdef&ping=2",
    ],
)
def test_a_malformed_hit_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidHit):
        parse_hit(parse_query(raw))


def test_encoded_names_and_plus_signs_are_decoded() -> None:
    hit = parse_hit(
        parse_query(
            b"idsite=1&%5Fid=0123456789ABCDEF&action_name=El+%26+gas&url=https%3A%2F%2Fa.se%2F%3Fq%3D1"
        )
    )
    assert (hit.visitor_id, hit.action_name, hit.url) == ("0123456789abcdef", "El & gas", "https://a.se/?q=1")


def test_visits_split_on_idle_midnight_and_campaign() -> None:
    visits = Visits()
    start = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    day = date(2026, 11, 21)
    direct = sources.classify("https://example.se/", "", OWN)
    campaign = sources.classify("https://example.se/?mtm_campaign=vinter", "", OWN)

    def place(minutes: float, source: sources.Source = direct, on: date = day, action: bool = True):  # type: ignore[no-untyped-def]
        return visits.place(
            1,
            7,
            start + timedelta(minutes=minutes),
            on,
            page="/",
            source=source,
            is_action=action,
        )

    first = place(0)
    assert first.is_entry and first.bounce_delta == 1
    second = place(10)
    assert second.visit_id == first.visit_id and second.bounce_delta == -1 and second.duration_ms == 600_000
    beat = place(12, action=False)
    assert beat.visit_id == first.visit_id and beat.bounce_delta == 0 and beat.duration_ms == 120_000
    assert place(50).visit_id != first.visit_id  # 38 minutes idle
    ongoing = place(50.5).visit_id
    assert place(51, campaign).visit_id != ongoing  # the campaign changed
    assert place(52).visit_id == place(51.5, campaign).visit_id  # a hit without campaign continues
    assert place(53, on=date(2026, 11, 22)).is_entry  # midnight in the site's zone
    assert visits.place(1, 99, start, day, page="/", source=direct, is_action=False) is None


def test_visit_state_is_bounded() -> None:
    visits = Visits(capacity=3)
    direct = sources.classify("https://example.se/", "", OWN)
    for visitor in range(10):
        visits.place(
            1,
            visitor,
            datetime(2026, 11, 21, tzinfo=UTC),
            date(2026, 11, 21),
            page="/",
            source=direct,
            is_action=True,
        )
    assert len(visits) == 3


def test_a_hit_that_asks_for_a_new_visit_starts_one() -> None:
    visits = Visits()
    direct = sources.classify("https://example.se/", "", OWN)
    at = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

    def place(minutes: int, *, force_new: bool = False, action: bool = True) -> Placement | None:
        return visits.place(
            1,
            7,
            at + timedelta(minutes=minutes),
            date(2026, 11, 21),
            page="/",
            source=direct,
            is_action=action,
            force_new=force_new,
        )

    first = place(0)
    forced = place(1, force_new=True)
    assert first is not None and forced is not None
    assert forced.visit_id != first.visit_id and forced.is_entry and forced.bounce_delta == 1
    assert place(50, force_new=True, action=False) is None  # a heartbeat does not open a visit
