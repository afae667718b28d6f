"""A changed cookie declaration asks again: it cannot slip in under a version visitors already answered.

A visitor accepts everything; the operator then adds a third party's marketing cookie and
restarts on the same consent log.  Under the old notice version the consent log refuses to
open and says which change needs a new version; with the version bumped, the same browser
is asked again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import NOTICE, WWW, click_action, dialog_visible, open_demo
from tests.support.config import demo_raw
from tests.support.live import LiveServer

pytestmark = pytest.mark.browser

PIXEL = {
    "name": "demo_pixel",
    "category": "marketing",
    "provider": "Annonsnätverket AB",
    "purpose": "Följer dig mellan webbplatser för att visa annonser.",
    "lifetime": "13 months",
    "party": "third",
}


def serve(base: Path, version: str, extra_cookies: list[dict[str, Any]], ready: bool = True) -> LiveServer:
    raw = demo_raw(server={"secret_keys": ["declaration-key"]})
    site = raw["sites"][0]
    site["notice"]["version"] = version
    site["cookies"] = [*site["cookies"], *extra_cookies]
    return LiveServer.of(base, raw, f"samtycke-{version}-{len(site['cookies'])}.toml").start(ready=ready)


def readiness_problem(server: LiveServer) -> str:
    """What /readyz reports once the consent log has made up its mind."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = httpx.get(server.url + "/readyz")
        if answer.status_code == 200 or "notice.version" in answer.text:
            return answer.text if answer.status_code != 200 else ""
        time.sleep(0.2)
    raise AssertionError(f"/readyz never settled: {httpx.get(server.url + '/readyz').text}")


def test_a_new_third_party_cookie_needs_a_new_version_and_asks_again(
    tmp_path: Path, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    page = context.new_page()
    first = serve(tmp_path, NOTICE, [])
    try:
        open_demo(page, f"http://{WWW}:{first.port}/demo")
        click_action(page, "accept-all")
    finally:
        first.stop()

    unbumped = serve(tmp_path, NOTICE, [PIXEL], ready=False)
    try:
        problem = readiness_problem(unbumped)
        consent = httpx.post(
            unbumped.url + "/api/v1/consent",
            json={
                "site_id": 1,
                "decisions": {"marketing": True},
                "method": "custom",
                "notice_version": NOTICE,
            },
            headers={"Origin": unbumped.url},
        )
    finally:
        unbumped.stop()
    assert "new cookie 'demo_pixel'" in problem and "sites[0].notice.version" in problem
    assert consent.status_code == 503, "no consent is recorded against a declaration it did not cover"

    bumped = serve(tmp_path, "2026-12-24", [PIXEL])
    try:
        open_demo(page, f"http://{WWW}:{bumped.port}/demo")
        assert dialog_visible(page), "the visitor who accepted the old declaration is asked again"
        page.click("[data-samtycke-action=settings]")
        assert "Annonsnätverket AB" in page.locator(".stk-d").inner_text()
    finally:
        bumped.stop()


def receipt_notice(page: Page) -> dict[str, Any]:
    history = page.evaluate("fetch('/api/v1/consent', { credentials: 'include' }).then((r) => r.json())")
    notice: dict[str, Any] = history["history"][-1]["receipt"]["notice"]
    return notice


def published_text(server: LiveServer, index: int) -> str:
    """The notice text the consent log published at ``index``, checked against its own sha256."""
    [row] = httpx.get(server.url + "/api/v1/log/entries", params={"start": index, "end": index + 1}).json()[
        "entries"
    ]
    text: str = row["entry"]["text"]
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == row["entry"]["sha256"]
    return text


def test_the_receipt_s_notice_hash_covers_the_declaration_the_visitor_was_shown(
    tmp_path: Path, new_context: Callable[..., BrowserContext]
) -> None:
    """A shorter lifetime is no material change, so the version stays; the text is new, and the
    receipt given after it points to that text, which holds the declaration the banner showed."""
    shown: list[dict[str, Any]] = []
    texts: list[str] = []
    for lifetime in ("3 months", "1 month"):
        raw_lifetime = {"name": "demo_ads", "lifetime": lifetime}
        server = serve_with(tmp_path, NOTICE, raw_lifetime)
        try:
            page = new_context().new_page()
            open_demo(page, f"http://{WWW}:{server.port}/demo")
            page.click("[data-samtycke-action=settings]")
            for summary in page.locator(".stk summary").all():
                summary.click()
            row = page.locator(".stk tr", has=page.locator("td:text-is('demo_ads')")).inner_text()
            click_action(page, "accept-all")
            notice = receipt_notice(page)
            shown.append({"row": row, **notice})
            page.goto(f"http://{WWW}:{server.port}/sites/1/policy?lang=sv")
            checksum = page.locator("#changes + p code").inner_text()
            assert checksum == notice["sha256"], "the policy names the text the receipt points to"
            texts.append(published_text(server, notice["log_index"]))
        finally:
            server.stop()
    before, after = shown
    assert "3 månader" in before["row"] and "1 månad" in after["row"]
    assert before["version"] == after["version"] == NOTICE
    assert before["sha256"] != after["sha256"], "the declaration the visitor saw is part of the notice"
    assert "demo_ads" in texts[0] and "3 månader" in texts[0].split("demo_ads", 1)[1].splitlines()[0]
    assert "1 månad" in texts[1].split("demo_ads", 1)[1].splitlines()[0]


def serve_with(base: Path, version: str, change: dict[str, str]) -> LiveServer:
    """The demo with one registry entry's fields changed, on the same consent log."""
    raw = demo_raw(server={"secret_keys": ["declaration-key"]})
    site = raw["sites"][0]
    site["notice"]["version"] = version
    for cookie in site["cookies"]:
        if cookie["name"] == change["name"]:
            cookie.update(change)
    name = f"samtycke-{version}-{'-'.join(change.values()).replace(' ', '')}.toml"
    return LiveServer.of(base, raw, name).start()
