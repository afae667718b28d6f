"""Every dashboard and stats route, as anonymous, marketer, auditor and admin."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.routing import Route

from tests.dashboard.conftest import AUDIT_PASSWORD, AUDIT_USER, PASSWORD, USER, DashboardServer
from tests.support.tokens import bearer

# How each route is called with valid input.
CALLS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/dashboard"): {},
    ("GET", "/api/v1/stats/realtime"): {"params": {"site_id": 1}},
    ("GET", "/api/v1/stats/consent"): {"params": {"site_id": 1, "date_range": "7d"}},
    ("POST", "/api/v1/stats/query"): {"json": {"site_id": 1, "metrics": ["visitors"], "date_range": "7d"}},
    ("POST", "/api/v1/stats/funnel"): {
        "json": {
            "site_id": 1,
            "date_range": "7d",
            "within": "visit",
            "steps": [{"page": "/"}, {"page": "/kontakt*"}],
        }
    },
}
EXPECTED = {None: 401, "marketer": 200, "auditor": 403, "admin": 200}
# Goals and saved funnels, and their page: marketers and admins change them, auditors read them.
# Each change is one that can be repeated alike: goal 900 and funnel 1 are made by
# ``stored_goal_and_funnel``, goal 1 is the configuration file's, 999 is nobody's.
MANAGED_GOAL = {"id": 900, "name": "Access", "page": "/access*"}
MANAGED_FUNNEL = {"name": "Access", "steps": [{"page": "/"}, {"goal": "Access"}], "within": "visit"}
READ = {None: 401, "marketer": 200, "auditor": 200, "admin": 200}


def change(status: int) -> dict[str | None, int]:
    return {None: 401, "marketer": status, "auditor": 403, "admin": status}


GOALS, FUNNELS = "/api/v1/sites/{site_id}/goals", "/api/v1/sites/{site_id}/funnels"
MANAGED: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str | None, int]]] = {
    ("GET", "/dashboard/goals"): ("/dashboard/goals", {}, {**READ, None: 303}),
    ("GET", GOALS): ("/api/v1/sites/1/goals", {}, READ),
    ("POST", GOALS): ("/api/v1/sites/1/goals", {"json": {"name": "Signed a contract"}}, change(409)),
    ("GET", GOALS + "/{goal_id}"): ("/api/v1/sites/1/goals/1", {}, READ),
    ("PUT", GOALS + "/{goal_id}"): ("/api/v1/sites/1/goals/900", {"json": MANAGED_GOAL}, change(200)),
    ("DELETE", GOALS + "/{goal_id}"): ("/api/v1/sites/1/goals/999", {}, change(404)),
    ("GET", FUNNELS): ("/api/v1/sites/1/funnels", {}, READ),
    ("POST", FUNNELS): ("/api/v1/sites/1/funnels", {"json": MANAGED_FUNNEL}, change(409)),
    ("GET", FUNNELS + "/{funnel_id}"): ("/api/v1/sites/1/funnels/1", {}, READ),
    ("PUT", FUNNELS + "/{funnel_id}"): ("/api/v1/sites/1/funnels/1", {"json": MANAGED_FUNNEL}, change(200)),
    ("DELETE", FUNNELS + "/{funnel_id}"): ("/api/v1/sites/1/funnels/999", {}, change(404)),
}


def statistics_routes(server: DashboardServer) -> set[tuple[str, str]]:
    # Read from the running app, so a new route cannot slip past this test.
    found = set()
    for route in server.app.routes:
        if isinstance(route, Route) and (
            route.path == "/dashboard" or route.path.startswith("/api/v1/stats")
        ):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((method, route.path))
    return found


def test_every_statistics_route_is_covered(dashboard: DashboardServer) -> None:
    assert statistics_routes(dashboard) == set(CALLS)


@pytest.mark.parametrize("role", [None, "marketer", "auditor", "admin"])
@pytest.mark.parametrize(("method", "path"), sorted(CALLS))
def test_role_access(dashboard: DashboardServer, method: str, path: str, role: str | None) -> None:
    call = dashboard.get if method == "GET" else dashboard.post
    response = call(path, role, follow_redirects=False, **CALLS[(method, path)])
    expected = EXPECTED[role]
    if path == "/dashboard" and role is None:
        # People are sent to the login form and brought back afterwards.
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fdashboard"
        return
    assert response.status_code == expected, response.text
    if expected >= 400 and path.startswith("/api/"):
        assert response.json()["error"]["code"]


def managed_routes(server: DashboardServer) -> set[tuple[str, str]]:
    found = set()
    for route in server.app.routes:
        if isinstance(route, Route) and (route.path.startswith((GOALS, FUNNELS, "/dashboard/"))):
            found.update((method, route.path) for method in route.methods or () if method != "HEAD")
    return found


def test_every_goal_and_funnel_route_is_covered(dashboard: DashboardServer) -> None:
    assert managed_routes(dashboard) == set(MANAGED)


@pytest.fixture(scope="module")
def stored_goal_and_funnel(dashboard: DashboardServer) -> None:
    for path, body in (("goals", MANAGED_GOAL), ("funnels", MANAGED_FUNNEL)):
        response = dashboard.post(f"/api/v1/sites/1/{path}", "marketer", json=body)
        assert response.status_code == 201, response.text


@pytest.mark.parametrize("role", [None, "marketer", "auditor", "admin"])
@pytest.mark.parametrize(("method", "route"), sorted(MANAGED))
def test_goal_and_funnel_access(
    dashboard: DashboardServer, stored_goal_and_funnel: None, method: str, route: str, role: str | None
) -> None:
    path, call, expected = MANAGED[(method, route)]
    headers = bearer(role) if role else {}
    response = httpx.request(
        method, dashboard.url + path, headers=headers, timeout=30, follow_redirects=False, **call
    )
    assert response.status_code == expected[role], response.text
    if response.status_code >= 400:
        assert response.json()["error"]["code"]


def login(client: httpx.Client, name: str, password: str) -> None:
    response = client.post("/login", data={"name": name, "password": password, "next": "/dashboard"})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/dashboard"


def test_password_users_get_their_role(dashboard: DashboardServer) -> None:
    with httpx.Client(base_url=dashboard.url, timeout=30) as marketer:
        login(marketer, USER, PASSWORD)
        page = marketer.get("/dashboard")
        assert page.status_code == 200
        assert "dashboard-config" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert marketer.get("/api/v1/stats/realtime", params={"site_id": 1}).status_code == 200
    with httpx.Client(base_url=dashboard.url, timeout=30) as auditor:
        login(auditor, AUDIT_USER, AUDIT_PASSWORD)
        assert auditor.get("/dashboard").status_code == 403
        assert auditor.get("/api/v1/stats/consent", params={"site_id": 1}).status_code == 403


def test_a_forged_session_cookie_is_anonymous(dashboard: DashboardServer) -> None:
    cookies = {"samtycke_session": "eyJuYW1lIjoieCIsInJvbGUiOiJhZG1pbiJ9.forged.signature"}
    response = httpx.get(dashboard.url + "/dashboard", cookies=cookies, follow_redirects=False)
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/stats/realtime", {}, "site_id"),
        ("/api/v1/stats/realtime", {"site_id": "abc"}, "site_id"),
        ("/api/v1/stats/realtime", {"site_id": "99"}, "site_id"),
        ("/api/v1/stats/realtime", {"site_id": "9" * 40}, "site_id"),
        ("/api/v1/stats/consent", {"site_id": 1, "date_range": "forever"}, "date_range"),
        ("/api/v1/stats/consent", {"site_id": 1, "date_range": "2026-02-30,2026-03-01"}, "date_range"),
        ("/api/v1/stats/consent", {"site_id": 1, "date_range": "2026-03-01,2026-02-01"}, "date_range"),
        ("/api/v1/stats/consent", {"site_id": 1, "date_range": "x,y"}, "date_range"),
    ],
)
def test_bad_parameters_get_400_naming_the_field(
    dashboard: DashboardServer, path: str, params: dict[str, Any], field: str
) -> None:
    response = dashboard.get(path, "marketer", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field
