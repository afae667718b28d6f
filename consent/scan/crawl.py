"""Drive headless Chromium through a site and record what it stores and whom it calls.

Cookies are read through the DevTools protocol (``Storage.getCookies``), so HttpOnly
cookies and cookies of other domains are seen too; localStorage and sessionStorage from
the page; third-party requests from the network events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from playwright.sync_api import Browser, BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError

from consent.scan import prerequisites
from consent.scan.observed import PageVisit, Scenario
from samtycke.progress import Progress

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SETTLE_MS = 400
BANNER_TIMEOUT_MS = 5000


class ScanError(Exception):
    """The scan could not run (browser missing, site unreachable)."""


def same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.netloc) == (pb.scheme, pb.netloc)


def discover(start: Page, base: str, limit: int) -> list[str]:
    """Up to ``limit`` same-origin pages, breadth first from ``base``."""
    found = [urldefrag(base)[0]]
    queue = [found[0]]
    while queue and len(found) < limit:
        url = queue.pop(0)
        try:
            start.goto(url, wait_until="load")
            hrefs = start.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        except PlaywrightError:
            continue
        for href in hrefs:
            target = urldefrag(urljoin(url, href))[0]
            if same_origin(target, base) and target not in found and len(found) < limit:
                found.append(target)
                queue.append(target)
    return found


def cookies_of(context: BrowserContext, page: Page) -> list[dict[str, Any]]:
    session = context.new_cdp_session(page)
    try:
        # Network.getAllCookies is the whole jar of the profile: HttpOnly and every domain.
        result = session.send("Network.getAllCookies")
    finally:
        session.detach()
    return list(result.get("cookies", []))


def visit(context: BrowserContext, page: Page, url: str) -> PageVisit:
    host = urlsplit(url).hostname or ""
    requests: list[str] = []

    def on_request(request: Any) -> None:
        other = urlsplit(request.url).hostname or ""
        if request.url.startswith("http") and other != host and other not in requests:
            requests.append(other)

    page.on("request", on_request)
    try:
        page.goto(url, wait_until="load")
        page.wait_for_timeout(SETTLE_MS)
        storage = page.evaluate("() => [Object.keys(localStorage), Object.keys(sessionStorage)]")
    finally:
        page.remove_listener("request", on_request)
    return PageVisit(url, cookies_of(context, page), storage[0], storage[1], requests, time.time())


def banner_action(page: Page, action: str) -> bool:
    """Click one of the banner's buttons and wait for the choice to be recorded."""
    selector = f'[data-samtycke-action="{action}"]'
    try:
        page.wait_for_selector(selector, state="visible", timeout=BANNER_TIMEOUT_MS)
        with page.expect_response(lambda r: "/api/v1/consent" in r.url and r.request.method == "POST"):
            page.click(selector)
    except PlaywrightError:
        return False
    return True


def choose_only(page: Page, category: str) -> bool:
    """Grant one category in the banner's settings layer (unticking every other)."""
    try:
        page.wait_for_function("window.samtycke && window.samtycke.ready", timeout=BANNER_TIMEOUT_MS)
        page.evaluate("window.samtycke.open()")
        page.wait_for_selector(
            '[data-samtycke-action="settings"]', state="visible", timeout=BANNER_TIMEOUT_MS
        )
        page.click('[data-samtycke-action="settings"]')
        for box in page.query_selector_all(".stk-sw:not(:disabled)"):
            if box.is_checked() != (box.get_attribute("data-cat") == category):
                box.click()
        with page.expect_response(lambda r: "/api/v1/consent" in r.url and r.request.method == "POST"):
            page.click('[data-samtycke-action="save"]')
    except PlaywrightError:
        return False
    return True


def _scenario(
    browser: Browser,
    name: str,
    urls: list[str],
    prepare: Callable[[Page], str],
    progress: Progress,
) -> tuple[Scenario, BrowserContext, Page]:
    """A fresh browser profile, prepared (a choice made), then every page visited."""
    context = browser.new_context()
    page = context.new_page()
    try:
        progress.say(f"scenario {name}")
        page.goto(urls[0], wait_until="load")
        result = Scenario(name, note=prepare(page))
        for index, url in enumerate(urls, 1):
            result.visits.append(visit(context, page, url))
            progress.update(index, total=len(urls))
    except PlaywrightError as exc:
        context.close()
        raise ScanError(f"scenario {name} failed: {exc.message.splitlines()[0]}") from exc
    return result, context, page


def _reject(page: Page) -> str:
    return "" if banner_action(page, "reject-all") else "no reject-all button: the banner did not appear"


def run(
    base: str, pages: int, categories: list[str], chromium: str | None, progress: Progress
) -> list[Scenario]:
    """Before any choice; after "reject all"; after granting each category (then withdrawing it).

    ``chromium`` is the browser to launch (``prerequisites.locate``); None means Playwright's own
    download, and ``BrowserMissing`` when there is none.
    """
    from playwright.sync_api import sync_playwright

    scenarios: list[Scenario] = []
    with sync_playwright() as playwright:
        executable = chromium or prerequisites.playwright_own(playwright.chromium.executable_path)
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            raise ScanError(f"Chromium could not start: {exc.message.splitlines()[0]}") from exc
        try:
            progress.say(f"finding up to {pages} page(s) from {base}")
            context = browser.new_context()
            try:
                urls = discover(context.new_page(), base, pages)
            finally:
                context.close()
            progress.say(f"{len(urls)} page(s) to scan")
            for name, prepare in (("before-choice", lambda p: ""), ("reject-all", _reject)):
                result, context, _ = _scenario(browser, name, urls, prepare, progress)
                context.close()
                scenarios.append(result)
            # Without a banner there is no way to accept a category; one note says so.
            for category in categories if not scenarios[-1].note else []:

                def accept(page: Page, category: str = category) -> str:
                    granted = choose_only(page, category)
                    return "" if granted else f"could not grant {category} through the banner"

                result, context, page = _scenario(browser, f"accept-{category}", urls, accept, progress)
                if not result.note and choose_only(page, ""):
                    progress.say(f"scenario accept-{category}, after withdrawal")
                    for index, url in enumerate(urls, 1):
                        result.after_withdrawal.append(visit(context, page, url))
                        progress.update(index, total=len(urls))
                context.close()
                scenarios.append(result)
        finally:
            browser.close()
    return scenarios
