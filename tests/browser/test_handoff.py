"""One choice across a group's sites, in Chromium: a link from one site to another carries it.

Three host names, each a site of its own to the browser (``*.localhost`` names resolve to
loopback in Chromium, and each is its own registrable domain, so no cookie is shared):
``www.demo.localhost`` (site 1) and ``shop.localhost`` (site 2) form a group;
``other.localhost`` (site 3) is outside it.  samtycke runs in this process, under uvicorn in a
thread, so the test holds its clock: a code expires without two minutes of waiting.  Every
host is served the real demo page (its real CSP), with the banner's ``data-site`` set to the
host's site and links to the other hosts added.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import BrowserContext, Page, Request, Route

from samtycke.settings import loading as configfile
from samtycke.web.app import create_app
from tests.browser.conftest import artifact, click_action, dialog_visible, open_demo, wait_js
from tests.browser.test_banner_a11y import axe_violations
from tests.support.config import deep_merge, demo_raw, unique_database
from tests.support.ports import free_port

pytestmark = pytest.mark.browser

ENERGI, SHOP, OTHER = "www.demo.localhost", "shop.localhost", "other.localhost"
SITE_OF = {ENERGI: 1, SHOP: 2, OTHER: 3}
CODE_PARAM = "samtycke_handoff"


class Clock:
    """The server's clock: real time, moved on by the test."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Group:
    port: int
    clock: Clock

    def url(self, host: str, path: str = "/demo") -> str:
        return f"http://{host}:{self.port}{path}"


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own handlers
        pass


@pytest.fixture(scope="module")
def group(chdb_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Group]:
    demo = {**demo_raw()["sites"][0], "group": "demo-energi"}
    shop = {"id": 2, "name": "Demo Butik", "domains": [SHOP], "group": "demo-energi"}
    other = {"id": 3, "name": "Annan Webbplats", "domains": [OTHER]}
    raw = deep_merge(
        demo_raw(),
        {
            "storage": {
                "clickhouse_url": f"chdb://{chdb_path}",
                "database": unique_database(),
                "data_dir": str(tmp_path_factory.mktemp("handoff") / "data"),
            },
            "journal": {"ship_interval": 0.1},
            "server": {"secret_keys": ["handoff-test-key"]},
        },
    )
    raw["sites"] = [demo, shop, other]
    clock = Clock()
    port = free_port()
    app = create_app(configfile.from_mapping(raw), now=clock)
    server = _ThreadedServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="handoff-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        raise AssertionError("the group's server did not become ready")
    yield Group(port, clock)
    server.should_exit = True
    thread.join(30)


@pytest.fixture
def browse(group: Group, new_context: Callable[..., BrowserContext]) -> Callable[[], BrowserContext]:
    """A fresh context whose pages at /demo are the demo page as each host's own site serves it."""

    def handle(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        response = route.fetch(url=f"http://127.0.0.1:{group.port}/demo")
        links = "".join(
            f'<p><a id="to-{name.split(".")[0]}" href="{group.url(name, f"/demo?from={SITE_OF[host]}")}#top">'
            f"{name}</a></p>"
            for name in SITE_OF
            if name != host
        )
        body = response.text().replace('data-site="1"', f'data-site="{SITE_OF[host]}"', 1)
        route.fulfill(response=response, body=body.replace("</main>", links + "</main>", 1))

    def make() -> BrowserContext:
        context = new_context()
        context.route(lambda url: urlsplit(url).path == "/demo", handle)
        # Page-side times, for the report (an init script is DevTools', outside the page's CSP).
        context.add_init_script(
            "document.addEventListener('samtycke:change', () => { window.__changedAt = Date.now(); });"
        )
        return context

    return make


def first_visit_accept(page: Page, group: Group) -> str:
    """Accept all on site 1; the receipt id."""
    open_demo(page, group.url(ENERGI))
    click_action(page, "accept-all")
    history = page.evaluate("fetch('/api/v1/consent').then((r) => r.json())")
    return str(history["history"][-1]["receipt"]["receipt_id"])


def code_for(page: Page, target: int) -> str:
    """A code asked for from the page, as the banner asks (for a link it is not followed here)."""
    return str(
        page.evaluate(
            """async (target) => (await (await fetch('/api/v1/consent/handoff', { method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ site_id: 1, target_site_id: target }) })).json()).code""",
            target,
        )
    )


def visit_with_code(page: Page, group: Group, host: str, code: str) -> int:
    """Open ``host``'s page with ``code`` in the address, as a link would; the redemption's status."""
    with page.expect_response(lambda r: r.url.endswith("/handoff/redeem")) as info:
        open_demo(page, group.url(host, f"/demo?{CODE_PARAM}={code}"))
    return info.value.status


def test_a_link_carries_the_choice_to_the_groups_other_site(
    group: Group, browse: Callable[[], BrowserContext]
) -> None:
    context = browse()
    page = context.new_page()
    source_receipt = first_visit_accept(page, group)
    requests: list[Request] = []
    context.on("request", lambda request: requests.append(request))

    clicked_at = page.evaluate("Date.now()")
    with page.expect_response(lambda r: r.url.endswith("/handoff/redeem")) as redeemed:
        page.click("#to-shop")
    response = redeemed.value
    assert response.status == 201, response.text()
    receipt = response.json()["receipt"]
    assert receipt["method"] == "handoff" and receipt["source_receipt_id"] == source_receipt
    assert receipt["site"]["id"] == 2
    wait_js(page, "window.__changedAt")

    # On the shop: the code has left the address bar, the rest of the link is as it was.
    assert page.evaluate("location.search + location.hash") == "?from=1#top"
    assert not dialog_visible(page), "a carried choice is not asked for again"
    assert page.evaluate("window.samtycke.get()")["method"] == "handoff"
    assert all(page.evaluate("window.samtycke.get().granted").values())
    shop_state = [c for c in context.cookies(group.url(SHOP)) if c["name"] == "samtycke_state"]
    assert shop_state and json.loads(unquote(shop_state[0]["value"]))["m"] == "handoff"

    # The code was asked for at the click, travelled in the target's address only, and nowhere after.
    issued = next(r for r in requests if r.url.endswith("/api/v1/consent/handoff"))
    landing = next(r for r in requests if r.is_navigation_request() and urlsplit(r.url).hostname == SHOP)
    code = parse_qs(urlsplit(landing.url).query)[CODE_PARAM][0]
    assert issued.post_data_json == {"site_id": 1, "target_site_id": 2} and len(code) == 22
    assert response.request.post_data_json["code"] == code
    later = [r for r in requests if r.timing["startTime"] > response.request.timing["startTime"]]
    assert not [r.url for r in later if code in r.url or code in (r.headers.get("referer") or "")]

    # Timings of one handoff, from the browser's own clocks (ms since the click).
    def at(request: Request, end: bool = False) -> float:
        timing = request.timing
        return round(timing["startTime"] + (timing["responseEnd"] if end else 0) - clicked_at, 1)

    timings = {
        "code issued (answer received)": at(issued, end=True),
        "target page requested": at(landing),
        "redemption sent": at(response.request),
        "receipt written (201 received)": at(response.request, end=True),
        "choice applied on the target": page.evaluate("window.__changedAt") - clicked_at,
    }
    artifact("handoff-timings.json").write_text(json.dumps(timings, indent=2))
    print("handoff timings (ms since the click):", json.dumps(timings))


def test_no_code_without_a_choice_or_for_a_site_outside_the_group(
    group: Group, browse: Callable[[], BrowserContext]
) -> None:
    page = browse().new_page()
    open_demo(page, group.url(ENERGI))
    page.click("[data-samtycke-close]")  # closing records nothing
    page.click("#to-shop")
    page.wait_for_url(lambda url: urlsplit(url).hostname == SHOP)
    assert CODE_PARAM not in page.url

    first_visit_accept(page, group)
    page.click("#to-other")
    page.wait_for_url(lambda url: urlsplit(url).hostname == OTHER)
    assert CODE_PARAM not in page.url
    open_demo(page, page.url)
    assert dialog_visible(page), "a site outside the group asks for its own choice"


def test_replayed_expired_and_foreign_codes_are_refused(
    group: Group, browse: Callable[[], BrowserContext]
) -> None:
    source = browse().new_page()
    first_visit_accept(source, group)
    used, expired, for_shop = (code_for(source, 2) for _ in range(3))

    assert visit_with_code(browse().new_page(), group, SHOP, used) == 201
    replay = browse().new_page()
    assert visit_with_code(replay, group, SHOP, used) == 422
    assert dialog_visible(replay) and CODE_PARAM not in replay.url

    foreign = browse().new_page()
    assert visit_with_code(foreign, group, OTHER, for_shop) == 422
    assert dialog_visible(foreign) and not foreign.evaluate("window.samtycke.get().decided")

    group.clock.offset = timedelta(minutes=2, seconds=1)
    try:
        late = browse().new_page()
        assert visit_with_code(late, group, SHOP, expired) == 422
        assert dialog_visible(late) and not late.evaluate("window.samtycke.get().decided")
    finally:
        group.clock.offset = timedelta(0)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_policy_naming_the_group_has_no_axe_violations(
    group: Group, browse: Callable[[], BrowserContext], lang: str
) -> None:
    page = browse().new_page()
    open_demo(page, group.url(SHOP, f"/sites/2/policy?lang={lang}"))
    assert "Demo Energi" in page.locator("#shared-choice + p + ul").inner_text()
    assert axe_violations(page) == []
