"""Visitor data requests (GDPR Art. 15, 17 and 20) for visitors who consented to statistics.

Only a consented visitor has an id that can be asked about: the tracker's ``_id``,
``uid`` or ``cid``, which samtycke stores as a hash (``analytics.ingestion.salts.identified_hash``).
Cookieless visitors' ids are keyed with salts deleted after 48 hours, so nobody, samtycke
included, can link their events back to them.  Rollups hold only aggregates.

The same functions serve the HTTP API and ``samtycke visitor`` with a ClickHouse server.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from analytics.ingestion.salts import identified_hash
from analytics.ingestion.visits import Visits
from analytics.schema import EVENTS
from samtycke.journal import quarantine
from samtycke.numbers import is_whole_number
from samtycke.services import Services
from samtycke.storage import Layout, Storage
from samtycke.web.errors import BadRequest

VISITOR_ID = re.compile(r"[^\x00-\x1f]{1,200}")
EXPORT_LIMIT = 1_000_000

_WHERE = "site_id = {site:UInt32} AND visitor_id = {visitor:UInt64} AND identified = 1"


def export(storage: Storage, site_id: int, visitor: str) -> dict[str, Any]:
    rows = storage.query_dicts(
        f"SELECT * EXCEPT (visitor_id, identified, visit_id, retention_months) FROM {EVENTS} "
        f"WHERE {_WHERE} ORDER BY timestamp LIMIT {EXPORT_LIMIT}",
        {"site": site_id, "visitor": identified_hash(site_id, visitor)},
    )
    return {"site_id": site_id, "visitor_id": visitor, "events": [_plain(row) for row in rows]}


def delete(storage: Storage, layout: Layout, site_id: int, visitor: str, journal_root: Path) -> int:
    """Delete the visitor's events from ClickHouse and from quarantined journal segments; how many."""
    parameters = {"site": site_id, "visitor": identified_hash(site_id, visitor)}
    found = storage.query(f"SELECT count() FROM {EVENTS} WHERE {_WHERE}", parameters)
    count = int(found[0][0]) if found else 0
    if count:
        table = f"`{layout.local(EVENTS)}`{layout.on_cluster}"
        storage.command(
            f"ALTER TABLE {table} DELETE WHERE {_WHERE}", parameters, settings={"mutations_sync": 2}
        )
    return count + quarantine.purge(journal_root, _events_of(site_id, parameters["visitor"]))


def _events_of(site_id: int, visitor_hash: int) -> Callable[[str, bytes], bool]:
    """Whether a journalled record is one of this identified visitor's events (``_WHERE``)."""

    def matches(table: str, row: bytes) -> bool:
        if table != EVENTS:
            return False
        event = json.loads(row)
        return bool(
            event.get("site_id") == site_id
            and event.get("visitor_id") == visitor_hash
            and event.get("identified")
        )

    return matches


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, float) and not math.isfinite(value):
            value = None
        out[key] = value
    return out


def check_visitor(visitor: str) -> str:
    if not VISITOR_ID.fullmatch(visitor):
        raise BadRequest("the visitor id is 1-200 printable characters", field="visitor_id")
    return visitor


class VisitorData:
    def __init__(self, services: Services, visits: Visits) -> None:
        self.services = services
        self.visits = visits

    def site_of(self, request: Request) -> int:
        raw = request.query_params.get("site_id", "")
        if not is_whole_number(raw) or len(raw) > 10 or self.services.settings.site(int(raw)) is None:
            raise BadRequest("site_id must name a configured site", field="site_id")
        return int(raw)

    async def visitor_data(self, request: Request) -> Response:
        """
        summary: Export (GET) or delete (DELETE) a consented visitor's events
        description: >
          Everything stored under a visitor id given with statistics consent (the
          tracker's `_id`, `uid` or `cid`). Admin only. Hits still in the journal are
          stored by the next scheduled shipment first, so a deletion covers them too.
        security: [{bearer: []}]
        parameters:
          - {name: visitor_id, in: path, required: true, schema: {type: string, minLength: 1, maxLength: 200}}
          - {name: site_id, in: query, required: true, schema: {type: integer, minimum: 1}}
        responses:
          200: {description: '`{"site_id", "visitor_id", "events": [...]}` or `{"deleted": N}`.'}
          400: {description: Bad site or visitor id.}
          401: {description: No credentials.}
          403: {description: Not an admin.}
        """
        services = self.services
        await services.auth.require(request, "admin")
        site_id = self.site_of(request)
        visitor = check_visitor(request.path_params["visitor_id"])
        # Hits still in the journal are covered too: the next scheduled shipment stores them.
        await services.shipper.stored(services.journal.written_through(), timeout=10.0)
        if request.method == "DELETE":
            self.visits.forget(site_id, identified_hash(site_id, visitor))
            count = await run_in_threadpool(
                delete, services.storage, services.layout, site_id, visitor, services.journal.root
            )
            return JSONResponse({"site_id": site_id, "visitor_id": visitor, "deleted": count})
        return JSONResponse(await run_in_threadpool(export, services.storage, site_id, visitor))


def routes(services: Services, visits: Visits) -> list[BaseRoute]:
    handler = VisitorData(services, visits)
    return [Route("/api/v1/visitors/{visitor_id}", handler.visitor_data, methods=["GET", "DELETE"])]
