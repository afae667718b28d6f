"""The browser-testable items of shared/LEGAL.md, numbered as there."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import (
    NOTICE,
    OPTIONAL,
    PARENT,
    WWW,
    Site,
    category_cookies,
    click_action,
    dialog_visible,
    open_demo,
    set_state_cookie,
    state_cookie,
    wait_js,
)

pytestmark = pytest.mark.browser

# What a first visit may fetch: the page, the banner and its configuration (favicon is the browser's).
ALLOWED_BEFORE_CHOICE = {"/demo", "/banner.js", "/api/v1/sites/1/consent-config", "/favicon.ico"}
DAY = 86400


def storage(page: Page) -> dict[str, list[str]]:
    return page.evaluate("({local: Object.keys(localStorage), session: Object.keys(sessionStorage)})")


# -- 1. No cookies before consent ------------------------------------------------------------------


def test_first_visit_sets_no_cookie_storage_or_foreign_request(site: Site, page: Page) -> None:
    requests: list[str] = []
    set_cookies: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on(
        "response", lambda r: set_cookies.extend(f"{r.url}: {v}" for v in [r.header_value("set-cookie")] if v)
    )

    open_demo(page, site.url())
    page.mouse.wheel(0, 800)  # give lazy things a chance to misbehave
    page.wait_for_timeout(300)

    assert dialog_visible(page)
    assert page.context.cookies() == []
    assert set_cookies == []
    assert storage(page) == {"local": [], "session": []}
    for url in requests:
        parts = urlsplit(url)
        assert parts.hostname == WWW, f"request to another host before any choice: {url}"
        assert parts.path in ALLOWED_BEFORE_CHOICE, f"request outside the necessary allow-list: {url}"
    # Nothing gated ran or loaded: scripts inert, the iframe and image have no source yet.
    assert page.evaluate("window.demoRan") is None
    assert page.evaluate(
        "[...document.querySelectorAll('iframe[data-category], img[data-category]')]"
        ".every((el) => !el.hasAttribute('src') && el.hidden)"
    )
    assert page.locator(".stk-p").count() == 2


# -- 2 and 3. Reject on the first layer, with equal weight ---------------------------------------------


PARITY_JS = """() => {
  const lum = (c) => {
    const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map((v) => {
      v = v / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  return ['accept-all', 'reject-all', 'settings'].map((action) => {
    const el = document.querySelector(`[data-samtycke-action=${action}]`);
    const s = getComputedStyle(el), box = el.getBoundingClientRect();
    return { tag: el.tagName, width: Math.round(box.width), height: Math.round(box.height),
             fontWeight: s.fontWeight, fontSize: s.fontSize, fontFamily: s.fontFamily, color: s.color,
             background: s.backgroundColor, border: s.borderTopColor + ' ' + s.borderTopWidth,
             padding: s.padding,
             contrast: contrast(s.color, s.backgroundColor) };
  });
}"""


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 375, "height": 740}], ids=["desktop", "mobile"]
)
def test_accept_and_reject_are_equal_buttons_on_the_first_layer(
    site: Site, new_context: Callable[..., BrowserContext], viewport: dict[str, int]
) -> None:
    page = new_context(viewport=viewport).new_page()
    open_demo(page, site.url())
    accept, reject, settings = page.evaluate(PARITY_JS)
    assert accept["tag"] == reject["tag"] == settings["tag"] == "BUTTON"  # never a link
    for other in (reject, settings):
        assert abs(other["width"] - accept["width"]) <= 1 and abs(other["height"] - accept["height"]) <= 1
        for key in ("fontWeight", "fontSize", "fontFamily", "color", "background", "border", "padding"):
            assert other[key] == accept[key], key
        assert other["contrast"] == pytest.approx(accept["contrast"], rel=0.01)
    assert accept["contrast"] >= 4.5
    assert accept["width"] >= 100 and accept["height"] >= 44


def test_reject_takes_one_click_like_accept(site: Site, new_context: Callable[..., BrowserContext]) -> None:
    for action, method, granted in (("accept-all", "accept_all", True), ("reject-all", "reject_all", False)):
        context = new_context()
        page = context.new_page()
        open_demo(page, site.url())
        body = click_action(page, action)
        assert body["method"] == method
        if granted:  # what GPC protects is left to the server, which sees any Sec-GPC header
            assert body["decisions"] == {"preferences": True, "statistics": True}
        else:
            assert body["decisions"] == dict.fromkeys(OPTIONAL, False)
        assert body["notice_version"] == NOTICE and body["site_id"] == 1 and body["lang"] == "sv"
        state = state_cookie(context)
        assert state is not None and state["m"] == method
        assert sorted(state["g"]) == (sorted(OPTIONAL) if granted else [])


# -- 4. No pre-ticked boxes (and 10: full information in the second layer) -------------------------


def test_second_layer_toggles_start_unchecked_and_tables_inform(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    page.click("[data-samtycke-action=settings]")
    toggles = page.locator(".stk-sw")
    assert toggles.count() == 4
    for category in OPTIONAL:
        toggle = page.locator(f".stk-sw[data-cat={category}]")
        assert toggle.is_visible() and not toggle.is_checked() and toggle.is_enabled()
    necessary = page.locator(".stk-sw[data-cat=necessary]")
    assert necessary.is_checked() and necessary.is_disabled()
    assert "Alltid på" in page.locator(".stk-c").first.inner_text()
    # Each category: description and a cookie table with who, why, how long, which kind.
    page.locator(".stk summary").first.click()
    headers = page.locator(".stk-c").first.locator("th").all_inner_texts()
    assert headers == ["Namn", "Leverantör", "Syfte", "Lagringstid", "Typ", "Part"]
    table = page.locator(".stk-l2").text_content() or ""
    for name in ("samtycke_consent", "demo_session", "demo_lang", "_pk_id.*", "demo_stats", "demo_ads"):
        assert name in table
    assert page.locator("[data-samtycke-action=save]").is_visible()
    assert page.locator("[data-samtycke-action=reject-all]").is_visible()


def test_saving_untouched_toggles_grants_nothing(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    page.click("[data-samtycke-action=settings]")
    body = click_action(page, "save")
    assert body["decisions"] == dict.fromkeys(OPTIONAL, False)
    assert page.evaluate("window.demoRan") is None


# -- 7. Easy withdrawal removes the category's cookies, on every domain variant ---------------------


def test_withdrawal_removes_cookies_on_host_and_parent_domain(site: Site, page: Page) -> None:
    context = page.context
    open_demo(page, site.url())
    click_action(page, "accept-all")
    wait_js(page, "(window.demoRan || []).length === 3")
    page.frame_locator("iframe[data-category]").locator("body").wait_for()
    before = category_cookies(context)
    assert ("demo_ads", "." + PARENT) in before, before  # set on the parent domain
    names = {n for n, _ in before}
    assert {"_pk_id.1.d3m0", "_pk_ses.1.d3m0", "demo_stats", "demo_lang", "demo_retarget"} <= names
    assert set(storage(page)["local"]) == {"demo_prefs", "demo_stats_seen"}

    # The other host name sees the parent-domain cookie too: the variants are real.
    other = context.new_page()
    other.goto(site.url("/healthz", host=PARENT))
    assert "demo_ads=" in other.evaluate("document.cookie")

    # Another page of the site: consent is remembered, and the control is there.
    open_demo(page, site.url("/demo?sida=kundservice"))
    assert not dialog_visible(page)
    page.click("footer [data-samtycke-open]")
    assert dialog_visible(page)
    body = click_action(page, "reject-all")
    assert body["method"] == "withdraw"
    assert body["decisions"] == dict.fromkeys(OPTIONAL, False)

    assert category_cookies(context) == set()
    assert storage(page) == {"local": [], "session": []}
    assert "demo_ads" not in other.evaluate("document.cookie")
    state = state_cookie(context)
    assert state is not None and state["g"] == [] and state["m"] == "withdraw"
    # Blocked again without a reload, and Matomo was told.
    assert page.locator("iframe[data-category]").get_attribute("src") is None
    assert page.locator(".stk-p").count() == 2


def test_withdrawing_one_category_keeps_the_others(site: Site, page: Page) -> None:
    context = page.context
    open_demo(page, site.url())
    click_action(page, "accept-all")
    wait_js(page, "(window.demoRan || []).length === 3")
    page.evaluate("window.samtycke.open()")
    page.click("[data-samtycke-action=settings]")
    for category in OPTIONAL:  # the second layer shows the current choice
        assert page.locator(f".stk-sw[data-cat={category}]").is_checked()
    page.locator(".stk-sw[data-cat=statistics]").uncheck()
    body = click_action(page, "save")
    assert body == {
        **body,
        "method": "custom",
        "decisions": {"preferences": True, "statistics": False, "marketing": True},
    }
    names = {n for n, _ in category_cookies(context)}
    assert not any(n.startswith("_pk_") or n == "demo_stats" for n in names), names
    assert {"demo_lang", "demo_ads", "demo_retarget"} <= names
    assert storage(page)["local"] == ["demo_prefs"]


# -- 8. Silence is not consent -------------------------------------------------------------------


def test_escape_close_scroll_and_navigation_grant_nothing(site: Site, page: Page) -> None:
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    open_demo(page, site.url())

    page.keyboard.press("Escape")
    assert not dialog_visible(page)
    assert page.locator(".stk-r").is_visible()  # the way back in stays available

    page.evaluate("window.samtycke.open()")
    page.click("[data-samtycke-close]")
    assert not dialog_visible(page)

    page.mouse.wheel(0, 2000)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(200)
    assert page.evaluate("window.samtycke.get().decided") is False

    page.click("#nav-kundservice")
    open_demo(page, site.url("/demo?sida=kundservice"))
    assert dialog_visible(page)  # still asked: nothing was decided
    page.go_back()
    open_demo(page, site.url())
    assert dialog_visible(page)

    assert posts == []
    assert page.context.cookies() == []
    assert page.evaluate("window.demoRan") is None
    assert page.evaluate("window.samtycke.get()")["granted"] == {
        "necessary": True,
        "preferences": False,
        "statistics": False,
        "marketing": False,
    }


# -- 13. Refusals count and are not re-asked ---------------------------------------------------------


def test_refusal_is_remembered_across_pages(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "reject-all")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    for path in ("/demo?sida=kundservice", "/demo"):
        open_demo(page, site.url(path))
        assert not dialog_visible(page)
        assert page.locator(".stk-r").is_visible()
        got = page.evaluate("window.samtycke.get()")
        assert got["decided"] is True and got["method"] == "reject_all"
        assert not any(got["granted"][c] for c in OPTIONAL)
        assert page.evaluate("window.demoRan") is None
    assert posts == []
    # Refusals may live shorter than consent, and never beyond 13 months.
    state = state_cookie(page.context)
    assert state is not None and state["exp"] <= time.time() + 396 * DAY


# -- 14. Re-prompting on a new notice version and on expiry ---------------------------------------------


def test_new_notice_version_asks_again(site: Site, site_next_notice: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "accept-all")
    assert state_cookie(page.context)["v"] == NOTICE  # type: ignore[index]
    # The site now runs with a newer notice (same host, so the same cookie jar).
    open_demo(page, site_next_notice.url())
    assert dialog_visible(page)
    assert page.evaluate("window.samtycke.get().decided") is False
    assert page.evaluate("window.demoRan") is None
    # Cookies from the old consent are cleared until the visitor chooses again.
    assert category_cookies(page.context) == set()
    body = click_action(page, "reject-all")
    assert body["notice_version"] == "2026-12-01"


def test_simulated_older_notice_version_asks_again(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "accept-all")
    state = state_cookie(page.context)
    assert state is not None
    set_state_cookie(page.context, WWW, {**state, "v": "2025-01-01"})
    open_demo(page, site.url())
    assert dialog_visible(page)
    assert page.evaluate("window.demoRan") is None


def test_expired_consent_asks_again(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "accept-all")
    state = state_cookie(page.context)
    assert state is not None
    assert time.time() < state["exp"] <= time.time() + 396 * DAY  # consent lasts at most 13 months
    set_state_cookie(page.context, WWW, {**state, "exp": int(time.time()) - 60})
    open_demo(page, site.url())
    assert dialog_visible(page)
    assert page.evaluate("window.samtycke.get().decided") is False
    assert page.evaluate("window.demoRan") is None


def test_the_browser_keeps_a_choice_at_most_13_months_and_a_refusal_no_longer(
    site: Site, new_context: Callable[..., BrowserContext]
) -> None:
    """The cookies themselves, as Chromium stores them, not only the expiry the banner reads."""
    expiry: dict[str, dict[str, float]] = {}
    for action in ("accept-all", "reject-all"):
        context = new_context()
        page = context.new_page()
        open_demo(page, site.url())
        click_action(page, action)
        expiry[action] = {
            c["name"]: c["expires"] for c in context.cookies() if c["name"].startswith("samtycke_")
        }
    now = time.time()
    for action, cookies in expiry.items():
        assert set(cookies) == {"samtycke_consent", "samtycke_state"}, action
        for name, expires in cookies.items():
            assert now < expires <= now + 396 * DAY, (action, name)
    assert max(expiry["reject-all"].values()) <= min(expiry["accept-all"].values()) + 60


# -- 15. Global Privacy Control ------------------------------------------------------------------------


GPC_ON = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });"


def test_gpc_in_the_browser_denies_marketing_and_is_recorded_as_gpc(
    site: Site, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    context.add_init_script(GPC_ON)
    page = context.new_page()
    open_demo(page, site.url())
    assert dialog_visible(page)  # the other categories are still the visitor's to choose
    assert "Global Privacy Control" in page.locator(".stk-d").inner_text()
    body = click_action(page, "accept-all")
    assert body["method"] == "gpc"
    assert body["decisions"] == {"preferences": True, "statistics": True, "marketing": False}
    state = state_cookie(context)
    assert state is not None and "marketing" not in state["g"] and "statistics" in state["g"]
    assert sorted(page.evaluate("window.demoRan")) == ["preferences", "statistics"]
    assert page.locator("iframe[data-category=marketing]").get_attribute("src") is None
    assert not any(n == "demo_ads" for n, _ in category_cookies(context))


def test_sec_gpc_header_denies_marketing(site: Site, new_context: Callable[..., BrowserContext]) -> None:
    context = new_context(extra_http_headers={"Sec-GPC": "1"})
    page = context.new_page()
    open_demo(page, site.url())
    body = click_action(page, "accept-all")
    # The banner knows of the header from its configuration, so "accept all" leaves marketing out.
    assert body["method"] == "gpc" and body["decisions"]["marketing"] is False
    state = state_cookie(context)
    assert state is not None and state["m"] == "gpc"
    assert "marketing" not in state["g"] and "statistics" in state["g"]
    assert page.evaluate("window.samtycke.get().granted.marketing") is False
    assert page.locator("iframe[data-category=marketing]").get_attribute("src") is None
