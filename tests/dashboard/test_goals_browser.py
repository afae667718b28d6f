"""Goals and funnels in headless Chromium: a marketer makes, edits and deletes them; an auditor
reads them, cannot change them, and finds every change in the audit view.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import AUDIT_PASSWORD, AUDIT_USER, PASSWORD, USER, DashboardServer
from tests.dashboard.test_browser import axe_violations, screenshot, watched  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def log_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(base + "/dashboard/goals")
    assert "/login" in page.url, "an anonymous visitor is sent to the login form"
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
    page.wait_for_selector("#goals[data-state=ready]")


def converted(dashboard: DashboardServer, goal: str) -> int:
    answer = dashboard.query({"metrics": ["visitors"], "dimensions": ["event:goal"], "date_range": "30d"})
    return next(int(r["metrics"][0]) for r in answer["results"] if r["dimensions"][0] == goal)


def test_a_marketer_manages_goals_and_funnels_and_an_auditor_reads_the_record(
    dashboard: DashboardServer,
    watched: Any,  # noqa: F811 - the fixture
) -> None:
    one = watched()
    page = one.page
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, dashboard.url, USER, PASSWORD)
    expect(page.locator("#backfill")).to_contain_text("before it was created")
    configured = page.locator("tr[data-goal='Signed a contract']")
    expect(configured).to_contain_text("Configuration file (read-only)")
    expect(configured.get_by_role("button")).to_have_count(0)

    goal_form = page.locator("#goal-form form")
    goal_form.get_by_label("Name", exact=True).fill("Solceller")
    goal_form.get_by_label("Page pattern").fill("/solceller*")
    goal_form.get_by_role("button", name="Create").click()
    row = page.locator("tr[data-goal='Solceller']")
    expect(row).to_contain_text("Stored in samtycke")
    solar = converted(dashboard, "Solceller")
    assert solar > 0
    expect(row.locator(".conversions")).to_have_text(str(solar))
    stored = dashboard.get("/api/v1/sites/1/goals", "marketer").json()["goals"]
    made = next(g for g in stored if g["name"] == "Solceller")
    assert {k: made[k] for k in ("page", "event_category", "event_action", "event_name", "revenue")} == {
        "page": "/solceller*", "event_category": "", "event_action": "", "event_name": "", "revenue": 0.0,
    }  # fmt: skip

    funnel_form = page.locator("#funnel-form form")
    funnel_form.get_by_label("Name", exact=True).fill("Solvägen")
    steps = funnel_form.locator("fieldset.step")
    steps.nth(0).get_by_label("Page pattern").fill("/")
    steps.nth(1).get_by_label("Kind").select_option("goal")
    steps.nth(1).locator("select[name=goal]").select_option("Solceller")
    funnel_form.get_by_role("button", name="Add a step").click()
    steps.nth(2).get_by_label("Kind").select_option("event")
    steps.nth(2).get_by_label("Event category").fill("download")
    funnel_form.get_by_label("Within").select_option("window")
    funnel_form.get_by_label("Window length").fill("7")
    funnel_form.get_by_role("button", name="Create").click()
    funnel_row = page.locator("tr[data-funnel='Solvägen']")
    expect(funnel_row.locator("li")).to_have_count(3)
    listed = dashboard.get("/api/v1/sites/1/funnels", "marketer").json()["funnels"]
    saved = next(f for f in listed if f["name"] == "Solvägen")
    assert saved["steps"] == [{"page": "/"}, {"goal": "Solceller"}, {"event": {"category": "download"}}]
    assert saved["within"] == "7d"
    link = funnel_row.get_by_role("link", name="Open in statistics: Solvägen")
    assert link.get_attribute("href") == f"/dashboard?site=1&funnel={saved['id']}"
    assert axe_violations(page) == []
    screenshot(page, "goals-and-funnels.png")

    # The link opens the dashboard's funnel view with the saved funnel chosen.
    link.click()
    expect(page.locator("#funnel-pick")).to_have_value(str(saved["id"]))
    expect(page.locator("#funnel-saved")).to_contain_text("Saved funnels")
    expect(page.locator("#funnel-table tbody tr")).to_have_count(3)  # drawn: its query is done
    page.go_back()
    page.wait_for_selector("#goals[data-state=ready]")

    # Edit the goal's page; its conversions follow at once.
    row.get_by_role("button", name="Edit Solceller").click()
    editing = page.locator("#goal-form form")
    editing.get_by_label("Page pattern").fill("/laddbox*")
    editing.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("/laddbox*")
    expect(row.locator(".conversions")).to_have_text(str(converted(dashboard, "Solceller")))

    # A goal a saved funnel uses cannot go; the funnel first, then the goal.
    row.get_by_role("button", name="Delete Solceller").click()
    expect(page.locator(".status")).to_contain_text("uses it")
    assert one.problems and all("409" in problem for problem in one.problems), one.problems
    one.problems.clear()  # the refusal was the point
    funnel_row.get_by_role("button", name="Delete Solvägen").click()
    expect(funnel_row).to_have_count(0)
    row.get_by_role("button", name="Delete Solceller").click()
    expect(row).to_have_count(0)

    auditor = watched(locale="sv-SE").page
    log_in(auditor, dashboard.url, AUDIT_USER, AUDIT_PASSWORD)
    expect(auditor.locator("h1")).to_have_text("Mål och trattar")
    expect(auditor.locator("tr[data-goal='Signed a contract']")).to_have_count(1)
    expect(auditor.locator("#goals form")).to_have_count(0)
    expect(auditor.locator("#goals button")).to_have_count(0)
    expect(auditor.locator("#goals")).to_contain_text("Du kan läsa men inte ändra")
    assert axe_violations(auditor) == []
    auditor.goto(dashboard.url + "/audit")
    record = auditor.locator("#account-changes + table tbody")
    for action in ("skapade målet", "ändrade målet", "tog bort målet", "sparade tratten", "tog bort tratten"):
        expect(record.locator("tr", has_text=action).filter(has_text=USER).first).to_be_visible()
    expect(record.locator("tr", has_text="ändrade målet").first).to_contain_text(re.compile(r"/laddbox\*"))
