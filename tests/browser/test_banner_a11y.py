"""Accessibility (WCAG 2.2 AA): axe-core on both layers, keyboard use, focus, colour schemes; screenshots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import (
    AXE,
    Site,
    artifact,
    click_action,
    dialog_visible,
    open_demo,
    rewrite_demo,
)

pytestmark = pytest.mark.browser

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_violations(page: Page) -> list[dict[str, Any]]:
    # Injected through DevTools, so the page's CSP does not apply to axe itself.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async (tags) => (await axe.run(document, { runOnly: { type: 'tag', values: tags } })).violations"
        ".map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }))",
        AXE_TAGS,
    )
    return list(result)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_axe_finds_nothing_on_either_layer(
    site: Site, new_context: Callable[..., BrowserContext], lang: str, scheme: Literal["light", "dark"]
) -> None:
    page = new_context(locale="en-GB" if lang == "en" else "sv-SE", color_scheme=scheme).new_page()
    if lang == "en":  # the demo page is Swedish; an English site would say so in <html lang>
        rewrite_demo(page, site, '<html lang="sv">', '<html lang="en">')
    open_demo(page, site.url())
    assert dialog_visible(page)
    assert axe_violations(page) == []
    page.click("[data-samtycke-action=settings]")
    for summary in page.locator(".stk summary").all():
        summary.click()  # open every cookie table, so they are checked too
    assert axe_violations(page) == []
    if scheme == "light":
        page.screenshot(path=artifact(f"banner-{lang}-layer2.png"))
        page.keyboard.press("Escape")
        page.evaluate("window.samtycke.open()")
        page.screenshot(path=artifact(f"banner-{lang}-layer1.png"))
    else:
        page.screenshot(path=artifact(f"banner-{lang}-layer2-dark.png"))


def test_dialog_semantics(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    dialog = page.get_by_role("dialog", name="Vi använder cookies")
    assert dialog.is_visible()
    assert dialog.get_attribute("aria-modal") == "true"
    described = dialog.get_attribute("aria-describedby")
    assert described and "Nödvändiga cookies" in page.locator(f"#{described}").inner_text()
    assert page.get_by_role("button", name="Avvisa alla").is_visible()
    page.click("[data-samtycke-action=settings]")
    assert page.get_by_role("switch", name="Statistik").is_visible()


def test_keyboard_only_focus_is_trapped_visible_and_returned(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    assert page.evaluate("document.activeElement.getAttribute('role')") == "dialog"
    seen = []
    for _ in range(12):  # more presses than there are controls: focus must wrap, never leave
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate("""() => { const a = document.activeElement, s = getComputedStyle(a);
            return { inside: !!a.closest('.stk-d'),
                     label: a.getAttribute('data-samtycke-action') || a.tagName,
                     outline: s.outlineStyle + ' ' + s.outlineWidth }; }""")
        )
    assert all(item["inside"] for item in seen)
    assert {"accept-all", "reject-all", "settings"} <= {item["label"] for item in seen}
    for item in seen:  # focus is visible on every stop
        style, width = item["outline"].split()
        assert style != "none" and float(width.rstrip("px")) >= 2
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("!!document.activeElement.closest('.stk-d')")

    # Settings by keyboard: the first optional switch gets focus and Space toggles it.
    page.focus("[data-samtycke-action=settings]")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.dataset.cat") == "preferences"
    page.keyboard.press("Space")
    assert page.locator(".stk-sw[data-cat=preferences]").is_checked()
    page.focus("[data-samtycke-action=save]")
    with page.expect_response("**/api/v1/consent"):
        page.keyboard.press("Enter")
    page.wait_for_selector(".stk", state="hidden")
    # Focus comes back to a sensible place: the reopen control.
    assert page.evaluate("document.activeElement.classList.contains('stk-r')")
    page.keyboard.press("Enter")
    assert dialog_visible(page)


def test_reduced_motion_is_respected(site: Site, new_context: Callable[..., BrowserContext]) -> None:
    still = new_context(reduced_motion="reduce").new_page()
    moving = new_context(reduced_motion="no-preference").new_page()
    open_demo(still, site.url())
    open_demo(moving, site.url())
    animation = "getComputedStyle(document.querySelector('.stk-d')).animationName"
    assert still.evaluate(animation) == "none"
    assert moving.evaluate(animation) != "none"


def test_screenshot_after_a_choice_shows_the_reopen_control(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "accept-all")
    assert page.locator(".stk-r").is_visible()
    page.screenshot(path=artifact("banner-after-choice.png"), full_page=True)
