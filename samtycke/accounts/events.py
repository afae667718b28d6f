"""The change record: every change to an account or token, and to settings people make in
samtycke (a site's goals and saved funnels), for auditors.

Who did it (the actor: an account name, ``setup`` for the first-run page, ``cli`` for
``samtycke account``), what (``create``, ``set_password``, ``disable``, ``enable``,
``delete``, ``issue_token``, ``revoke_token``; ``create_goal``, ``update_goal``,
``delete_goal`` and the same for funnels), to whom or what (an account, or e.g.
``site 1 goal 7``), when, and a detail that is never a secret (the role given, a token's
id, a goal's definition before and after as JSON).  Rows are only ever added: the record
of an account or a goal outlives it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from samtycke.storage import Storage, Table

EVENTS = "account_events"
MAX_RECENT = 1000
TIME = "DateTime64(3, 'UTC')"
TABLE = Table(
    name=EVENTS,
    columns=(
        ("at", TIME),
        ("actor", "String"),
        ("action", "LowCardinality(String)"),
        ("target", "String"),
        ("detail", "String"),
    ),
    order_by="(at, target)",
    journalled=False,
)
COLUMNS = tuple(name for name, _ in TABLE.columns)


@dataclass(frozen=True)
class AccountEvent:
    at: datetime
    actor: str
    action: str
    target: str
    detail: str


class AccountEvents:
    def __init__(self, storage: Storage, now: Callable[[], datetime]) -> None:
        self.storage = storage
        self.now = now

    async def record(self, actor: str, action: str, target: str, detail: str = "") -> None:
        row = (self.now(), actor, action, target, detail)
        await run_in_threadpool(self.storage.insert_rows, EVENTS, [row], COLUMNS)

    async def recent(self, limit: int = 100) -> list[AccountEvent]:
        """The latest ``limit`` events (at most ``MAX_RECENT``), newest first."""
        rows = await self.storage.aquery(
            f"SELECT at, actor, action, target, detail FROM `{EVENTS}` "
            "ORDER BY at DESC LIMIT {limit:UInt32}",
            {"limit": max(0, min(limit, MAX_RECENT))},
        )
        return [
            AccountEvent(_utc(at), str(actor), str(action), str(target), str(detail))
            for at, actor, action, target, detail in rows
        ]


def _utc(moment: datetime) -> datetime:
    # The driver may hand back UTC times without their zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
