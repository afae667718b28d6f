"""The generated cookie declaration and policy, in both languages, over HTTP and in Chromium."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser
from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.enforcement.servers import serve
from tests.support.live import wait_ready
from tests.support.paths import ARTIFACTS

RIGHTS = {
    "sv": ["tillgång", "rättelse", "radering", "begränsning", "invändning", "dataportabilitet", "återkalla"],
    "en": ["access", "rectification", "erasure", "restriction", "object", "portability", "withdraw"],
}


@pytest.fixture
def pages(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings()), base_url="http://localhost") as client:
        wait_ready(client)
        yield client


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_policy_covers_what_swedish_utilities_cover(pages: TestClient, lang: str) -> None:
    html = pages.get(f"/sites/1/policy?lang={lang}").text
    for needle in [
        "Demo Energi AB",
        "556000-0000",
        "dataskyddsombud@demo-energi.example",
        "Integritetsskyddsmyndigheten",
        "2026-11-01",
        f'href="/sites/1/privacy?lang={lang}"',  # access, rectification, erasure, portability, withdrawal
        "192.168.0.0",  # mask level 2 from the settings
        *RIGHTS[lang],
    ]:
        assert needle in html, needle
    assert "/api/v1/" not in html, "the rights lead to the visitor's privacy page, not to raw API paths"
    if lang == "sv":
        assert "Senast uppdaterad" in html and "Sessionscookie" in html and "Tredjepartscookie" in html
        assert "Vi använder aldrig berättigat intresse" in html
    else:
        assert "Last revised" in html and "never rely on legitimate interest" in html


def test_declaration_as_page_fragment_and_json(pages: TestClient) -> None:
    page = pages.get("/sites/1/cookies?lang=sv")
    assert page.status_code == 200 and "<html" in page.text and "Marknadsföring" in page.text
    fragment = pages.get("/sites/1/cookies?lang=en&format=fragment").text
    assert "<html" not in fragment and 'class="samtycke-declaration"' in fragment
    data = pages.get("/sites/1/cookies?lang=en", headers={"Accept": "application/json"}).json()
    groups = {g["id"]: g for g in data["categories"]}
    ads = {c["name"]: c for c in groups["marketing"]["cookies"]}["demo_ads"]
    assert (ads["party"], ads["session"], ads["lifetime"]) == ("third", False, "3 months")
    necessary = groups["necessary"]["cookies"]
    assert all(c["justification"] for c in necessary)
    assert data["last_revised"] == "2026-11-01"


def test_bad_requests_get_clear_errors(pages: TestClient) -> None:
    assert pages.get("/sites/99/cookies").status_code == 404
    assert pages.get("/sites/abc/policy").status_code == 404
    wrong = pages.get("/sites/1/cookies?format=pdf", headers={"Accept": "application/json"})
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "format"


@pytest.mark.browser
def test_pages_render_in_chromium(make_settings: Callable[..., Settings], browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    app = create_app(make_settings())
    with serve(app, lifespan="on") as url:
        context = browser.new_context()
        page = context.new_page()
        for lang in ("sv", "en"):
            for kind in ("policy", "cookies"):
                page.goto(f"{url}/sites/1/{kind}?lang={lang}")
                assert page.locator("h1").inner_text().endswith("Demo Energi")
                assert page.evaluate("document.documentElement.lang") == lang
                page.screenshot(path=str(ARTIFACTS / f"{kind}-{lang}.png"), full_page=True)
        context.close()
