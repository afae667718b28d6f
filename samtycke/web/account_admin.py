"""Account administration as the web sees it: what the accounts API and page share.

Both call the account store (``samtycke.accounts``) through ``AccountAdmin``, which names
the caller as the actor of every change, turns refusals into HTTP errors in one place
(``samtycke.web.errors.from_account_error``), records ending an account's sessions beside
the store's own changes, and lists each account with its tokens (by id, never by value).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from samtycke.accounts import Account, AccountError, AccountEvent, Accounts, TokenInfo
from samtycke.accounts.model import MAX_NAME
from samtycke.auth import Principal
from samtycke.services import Services
from samtycke.web.errors import NotFound, Unprocessable, from_account_error

T = TypeVar("T")


@dataclass(frozen=True)
class Listed:
    """An account as shown: the account and its live tokens."""

    account: Account
    tokens: list[TokenInfo]


def utc_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def account_json(listed: Listed) -> dict[str, Any]:
    account = listed.account
    return {
        "name": account.name,
        "role": account.role,
        "kind": account.kind,
        "disabled": account.disabled,
        "read_only": account.read_only,
        "created_at": utc_text(account.created_at),
        "tokens": [
            {"id": t.id, "created_at": utc_text(t.created_at), "read_only": t.read_only}
            for t in listed.tokens
        ],
    }


def event_json(event: AccountEvent) -> dict[str, Any]:
    return {
        "at": utc_text(event.at),
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "detail": event.detail,
    }


def checked_name(name: str) -> str:
    """A name from the address: bounded before it goes anywhere."""
    if not 0 < len(name) <= MAX_NAME:
        raise Unprocessable(f"a user name has 1 to {MAX_NAME} characters", field="name")
    return name


class AccountAdmin:
    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def store(self) -> Accounts:
        return self.services.accounts

    async def _refusals_answered(self, change: Awaitable[T]) -> T:
        try:
            return await change
        except AccountError as exc:
            raise from_account_error(exc) from exc

    async def listed(self) -> list[Listed]:
        accounts: list[Account] = await self.store.list()
        # A [[tokens]] entry and a [[users]] entry may share a name; its tokens are listed once.
        tokens: dict[str, list[TokenInfo]] = {}
        for account in accounts:
            if account.name not in tokens:
                tokens[account.name] = await self.store.tokens(account.name)
        shown: set[str] = set()
        listed = []
        for account in accounts:
            own = [] if account.name in shown else tokens[account.name]
            shown.add(account.name)
            listed.append(Listed(account, own))
        return listed

    async def one(self, name: str) -> Listed:
        checked_name(name)
        for listed in await self.listed():
            if listed.account.name == name:
                return listed
        raise NotFound(f"no account named {name!r}", field="name", code="no_such_account")

    async def create(self, name: str, role: str, password: str, *, actor: Principal) -> Listed:
        account = await self._refusals_answered(self.store.create(name, role, password, actor=actor.name))
        return Listed(account, [])

    async def set_disabled(self, name: str, disabled: bool, *, actor: Principal) -> None:
        change = self.store.disable if disabled else self.store.enable
        await self._refusals_answered(change(checked_name(name), actor=actor.name))

    async def delete(self, name: str, *, actor: Principal) -> None:
        await self._refusals_answered(self.store.delete(checked_name(name), actor=actor.name))

    async def set_password(self, name: str, password: str, *, actor: Principal) -> None:
        await self._refusals_answered(self.store.set_password(checked_name(name), password, actor=actor.name))

    async def issue_token(self, name: str, *, actor: Principal) -> str:
        return await self._refusals_answered(self.store.issue_token(checked_name(name), actor=actor.name))

    async def revoke_token(self, name: str, token_id: str, *, actor: Principal) -> None:
        """Revoke a token of this account; another account's token of that id is not found here."""
        owned = await self._refusals_answered(self.store.tokens(checked_name(name)))
        if not any(token.id == token_id for token in owned):
            raise NotFound(
                f"{name!r} has no live token {token_id[:64]!r}", field="token", code="no_such_token"
            )
        await self._refusals_answered(self.store.revoke_token(token_id, actor=actor.name))

    async def end_sessions(self, name: str, *, actor: Principal) -> int:
        """Log the account out everywhere; recorded like every other account change."""
        ended = await self.services.auth.sessions.end_all(checked_name(name))
        await self.store.events.record(actor.name, "end_sessions", name, f"sessions={ended}")
        return ended
