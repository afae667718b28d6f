"""A newcomer's first minutes, in Chromium: from the README's first command to the dashboard and the audit.

``samtycke serve`` runs as the README starts it: in a fresh folder, with no configuration
file.  The newcomer reads the setup link from its output, creates the admin in the
browser, reaches the dashboard and the audit page without editing any file, and logs out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.test_banner_a11y import axe_violations
from tests.support.live import read_log, stop, wait_serving
from tests.support.ports import free_port

pytestmark = pytest.mark.browser

NAME, PASSWORD = "ada", "a long enough pass phrase"
LINK = re.compile(r"create one at (http://\S+/setup/\S+)")


@dataclass
class Newcomer:
    url: str
    log: Path

    def setup_link(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = LINK.search(read_log(self.log))
            if found:
                return found.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no setup link was printed:\n{read_log(self.log)}")


@pytest.fixture
def first_command(tmp_path: Path) -> Iterator[Newcomer]:
    """`samtycke serve` in an empty folder, no configuration: the built-in demo."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k not in ("SAMTYCKE_CONFIG", "SAMTYCKE_TOKEN")}
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "samtycke", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_serving(process, url + "/readyz", log)
        yield Newcomer(url, log)
    finally:
        stop(process)
    assert not (tmp_path / "samtycke.toml").exists(), "no configuration file was written"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(locale="en-GB")
    yield made
    made.close()


def test_from_the_first_command_to_the_dashboard_and_the_audit(
    first_command: Newcomer, context: BrowserContext
) -> None:
    page: Page = context.new_page()
    page.goto(first_command.url + "/")
    hint = page.locator("#setup-hint")
    assert hint.is_visible(), "the start page says where the setup link is"
    assert "/setup/" not in page.content()
    assert axe_violations(page) == []

    link = first_command.setup_link()
    page.goto(link)
    assert page.locator("h1").inner_text() == "Create the first admin account"
    assert axe_violations(page) == []
    page.get_by_label("User name").fill(NAME)
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD + " typo")
    page.get_by_role("button", name="Create the account and log in").click()
    assert page.get_by_role("alert").inner_text() == "The passwords do not match."
    assert page.get_by_label("User name").input_value() == NAME
    assert axe_violations(page) == []
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the account and log in").click()

    page.wait_for_url(first_command.url + "/")
    header = page.locator("header.top")
    assert f"Logged in as {NAME}" in header.inner_text()
    assert page.locator("#setup-hint").count() == 0
    assert axe_violations(page) == []

    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_selector("#dashboard[data-state=ready]")
    assert NAME in page.locator("header.top").inner_text()
    page.goto(first_command.url + "/audit")
    assert page.url == first_command.url + "/audit"
    assert NAME in page.locator("header.top").inner_text()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(first_command.url + "/")
    assert "Logged in as" not in page.locator("header.top").inner_text()
    page.goto(first_command.url + "/dashboard")
    assert "/login" in page.url

    used = context.new_page().goto(link)
    assert used is not None and used.status == 404, "the link worked once"
    assert PASSWORD not in read_log(first_command.log)
    assert link.rsplit("/", 1)[1] not in read_log(first_command.log).split(link)[1], (
        "printed once, never logged"
    )
