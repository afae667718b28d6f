"""``/api/v1/sites/{site_id}/goals`` and ``/funnels``: goals and saved funnels managed by marketers.

Marketers and admins read and change them; auditors read them (they are settings of the
statistics, not statistics, and auditors check what was counted and how), and read every
change in the change record.  Changes made with the login cookie must come from samtycke's
own pages (``Auth.require``); bearer tokens work from anywhere.  Goals of the configuration
file are listed with ``"source": "config"`` and changing them is a 409 that says to change
the file.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from analytics.managed import backfill, definitions
from analytics.managed.store import (
    DefinitionConflict,
    DefinitionError,
    Definitions,
    NoSuchDefinition,
    ReadOnlyDefinition,
    UnknownGoal,
    config_goal_json,
    for_storage,
)
from samtycke.numbers import is_whole_number
from samtycke.services import Services
from samtycke.settings import Site
from samtycke.web.bodies import read_json
from samtycke.web.errors import BadRequest, Conflict, HTTPError, NotFound

# A goal is a few short texts; a funnel is eight steps of a few hundred characters each.
MAX_BODY = 16 * 1024
NO_STORE = {"Cache-Control": "no-store"}
READERS = ("marketer", "auditor")
WRITERS = ("marketer",)


def definitions_of(services: Services) -> Definitions:
    return for_storage(services.storage, services.accounts.events, services.now)


def _http(exc: DefinitionError) -> HTTPError:
    if isinstance(exc, NoSuchDefinition):
        return NotFound(exc.message, field=exc.field)
    if isinstance(exc, ReadOnlyDefinition):
        return Conflict(exc.message, field=exc.field, code="read_only")
    if isinstance(exc, UnknownGoal):
        return BadRequest(exc.message, field=exc.field, code="unknown_goal")
    assert isinstance(exc, DefinitionConflict)
    return Conflict(exc.message, field=exc.field)


class ManagedAPI:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = definitions_of(services)

    def _site(self, request: Request) -> Site:
        raw = request.path_params["site_id"]
        site = self.services.settings.site(int(raw)) if is_whole_number(raw) and len(raw) <= 10 else None
        if site is None:
            raise NotFound(f"no site {raw[:20]!r} is configured", field="site_id")
        return site

    @staticmethod
    def _id(request: Request, kind: str) -> int:
        raw = request.path_params[f"{kind}_id"]
        found = definitions.path_id(raw)
        if found is None:
            raise NotFound(f"no {kind} {raw[:20]!r}", field=f"{kind}_id")
        return found

    # -- goals ---------------------------------------------------------------------------------------

    async def list_goals(self, request: Request) -> Response:
        """
        summary: A site's goals
        description: >-
          The goals of the configuration file (`"source": "config"`, read-only) and those
          stored in samtycke (`"source": "stored"`). A goal converts on a Matomo goal hit
          with its id (`idgoal`), on a pageview whose path matches `page` (`*` is a wildcard)
          or on an event with `event_category` (and `event_action` and `event_name` when
          set); `revenue` counts for a conversion whose hit sends none. `backfill` says what
          a new goal means for past data. Marketers, auditors and admins may read.
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
        responses:
          200:
            description: >-
              `{"goals": [{"id", "name", "page", "event_category", "event_action",
              "event_name", "revenue", "source", "created_by", "created_at", "updated_by",
              "updated_at"}], "backfill"}`
          404: {description: No such site.}
        """
        await self.services.auth.require(request, *READERS)
        site = self._site(request)
        stored = await self.store.goals(site.id)
        listed = [*(config_goal_json(g) for g in site.goals), *(g.as_json() for g in stored)]
        return JSONResponse({"goals": listed, "backfill": backfill.statement(site)}, headers=NO_STORE)

    async def create_goal(self, request: Request) -> Response:
        """
        summary: Create a goal
        description: >-
          It counts in every goal report at once, over past data too (`backfill` says how
          far). `id` is the Matomo goal id trackers may send as `idgoal`; left out, the next
          id above every goal the site ever had. Names are unique per site, ignoring case;
          a site has at most 100 stored goals. Needs a marketer or admin.
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
        requestBody:
          required: true
          content:
            application/json:
              schema: {$ref: "#/components/schemas/GoalDefinition"}
        responses:
          201: {description: 'The goal, as listed, with `backfill`.'}
          400: {description: 'An invalid goal; `error.field` names the member.'}
          404: {description: No such site.}
          409: {description: 'The name or id is taken, or the site has 100 stored goals.'}
        """
        actor = await self.services.auth.require(request, *WRITERS)
        site = self._site(request)
        definition = definitions.goal(await read_json(request, MAX_BODY))
        try:
            created = await self.store.create_goal(site, definition, actor.name)
        except DefinitionError as exc:
            raise _http(exc) from exc
        body = {**created.as_json(), "backfill": backfill.statement(site)}
        return JSONResponse(body, status_code=201, headers=NO_STORE)

    async def show_goal(self, request: Request) -> Response:
        """
        summary: One goal
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
          - {name: goal_id, in: path, required: true, schema: {type: integer}}
        responses:
          200: {description: 'The goal, as listed, with `backfill`.'}
          404: {description: No such site or goal.}
        """
        await self.services.auth.require(request, *READERS)
        site = self._site(request)
        goal_id = self._id(request, "goal")
        body: dict[str, Any] | None = next(
            (config_goal_json(g) for g in site.goals if g.id == goal_id), None
        ) or next((g.as_json() for g in await self.store.goals(site.id) if g.id == goal_id), None)
        if body is None:
            raise NotFound(f"the site has no goal {goal_id}", field="goal_id")
        return JSONResponse({**body, "backfill": backfill.statement(site)}, headers=NO_STORE)

    async def update_goal(self, request: Request) -> Response:
        """
        summary: Change a stored goal
        description: >-
          The whole definition is replaced; its id stays. Goals of the configuration file
          cannot be changed here (409). A goal a saved funnel uses cannot be renamed.
          Needs a marketer or admin.
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
          - {name: goal_id, in: path, required: true, schema: {type: integer}}
        requestBody:
          required: true
          content:
            application/json:
              schema: {$ref: "#/components/schemas/GoalDefinition"}
        responses:
          200: {description: 'The goal, as listed, with `backfill`.'}
          400: {description: 'An invalid goal; `error.field` names the member.'}
          404: {description: No such site or goal.}
          409:
            description: The goal is in the configuration file, the name is taken, or a saved funnel uses it.
        """
        actor = await self.services.auth.require(request, *WRITERS)
        site = self._site(request)
        goal_id = self._id(request, "goal")
        definition = definitions.goal(await read_json(request, MAX_BODY))
        try:
            updated = await self.store.update_goal(site, goal_id, definition, actor.name)
        except DefinitionError as exc:
            raise _http(exc) from exc
        return JSONResponse({**updated.as_json(), "backfill": backfill.statement(site)}, headers=NO_STORE)

    async def delete_goal(self, request: Request) -> Response:
        """
        summary: Delete a stored goal
        description: >-
          It disappears from every goal report, for every period. Goals of the
          configuration file cannot be deleted here (409), nor a goal a saved funnel uses.
          Needs a marketer or admin.
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
          - {name: goal_id, in: path, required: true, schema: {type: integer}}
        responses:
          200: {description: '`{"id", "deleted": true}`'}
          404: {description: No such site or goal.}
          409: {description: 'The goal is in the configuration file, or a saved funnel uses it.'}
        """
        actor = await self.services.auth.require(request, *WRITERS)
        site = self._site(request)
        goal_id = self._id(request, "goal")
        try:
            await self.store.delete_goal(site, goal_id, actor.name)
        except DefinitionError as exc:
            raise _http(exc) from exc
        return JSONResponse({"id": goal_id, "deleted": True}, headers=NO_STORE)

    # -- funnels -------------------------------------------------------------------------------------

    async def list_funnels(self, request: Request) -> Response:
        """
        summary: A site's saved funnels
        description: >-
          `steps` and `within` are exactly what `POST /api/v1/stats/funnel` takes. A goal
          step names one of the site's goals. Marketers, auditors and admins may read.
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
        responses:
          200:
            description: >-
              `{"funnels": [{"id", "name", "steps", "within", "source", "created_by",
              "created_at", "updated_by", "updated_at"}]}`
          404: {description: No such site.}
        """
        await self.services.auth.require(request, *READERS)
        site = self._site(request)
        listed = [f.as_json() for f in await self.store.funnels(site.id)]
        return JSONResponse({"funnels": listed}, headers=NO_STORE)

    async def create_funnel(self, request: Request) -> Response:
        """
        summary: Save a funnel
        description: >-
          2-8 steps, each a page pattern, an event or one of the site's goals by name, and
          `within` ("visit" or a window such as "24h"), as `POST /api/v1/stats/funnel`
          takes them. Names are unique per site, ignoring case; a site has at most 50 saved
          funnels. Needs a marketer or admin.
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
        requestBody:
          required: true
          content:
            application/json:
              schema: {$ref: "#/components/schemas/FunnelDefinition"}
        responses:
          201: {description: 'The funnel, as listed.'}
          400: {description: 'An invalid funnel or an unknown goal; `error.field` names the member.'}
          404: {description: No such site.}
          409: {description: 'The name is taken, or the site has 50 saved funnels.'}
        """
        actor = await self.services.auth.require(request, *WRITERS)
        site = self._site(request)
        definition = definitions.funnel(await read_json(request, MAX_BODY))
        try:
            created = await self.store.create_funnel(site, definition, actor.name)
        except DefinitionError as exc:
            raise _http(exc) from exc
        return JSONResponse(created.as_json(), status_code=201, headers=NO_STORE)

    async def show_funnel(self, request: Request) -> Response:
        """
        summary: One saved funnel
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
          - {name: funnel_id, in: path, required: true, schema: {type: integer}}
        responses:
          200: {description: 'The funnel, as listed.'}
          404: {description: No such site or funnel.}
        """
        await self.services.auth.require(request, *READERS)
        site = self._site(request)
        funnel_id = self._id(request, "funnel")
        found = next((f for f in await self.store.funnels(site.id) if f.id == funnel_id), None)
        if found is None:
            raise NotFound(f"the site has no saved funnel {funnel_id}", field="funnel_id")
        return JSONResponse(found.as_json(), headers=NO_STORE)

    async def update_funnel(self, request: Request) -> Response:
        """
        summary: Change a saved funnel
        description: The whole definition is replaced; its id stays. Needs a marketer or admin.
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
          - {name: funnel_id, in: path, required: true, schema: {type: integer}}
        requestBody:
          required: true
          content:
            application/json:
              schema: {$ref: "#/components/schemas/FunnelDefinition"}
        responses:
          200: {description: 'The funnel, as listed.'}
          400: {description: 'An invalid funnel or an unknown goal; `error.field` names the member.'}
          404: {description: No such site or funnel.}
          409: {description: The name is taken.}
        """
        actor = await self.services.auth.require(request, *WRITERS)
        site = self._site(request)
        funnel_id = self._id(request, "funnel")
        definition = definitions.funnel(await read_json(request, MAX_BODY))
        try:
            updated = await self.store.update_funnel(site, funnel_id, definition, actor.name)
        except DefinitionError as exc:
            raise _http(exc) from exc
        return JSONResponse(updated.as_json(), headers=NO_STORE)

    async def delete_funnel(self, request: Request) -> Response:
        """
        summary: Delete a saved funnel
        description: Needs a marketer or admin.
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
          - {name: funnel_id, in: path, required: true, schema: {type: integer}}
        responses:
          200: {description: '`{"id", "deleted": true}`'}
          404: {description: No such site or funnel.}
        """
        actor = await self.services.auth.require(request, *WRITERS)
        site = self._site(request)
        funnel_id = self._id(request, "funnel")
        try:
            await self.store.delete_funnel(site, funnel_id, actor.name)
        except DefinitionError as exc:
            raise _http(exc) from exc
        return JSONResponse({"id": funnel_id, "deleted": True}, headers=NO_STORE)


def routes(services: Services) -> list[BaseRoute]:
    api = ManagedAPI(services)
    goals, funnels = "/api/v1/sites/{site_id}/goals", "/api/v1/sites/{site_id}/funnels"
    return [
        Route(goals, api.list_goals, methods=["GET"]),
        Route(goals, api.create_goal, methods=["POST"]),
        Route(goals + "/{goal_id}", api.show_goal, methods=["GET"]),
        Route(goals + "/{goal_id}", api.update_goal, methods=["PUT"]),
        Route(goals + "/{goal_id}", api.delete_goal, methods=["DELETE"]),
        Route(funnels, api.list_funnels, methods=["GET"]),
        Route(funnels, api.create_funnel, methods=["POST"]),
        Route(funnels + "/{funnel_id}", api.show_funnel, methods=["GET"]),
        Route(funnels + "/{funnel_id}", api.update_funnel, methods=["PUT"]),
        Route(funnels + "/{funnel_id}", api.delete_funnel, methods=["DELETE"]),
    ]
