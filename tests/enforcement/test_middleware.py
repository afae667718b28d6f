"""ConsentMiddleware in front of a real Starlette app served by uvicorn on two loopback addresses.

127.0.0.1 is the site; 127.0.0.2 is the advertising network, a different site to the
client's cookie jar.  Parent-domain cookies are checked with the Host header the browser
would send for www.demo.localhost (Python cannot resolve *.localhost; the browser tests do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import tomli_w

from consent.enforcement.middleware import ConsentMiddleware
from consent.enforcement.setcookie import parse
from samtycke.metrics import Metrics
from samtycke.signing import Signer
from tests.enforcement.conftest import KEY, consent_header, enforcement_settings
from tests.enforcement.sample_site import templated_site, third_party
from tests.enforcement.servers import serve
from tests.support.config import demo_raw


class Sites:
    def __init__(self, site: str, allowing: str, ads: str, metrics: Metrics) -> None:
        self.site, self.allowing, self.ads, self.metrics = site, allowing, ads, metrics


@pytest.fixture(scope="module")
def sites(signer: Signer) -> Iterator[Sites]:
    metrics = Metrics()
    with serve(third_party(), host="127.0.0.2") as ads:
        strict = ConsentMiddleware(templated_site(ads), enforcement_settings(), 1, signer, metrics=metrics)
        lenient = ConsentMiddleware(
            templated_site(ads), enforcement_settings(unknown_cookies="allow"), 1, signer
        )
        with serve(strict) as site, serve(lenient) as allowing:
            yield Sites(site, allowing, ads, metrics)


def set_cookies(response: httpx.Response) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for header in response.headers.get_list("set-cookie"):
        parsed = parse(header)
        assert parsed is not None
        out.setdefault(parsed.name, []).append(header)
    return out


def stored(response: httpx.Response) -> set[str]:
    """Names the response stores (not the ones it deletes)."""
    names = set()
    for header in response.headers.get_list("set-cookie"):
        parsed = parse(header)
        if parsed is not None and not parsed.deletes:
            names.add(parsed.name)
    return names


def test_without_consent_only_necessary_cookies_are_set(
    sites: Sites, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="samtycke.enforcement"):
        response = httpx.get(sites.site + "/every-kind")
    assert response.status_code == 200
    assert stored(response) == {"demo_session"}
    session = set_cookies(response)["demo_session"][0].lower()
    assert "httponly" in session and "max-age" not in session
    [line] = caplog.records  # one line for the response, however many cookies
    assert line.unknown == ["tracker_uid"] and line.actions == {"removed": 4}  # type: ignore[attr-defined]
    assert "u-123" not in caplog.text  # a cookie's value is never logged
    metrics = sites.metrics.render().decode()
    assert 'samtycke_enforced_cookies_total{action="removed",category="unknown",site="1"}' in metrics
    assert 'samtycke_enforced_cookies_total{action="removed",category="marketing",site="1"}' in metrics


def test_granted_categories_keep_their_cookies(sites: Sites, consent_value: Callable[..., str]) -> None:
    value = consent_value(["preferences", "statistics"])
    response = httpx.get(sites.site + "/every-kind", headers=consent_header(value))
    assert stored(response) == {"demo_session", "demo_lang", "_pk_id.1.abcd"}
    everything = consent_value(["preferences", "statistics", "marketing"])
    response = httpx.get(sites.site + "/every-kind", headers=consent_header(everything))
    assert stored(response) == {"demo_session", "demo_lang", "_pk_id.1.abcd", "demo_ads"}


def test_unknown_cookies_can_be_allowed_and_are_still_reported(
    sites: Sites, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="samtycke.enforcement"):
        response = httpx.get(sites.allowing + "/every-kind")
    assert stored(response) == {"demo_session", "tracker_uid"}
    [line] = caplog.records
    assert line.unknown == ["tracker_uid"] and line.actions["allowed"] == 1  # type: ignore[attr-defined]


def test_cookies_the_browser_sends_without_consent_are_expired_everywhere(sites: Sites) -> None:
    """At "/" and the demo's cookie_paths on every configured domain first; at the request's
    other paths if they come back."""
    cookies = {"demo_ads": "x", "_pk_ses.1.abcd": "y", "demo_session": "s", "tracker_uid": "u"}
    headers = {
        "Host": "www.demo.localhost",
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
    }
    expired: dict[str, set[tuple[str, str]]] = {}
    for step in range(2):
        response = httpx.get(sites.site + "/shop/cart/page", headers=headers)
        for header in response.headers.get_list("set-cookie"):
            parsed = parse(header)
            assert parsed is not None and parsed.deletes
            expired.setdefault(parsed.name, set()).add(
                (parsed.attributes.get("domain", ""), parsed.attributes["path"])
            )
        if step == 0:
            assert {p for pairs in expired.values() for _, p in pairs} == {"/", "/demo/embed"}
    assert set(expired) == {"demo_ads", "_pk_ses.1.abcd", "tracker_uid"}  # never the necessary one
    domains = {"", "www.demo.localhost", "demo.localhost"}  # configured, and above the host
    paths = {"/", "/demo/embed", "/shop", "/shop/cart", "/shop/cart/page"}
    assert expired["demo_ads"] == {(d, p) for d in domains for p in paths}
    assert ("demo.localhost", "/") in expired["_pk_ses.1.abcd"]
    # Expired at every variant: the same cookies again get nothing for a while.
    assert httpx.get(sites.site + "/shop/cart/page", headers=headers).headers.get_list("set-cookie") == []


def test_cookies_are_expired_on_the_site_s_configured_cookie_paths_too(signer: Signer) -> None:
    settings = enforcement_settings(cookie_paths=["/demo/embed", "/sites"])
    with serve(ConsentMiddleware(templated_site("http://127.0.0.2:9"), settings, 1, signer)) as site:
        response = httpx.get(site + "/page", headers={"Cookie": "demo_ads=x"})
    paths = {parse(h).attributes["path"] for h in response.headers.get_list("set-cookie")}  # type: ignore[union-attr]
    assert paths == {"/", "/demo/embed", "/sites"}


def test_granted_cookies_are_not_expired(sites: Sites, consent_value: Callable[..., str]) -> None:
    value = consent_value(["statistics"])
    response = httpx.get(sites.site + "/granted", headers=consent_header(value, **{"_pk_id.1.abcd": "v"}))
    assert response.text == "necessary,statistics"
    assert response.headers.get_list("set-cookie") == []


def test_cookie_jar_loses_expired_cookies(sites: Sites) -> None:
    """A real client jar: what the site stored without consent is gone after one request."""
    with httpx.Client() as client:
        # Values no other test sends: the middleware remembers the cookies it expired.
        client.cookies.set("demo_lang", "jar-sv", domain="127.0.0.1")
        client.cookies.set("tracker_uid", "jar-u", domain="127.0.0.1")
        client.get(sites.site + "/every-kind")
        names = {c.name for c in client.cookies.jar}
    assert names == {"demo_session"}


def test_template_helper_leaves_gated_tags_out_and_third_party_untouched(
    sites: Sites, consent_value: Callable[..., str]
) -> None:
    with httpx.Client() as browser:
        page = browser.get(sites.site + "/page")
        assert "data-tag" not in page.text and sites.ads not in page.text
        browser.cookies.set("samtycke_consent", consent_value(["marketing"]), domain="127.0.0.1")
        page = browser.get(sites.site + "/page")
        assert 'data-tag="marketing"' in page.text and 'data-tag="statistics"' not in page.text
        # The marketing tag is on another site: its cookie lands in that site's jar only.
        browser.get(sites.ads + "/pixel.gif")
        third = {(c.name, c.domain) for c in browser.cookies.jar if c.domain.startswith("127.0.0.2")}
        assert third == {("demo_retarget", "127.0.0.2")}
        again = browser.get(sites.site + "/granted")
        assert "demo_retarget" not in again.request.headers.get("cookie", "")


def test_gpc_denies_marketing_before_the_first_byte(sites: Sites, consent_value: Callable[..., str]) -> None:
    page = httpx.get(sites.site + "/page", headers={"Sec-GPC": "1"})
    assert "gpc=True" in page.text
    # An explicit grant in the signed cookie still counts: GPC is only the default.
    explicit = consent_value(["marketing"])
    page = httpx.get(sites.site + "/page", headers={"Sec-GPC": "1", **consent_header(explicit)})
    assert 'data-tag="marketing"' in page.text


def test_forged_expired_and_foreign_cookies_mean_no_consent(
    sites: Sites, consent_value: Callable[..., str]
) -> None:
    forged = Signer(["someone-else"]).dumps("consent", {"granted": ["marketing"]})  # type: ignore[list-item]
    for value in (
        forged,
        consent_value(["marketing"], expires_in=-10),
        consent_value(["marketing"], site=2),
        "x",
    ):
        response = httpx.get(sites.site + "/granted", headers=consent_header(value))
        assert response.status_code == 200
        assert response.text == "necessary"


def test_vary_is_added_to_what_the_app_says(sites: Sites) -> None:
    response = httpx.get(sites.site + "/page")
    assert response.headers["vary"] == "Accept-Encoding, Cookie, Sec-GPC"


def test_full_withdrawal_clears_storage_and_expires_the_cookies(
    sites: Sites, consent_value: Callable[..., str]
) -> None:
    withdrawn = consent_value([], method="withdraw")
    leftovers = consent_header(withdrawn, demo_lang="wd-sv", **{"_pk_id.1.abcd": "wd-v"})
    response = httpx.get(sites.site + "/granted", headers=leftovers)
    assert response.headers["clear-site-data"] == '"storage"'
    assert {"demo_lang", "_pk_id.1.abcd"} <= {parse(h).name for h in response.headers.get_list("set-cookie")}  # type: ignore[union-attr]
    assert not any(h.startswith("samtycke_consent=") for h in response.headers.get_list("set-cookie"))
    # Once the leftovers are gone, later pages do not clear anything.
    after = httpx.get(sites.site + "/granted", headers=consent_header(withdrawn))
    assert "clear-site-data" not in after.headers
    # A partial withdrawal keeps the rest: no clearing.
    partial = consent_value(["statistics"], method="custom")
    response = httpx.get(sites.site + "/granted", headers=consent_header(partial, demo_lang="sv"))
    assert "clear-site-data" not in response.headers


def test_from_config_file(tmp_path: Path) -> None:
    raw = demo_raw(server={"secret_keys": [KEY]}, storage={"data_dir": str(tmp_path / "data")})
    path = tmp_path / "samtycke.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    app = ConsentMiddleware.from_config(templated_site("http://127.0.0.2"), path, site_id=1)
    assert app.site_for("anything") is None  # answered with 421
    assert app.site_for("127.0.0.1:8000").id == 1  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="no site 7"):
        ConsentMiddleware(templated_site(""), enforcement_settings(), 7)
