"""Who may call what, from where: each route, method, caller and origin has an expected status.

The table below holds one row per route and method of the app (the router's routes, the
direct routes it dispatches ahead of the router, and mounts); a route added without a row
fails ``test_every_route_has_a_row``.  Each row names a request with valid input and the
status it gets from samtycke's own origin, for an anonymous caller and for each role.
Roles call twice: with their bearer token, and with a session cookie (a server-side
session, signed as the login form signs it).

From a foreign origin (a page on another site, as a browser sends it) the status is the
same, with two exceptions:

- a route that checks the origin of every caller (the consent writes and preflights, the
  login form and logout) names its foreign-origin status in ``foreign``;
- a change made with the session cookie to a route that needs a login is refused with 403,
  because the cookie travels with forged requests too.  Bearer tokens do not, so a
  token's call from anywhere gets its same-origin status.

``HEAD`` is ``GET``'s twin and is expected to answer as ``GET`` does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from samtycke.auth import SESSION_COOKIE, Principal
from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.support.config import DEMO_CHOICE
from tests.support.live import wait_ready
from tests.support.tokens import ADMIN_TOKEN, TOKENS, bearer

ROLES = ("marketer", "auditor", "admin")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAME_ORIGIN = {"origin": "http://localhost", "sec-fetch-site": "same-origin"}
FOREIGN_ORIGIN = {"origin": "https://evil.example", "sec-fetch-site": "cross-site"}
# The site the demo configuration serves the banner on: a preflight comes from there.
SITE_ORIGIN = "http://demo.localhost"

HIT = {"idsite": "1", "rec": "1", "url": "http://localhost/matrix"}
PREFLIGHT = {"origin": SITE_ORIGIN, "access-control-request-method": "POST"}
FUNNEL = {
    "site_id": 1,
    "date_range": "7d",
    "within": "visit",
    "steps": [{"page": "/"}, {"goal": "Signed a contract"}],
}
RECORDED = "(the consent id of the receipt recorded first)"
MATRIX_GOAL = {"id": 900, "name": "Matrix", "page": "/matrix*"}
MATRIX_FUNNEL = {"name": "Matrix", "steps": [{"page": "/"}, {"goal": "Matrix"}], "within": "visit"}


@dataclass(frozen=True)
class Row:
    """A request with valid input and the status each caller gets from samtycke's own origin."""

    anonymous: int
    marketer: int
    auditor: int
    admin: int
    path: str = ""  # the request path, when the route's has parameters
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    data: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    foreign: int | None = None  # every caller's status from a foreign origin, for routes that check it

    def status(self, caller: str) -> int:
        return int(getattr(self, caller))


def everyone(status: int, **request: Any) -> Row:
    return Row(status, status, status, status, **request)


def logged_in(anonymous: int, marketer: int, auditor: int, admin: int, **request: Any) -> Row:
    return Row(anonymous, marketer, auditor, admin, **request)


# 401: no credentials; 403: a role that may not; 303/307: pages send the anonymous to the login form.
MATRIX: dict[tuple[str, str], Row] = {
    # The collector: anyone, from anywhere (tracking runs on the sites' pages).
    # A foreign origin's preflight is answered too, without CORS headers, so its page cannot read the answer.
    ("GET", "/matomo.php"): everyone(200, params=HIT),
    ("POST", "/matomo.php"): everyone(200, data=HIT),
    ("OPTIONS", "/matomo.php"): everyone(204, headers=PREFLIGHT),
    ("GET", "/piwik.php"): everyone(200, params=HIT),
    ("POST", "/piwik.php"): everyone(200, data=HIT),
    ("OPTIONS", "/piwik.php"): everyone(204, headers=PREFLIGHT),
    ("GET", "/matomo.js"): everyone(200),
    ("GET", "/piwik.js"): everyone(200),
    # The banner and the consent API: visitors, whose writes and preflights must come from the sites' pages.
    ("GET", "/banner.js"): everyone(200),
    ("GET", "/api/v1/sites/{site_id}/consent-config"): everyone(200, path="/api/v1/sites/1/consent-config"),
    ("OPTIONS", "/api/v1/sites/{site_id}/consent-config"): everyone(
        204, path="/api/v1/sites/1/consent-config", headers=PREFLIGHT, foreign=403
    ),
    ("POST", "/api/v1/consent"): everyone(201, json=DEMO_CHOICE, foreign=403),
    ("GET", "/api/v1/consent"): everyone(200),
    ("DELETE", "/api/v1/consent"): everyone(200, foreign=403),
    ("OPTIONS", "/api/v1/consent"): everyone(204, headers=PREFLIGHT, foreign=403),
    # Without the visitor's consent cookie there is nothing to withdraw.
    ("POST", "/api/v1/consent/withdraw"): everyone(422, json={"lang": "sv"}, foreign=403),
    ("OPTIONS", "/api/v1/consent/withdraw"): everyone(204, headers=PREFLIGHT, foreign=403),
    # The demo site is in no group, so there is no site to carry a choice to, and no code to redeem.
    ("POST", "/api/v1/consent/handoff"): everyone(422, json={"site_id": 1, "target_site_id": 1}, foreign=403),
    ("OPTIONS", "/api/v1/consent/handoff"): everyone(204, headers=PREFLIGHT, foreign=403),
    ("POST", "/api/v1/consent/handoff/redeem"): everyone(
        422, json={"code": "A" * 22, "site_id": 1}, foreign=403
    ),
    ("OPTIONS", "/api/v1/consent/handoff/redeem"): everyone(204, headers=PREFLIGHT, foreign=403),
    # A customer account's consent, for the banner with the portal's account token; the demo site
    # has not enabled accounts, so it takes no token.
    ("POST", "/api/v1/consent/account"): everyone(
        403, json={"site_id": 1, "account_token": "x"}, foreign=403
    ),
    ("OPTIONS", "/api/v1/consent/account"): everyone(204, headers=PREFLIGHT, foreign=403),
    ("GET", "/api/v1/consent/export"): everyone(200),
    ("OPTIONS", "/api/v1/consent/export"): everyone(204, headers=PREFLIGHT, foreign=403),
    ("GET", "/sites/{site_id}/cookies"): everyone(200, path="/sites/1/cookies"),
    ("GET", "/sites/{site_id}/policy"): everyone(200, path="/sites/1/policy"),
    ("GET", "/sites/{site_id}/privacy"): everyone(200, path="/sites/1/privacy"),
    ("GET", "/static"): everyone(200, path="/static/site.css"),
    # The consent log is public: anyone may check it.
    ("GET", "/api/v1/log/checkpoint"): everyone(200),
    ("GET", "/api/v1/log/inclusion"): everyone(200, params={"leaf_index": 0}),
    ("GET", "/api/v1/log/consistency"): everyone(200, params={"first": 1}),
    ("GET", "/api/v1/log/entries"): everyone(200, params={"start": 0}),
    ("GET", "/api/v1/log/keys"): everyone(200),
    # Statistics: marketers (and admins).
    ("POST", "/api/v1/stats/query"): logged_in(
        401, 200, 403, 200, json={"site_id": 1, "metrics": ["visitors"], "date_range": "7d"}
    ),
    ("POST", "/api/v1/stats/funnel"): logged_in(401, 200, 403, 200, json=FUNNEL),
    ("GET", "/api/v1/stats/realtime"): logged_in(401, 200, 403, 200, params={"site_id": 1}),
    ("GET", "/api/v1/stats/consent"): logged_in(401, 200, 403, 200, params={"site_id": 1}),
    ("GET", "/dashboard"): logged_in(303, 200, 403, 200),
    # Goals and saved funnels: marketers and admins change them, auditors read them. The stored
    # goal 900 and funnel 1 exist (``stored_goal_and_funnel``), goal 1 is the file's, 999 is
    # nobody's, so that each change can be repeated alike.
    ("GET", "/dashboard/goals"): logged_in(303, 200, 200, 200),
    ("GET", "/api/v1/sites/{site_id}/goals"): logged_in(401, 200, 200, 200, path="/api/v1/sites/1/goals"),
    ("POST", "/api/v1/sites/{site_id}/goals"): logged_in(
        401, 409, 403, 409, path="/api/v1/sites/1/goals", json={"name": "Signed a contract"}
    ),
    ("GET", "/api/v1/sites/{site_id}/goals/{goal_id}"): logged_in(
        401, 200, 200, 200, path="/api/v1/sites/1/goals/1"
    ),
    ("PUT", "/api/v1/sites/{site_id}/goals/{goal_id}"): logged_in(
        401, 200, 403, 200, path="/api/v1/sites/1/goals/900", json=MATRIX_GOAL
    ),
    ("DELETE", "/api/v1/sites/{site_id}/goals/{goal_id}"): logged_in(
        401, 404, 403, 404, path="/api/v1/sites/1/goals/999"
    ),
    ("GET", "/api/v1/sites/{site_id}/funnels"): logged_in(401, 200, 200, 200, path="/api/v1/sites/1/funnels"),
    ("POST", "/api/v1/sites/{site_id}/funnels"): logged_in(
        401, 409, 403, 409, path="/api/v1/sites/1/funnels", json=MATRIX_FUNNEL
    ),
    ("GET", "/api/v1/sites/{site_id}/funnels/{funnel_id}"): logged_in(
        401, 200, 200, 200, path="/api/v1/sites/1/funnels/1"
    ),
    ("PUT", "/api/v1/sites/{site_id}/funnels/{funnel_id}"): logged_in(
        401, 200, 403, 200, path="/api/v1/sites/1/funnels/1", json=MATRIX_FUNNEL
    ),
    ("DELETE", "/api/v1/sites/{site_id}/funnels/{funnel_id}"): logged_in(
        401, 404, 403, 404, path="/api/v1/sites/1/funnels/999"
    ),
    # A consented visitor's events: admins only.
    ("GET", "/api/v1/visitors/{visitor_id}"): logged_in(
        401, 403, 403, 200, path="/api/v1/visitors/0123456789abcdef", params={"site_id": 1}
    ),
    ("DELETE", "/api/v1/visitors/{visitor_id}"): logged_in(
        401, 403, 403, 200, path="/api/v1/visitors/0123456789abcdef", params={"site_id": 1}
    ),
    # The audit: auditors (and admins); purging receipts is the admin's.
    ("GET", "/api/v1/audit/export"): logged_in(401, 403, 200, 200),
    ("GET", "/api/v1/audit/subject"): logged_in(401, 403, 200, 200, params={"consent_id": RECORDED}),
    ("POST", "/api/v1/audit/purge"): logged_in(401, 403, 403, 200),
    ("GET", "/audit"): logged_in(303, 403, 200, 200),
    # Logging in and out, from samtycke's own pages only; ending an account's sessions is the admin's.
    ("GET", "/login"): everyone(200),
    ("POST", "/login"): everyone(303, data={"token": ADMIN_TOKEN}, foreign=403),
    ("POST", "/logout"): everyone(303, foreign=403),
    # The first-run page: only the link printed on the terminal opens it; this is not that link.
    ("GET", "/setup/{token}"): everyone(404, path="/setup/not-the-link"),
    ("POST", "/setup/{token}"): everyone(
        404,
        path="/setup/not-the-link",
        data={"name": "root", "password": "long enough, surely", "again": "long enough, surely"},
        foreign=403,
    ),
    # A backup of everything, signing keys included: the admin's alone.
    ("POST", "/api/v1/backup"): logged_in(401, 403, 403, 200),
    # Accounts: the admin's; the record of their changes is the auditor's too. "maria" is
    # an account of the store (``stored_account``), "admin" one of the configuration file,
    # and "nobody" and the token id are unknown, so that a change can be repeated alike.
    ("GET", "/api/v1/accounts"): logged_in(401, 403, 403, 200),
    ("POST", "/api/v1/accounts"): logged_in(
        401, 403, 403, 409, json={"name": "admin", "role": "marketer", "password": "long enough, surely"}
    ),
    ("GET", "/api/v1/accounts/{name}"): logged_in(401, 403, 403, 200, path="/api/v1/accounts/maria"),
    ("PATCH", "/api/v1/accounts/{name}"): logged_in(
        401, 403, 403, 200, path="/api/v1/accounts/maria", json={"disabled": False}
    ),
    ("DELETE", "/api/v1/accounts/{name}"): logged_in(401, 403, 403, 404, path="/api/v1/accounts/nobody"),
    ("PUT", "/api/v1/accounts/{name}/password"): logged_in(
        401, 403, 403, 200, path="/api/v1/accounts/maria/password", json={"password": "long enough, surely"}
    ),
    ("POST", "/api/v1/accounts/{name}/tokens"): logged_in(
        401, 403, 403, 201, path="/api/v1/accounts/maria/tokens"
    ),
    ("DELETE", "/api/v1/accounts/{name}/tokens/{token_id}"): logged_in(
        401, 403, 403, 404, path="/api/v1/accounts/maria/tokens/0123456789ab"
    ),
    ("DELETE", "/api/v1/accounts/{name}/sessions"): logged_in(
        401, 403, 403, 200, path="/api/v1/accounts/maria/sessions"
    ),
    ("GET", "/api/v1/audit/accounts"): logged_in(401, 403, 200, 200),
    # A customer account's consent, for the site's portal: its account token (a JWT) and nothing
    # else, so samtycke's own tokens and sessions, from any origin, get 401.
    ("GET", "/api/v1/accounts/consent"): everyone(401),
    ("DELETE", "/api/v1/accounts/consent"): everyone(401, foreign=401),
    ("GET", "/admin/accounts"): logged_in(303, 403, 403, 200),
    ("POST", "/admin/accounts"): logged_in(401, 403, 403, 303, data={"action": "enable", "name": "maria"}),
    # The service itself.
    ("GET", "/healthz"): everyone(200),
    ("GET", "/readyz"): everyone(200),
    ("GET", "/metrics"): everyone(200),
    ("GET", "/openapi.json"): everyone(200),
    ("GET", "/"): everyone(200),
    ("GET", "/demo"): everyone(200),
    ("GET", "/demo/embed"): everyone(200),
    ("GET", "/demo/tracker"): everyone(200),
}


def route_methods(route: BaseRoute) -> set[str]:
    """What a route answers; a mount (the static files) answers GET and HEAD."""
    if isinstance(route, Mount):
        return {"GET", "HEAD"}
    assert isinstance(route, Route), f"unexpected kind of route: {route!r}"
    return set(route.methods or ())


def route_table(app: Starlette) -> set[tuple[str, str]]:
    """Every (method, path) the app serves; HEAD is covered by GET's row."""
    return {
        (method, getattr(route, "path", ""))
        for route in app.routes
        for method in route_methods(route) - {"HEAD"}
    }


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, chdb_path: Any) -> Starlette:
    from samtycke.settings import loading
    from tests.support.config import deep_merge, demo_raw, unique_database

    raw = deep_merge(
        demo_raw(tokens=TOKENS),
        {
            "storage": {
                "clickhouse_url": f"chdb://{chdb_path}",
                "database": unique_database(),
                "data_dir": str(tmp_path_factory.mktemp("matrix")),
            },
            "journal": {"ship_interval": 0.1},
            "server": {"secret_keys": ["matrix-key"]},
        },
    )
    settings: Settings = loading.from_mapping(raw)
    return create_app(settings)


@pytest.fixture(scope="module")
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://localhost") as test_client:
        wait_ready(test_client, timeout=120)
        yield test_client


@pytest.fixture(scope="module", autouse=True)
def stored_account(app: Starlette, client: TestClient) -> None:
    """An account of the store for the accounts rows to act on."""
    accounts = app.state.services.accounts
    assert client.portal is not None
    client.portal.call(lambda: accounts.create("maria", "marketer", "long enough, surely", actor="matrix"))


@pytest.fixture(scope="module", autouse=True)
def stored_goal_and_funnel(client: TestClient) -> None:
    """A stored goal and saved funnel for their rows to act on."""
    for path, body in (("goals", MATRIX_GOAL), ("funnels", MATRIX_FUNNEL)):
        response = client.post(f"/api/v1/sites/1/{path}", json=body, headers=bearer("marketer"))
        assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def consent_id(client: TestClient) -> str:
    """One receipt in the log, so its proofs and its subject have something to show."""
    response = client.post("/api/v1/consent", json=DEMO_CHOICE)
    client.cookies.clear()
    assert response.status_code == 201, response.text
    return str(response.json()["receipt"]["subject"]["consent_id"])


def session_cookie(app: Starlette, client: TestClient, role: str) -> str:
    """A new server-side session for the role's token, its cookie signed as the login form signs it."""
    auth = app.state.services.auth
    assert client.portal is not None
    value = client.portal.call(auth.start_session, Principal(role, role))
    return str(value)


def credentials(app: Starlette, client: TestClient, caller: str, kind: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if kind == "bearer":
        return bearer(caller)
    return {"cookie": f"{SESSION_COOKIE}={session_cookie(app, client, caller)}"}


def expected(row: Row, method: str, caller: str, kind: str, origin: str) -> int:
    if origin == "same":
        return row.status(caller)
    if row.foreign is not None:
        return row.foreign
    if method in UNSAFE and kind == "cookie" and row.anonymous == 401:
        return 403
    return row.status(caller)


def cells() -> Iterator[tuple[str, str]]:
    yield "anonymous", "none"
    for role in ROLES:
        yield role, "bearer"
        yield role, "cookie"


def test_every_route_has_a_row(app: Starlette) -> None:
    table = route_table(app)
    assert sorted(table - set(MATRIX)) == [], "routes without a row in MATRIX: add what each caller gets"
    assert sorted(set(MATRIX) - table) == [], "rows for routes the app does not serve"


def test_every_get_route_answers_head(app: Starlette) -> None:
    methods = {getattr(route, "path", ""): route_methods(route) for route in app.routes}
    assert [path for path, served in methods.items() if "GET" in served and "HEAD" not in served] == []


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_each_caller_gets_the_expected_status(
    app: Starlette, client: TestClient, consent_id: str, method: str, path: str
) -> None:
    row = MATRIX[(method, path)]
    params = {name: consent_id if value == RECORDED else value for name, value in row.params.items()}
    methods = [method, "HEAD"] if method == "GET" else [method]
    wrong: dict[tuple[str, str, str, str], tuple[int, int]] = {}
    for sent in methods:
        for caller, kind in cells():
            for origin, headers in (("same", SAME_ORIGIN), ("foreign", FOREIGN_ORIGIN)):
                request_headers = {**headers, **row.headers, **credentials(app, client, caller, kind)}
                if row.json is not None:
                    request_headers["content-type"] = "application/json"
                if row.headers.get("origin"):
                    # A preflight names the page's origin; from a foreign one it names that.
                    request_headers["origin"] = (
                        row.headers["origin"] if origin == "same" else headers["origin"]
                    )
                response = client.request(
                    sent,
                    row.path or path,
                    params=params,
                    content=json.dumps(row.json) if row.json is not None else None,
                    data=row.data,
                    headers=request_headers,
                    follow_redirects=False,
                )
                client.cookies.clear()
                want = expected(row, method, caller, kind, origin)
                if response.status_code != want:
                    wrong[(sent, caller, kind, origin)] = (response.status_code, want)
    assert not wrong, "\n".join(f"{cell}: got {got}, expected {want}" for cell, (got, want) in wrong.items())


@pytest.mark.parametrize("path", sorted({path for _, path in MATRIX}))
def test_methods_a_route_does_not_serve_are_405(client: TestClient, path: str) -> None:
    served = {method for method, served_path in MATRIX if served_path == path}
    address = next(row.path or path for (_, served_path), row in MATRIX.items() if served_path == path)
    answers = {
        method: client.request(method, address, headers={**SAME_ORIGIN, **bearer("admin")}).status_code
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - served)
    }
    client.cookies.clear()
    assert answers == dict.fromkeys(answers, 405)
