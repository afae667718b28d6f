"""Gated content, the JavaScript API and events, language choice, CSP and layout stability."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import (
    Site,
    click_action,
    click_and_record,
    dialog_visible,
    open_demo,
    rewrite_demo,
    state_cookie,
    wait_js,
)

pytestmark = pytest.mark.browser


def test_allow_on_a_placeholder_activates_only_that_category_without_reload(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    page.evaluate("window.__sameDocument = true")
    placeholder = page.locator(".stk-p").first
    assert "samtycke till marknadsföring." in placeholder.inner_text()
    body = click_and_record(page, ".stk-p [data-samtycke-allow=marketing]")
    assert body["method"] == "custom"
    assert body["decisions"] == {"preferences": False, "statistics": False, "marketing": True}
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert page.evaluate("window.demoRan") == ["marketing"]
    iframe = page.locator("iframe[data-category=marketing]")
    assert iframe.get_attribute("src") == "/demo/embed?kind=video" and iframe.is_visible()
    assert page.frame_locator("iframe[data-category=marketing]").locator("body").inner_text() != ""
    img = page.locator("img[data-category=marketing]")
    wait_js(page, "document.querySelector('img[data-category]').naturalWidth > 0")
    assert img.is_visible()
    assert page.locator(".stk-p").count() == 0
    assert not dialog_visible(page)


def test_gated_scripts_run_once_in_page_order_and_keep_the_nonce(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "accept-all")
    assert page.evaluate("window.demoRan") == ["preferences", "statistics", "marketing"]
    # Saving again must not run the scripts a second time.
    page.evaluate("window.samtycke.open()")
    click_action(page, "accept-all")
    assert page.evaluate("window.demoRan") == ["preferences", "statistics", "marketing"]
    assert page.evaluate(
        "[...document.scripts].filter((s) => s.dataset.category && s.type !== 'text/plain')"
        ".every((s) => s.nonce.length > 0)"
    )
    assert page.locator("script[data-category=statistics][src='/matomo.js']").count() == 1


def test_javascript_api_and_dom_events(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    got = page.evaluate("window.samtycke.get()")
    assert got["decided"] is False and got["granted"]["necessary"] is True
    page.evaluate("""() => {
        window.__seen = [];
        window.samtycke.on('change', (d) => window.__seen.push(['api-change', d.method]));
        for (const type of ['change', 'consent'])
          document.addEventListener('samtycke:' + type, (e) => window.__seen.push([type, e.detail.method]));
    }""")
    click_action(page, "reject-all")
    assert sorted(page.evaluate("window.__seen")) == [
        ["api-change", "reject_all"],
        ["change", "reject_all"],
        ["consent", "reject_all"],
    ]
    page.evaluate("window.samtycke.open()")
    assert dialog_visible(page)
    assert page.evaluate("window.samtycke.get().method") == "reject_all"


# -- language: data-lang, then <html lang>, then the browser -------------------------------------------


@pytest.mark.parametrize(
    ("source", "locale", "expected"),
    [
        ("data-lang", "sv-SE", "en"),
        ("html-lang", "sv-SE", "sv"),
        ("browser-en", "en-GB", "en"),
        ("browser-sv", "sv-SE", "sv"),
    ],
)
def test_language_choice(
    site: Site, new_context: Callable[..., BrowserContext], source: str, locale: str, expected: str
) -> None:
    page = new_context(locale=locale).new_page()
    if source == "data-lang":
        rewrite_demo(page, site, 'data-site="1"', 'data-site="1" data-lang="en"')
    elif source.startswith("browser"):
        rewrite_demo(page, site, '<html lang="sv">', "<html>")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    open_demo(page, site.url())
    assert any(f"consent-config?lang={expected}" in url for url in requests)
    assert page.locator(".stk-d").get_attribute("lang") == expected
    words = {
        "sv": ("Acceptera alla", "Avvisa alla", "Anpassa"),
        "en": ("Accept all", "Reject all", "Customise"),
    }
    for action, text in zip(("accept-all", "reject-all", "settings"), words[expected], strict=True):
        assert page.locator(f"[data-samtycke-action={action}]").inner_text().strip() == text
    body = click_action(page, "reject-all")
    assert body["lang"] == expected


# -- strict CSP and a stable page -----------------------------------------------------------------------


def test_works_under_the_demo_strict_csp_without_violations(
    site: Site, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    context.add_init_script("""window.__csp = [];
        document.addEventListener('securitypolicyviolation',
          (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));""")
    page = context.new_page()
    response = page.goto(site.url())
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "'nonce-" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    open_demo(page, site.url())
    # Styled by our own sheet (not browser defaults) although inline styles are forbidden.
    assert page.evaluate("getComputedStyle(document.querySelector('.stk')).position") == "fixed"
    page.click("[data-samtycke-action=settings]")
    click_action(page, "accept-all")
    assert page.evaluate("window.demoRan") == ["preferences", "statistics", "marketing"]
    assert page.evaluate("window.__csp") == []


def test_no_layout_shift_on_the_host_page(site: Site, new_context: Callable[..., BrowserContext]) -> None:
    context = new_context()
    context.add_init_script("""window.__shift = 0;
        // Cumulative Layout Shift as browsers define it: shifts right after user input do not count.
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shift += e.value; })
          .observe({ type: 'layout-shift', buffered: true });""")
    page = context.new_page()
    page.goto(site.url())
    heading = page.locator("h1").bounding_box()
    open_demo(page, site.url())
    assert page.evaluate("getComputedStyle(document.querySelector('.stk')).position") == "fixed"
    page.click("[data-samtycke-action=settings]")
    page.keyboard.press("Escape")
    assert page.locator(".stk-r").is_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('.stk-r')).position") == "fixed"
    assert page.locator("h1").bounding_box() == heading
    assert page.evaluate("window.__shift") == 0


def test_state_cookie_is_the_only_state_javascript_keeps(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "reject-all")
    names = {c["name"]: c for c in page.context.cookies()}
    assert set(names) == {"samtycke_consent", "samtycke_state"}
    assert names["samtycke_consent"]["httpOnly"] is True
    assert names["samtycke_state"]["httpOnly"] is False
    assert all(c["sameSite"] == "Lax" for c in names.values())
    assert state_cookie(page.context) is not None
    assert page.evaluate("Object.keys(localStorage).length + Object.keys(sessionStorage).length") == 0
