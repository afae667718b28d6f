"""The account store on real chDB: accounts and tokens in ClickHouse beside the file's, and their record."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from samtycke.accounts import (
    MIGRATIONS,
    AccountExists,
    Accounts,
    InvalidAccount,
    LastAdmin,
    NoSuchAccount,
    NoSuchToken,
    Principal,
    ReadOnlyAccount,
)
from samtycke.accounts.store import ACCOUNTS, TOKENS
from samtycke.sessions import MIGRATIONS as SESSION_MIGRATIONS
from samtycke.sessions import SessionStore
from samtycke.settings import Settings, Token, User
from samtycke.storage import Layout, Storage, migrations, parse_url
from samtycke.web.app import create_app
from tests.support.config import unique_database
from tests.support.live import wait_ready
from tests.support.tokens import ADMIN_TOKEN
from tests.support.tokens import TOKENS as CONFIG_TOKENS

T = TypeVar("T")
PASSWORD = "correct horse battery"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


class Clock:
    """Service time that moves a second per reading, so every change has its own moment."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


@pytest.fixture
def store_storage(chdb_path: Path) -> Iterator[Storage]:
    storage = Storage(parse_url(f"chdb://{chdb_path}", unique_database()))
    migrations.apply(storage, Layout(storage.database), [*SESSION_MIGRATIONS, *MIGRATIONS])
    yield storage
    storage.close()


@pytest.fixture
def make_accounts(store_storage: Storage) -> Callable[..., Accounts]:
    def make(users: list[User] | None = None, tokens: list[Token] | None = None) -> Accounts:
        clock = Clock()
        sessions = SessionStore(store_storage, clock, ready=lambda: True)
        return Accounts(store_storage, clock, sessions=sessions, users=users or [], tokens=tokens or [])

    return make


@pytest.fixture
def accounts(make_accounts: Callable[..., Accounts]) -> Accounts:
    return make_accounts()


def test_a_created_account_logs_in_with_its_password_and_only_with_it(accounts: Accounts) -> None:
    created = run(accounts.create("anna", "marketer", PASSWORD, actor="root"))
    assert (created.name, created.role, created.disabled) == ("anna", "marketer", False)
    assert not created.read_only
    assert run(accounts.verify_password("anna", PASSWORD)) == Principal("anna", "marketer")
    assert run(accounts.verify_password("anna", "wrong horse battery")) is None
    assert run(accounts.verify_password("bertil", PASSWORD)) is None


def test_only_an_argon2_hash_of_the_password_is_stored(accounts: Accounts, store_storage: Storage) -> None:
    run(accounts.create("anna", "marketer", PASSWORD, actor="root"))
    stored = store_storage.query(f"SELECT password_argon2 FROM `{ACCOUNTS}`")
    assert stored[0][0].startswith("$argon2")
    assert PASSWORD not in str(store_storage.query(f"SELECT * FROM `{ACCOUNTS}`"))


@pytest.mark.parametrize(
    ("name", "role", "password", "field"),
    [
        ("", "marketer", PASSWORD, "name"),
        ("anna\nadmin", "marketer", PASSWORD, "name"),
        ("<b>anna</b>", "marketer", PASSWORD, "name"),
        ("a" * 65, "marketer", PASSWORD, "name"),
        ("anna", "owner", PASSWORD, "role"),
        ("anna", "marketer", "short", "password"),
        ("anna", "marketer", "x" * 1025, "password"),
    ],
)
def test_unusable_names_roles_and_passwords_are_refused_naming_the_field(
    accounts: Accounts, name: str, role: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidAccount) as refused:
        run(accounts.create(name, role, password, actor="root"))
    assert refused.value.field == field
    assert run(accounts.list()) == []


def test_names_may_be_email_addresses_and_swedish(accounts: Accounts) -> None:
    run(accounts.create("åsa.öberg@example.se", "auditor", PASSWORD, actor="root"))
    assert [a.name for a in run(accounts.list())] == ["åsa.öberg@example.se"]


def test_a_name_is_taken_once(accounts: Accounts) -> None:
    run(accounts.create("anna", "marketer", PASSWORD, actor="root"))
    with pytest.raises(AccountExists):
        run(accounts.create("anna", "admin", PASSWORD, actor="root"))


def test_file_accounts_are_listed_read_only_and_their_names_cannot_be_taken(
    make_accounts: Callable[..., Accounts],
) -> None:
    file_user = User("cecilia", "auditor", PasswordHasher().hash(PASSWORD))
    accounts = make_accounts(users=[file_user], tokens=[Token(**entry) for entry in CONFIG_TOKENS])
    run(accounts.create("anna", "marketer", PASSWORD, actor="root"))
    listed = {(a.name, a.kind): a for a in run(accounts.list())}
    assert listed["cecilia", "user"].read_only and listed["cecilia", "user"].role == "auditor"
    assert listed["admin", "token"].read_only
    assert not listed["anna", "user"].read_only
    for change in (
        accounts.create("cecilia", "admin", PASSWORD, actor="root"),
        accounts.disable("cecilia", actor="root"),
        accounts.set_password("admin", PASSWORD, actor="root"),
        accounts.revoke_token("config-0", actor="root"),
    ):
        with pytest.raises(ReadOnlyAccount):
            run(change)
    assert run(accounts.verify_password("cecilia", PASSWORD)) == Principal("cecilia", "auditor")
    assert run(accounts.check_token(ADMIN_TOKEN)) == Principal("admin", "admin")
    assert [t.read_only for t in run(accounts.tokens("admin"))] == [True]


def test_a_new_password_replaces_the_old_one_and_ends_the_sessions(accounts: Accounts) -> None:
    run(accounts.create("anna", "marketer", PASSWORD, actor="root"))
    session = run(accounts.sessions.start("anna", "marketer"))
    run(accounts.set_password("anna", "a brand new passphrase", actor="root"))
    assert run(accounts.verify_password("anna", PASSWORD)) is None
    assert run(accounts.verify_password("anna", "a brand new passphrase")) == Principal("anna", "marketer")
    assert run(accounts.sessions.find(session)) is None


def test_a_disabled_account_cannot_log_in_and_its_sessions_and_tokens_end(accounts: Accounts) -> None:
    run(accounts.create("root", "admin", PASSWORD, actor="setup"))
    run(accounts.create("anna", "marketer", PASSWORD, actor="root"))
    token = run(accounts.issue_token("anna", actor="root"))
    session = run(accounts.sessions.start("anna", "marketer"))
    assert run(accounts.check_token(token)) == Principal("anna", "marketer")

    run(accounts.disable("anna", actor="root"))
    assert run(accounts.verify_password("anna", PASSWORD)) is None
    assert run(accounts.check_token(token)) is None
    assert run(accounts.sessions.find(session)) is None
    assert [a.disabled for a in run(accounts.list()) if a.name == "anna"] == [True]
    with pytest.raises(InvalidAccount):
        run(accounts.issue_token("anna", actor="root"))

    run(accounts.enable("anna", actor="root"))
    assert run(accounts.verify_password("anna", PASSWORD)) == Principal("anna", "marketer")
    assert run(accounts.check_token(token)) == Principal("anna", "marketer")


def test_a_deleted_account_is_gone_with_its_tokens_and_its_name_is_free_again(accounts: Accounts) -> None:
    run(accounts.create("root", "admin", PASSWORD, actor="setup"))
    run(accounts.create("anna", "marketer", PASSWORD, actor="root"))
    token = run(accounts.issue_token("anna", actor="root"))
    session = run(accounts.sessions.start("anna", "marketer"))
    run(accounts.delete("anna", actor="root"))
    assert [a.name for a in run(accounts.list())] == ["root"]
    assert run(accounts.verify_password("anna", PASSWORD)) is None
    assert run(accounts.check_token(token)) is None
    assert run(accounts.sessions.find(session)) is None
    with pytest.raises(NoSuchAccount):
        run(accounts.delete("anna", actor="root"))

    run(accounts.create("anna", "auditor", "another passphrase", actor="root"))
    assert run(accounts.verify_password("anna", "another passphrase")) == Principal("anna", "auditor")
    assert run(accounts.check_token(token)) is None  # the old account's token stays dead
    assert run(accounts.tokens("anna")) == []


def test_tokens_are_shown_once_kept_as_sha256_listed_and_revoked(
    accounts: Accounts, store_storage: Storage
) -> None:
    run(accounts.create("anna", "auditor", PASSWORD, actor="root"))
    first = run(accounts.issue_token("anna", actor="root"))
    second = run(accounts.issue_token("anna", actor="root"))
    assert first != second
    assert first not in str(store_storage.query(f"SELECT * FROM `{TOKENS}`"))
    listed = run(accounts.tokens("anna"))
    assert len(listed) == 2 and not any(t.read_only for t in listed)
    assert run(accounts.check_token(second)) == Principal("anna", "auditor")

    revoked = listed[0].id  # listed oldest first: the first token issued
    run(accounts.revoke_token(revoked, actor="root"))
    assert [t.id for t in run(accounts.tokens("anna"))] == [listed[1].id]
    assert run(accounts.check_token(first)) is None
    assert run(accounts.check_token(second)) == Principal("anna", "auditor")
    with pytest.raises(NoSuchToken):
        run(accounts.revoke_token(revoked, actor="root"))
    assert run(accounts.check_token("not-a-token")) is None


def test_the_last_admin_who_can_log_in_stays(accounts: Accounts) -> None:
    run(accounts.create("root", "admin", PASSWORD, actor="setup"))
    for change in (accounts.disable("root", actor="root"), accounts.delete("root", actor="root")):
        with pytest.raises(LastAdmin):
            run(change)
    run(accounts.create("second", "admin", PASSWORD, actor="root"))
    run(accounts.disable("root", actor="second"))
    with pytest.raises(LastAdmin):
        run(accounts.delete("second", actor="second"))


def test_an_admin_in_the_file_lets_the_last_stored_admin_go(make_accounts: Callable[..., Accounts]) -> None:
    accounts = make_accounts(tokens=[Token(**entry) for entry in CONFIG_TOKENS])
    run(accounts.create("root", "admin", PASSWORD, actor="setup"))
    run(accounts.delete("root", actor="admin"))
    assert run(accounts.any_admin())


def test_any_admin_counts_admins_who_can_log_in(make_accounts: Callable[..., Accounts]) -> None:
    accounts = make_accounts()
    assert not run(accounts.any_admin())
    run(accounts.create("anna", "marketer", PASSWORD, actor="cli"))
    assert not run(accounts.any_admin())
    run(accounts.create("root", "admin", PASSWORD, actor="cli"))
    assert run(accounts.any_admin())
    file_admin = User("cecilia", "admin", PasswordHasher().hash(PASSWORD))
    assert run(make_accounts(users=[file_admin]).any_admin())


def test_every_change_is_recorded_with_actor_and_never_a_secret(accounts: Accounts) -> None:
    run(accounts.create("root", "admin", PASSWORD, actor="setup"))
    run(accounts.create("anna", "marketer", PASSWORD, actor="root"))
    run(accounts.set_password("anna", "a brand new passphrase", actor="root"))
    token = run(accounts.issue_token("anna", actor="root"))
    token_id = run(accounts.tokens("anna"))[0].id
    run(accounts.revoke_token(token_id, actor="root"))
    run(accounts.disable("anna", actor="root"))
    run(accounts.enable("anna", actor="root"))
    run(accounts.delete("anna", actor="root"))
    events = run(accounts.events.recent(100))
    assert [(e.actor, e.action, e.target) for e in events] == [
        ("root", "delete", "anna"),
        ("root", "enable", "anna"),
        ("root", "disable", "anna"),
        ("root", "revoke_token", "anna"),
        ("root", "issue_token", "anna"),
        ("root", "set_password", "anna"),
        ("root", "create", "anna"),
        ("setup", "create", "root"),
    ]
    assert events[-1].detail == "role=admin" and events[3].detail == f"token={token_id}"
    assert all(e.at.tzinfo is not None for e in events)
    text = repr(events)
    assert PASSWORD not in text and "a brand new passphrase" not in text and token not in text
    assert len(run(accounts.events.recent(2))) == 2


def test_a_refused_change_is_not_recorded(accounts: Accounts) -> None:
    with pytest.raises(NoSuchAccount):
        run(accounts.disable("nobody", actor="root"))
    assert run(accounts.events.recent(10)) == []


def test_another_instance_sees_the_same_accounts(make_accounts: Callable[..., Accounts]) -> None:
    one, other = make_accounts(), make_accounts()
    run(one.create("anna", "marketer", PASSWORD, actor="root"))
    token = run(one.issue_token("anna", actor="root"))
    assert run(other.verify_password("anna", PASSWORD)) == Principal("anna", "marketer")
    assert run(other.check_token(token)) == Principal("anna", "marketer")


def test_the_service_lets_stored_accounts_in_by_password_and_token(settings: Settings) -> None:
    app = create_app(settings)
    accounts = app.state.services.accounts
    with TestClient(app, base_url="http://localhost") as client:
        wait_ready(client)
        assert client.portal is not None
        client.portal.call(lambda: accounts.create("root", "admin", PASSWORD, actor="setup"))
        client.portal.call(lambda: accounts.create("greta", "auditor", PASSWORD, actor="root"))
        token = client.portal.call(lambda: accounts.issue_token("greta", actor="root"))
        bearer = {"authorization": f"Bearer {token}"}
        assert client.get("/api/v1/audit/export", headers=bearer).status_code == 200
        assert client.post("/api/v1/stats/query", headers=bearer, json={}).status_code == 403

        form = {"name": "greta", "password": PASSWORD}
        assert client.post("/login", data=form, follow_redirects=False).status_code == 303
        assert client.get("/audit", follow_redirects=False).status_code == 200

        client.portal.call(lambda: accounts.disable("greta", actor="root"))
        assert client.get("/audit", follow_redirects=False).status_code == 303, "the session ended"
        assert client.get("/api/v1/audit/export", headers=bearer).status_code == 401
        client.cookies.clear()
        assert client.post("/login", data=form, follow_redirects=False).status_code == 401
