"""The visitor's privacy centre, "Mina samtycken", in Chromium against a real ``samtycke serve``.

The page shows the browser's own choice and receipts, verifies a receipt against the log in
the browser (signature and audit path, with WebCrypto), and offers change, download,
withdrawal and erasure.  A proof tampered in any part is shown as a failure, and a
verification's index and tree size are held to the server's own log.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route

from consent.ledger import note
from consent.ledger.keys import parse_public_keys
from tests.browser.conftest import Site, click_action, dialog_visible, open_demo, wait_js
from tests.browser.test_banner_a11y import axe_violations
from tests.consent import rfc6962

pytestmark = pytest.mark.browser

TEXTS = {
    "sv": ("Inga samtycken än", "Den här webbläsaren har inget kvitto på ett val om cookies"),
    "en": ("No consents yet", "This browser holds no receipt of a cookie choice"),
}


def privacy(site: Site, lang: str = "sv") -> str:
    return site.url(f"/sites/1/privacy?lang={lang}")


def loaded(page: Page) -> None:
    page.wait_for_selector("#privacy[aria-busy=false]")


def api(page: Page, path: str) -> Any:
    """GET from the page itself, with the browser's cookies, as JSON."""
    return page.evaluate("async (p) => (await fetch(p, { cache: 'no-store' })).json()", path)


def choose_all(page: Page, site: Site, lang: str = "sv") -> dict[str, Any]:
    """Accept all on the privacy page's own banner; the page then shows the new receipt."""
    open_demo(page, privacy(site, lang))
    click_action(page, "accept-all")
    page.wait_for_selector("#privacy-receipts li")
    loaded(page)
    return dict(api(page, "/api/v1/consent"))


def verdict(page: Page, nth: int = 0) -> tuple[str, str]:
    item = page.locator("#privacy-receipts li").nth(nth)
    item.locator("button.verify").click()
    out = item.locator(".verdict")
    page.wait_for_selector(
        f"#privacy-receipts li:nth-child({nth + 1}) .verdict.ok, "
        f"#privacy-receipts li:nth-child({nth + 1}) .verdict.bad"
    )
    return str(out.get_attribute("class")), out.inner_text()


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_browser_without_a_receipt_is_told_so(site: Site, page: Page, lang: str) -> None:
    page.goto(privacy(site, lang))
    loaded(page)
    heading, text = TEXTS[lang]
    none = page.locator("#privacy-none")
    assert none.is_visible()
    assert heading in none.inner_text() and text in none.inner_text()
    for section in ("#privacy-current", "#privacy-actions", "#privacy-history"):
        assert page.locator(section).is_hidden()
    assert page.locator("#privacy-status").is_hidden()


def test_the_current_choice_and_every_receipt_are_shown(site: Site, page: Page) -> None:
    choose_all(page, site)
    page.locator("#privacy-actions").get_by_role("button", name="Ändra dina val").click()
    assert dialog_visible(page)
    page.click("[data-samtycke-action=settings]")
    page.uncheck("#stk-c-marketing")
    click_action(page, "save")
    page.wait_for_selector("#privacy-receipts li:nth-child(2)")
    history = api(page, "/api/v1/consent")
    receipts = [item["receipt"] for item in history["history"]]
    assert [r["event"] for r in receipts] == ["ConsentGiven", "RenewedConsentGiven"]

    items = page.locator("#privacy-receipts li")
    assert items.count() == 2
    newest, oldest = items.nth(0).inner_text(), items.nth(1).inner_text()
    assert receipts[1]["receipt_id"] in newest and receipts[0]["receipt_id"] in oldest, "newest first"
    assert "Samtycke ändrat eller förnyat" in newest and "egna val" in newest
    assert "Samtycke lämnat" in oldest and "Acceptera alla" in oldest
    assert "2026-11-01" in newest and str(receipts[1]["integrity"]["log_index"]) in newest
    assert re.search(r"Avvisad: Marknadsföring", newest)

    rows = dict(
        page.locator("#privacy-choices tr").evaluate_all(
            "(rows) => rows.map((r) => [...r.cells].map((c) => c.textContent))"
        )
    )
    assert rows == {
        "Nödvändiga": "Alltid på",
        "Inställningar": "Tillåten",
        "Statistik": "Tillåten",
        "Marknadsföring": "Avvisad",
    }
    summary = page.locator("#privacy-summary").inner_text()
    assert "gäller till" in summary and "egna val" in summary


def test_verify_proves_the_receipt_is_in_the_servers_own_log(site: Site, page: Page) -> None:
    history = choose_all(page, site, "en")
    receipt = history["history"][-1]["receipt"]
    kind, text = verdict(page)
    assert "ok" in kind, text
    found = re.search(r"at index (\d+), in the signed tree of (\d+) entries", text)
    assert found, text
    index, size = int(found.group(1)), int(found.group(2))

    own = httpx.Client(base_url=f"http://127.0.0.1:{site.port}")
    assert index == receipt["integrity"]["log_index"]
    entry = own.get("/api/v1/log/entries", params={"start": index, "end": index + 1}).json()["entries"][0]
    assert entry["entry"]["receipt_id"] == receipt["receipt_id"]
    assert entry["leaf_hash"] == receipt["integrity"]["leaf_hash"]
    assert entry["leaf_hash"] == rfc6962.leaf(rfc6962.entry_bytes(entry["entry"])).hex()
    # The tree size shown is that of a checkpoint the log signed, and the receipt is in that tree.
    keys = parse_public_keys(own.get("/api/v1/log/keys").text)
    checkpoint, _ = note.verify(own.get("/api/v1/log/checkpoint").text, keys)
    assert index < size <= checkpoint.size
    proof = own.get("/api/v1/log/inclusion", params={"leaf_index": index, "tree_size": size}).json()
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    assert rfc6962.check_inclusion(
        bytes.fromhex(entry["leaf_hash"]), index, size, path, bytes.fromhex(proof["root_hash"])
    )
    if size == checkpoint.size:
        assert checkpoint.root.hex() == proof["root_hash"]


def flip_hex(text: str) -> str:
    return ("1" if text[0] == "0" else "0") + text[1:]


def tamper_path(body: dict[str, Any]) -> dict[str, Any]:
    body["audit_path"][0] = flip_hex(body["audit_path"][0])
    return body


def tamper_index(body: dict[str, Any]) -> dict[str, Any]:
    body["leaf_index"] -= 1
    return body


def tamper_root(body: dict[str, Any]) -> dict[str, Any]:
    lines = body["note"].split("\n")
    root = bytearray(base64.b64decode(lines[2]))
    root[0] ^= 1
    lines[2] = base64.b64encode(bytes(root)).decode()
    body["note"] = "\n".join(lines)
    return body


def tamper_signature(body: dict[str, Any]) -> dict[str, Any]:
    text, _, signature = body["note"].partition("\n\n")
    dash, name, blob = signature.rstrip("\n").split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 1
    body["note"] = f"{text}\n\n{dash} {name} {base64.b64encode(bytes(raw)).decode()}\n"
    return body


@pytest.mark.parametrize(
    ("endpoint", "tamper", "reason"),
    [
        ("inclusion", tamper_path, "does not lead to the root hash of the signed checkpoint"),
        ("inclusion", tamper_index, "does not lead to the root hash of the signed checkpoint"),
        ("checkpoint", tamper_root, "does not match the log's published keys"),
        ("checkpoint", tamper_signature, "does not match the log's published keys"),
    ],
    ids=["audit-path-hash", "leaf-index", "checkpoint-root", "signature"],
)
def test_a_tampered_proof_shows_failure_never_success(
    site: Site,
    page: Page,
    endpoint: str,
    tamper: Callable[[dict[str, Any]], dict[str, Any]],
    reason: str,
) -> None:
    choose_all(page, site, "en")
    changed: list[str] = []

    def handle(route: Route) -> None:
        # Playwright's own resolver knows no *.localhost: fetch the genuine answer from 127.0.0.1.
        parts = urlsplit(route.request.url)
        genuine = route.fetch(url=f"http://127.0.0.1:{site.port}{parts.path}?{parts.query}")
        body = tamper(genuine.json())
        changed.append(route.request.url)
        route.fulfill(response=genuine, body=json.dumps(body))

    page.route(f"**/api/v1/log/{endpoint}*", handle)
    kind, text = verdict(page)
    assert changed, "the page asked for the tampered answer"
    assert "bad" in kind and "ok" not in kind.split()
    assert text.startswith("The check failed:") and reason in text, text
    assert "Verified" not in text
    page.unroute(f"**/api/v1/log/{endpoint}*")
    kind, text = verdict(page)
    assert "ok" in kind.split(), "the genuine proof still verifies"


def test_withdrawal_adds_a_receipt_and_refuses_every_category(site: Site, page: Page) -> None:
    choose_all(page, site)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/consent/withdraw")) as answer:
        page.click("#privacy-withdraw")
    assert answer.value.status == 201
    page.wait_for_load_state()
    loaded(page)
    newest = page.locator("#privacy-receipts li").first.inner_text()
    assert "Samtycke återkallat" in newest and "återkallelse" in newest
    cells = page.locator("#privacy-choices td:last-child").all_inner_texts()
    assert cells == ["Alltid på", "Avvisad", "Avvisad", "Avvisad"]
    wait_js(page, "window.samtycke && window.samtycke.get().method === 'withdraw'")
    assert api(page, "/api/v1/consent")["history"][-1]["receipt"]["event"] == "ConsentWithdrawn"


def test_erasure_explains_itself_first_and_then_destroys_the_link(site: Site, page: Page) -> None:
    history = choose_all(page, site, "en")
    consent_id = history["consent_id"]
    page.click("#privacy-erase")
    ask = page.locator("#privacy-erase-confirm")
    assert ask.is_visible()
    explained = ask.inner_text()
    for words in (
        "never rewritten",
        "crypto-shredding",
        "tombstone",
        "can still be checked",
        "cannot be undone",
    ):
        assert words in explained
    ask.get_by_role("button", name="Cancel").click()
    assert ask.is_hidden()
    assert api(page, "/api/v1/consent")["consent_id"] == consent_id, "cancelling erases nothing"

    page.click("#privacy-erase")
    with page.expect_response(lambda r: r.request.method == "DELETE") as answer:
        ask.get_by_role("button", name="Yes, erase").click()
    tombstone = answer.value.json()["tombstone"]["log_index"]
    page.wait_for_selector("#privacy-none:not([hidden])")
    assert f"tombstone at index {tombstone}" in page.locator("#privacy-status").inner_text()
    assert api(page, "/api/v1/consent")["history"] == []
    own = httpx.Client(base_url=f"http://127.0.0.1:{site.port}")
    entry = own.get("/api/v1/log/entries", params={"start": tombstone, "end": tombstone + 1}).json()
    assert entry["entries"][0]["entry"]["type"] == "tombstone"
    receipt_index = history["history"][0]["receipt"]["integrity"]["log_index"]
    covers = entry["entries"][0]["entry"]["covers"]
    assert any(a <= receipt_index <= b for a, b in covers), "the receipt stays in the log, covered"


def test_downloads_are_kantara_receipts_and_dpv(site: Site, page: Page) -> None:
    history = choose_all(page, site)
    ids = [item["receipt"]["receipt_id"] for item in history["history"]]
    with page.expect_download() as kantara:
        page.click("a[href$='format=kantara']:visible")
    receipts = json.loads(kantara.value.path().read_text(encoding="utf-8"))["consent_receipts"]
    assert [r["receipt_id"] for r in receipts] == ids
    with page.expect_download() as dpv:
        page.click("a[href$='format=dpv']:visible")
    assert "@context" in json.loads(dpv.value.path().read_text(encoding="utf-8"))


def test_the_page_makes_no_third_party_request_and_breaks_no_csp(
    site: Site, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context().new_page()
    hosts: set[str] = set()
    refused: list[str] = []
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    choose_all(page, site)
    verdict(page)
    assert hosts == {f"www.demo.localhost:{site.port}"}
    assert refused == []


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_page_has_no_axe_violations_with_a_history(
    site: Site, new_context: Callable[..., BrowserContext], lang: str
) -> None:
    page = new_context(locale="sv-SE" if lang == "sv" else "en-GB").new_page()
    choose_all(page, site, lang)
    verdict(page)
    assert axe_violations(page) == []
    page.click("#privacy-erase")
    assert axe_violations(page) == []


def test_the_policy_declaration_and_banner_link_the_page_not_the_api(site: Site, page: Page) -> None:
    page.goto(site.url("/sites/1/policy?lang=sv"))
    rights = page.locator("#rights + p + dl")
    assert "/api/v1/" not in rights.inner_html()
    assert rights.locator("a[href='/sites/1/privacy?lang=sv']").count() >= 4
    page.goto(site.url("/sites/1/cookies?lang=en"))
    assert page.locator("main a[href='/sites/1/privacy?lang=en']").inner_text() == "My consents"
    open_demo(page, site.url("/demo"))
    page.click("[data-samtycke-action=settings]")
    link = page.locator(".stk-l2 a", has_text="Mina samtycken")
    assert link.is_visible()
    link.click()
    page.wait_for_url("**/sites/1/privacy?lang=sv")
    loaded(page)
