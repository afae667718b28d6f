"""The bearer tokens tests configure: one known token per role, its ``[[tokens]]`` entry, its headers."""

from __future__ import annotations

from samtycke.auth import ROLES, hash_token

MARKETER_TOKEN = "marketer-token-for-tests"
AUDITOR_TOKEN = "auditor-token-for-tests"
ADMIN_TOKEN = "admin-token-for-tests"
TOKEN_OF = {"marketer": MARKETER_TOKEN, "auditor": AUDITOR_TOKEN, "admin": ADMIN_TOKEN}


def token_entries(*roles: str) -> list[dict[str, str]]:
    """``[[tokens]]`` entries, named after their role, for these roles (all of them when none is named)."""
    return [{"name": role, "role": role, "sha256": hash_token(TOKEN_OF[role])} for role in roles or ROLES]


def bearer(role: str) -> dict[str, str]:
    """Request headers that authenticate with the role's token."""
    return {"Authorization": f"Bearer {TOKEN_OF[role]}"}


# Every role's token, for settings that should accept any of them.
TOKENS = token_entries()
MARKETER = bearer("marketer")
AUDITOR = bearer("auditor")
ADMIN = bearer("admin")
