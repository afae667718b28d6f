"""A customer's choice follows their account from device to device, in Chromium against `samtycke serve`.

Laptop (context A) chooses with the portal's account token; the phone (context B, a token for
the same customer) adopts the choice without showing the banner, under a receipt of method
``account`` naming the source; withdrawing on the phone reaches the laptop at its next page
load.  Each step's wall time is printed (``pytest -s``) for the benchmark notes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Response, Route

from tests.browser.conftest import WWW, click_action, dialog_visible, open_demo, state_cookie
from tests.consent.accounts import SECRET, mint, sites_with_accounts
from tests.support.live import LiveServer

pytestmark = pytest.mark.browser

SUB = "kund-4711"
TAG = '<script src="/banner.js" data-site="1"'


@pytest.fixture
def server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    """The demo with accounts on site 1; the secret comes from the environment, as in production."""
    sites = sites_with_accounts()
    del sites[0]["accounts"]
    live = live_server_factory(start=False, sites=sites)
    live.env["SAMTYCKE_SITE_1_ACCOUNTS_SECRET"] = SECRET
    return live.start()


def portal_page(context: BrowserContext, server: LiveServer, sub: str) -> Page:
    """The demo page as a logged-in portal serves it: a fresh account token on the banner's tag."""
    page = context.new_page()

    def handle(route: Route) -> None:
        response = route.fetch(url=f"http://127.0.0.1:{server.port}/demo")
        tagged = response.text().replace(TAG, f'{TAG} data-account-token="{mint(sub)}"', 1)
        route.fulfill(response=response, body=tagged)

    page.route("**/demo", handle)
    return page


def is_sync(response: Response) -> bool:
    return response.url.endswith("/api/v1/consent/account")


def load(page: Page, server: LiveServer) -> tuple[int, float]:
    """Load the portal page; the status of the banner's account call, and the load's wall time."""
    started = time.perf_counter()
    with page.expect_response(is_sync) as info:
        open_demo(page, f"http://{WWW}:{server.port}/demo")
    return info.value.status, time.perf_counter() - started


def newest_receipt(page: Page) -> dict[str, Any]:
    """The browser's newest receipt, as its own history shows it (read by the page, with its cookies)."""
    history = page.evaluate("fetch('/api/v1/consent', {credentials: 'include'}).then((r) => r.json())")
    return dict(history["history"][-1]["receipt"])


@pytest.fixture
def errors() -> Iterator[list[str]]:
    found: list[str] = []
    yield found
    assert found == [], f"uncaught errors in the pages: {found}"


def test_laptop_phone_withdrawal_and_back(
    server: LiveServer, new_context: Callable[..., BrowserContext], errors: list[str]
) -> None:
    timings: dict[str, float] = {}
    laptop_context, phone_context = new_context(), new_context(viewport={"width": 390, "height": 844})
    laptop = portal_page(laptop_context, server, SUB)
    phone = portal_page(phone_context, server, SUB)
    for page in (laptop, phone):
        page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Laptop: no choice yet anywhere, so the banner asks; accepting links the choice to the account.
    synced, _ = load(laptop, server)
    assert synced == 200
    assert dialog_visible(laptop)
    started = time.perf_counter()
    body = click_action(laptop, "accept-all")
    timings["laptop: accept all, linked receipt"] = time.perf_counter() - started
    assert body["account_token"]
    source = newest_receipt(laptop)
    assert source["account"]["linked"] is True

    # Phone: same customer, another browser: the choice is adopted and the banner stays closed.
    adopted, timings["phone: first page load, choice adopted"] = load(phone, server)
    assert adopted == 201
    receipt = newest_receipt(phone)
    assert receipt["method"] == "account" and receipt["source_receipt_id"] == source["receipt_id"]
    assert not dialog_visible(phone)
    assert phone.evaluate("window.samtycke.get().granted") == laptop.evaluate("window.samtycke.get().granted")
    phone_state = state_cookie(phone_context)
    assert phone_state is not None and phone_state["m"] == "account"
    assert set(phone_state["g"]) == {"preferences", "statistics", "marketing"}

    # Phone: withdrawal, with the page's token, becomes the account's choice.
    phone.evaluate("window.samtycke.open()")
    started = time.perf_counter()
    body = click_action(phone, "reject-all")
    timings["phone: withdraw"] = time.perf_counter() - started
    assert body["method"] == "withdraw" and body["account_token"]

    # Laptop, next page load: the withdrawal is picked up, the banner stays closed.
    picked, timings["laptop: next page load, withdrawal picked up"] = load(laptop, server)
    assert picked == 201
    picked_up = newest_receipt(laptop)
    assert picked_up["method"] == "account"
    assert {p["decision"] for p in picked_up["purposes"] if not p["required"]} == {"refused"}
    assert not dialog_visible(laptop)
    laptop_state = state_cookie(laptop_context)
    assert laptop_state is not None and laptop_state["g"] == []
    assert laptop.evaluate("window.samtycke.get().granted.statistics") is False

    # And then the two agree: neither records anything more at its next load.
    for page in (phone, laptop):
        settled, _ = load(page, server)
        assert settled == 200

    print("\naccount consent, end to end in Chromium against samtycke serve:")
    for step, seconds in timings.items():
        print(f"  {step}: {seconds * 1000:.0f} ms")


def test_a_refused_token_leaves_the_page_as_without_one(
    server: LiveServer, new_context: Callable[..., BrowserContext], errors: list[str]
) -> None:
    context = new_context()
    page = context.new_page()

    def handle(route: Route) -> None:
        response = route.fetch(url=f"http://127.0.0.1:{server.port}/demo")
        forged = mint(SUB, secret="not-the-portal-secret-0123456789abcdef")
        route.fulfill(
            response=response, body=response.text().replace(TAG, f'{TAG} data-account-token="{forged}"', 1)
        )

    page.route("**/demo", handle)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    refused, _ = load(page, server)
    assert refused == 401
    assert dialog_visible(page)
    body: dict[str, Any] = click_action(page, "reject-all")
    assert "account_token" not in body, "a refused token is not sent again"
    assert json.loads(json.dumps(state_cookie(context)))["g"] == []
