"""Stored goals and saved funnels: reads, changes and the record of every change.

A site's goals are those of the configuration file (read-only here) followed by the stored
ones.  Names are unique per site (ignoring case) and so are goal ids, which are Matomo's
``idgoal``: a new goal takes the next id above every goal the site ever had, so trackers
that send an old, deleted goal's id never convert on a new goal.  A saved funnel's goal
steps name goals that exist, and a goal a saved funnel uses cannot be renamed or deleted.

Every change is one row (``analytics.managed.tables``) and one entry in the change record
auditors read (``samtycke.accounts.events``): who, when, what, with the definition before
and after.  The statistics read a site's stored goals at every query; they are cached
in-process for ``CACHE_SECONDS``, and this instance forgets its cache of a site at once
when it changes one of its goals (another instance within that time).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from analytics.managed.definitions import FunnelDefinition, GoalDefinition, stored_steps
from analytics.managed.tables import FUNNEL_COLUMNS, FUNNELS, GOAL_COLUMNS, GOALS
from samtycke.accounts.events import AccountEvents
from samtycke.settings import Goal, Site
from samtycke.storage import Storage

CACHE_SECONDS = 5.0
MAX_GOALS = 100  # stored goals per site; each adds a condition to every goal query
MAX_FUNNELS = 50  # saved funnels per site


class DefinitionError(Exception):
    """A change the current goals and funnels do not allow; ``field`` names the member."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NoSuchDefinition(DefinitionError):
    pass


class ReadOnlyDefinition(DefinitionError):
    pass


class DefinitionConflict(DefinitionError):
    """A name or id taken, a limit reached, or a goal a saved funnel uses."""


class UnknownGoal(DefinitionError):
    pass


@dataclass(frozen=True)
class Changed:
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    version: int

    def as_json(self) -> dict[str, Any]:
        return {
            "created_by": self.created_by,
            "created_at": _iso(self.created_at),
            "updated_by": self.updated_by,
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True)
class StoredGoal:
    site_id: int
    id: int
    definition: GoalDefinition
    changed: Changed
    deleted: bool = False

    def goal(self) -> Goal:
        d = self.definition
        return Goal(
            id=self.id,
            name=d.name,
            page=d.page,
            event_category=d.event_category,
            event_action=d.event_action,
            event_name=d.event_name,
            revenue=d.revenue,
        )

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.definition.as_json(), "source": "stored", **self.changed.as_json()}


@dataclass(frozen=True)
class SavedFunnel:
    site_id: int
    id: int
    definition: FunnelDefinition
    changed: Changed
    deleted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.definition.as_json(), "source": "stored", **self.changed.as_json()}


def config_goal_json(goal: Goal) -> dict[str, Any]:
    return {
        "id": goal.id,
        "name": goal.name,
        "page": goal.page,
        "event_category": goal.event_category,
        "event_action": goal.event_action,
        "event_name": goal.event_name,
        "revenue": float(goal.revenue),
        "source": "config",
        "created_by": None,
        "created_at": None,
        "updated_by": None,
        "updated_at": None,
    }


_registry: weakref.WeakKeyDictionary[Storage, Definitions] = weakref.WeakKeyDictionary()


def for_storage(storage: Storage, events: AccountEvents, now: Callable[[], datetime]) -> Definitions:
    """The one ``Definitions`` of a running app, so every part of it shares one cache."""
    found = _registry.get(storage)
    if found is None:
        found = _registry[storage] = Definitions(storage, events, now)
    return found


class Definitions:
    def __init__(
        self,
        storage: Storage,
        events: AccountEvents,
        now: Callable[[], datetime],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.events = events
        self.now = now
        self.clock = clock
        self._goal_cache: dict[int, tuple[float, list[StoredGoal]]] = {}
        # One change at a time in this process, so "is the name free" still holds when written.
        self._changing = asyncio.Lock()

    # -- reads ---------------------------------------------------------------------------------------

    async def site(self, site: Site) -> Site:
        """``site`` with its stored goals after those of the configuration file."""
        stored = await self.goals(site.id)
        if not stored:
            return site
        return dataclasses.replace(site, goals=[*site.goals, *(g.goal() for g in stored)])

    async def goals(self, site_id: int) -> list[StoredGoal]:
        cached = self._goal_cache.get(site_id)
        if cached is not None and self.clock() - cached[0] < CACHE_SECONDS:
            return cached[1]
        live = [g for g in await self._goal_rows(site_id) if not g.deleted]
        self._goal_cache[site_id] = (self.clock(), live)
        return live

    async def funnels(self, site_id: int) -> list[SavedFunnel]:
        return [f for f in await self._funnel_rows(site_id) if not f.deleted]

    # -- goals ---------------------------------------------------------------------------------------

    async def create_goal(self, site: Site, definition: GoalDefinition, actor: str) -> StoredGoal:
        async with self._changing:
            rows = await self._goal_rows(site.id)
            live = [g for g in rows if not g.deleted]
            if len(live) >= MAX_GOALS:
                raise DefinitionConflict(f"a site has at most {MAX_GOALS} stored goals")
            self._check_goal_name(site, live, definition.name, None)
            goal_id = definition.id
            if goal_id is None:
                goal_id = 1 + max([0, *(g.id for g in site.goals), *(g.id for g in rows)])
            elif any(g.id == goal_id for g in site.goals) or any(g.id == goal_id for g in live):
                raise DefinitionConflict(f"goal id {goal_id} is taken", field="id")
            current = next((g for g in rows if g.id == goal_id), None)
            at = self.now()
            changed = Changed(actor, at, actor, at, self._version(current.changed if current else None))
            created = StoredGoal(site.id, goal_id, dataclasses.replace(definition, id=goal_id), changed)
            await self._write_goal(created)
            await self._record(actor, "create_goal", site.id, "goal", created.id, None, definition.as_json())
            return created

    async def update_goal(
        self, site: Site, goal_id: int, definition: GoalDefinition, actor: str
    ) -> StoredGoal:
        self._not_configured_goal(site, goal_id)
        async with self._changing:
            live = [g for g in await self._goal_rows(site.id) if not g.deleted]
            current = _find(live, goal_id, "goal")
            if definition.id not in (None, goal_id):
                raise DefinitionConflict("a goal's id cannot change; create a new goal", field="id")
            self._check_goal_name(site, live, definition.name, goal_id)
            if definition.name != current.definition.name:
                await self._not_in_funnels(site.id, current.definition.name, "renamed")
            changed = dataclasses.replace(
                current.changed,
                updated_by=actor,
                updated_at=self.now(),
                version=self._version(current.changed),
            )
            updated = StoredGoal(site.id, goal_id, dataclasses.replace(definition, id=goal_id), changed)
            await self._write_goal(updated)
            before, after = current.definition.as_json(), definition.as_json()
            await self._record(actor, "update_goal", site.id, "goal", goal_id, before, after)
            return updated

    async def delete_goal(self, site: Site, goal_id: int, actor: str) -> None:
        self._not_configured_goal(site, goal_id)
        async with self._changing:
            current = _find([g for g in await self._goal_rows(site.id) if not g.deleted], goal_id, "goal")
            await self._not_in_funnels(site.id, current.definition.name, "deleted")
            changed = dataclasses.replace(
                current.changed,
                updated_by=actor,
                updated_at=self.now(),
                version=self._version(current.changed),
            )
            await self._write_goal(dataclasses.replace(current, changed=changed, deleted=True))
            before = current.definition.as_json()
            await self._record(actor, "delete_goal", site.id, "goal", goal_id, before, None)

    # -- funnels -------------------------------------------------------------------------------------

    async def create_funnel(self, site: Site, definition: FunnelDefinition, actor: str) -> SavedFunnel:
        async with self._changing:
            rows = await self._funnel_rows(site.id)
            live = [f for f in rows if not f.deleted]
            if len(live) >= MAX_FUNNELS:
                raise DefinitionConflict(f"a site has at most {MAX_FUNNELS} saved funnels")
            _check_funnel_name(live, definition.name, None)
            await self._check_goal_steps(site, definition)
            funnel_id = 1 + max([0, *(f.id for f in rows)])
            at = self.now()
            created = SavedFunnel(
                site.id, funnel_id, definition, Changed(actor, at, actor, at, self._version(None))
            )
            await self._write_funnel(created)
            await self._record(
                actor, "create_funnel", site.id, "funnel", funnel_id, None, definition.as_json()
            )
            return created

    async def update_funnel(
        self, site: Site, funnel_id: int, definition: FunnelDefinition, actor: str
    ) -> SavedFunnel:
        async with self._changing:
            live = [f for f in await self._funnel_rows(site.id) if not f.deleted]
            current = _find(live, funnel_id, "funnel")
            _check_funnel_name(live, definition.name, funnel_id)
            await self._check_goal_steps(site, definition)
            changed = dataclasses.replace(
                current.changed,
                updated_by=actor,
                updated_at=self.now(),
                version=self._version(current.changed),
            )
            updated = SavedFunnel(site.id, funnel_id, definition, changed)
            await self._write_funnel(updated)
            before, after = current.definition.as_json(), definition.as_json()
            await self._record(actor, "update_funnel", site.id, "funnel", funnel_id, before, after)
            return updated

    async def delete_funnel(self, site: Site, funnel_id: int, actor: str) -> None:
        async with self._changing:
            current = _find(
                [f for f in await self._funnel_rows(site.id) if not f.deleted], funnel_id, "funnel"
            )
            changed = dataclasses.replace(
                current.changed,
                updated_by=actor,
                updated_at=self.now(),
                version=self._version(current.changed),
            )
            await self._write_funnel(dataclasses.replace(current, changed=changed, deleted=True))
            before = current.definition.as_json()
            await self._record(actor, "delete_funnel", site.id, "funnel", funnel_id, before, None)

    # -- rules ---------------------------------------------------------------------------------------

    def _not_configured_goal(self, site: Site, goal_id: int) -> None:
        if any(goal.id == goal_id for goal in site.goals):
            raise ReadOnlyDefinition(
                f"goal {goal_id} is in the configuration file (sites[].goals); change it there", field="id"
            )

    def _check_goal_name(self, site: Site, live: list[StoredGoal], name: str, own_id: int | None) -> None:
        wanted = name.casefold()
        configured = any(goal.name.casefold() == wanted for goal in site.goals)
        stored = any(g.definition.name.casefold() == wanted and g.id != own_id for g in live)
        if configured or stored:
            raise DefinitionConflict(f"the site has a goal named {name!r}", field="name")

    async def _not_in_funnels(self, site_id: int, name: str, what: str) -> None:
        users = [f.definition.name for f in await self.funnels(site_id) if name in f.definition.goal_names()]
        if users:
            raise DefinitionConflict(
                f"goal {name!r} cannot be {what}: the saved funnel {users[0]!r} uses it; "
                "change the funnel first",
                field="name",
            )

    async def _check_goal_steps(self, site: Site, definition: FunnelDefinition) -> None:
        known = {goal.name for goal in site.goals} | {
            g.definition.name for g in await self._fresh_goals(site.id)
        }
        for index, step in enumerate(definition.steps):
            if step.kind == "goal" and step.goal not in known:
                raise UnknownGoal(f"the site has no goal named {step.goal!r}", field=f"steps[{index}].goal")

    # -- storage -------------------------------------------------------------------------------------

    async def _fresh_goals(self, site_id: int) -> list[StoredGoal]:
        self._goal_cache.pop(site_id, None)
        return await self.goals(site_id)

    async def _goal_rows(self, site_id: int) -> list[StoredGoal]:
        latest = ", ".join(f"argMax({c}, version)" for c in GOAL_COLUMNS[2:-1])
        rows = await self.storage.aquery(
            f"SELECT id, {latest}, max(version) FROM `{GOALS}` WHERE site_id = {{site:UInt32}} "
            "GROUP BY id ORDER BY id",
            {"site": site_id},
        )
        goals = []
        for row in rows:
            (goal_id, name, page, category, action, event_name, revenue, deleted, *changes) = row
            definition = GoalDefinition(
                str(name),
                str(page),
                str(category),
                str(action),
                str(event_name),
                float(revenue),
                int(goal_id),
            )
            goals.append(StoredGoal(site_id, int(goal_id), definition, _changed(changes), bool(deleted)))
        return goals

    async def _funnel_rows(self, site_id: int) -> list[SavedFunnel]:
        latest = ", ".join(f"argMax({c}, version)" for c in FUNNEL_COLUMNS[2:-1])
        rows = await self.storage.aquery(
            f"SELECT id, {latest}, max(version) FROM `{FUNNELS}` WHERE site_id = {{site:UInt32}} "
            "GROUP BY id ORDER BY id",
            {"site": site_id},
        )
        funnels = []
        for funnel_id, name, steps, within, deleted, *changes in rows:
            definition = FunnelDefinition(str(name), stored_steps(str(steps)), str(within))
            funnels.append(SavedFunnel(site_id, int(funnel_id), definition, _changed(changes), bool(deleted)))
        return funnels

    async def _write_goal(self, goal: StoredGoal) -> None:
        d, c = goal.definition, goal.changed
        row = (
            goal.site_id, goal.id, d.name, d.page, d.event_category, d.event_action, d.event_name, d.revenue,
            int(goal.deleted), c.created_by, c.created_at, c.updated_by, c.updated_at, c.version,
        )  # fmt: skip
        await run_in_threadpool(self.storage.insert_rows, GOALS, [row], GOAL_COLUMNS)
        self._goal_cache.pop(goal.site_id, None)

    async def _write_funnel(self, funnel: SavedFunnel) -> None:
        d, c = funnel.definition, funnel.changed
        steps = json.dumps(d.steps_json(), ensure_ascii=False)
        row = (
            funnel.site_id, funnel.id, d.name, steps, d.within, int(funnel.deleted),
            c.created_by, c.created_at, c.updated_by, c.updated_at, c.version,
        )  # fmt: skip
        await run_in_threadpool(self.storage.insert_rows, FUNNELS, [row], FUNNEL_COLUMNS)

    async def _record(
        self,
        actor: str,
        action: str,
        site_id: int,
        kind: str,
        item_id: int,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        detail = json.dumps({"before": before, "after": after}, ensure_ascii=False, sort_keys=True)
        await self.events.record(actor, action, f"site {site_id} {kind} {item_id}", detail)

    def _version(self, current: Changed | None) -> int:
        # Microseconds since the epoch, and always above the row it replaces, so the newest
        # change wins even when two fall in the same microsecond or the clock steps back.
        now = int(self.now().timestamp() * 1_000_000)
        return max(now, current.version + 1) if current else now


_Item = TypeVar("_Item", StoredGoal, SavedFunnel)


def _find(live: list[_Item], item_id: int, kind: str) -> _Item:
    for item in live:
        if item.id == item_id:
            return item
    raise NoSuchDefinition(f"the site has no stored {kind} {item_id}")


def _check_funnel_name(live: list[SavedFunnel], name: str, own_id: int | None) -> None:
    wanted = name.casefold()
    if any(f.definition.name.casefold() == wanted and f.id != own_id for f in live):
        raise DefinitionConflict(f"the site has a saved funnel named {name!r}", field="name")


def _changed(values: list[Any]) -> Changed:
    created_by, created_at, updated_by, updated_at, version = values
    return Changed(str(created_by), _utc(created_at), str(updated_by), _utc(updated_at), int(version))


def _utc(moment: datetime) -> datetime:
    # The driver may hand back UTC times without their zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
