"""What a domain (consent, analytics) contributes to the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from starlette.routing import BaseRoute

from samtycke.storage.migrations import Migration

Task = Callable[[], Awaitable[None]]


@dataclass
class Component:
    name: str
    routes: Sequence[BaseRoute] = ()
    migrations: Sequence[Migration] = ()
    # Started at start-up, before storage is known to be up; must not need ClickHouse.
    on_startup: Sequence[Task] = ()
    # Started once ClickHouse is reachable and migrated; long-running loops are fine.
    on_storage_ready: Sequence[Task] = ()
    on_shutdown: Sequence[Task] = ()
    # Readiness checks beyond storage: name -> (ok, reason).
    readiness: dict[str, Callable[[], tuple[bool, str]]] = field(default_factory=dict)
