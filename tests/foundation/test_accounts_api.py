"""``/api/v1/accounts`` on real chDB: accounts, tokens and sessions an admin manages, seen by auditors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from samtycke.auth import SESSION_COOKIE
from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.support.live import wait_ready
from tests.support.tokens import ADMIN, AUDITOR, MARKETER, TOKENS, token_entries

PASSWORD = "a long enough pass phrase"
NEW_PASSWORD = "another long pass phrase"


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    app = create_app(make_settings(tokens=TOKENS))
    with TestClient(app, base_url="http://localhost") as test_client:
        wait_ready(test_client)
        yield test_client


def create(client: TestClient, name: str, role: str = "marketer", password: str = PASSWORD) -> Any:
    return client.post(
        "/api/v1/accounts", json={"name": name, "role": role, "password": password}, headers=ADMIN
    )


def log_in(client: TestClient, name: str, password: str) -> str | None:
    """The session cookie a password login gets, or None when it is refused."""
    client.cookies.clear()
    response = client.post("/login", data={"name": name, "password": password}, follow_redirects=False)
    cookie = client.cookies.get(SESSION_COOKIE) if response.status_code == 303 else None
    client.cookies.clear()
    return cookie


def logged_in(client: TestClient, cookie: str) -> bool:
    """Whether the session cookie still authenticates (a read every role may make)."""
    client.cookies.clear()
    status = client.get("/api/v1/audit/accounts", cookies={SESSION_COOKIE: cookie}).status_code
    client.cookies.clear()
    assert status in (200, 401), status
    return status == 200


def test_an_admin_creates_lists_and_reads_accounts(client: TestClient) -> None:
    response = create(client, "maria", "auditor")
    assert response.status_code == 201, response.text
    assert response.json() | {"created_at": None} == {
        "name": "maria",
        "role": "auditor",
        "kind": "user",
        "disabled": False,
        "read_only": False,
        "created_at": None,
        "tokens": [],
    }
    listed = client.get("/api/v1/accounts", headers=ADMIN)
    assert listed.headers["cache-control"] == "no-store"
    accounts = listed.json()["accounts"]
    configured = [a["name"] for a in accounts if a["read_only"]]
    assert configured == ["marketer", "auditor", "admin"], "the configuration file's tokens come first"
    assert all(a["kind"] == "token" and a["tokens"][0]["read_only"] for a in accounts if a["read_only"])
    assert [a["name"] for a in accounts if not a["read_only"]] == ["maria"]
    assert client.get("/api/v1/accounts/maria", headers=ADMIN).json()["role"] == "auditor"
    missing = client.get("/api/v1/accounts/nobody", headers=ADMIN)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "no_such_account")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"name": "maria", "role": "marketer", "password": "short"}, 422, "invalid_account", "password"),
        ({"name": "maria", "role": "owner", "password": PASSWORD}, 422, "invalid_account", "role"),
        ({"name": "<b>maria</b>", "role": "marketer", "password": PASSWORD}, 422, "invalid_account", "name"),
        ({"name": "maria", "role": "marketer"}, 422, "unprocessable", "password"),
        ({"name": "admin", "role": "marketer", "password": PASSWORD}, 409, "read_only_account", "name"),
        (["maria"], 422, "unprocessable", "body"),
    ],
)
def test_bad_input_is_refused_with_the_field(
    client: TestClient, body: Any, status: int, code: str, field: str
) -> None:
    response = client.post("/api/v1/accounts", json=body, headers=ADMIN)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


def test_a_taken_name_and_unreadable_bodies(client: TestClient) -> None:
    assert create(client, "maria").status_code == 201
    again = create(client, "maria")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "account_exists")
    garbled = client.post("/api/v1/accounts", content=b"{not json", headers=ADMIN)
    assert (garbled.status_code, garbled.json()["error"]["field"]) == (400, "body")
    flag = client.patch("/api/v1/accounts/maria", json={"disabled": "yes"}, headers=ADMIN)
    assert (flag.status_code, flag.json()["error"]["field"]) == (422, "disabled")


def test_only_admins_manage_accounts(client: TestClient) -> None:
    assert client.get("/api/v1/accounts").status_code == 401
    assert client.get("/api/v1/accounts", headers=MARKETER).status_code == 403
    assert client.get("/api/v1/accounts", headers=AUDITOR).status_code == 403
    assert create(client, "maria").status_code == 201
    response = client.post("/api/v1/accounts/maria/tokens", headers=AUDITOR)
    assert response.status_code == 403


def test_a_token_is_shown_once_works_and_stops_when_revoked(client: TestClient) -> None:
    assert create(client, "maria", "auditor").status_code == 201
    issued = client.post("/api/v1/accounts/maria/tokens", headers=ADMIN)
    assert issued.status_code == 201, issued.text
    assert issued.headers["cache-control"] == "no-store"
    token = issued.json()["token"]
    [listed] = issued.json()["tokens"]
    own = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/audit/accounts", headers=own).status_code == 200, "the auditor's token reads"
    assert client.get("/api/v1/accounts", headers=own).status_code == 403, "with the account's role only"
    shown = client.get("/api/v1/accounts", headers=ADMIN).text
    assert token not in shown and listed["id"] in shown, "listed by id, never by value"

    other = client.delete(f"/api/v1/accounts/auditor/tokens/{listed['id']}", headers=ADMIN)
    assert other.status_code == 404, "a token is revoked only through its own account"
    revoked = client.delete(f"/api/v1/accounts/maria/tokens/{listed['id']}", headers=ADMIN)
    assert revoked.json() == {"name": "maria", "token_id": listed["id"], "revoked": True}
    assert client.get("/api/v1/audit/accounts", headers=own).status_code == 401
    again = client.delete(f"/api/v1/accounts/maria/tokens/{listed['id']}", headers=ADMIN)
    assert (again.status_code, again.json()["error"]["code"]) == (404, "no_such_token")
    configured = client.get("/api/v1/accounts/admin", headers=ADMIN).json()["tokens"][0]["id"]
    refused = client.delete(f"/api/v1/accounts/admin/tokens/{configured}", headers=ADMIN)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "read_only_account")


def test_disabling_logs_out_and_stops_tokens_until_enabled(client: TestClient) -> None:
    assert create(client, "maria", "auditor").status_code == 201
    token = client.post("/api/v1/accounts/maria/tokens", headers=ADMIN).json()["token"]
    cookie = log_in(client, "maria", PASSWORD)
    assert cookie is not None and logged_in(client, cookie)

    changed = client.patch("/api/v1/accounts/maria", json={"disabled": True}, headers=ADMIN)
    assert changed.json()["disabled"] is True
    assert not logged_in(client, cookie)
    assert log_in(client, "maria", PASSWORD) is None
    assert (
        client.get("/api/v1/audit/accounts", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    refused = client.post("/api/v1/accounts/maria/tokens", headers=ADMIN)
    assert refused.status_code == 422, "a disabled account gets no new token"

    assert client.patch("/api/v1/accounts/maria", json={"disabled": False}, headers=ADMIN).status_code == 200
    assert log_in(client, "maria", PASSWORD) is not None
    configured = client.patch("/api/v1/accounts/admin", json={"disabled": True}, headers=ADMIN)
    assert (configured.status_code, configured.json()["error"]["code"]) == (409, "read_only_account")


def test_a_new_password_replaces_the_old_and_ends_sessions(client: TestClient) -> None:
    assert create(client, "maria").status_code == 201
    cookie = log_in(client, "maria", PASSWORD)
    assert cookie is not None
    short = client.put("/api/v1/accounts/maria/password", json={"password": "short"}, headers=ADMIN)
    assert (short.status_code, short.json()["error"]["field"]) == (422, "password")
    response = client.put("/api/v1/accounts/maria/password", json={"password": NEW_PASSWORD}, headers=ADMIN)
    assert response.json() == {"name": "maria", "password_set": True}
    assert not logged_in(client, cookie)
    assert log_in(client, "maria", PASSWORD) is None
    assert log_in(client, "maria", NEW_PASSWORD) is not None


def test_ending_sessions_logs_the_account_out_everywhere(client: TestClient) -> None:
    assert create(client, "maria", "auditor").status_code == 201
    cookies = [log_in(client, "maria", PASSWORD) for _ in range(2)]
    assert all(c is not None and logged_in(client, c) for c in cookies)
    response = client.delete("/api/v1/accounts/maria/sessions", headers=ADMIN)
    assert response.json() == {"name": "maria", "ended": 2}
    assert not any(logged_in(client, c) for c in cookies if c is not None)


def test_deleting_removes_the_account_and_its_tokens(client: TestClient) -> None:
    assert create(client, "maria", "auditor").status_code == 201
    token = client.post("/api/v1/accounts/maria/tokens", headers=ADMIN).json()["token"]
    assert client.delete("/api/v1/accounts/maria", headers=ADMIN).json() == {"name": "maria", "deleted": True}
    assert client.get("/api/v1/accounts/maria", headers=ADMIN).status_code == 404
    assert (
        client.get("/api/v1/audit/accounts", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    assert log_in(client, "maria", PASSWORD) is None
    assert client.delete("/api/v1/accounts/maria", headers=ADMIN).status_code == 404
    assert create(client, "maria").status_code == 201, "the name can be taken again"


def test_the_last_admin_who_can_log_in_stays(make_settings: Callable[..., Settings]) -> None:
    """Without an admin in the configuration file, the only stored admin cannot lock everyone out."""
    app = create_app(make_settings(tokens=token_entries("marketer", "auditor")))
    accounts = app.state.services.accounts
    with TestClient(app, base_url="http://localhost") as client:
        wait_ready(client)
        assert client.portal is not None
        client.portal.call(lambda: accounts.create("root", "admin", PASSWORD, actor="cli"))
        token = client.portal.call(lambda: accounts.issue_token("root", actor="cli"))
        root = {"Authorization": f"Bearer {token}"}
        for response in (
            client.delete("/api/v1/accounts/root", headers=root),
            client.patch("/api/v1/accounts/root", json={"disabled": True}, headers=root),
        ):
            assert (response.status_code, response.json()["error"]["code"]) == (409, "last_admin")
        assert create_with(client, root, "second", "admin").status_code == 201
        assert client.delete("/api/v1/accounts/root", headers=root).status_code == 200, (
            "another admin remains"
        )


def create_with(client: TestClient, headers: dict[str, str], name: str, role: str) -> Any:
    return client.post(
        "/api/v1/accounts", json={"name": name, "role": role, "password": PASSWORD}, headers=headers
    )


def test_auditors_see_every_change_and_never_a_secret(client: TestClient) -> None:
    assert create(client, "maria", "marketer").status_code == 201
    token = client.post("/api/v1/accounts/maria/tokens", headers=ADMIN).json()["token"]
    token_id = client.get("/api/v1/accounts/maria", headers=ADMIN).json()["tokens"][0]["id"]
    client.delete(f"/api/v1/accounts/maria/tokens/{token_id}", headers=ADMIN)
    client.put("/api/v1/accounts/maria/password", json={"password": NEW_PASSWORD}, headers=ADMIN)
    client.patch("/api/v1/accounts/maria", json={"disabled": True}, headers=ADMIN)
    client.patch("/api/v1/accounts/maria", json={"disabled": False}, headers=ADMIN)
    client.delete("/api/v1/accounts/maria/sessions", headers=ADMIN)
    client.delete("/api/v1/accounts/maria", headers=ADMIN)

    response = client.get("/api/v1/audit/accounts", headers=AUDITOR)
    assert response.status_code == 200
    events = response.json()["events"]
    assert [e["action"] for e in reversed(events)] == [
        "create",
        "issue_token",
        "revoke_token",
        "set_password",
        "disable",
        "enable",
        "end_sessions",
        "delete",
    ]
    assert {(e["actor"], e["target"]) for e in events} == {("admin", "maria")}
    assert all(e["at"].endswith("Z") for e in events)
    assert events[-1]["detail"] == "role=marketer" and f"token={token_id}" in events[-2]["detail"]
    for secret in (token, PASSWORD, NEW_PASSWORD):
        assert secret not in response.text
    assert (
        len(client.get("/api/v1/audit/accounts", params={"limit": 2}, headers=AUDITOR).json()["events"]) == 2
    )
    for limit in ("0", "1001", "x", "9" * 40):
        refused = client.get("/api/v1/audit/accounts", params={"limit": limit}, headers=AUDITOR)
        assert (refused.status_code, refused.json()["error"]["field"]) == (422, "limit")
    assert client.get("/api/v1/audit/accounts", headers=MARKETER).status_code == 403


def test_the_api_is_described(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/api/v1/accounts"]) == {"get", "post"}
    assert set(paths["/api/v1/accounts/{name}"]) == {"get", "patch", "delete"}
    assert set(paths["/api/v1/accounts/{name}/password"]) == {"put"}
    assert set(paths["/api/v1/accounts/{name}/tokens"]) == {"post"}
    assert set(paths["/api/v1/accounts/{name}/tokens/{token_id}"]) == {"delete"}
    assert set(paths["/api/v1/accounts/{name}/sessions"]) == {"delete"}
    assert set(paths["/api/v1/audit/accounts"]) == {"get"}
    assert "409" in paths["/api/v1/accounts"]["post"]["responses"]
